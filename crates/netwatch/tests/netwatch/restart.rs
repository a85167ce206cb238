//! A monitor restart leaves NO_DATA for the time it was down, never UP.

use crate::helpers::*;
use jiff::Timestamp;
use rendan_netwatch::report;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_gap_is_no_data() {
    let a = agent_at(None, 0.0).await;
    let text = topology(
        &[("alpha", "asia", 99.7, a.addr())],
        "slice = \"1s\"\ninterval = \"1s\"\ntimeout = \"300ms\"\nclasses = [\"data\"]\n",
    );
    let (nw, store) = netwatch(config(&text)).await;
    let t0 = Timestamp::now();
    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(4)).await;
    m.shutdown().await;
    let down_from = Timestamp::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let down_to = Timestamp::now();
    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(4)).await;
    m.shutdown().await;
    let t1 = Timestamp::now();
    a.shutdown().await;

    let contract = nw.config().contract(None).unwrap().clone();
    // Whole seconds strictly inside the gap.
    let gap_from = Timestamp::from_second(down_from.as_second() + 1).unwrap();
    let gap_to = Timestamp::from_second(down_to.as_second()).unwrap();
    let gap = report::figures(&nw, &contract, gap_from, gap_to, false, Timestamp::now())
        .await
        .unwrap();
    let g = &gap.nodes[0];
    assert_eq!(g.counts.up + g.counts.down + g.counts.degraded, 0, "{g:?}");
    assert!(g.counts.no_data >= 3, "{g:?}");
    assert_eq!(g.availability, None);

    let all = report::figures(&nw, &contract, t0, t1, false, Timestamp::now())
        .await
        .unwrap();
    let l = &all.nodes[0];
    assert!(l.counts.up >= 5, "{l:?}");
    assert!(l.counts.no_data >= 4, "{l:?}");
    assert_eq!(
        l.availability,
        Some(100.0),
        "the gap is neither up nor down"
    );
    // Nothing in the store claims the gap.
    let rows = store
        .slices(gap_from.as_second(), gap_to.as_second())
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}

/// An incident open when the monitor stops is continued after the restart, not duplicated,
/// and closed once when the node returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_incident_survives_a_restart() {
    let a = agent_at(None, 0.0).await;
    let addr = a.addr();
    let text = topology(
        &[("alpha", "asia", 99.7, addr)],
        "slice = \"1s\"\ninterval = \"1s\"\ntimeout = \"300ms\"\nclasses = []\nopen_after = 2\nclose_after = 2\n",
    );
    let (nw, store) = netwatch(config(&text)).await;
    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.shutdown().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    m.shutdown().await;
    let open = store.incidents(None).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].closed_at.is_none());

    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = agent_at(Some(addr), 0.0).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    m.shutdown().await;
    a.shutdown().await;
    let all = store.incidents(None).await.unwrap();
    assert_eq!(all.len(), 1, "no duplicate after the restart: {all:?}");
    assert!(all[0].closed_at.is_some(), "{all:?}");
}
