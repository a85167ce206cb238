//! End to end: three agents on loopback, 1-second slices; one agent stopped for a known time,
//! another dropping a known share of UDP. Slices, the single incident, the loss figure and the
//! availability must match what was injected, within one slice.

use crate::helpers::*;
use jiff::Timestamp;
use rendan_domain::NodeId;
use rendan_netwatch::SliceState;
use rendan_netwatch::report;
use std::time::Duration;

const OUTAGE_S: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_and_loss_are_measured_as_injected() {
    let a = agent_at(None, 0.0).await;
    let b = agent_at(None, 0.2).await;
    let c = agent_at(None, 0.0).await;
    let c_addr = c.addr();
    // The receiver refuses the first delivery: the retry must still bring both events.
    let hook = Receiver::start(1).await;
    let text = topology(
        &[
            ("alpha", "asia", 99.7, a.addr()),
            ("bravo", "asia", 99.7, b.addr()),
            ("charlie", "europe", 99.8, c_addr),
        ],
        &format!(
            "slice = \"1s\"\ninterval = \"1s\"\ntimeout = \"400ms\"\nopen_after = 2\nclose_after = 2\nclasses = [\"voice\", \"data\"]\n\n[[netwatch.webhook]]\nurl = \"http://{}/hook\"\nsecret = \"s3cret\"\nbackoff = \"100ms\"\n",
            hook.addr
        ),
    );
    let (nw, store) = netwatch(config(&text)).await;
    let monitor = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(4)).await;

    let stopped_at = Timestamp::now();
    c.shutdown().await;
    tokio::time::sleep(Duration::from_secs(OUTAGE_S as u64)).await;
    let c = agent_at(Some(c_addr), 0.0).await;
    let restarted_at = Timestamp::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ended_at = Timestamp::now();
    monitor.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;

    let id = |s: &str| NodeId::parse(s, "n").unwrap();
    let rows = store.slices(0, i64::MAX).await.unwrap();
    let states = |n: &str| -> Vec<(i64, SliceState)> {
        rows.iter()
            .filter(|r| r.node == id(n))
            .map(|r| (r.start, r.state))
            .collect()
    };
    // The first slice may be partial (no round yet): everything after it is measured.
    let first = rows.iter().map(|r| r.start).min().unwrap() + 1;
    let last = rows.iter().map(|r| r.start).max().unwrap();
    assert!(last > first, "slices were closed: {first}..{last}");

    let alpha = states("alpha");
    assert!(
        alpha
            .iter()
            .filter(|(s, _)| *s >= first)
            .all(|(_, st)| *st == SliceState::Up),
        "alpha: {alpha:?}"
    );
    let bravo = states("bravo");
    assert!(
        bravo
            .iter()
            .filter(|(s, _)| *s >= first)
            .all(|(_, st)| *st == SliceState::Degraded),
        "bravo drops 20% of UDP, over the 1-2% thresholds: {bravo:?}"
    );
    let charlie = states("charlie");
    let down: Vec<i64> = charlie
        .iter()
        .filter(|(_, st)| *st == SliceState::Down)
        .map(|(s, _)| *s)
        .collect();
    // How many slices the outage covers depends on the machine's timing; the exact
    // arithmetic is asserted on simulated time (`simulated.rs`). Here: real sockets see it.
    assert!(!down.is_empty(), "charlie's outage was seen: {charlie:?}");
    let (d0, d1) = (down[0], *down.last().unwrap());
    assert_eq!(d1 - d0 + 1, down.len() as i64, "one contiguous outage");

    // Exactly one incident, for charlie, opened and closed once.
    let incidents = store.incidents(None).await.unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let inc = &incidents[0];
    assert_eq!(inc.node, id("charlie"));
    let closed = inc.closed_at.expect("closed after the agent came back");
    assert!(inc.opened_at >= stopped_at && closed >= restarted_at);
    let kinds: Vec<&str> = inc.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"first_failure"));
    assert!(
        kinds.contains(&"opened") && kinds.contains(&"closed"),
        "{kinds:?}"
    );

    // The same figures the API and the monthly report use.
    let from = Timestamp::from_second(first).unwrap();
    let to = Timestamp::from_second(last + 1).unwrap();
    let contract = nw.config().contract(None).unwrap().clone();
    let f = report::figures(&nw, &contract, from, to, true, Timestamp::now())
        .await
        .unwrap();
    let line = |n: &str| f.nodes.iter().find(|l| l.id == n).unwrap().clone();
    assert!(line("charlie").availability.unwrap() < 100.0);
    assert_eq!(line("alpha").availability, Some(100.0));
    assert_eq!(
        line("bravo").availability,
        Some(100.0),
        "DEGRADED counts as up"
    );
    let b = line("bravo");
    let udp: Vec<_> = b.classes.iter().filter(|c| c.class != "tcp").collect();
    assert_eq!(udp.len(), 2);
    let (sent, lost): (f64, f64) = udp.iter().fold((0.0, 0.0), |(s, l), c| {
        (s + c.rounds as f64, l + c.loss_pct * c.rounds as f64)
    });
    let loss = lost / sent;
    assert!(
        (loss - 20.0).abs() <= 2.0,
        "bravo loss {loss}% vs 20% injected"
    );
    assert!(ended_at > restarted_at);

    // The webhook saw the incident open and close, once each, signed; the first try was refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = hook.got.lock().unwrap().clone();
    let events: Vec<String> = got
        .iter()
        .map(|(sig, body)| {
            assert!(rendan_netwatch::webhook::verify(
                b"s3cret",
                sig,
                body,
                Timestamp::now(),
                jiff::SignedDuration::from_secs(300)
            ));
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["incident"]["node"], "charlie");
            v["event"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(events, ["incident.opened", "incident.closed"]);
    assert_eq!(hook.attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
    hook.stop();
}
