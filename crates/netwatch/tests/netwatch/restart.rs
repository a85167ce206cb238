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
    let gap = report::figures(&nw, &contract, gap_from, gap_to, false)
        .await
        .unwrap();
    let g = &gap.nodes[0];
    assert_eq!(g.counts.up + g.counts.down + g.counts.degraded, 0, "{g:?}");
    assert!(g.counts.no_data >= 3, "{g:?}");
    assert_eq!(g.availability, None);

    let all = report::figures(&nw, &contract, t0, t1, false)
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
