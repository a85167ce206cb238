//! Incident notices through the outbox: written with the incident, delivered in order per node,
//! signed, retried with back-off on the injected clock, given up after 24 hours.

use crate::helpers::Receiver;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::NodeId;
use rendan_netwatch::config::WebhookSpec;
use rendan_netwatch::store::{MemoryStore, NetwatchStore};
use rendan_netwatch::webhook::{Deliverer, verify};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn spec(r: &Receiver) -> WebhookSpec {
    WebhookSpec {
        url: format!("http://{}/hook", r.addr),
        secret: "s3cret".into(),
        backoff: SignedDuration::from_secs(10),
        timeout: Duration::from_secs(5),
    }
}

/// A clock the test moves; starts at `at`.
fn clock(at: &str) -> (Arc<AtomicI64>, rendan_netwatch::monitor::Clock) {
    let now = Arc::new(AtomicI64::new(ts(at).as_second()));
    let c = now.clone();
    (
        now,
        Arc::new(move || Timestamp::from_second(c.load(Ordering::SeqCst)).unwrap()),
    )
}

#[tokio::test]
async fn notices_arrive_in_order_signed_and_retried_with_back_off() {
    let r = Receiver::start(1).await;
    let store: Arc<dyn NetwatchStore> = Arc::new(MemoryStore::default());
    let urls = vec![spec(&r).url];
    let node = NodeId::parse("alpha", "n").unwrap();
    let id = store
        .open_incident(&node, ts("2026-11-05T02:00:00Z"), &[], &urls)
        .await
        .unwrap();
    store
        .update_incident(id, Some(ts("2026-11-05T02:10:00Z")), &[], &urls)
        .await
        .unwrap();
    let (now, c) = clock("2026-11-05T02:10:01Z");
    let d = Deliverer::new(store.clone(), vec![spec(&r)], c);
    // Only the opening is due: the closing waits behind it. The receiver refuses it.
    assert_eq!(d.run_once().await.unwrap(), 1);
    let notices = store.notices().await.unwrap();
    assert_eq!(notices[0].attempts, 1);
    assert_eq!(
        notices[0].next_at,
        ts("2026-11-05T02:10:11Z"),
        "10 s back-off"
    );
    assert_eq!(
        notices[0].last_error.as_deref(),
        Some("status 503 Service Unavailable")
    );
    assert_eq!(
        d.run_once().await.unwrap(),
        0,
        "nothing due before the back-off"
    );
    now.fetch_add(10, Ordering::SeqCst);
    assert_eq!(d.run_once().await.unwrap(), 1);
    assert_eq!(d.run_once().await.unwrap(), 1, "then the closing");
    assert_eq!(d.run_once().await.unwrap(), 0);
    let got = r.got.lock().unwrap().clone();
    let events: Vec<(String, serde_json::Value)> = got
        .iter()
        .map(|(sig, body)| {
            assert!(verify(
                b"s3cret",
                sig,
                body,
                ts("2026-11-05T02:10:11Z"),
                SignedDuration::from_secs(300)
            ));
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            (
                v["event"].as_str().unwrap().to_string(),
                v["incident"]["closed_at"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("incident.opened".to_string(), serde_json::Value::Null),
            (
                "incident.closed".to_string(),
                serde_json::json!("2026-11-05T02:10:00Z")
            ),
        ]
    );
    assert!(
        store
            .notices()
            .await
            .unwrap()
            .iter()
            .all(|n| n.delivered_at.is_some())
    );
    r.stop();
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_given_up_after_a_day() {
    let r = Receiver::start(u32::MAX).await;
    let store: Arc<dyn NetwatchStore> = Arc::new(MemoryStore::default());
    let node = NodeId::parse("alpha", "n").unwrap();
    store
        .open_incident(&node, ts("2026-11-05T02:00:00Z"), &[], &[spec(&r).url])
        .await
        .unwrap();
    let (now, c) = clock("2026-11-05T02:00:00Z");
    let d = Deliverer::new(store.clone(), vec![spec(&r)], c);
    let mut waits = Vec::new();
    loop {
        let before = store.notices().await.unwrap()[0].clone();
        if before.gave_up_at.is_some() {
            break;
        }
        now.store(before.next_at.as_second(), Ordering::SeqCst);
        assert_eq!(d.run_once().await.unwrap(), 1);
        let after = &store.notices().await.unwrap()[0];
        if after.gave_up_at.is_none() {
            waits.push(after.next_at.duration_since(before.next_at).as_secs());
        }
    }
    // 10 s doubling, at most an hour, for 24 hours.
    assert_eq!(&waits[..4], [10, 20, 40, 80]);
    assert!(waits.iter().all(|w| *w <= 3600));
    let n = &store.notices().await.unwrap()[0];
    assert!(n.gave_up_at.unwrap() >= ts("2026-11-06T01:00:00Z"));
    assert_eq!(n.delivered_at, None);
    r.stop();
}
