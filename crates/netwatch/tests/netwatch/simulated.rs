//! The monitor on simulated time: a paused tokio runtime, the network watch's clock following
//! it, and rounds answered from a script. Hours of monitoring run in milliseconds and every
//! slice, incident and notice is asserted exactly.

use crate::helpers::*;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::NodeId;
use rendan_netwatch::judge::Verdict;
use rendan_netwatch::monitor::phase;
use rendan_netwatch::round::{Prober, RoundResult};
use rendan_netwatch::store::{NoticeEvent, Sample};
use rendan_netwatch::{Netwatch, NetwatchStore, SliceState, report};
use std::sync::Arc;
use std::time::Duration;

/// Midnight UTC, a whole number of slices and intervals since the epoch.
const START: &str = "2026-11-05T00:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    ts(START) + SignedDuration::from_secs(secs)
}

/// Answers every round UP, except `down` node's rounds scheduled in `[from, to)` (seconds
/// after START), which are DOWN.
struct Script {
    down: String,
    from: i64,
    to: i64,
}

#[async_trait::async_trait]
impl Prober for Script {
    async fn round(
        &self,
        idx: usize,
        target: &rendan_netwatch::config::Target,
        when: Timestamp,
    ) -> RoundResult {
        let s = when.duration_since(ts(START)).as_secs();
        let down = target.node.as_str() == self.down && (self.from..self.to).contains(&s);
        RoundResult {
            target: idx,
            at: when,
            verdicts: vec![(
                "monitor".into(),
                if down { Verdict::Down } else { Verdict::Up },
            )],
            reason: down.then(|| "tcp: connection refused".into()),
            samples: vec![Sample {
                node: target.node.clone(),
                class: "tcp".into(),
                at: when,
                rtt_ms: (!down).then_some(1.0),
                sent: 1,
                received: u32::from(!down),
                jitter_ms: None,
            }],
            tcp_ms: (!down).then_some(1.0),
        }
    }
}

/// Two nodes, one-minute slices, a round every 10 s, an incident after 3 failed rounds and
/// closed after 3 good ones, one webhook.
fn settings() -> rendan_netwatch::NetwatchConfig {
    let addr = "127.0.0.1:9".parse().unwrap();
    config(&topology(
        &[
            ("alpha", "asia", 99.7, addr),
            ("charlie", "europe", 99.8, addr),
        ],
        "slice = \"60s\"\ninterval = \"10s\"\ntimeout = \"2s\"\nopen_after = 3\nclose_after = 3\n\
         classes = []\n\n[[netwatch.webhook]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"s3cret-s3cret\"\n",
    ))
}

fn node(s: &str) -> NodeId {
    NodeId::parse(s, "n").unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_outage_gives_exact_slices_one_incident_and_ordered_notices() {
    let store: Arc<dyn NetwatchStore> = Arc::new(rendan_netwatch::MemoryStore::default());
    // charlie is down from 10:00 to 15:00 after START (seconds 600 to 900).
    let script = Arc::new(Script {
        down: "charlie".into(),
        from: 600,
        to: 900,
    });
    let nw = Netwatch::with_clock(settings(), store.clone(), Netwatch::tokio_clock(at(0)));
    let m = rendan_netwatch::start_with(nw.clone(), script);
    tokio::time::sleep(Duration::from_secs(1800)).await;
    m.shutdown().await;

    // Every minute of the half hour is a slice of each node, written once.
    let rows = store.slices(0, i64::MAX).await.unwrap();
    let states = |n: &str| -> Vec<SliceState> {
        rows.iter()
            .filter(|r| r.node == node(n))
            .map(|r| r.measured)
            .collect()
    };
    assert_eq!(states("alpha"), vec![SliceState::Up; 30]);
    let mut expected = vec![SliceState::Up; 30];
    expected[10..15].fill(SliceState::Down);
    assert_eq!(states("charlie"), expected);
    let starts: Vec<i64> = rows
        .iter()
        .filter(|r| r.node == node("charlie"))
        .map(|r| r.start - at(0).as_second())
        .collect();
    assert_eq!(starts, (0..30).map(|m| m * 60).collect::<Vec<_>>());

    // One incident, from the first failed round to the first good one; opened at the third
    // failure, closed at the third success.
    let p = phase(&node("charlie"), Duration::from_secs(10)).as_millis() as i64;
    let round = |k: i64| at(0) + SignedDuration::from_millis(k * 10_000 + p);
    let first_down =
        (600 * 1000 - p).div_euclid(10_000) + i64::from((600 * 1000 - p) % 10_000 != 0);
    let first_up = (900 * 1000 - p).div_euclid(10_000) + i64::from((900 * 1000 - p) % 10_000 != 0);
    let incidents = store.incidents(None).await.unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let i = &incidents[0];
    assert_eq!(i.node, node("charlie"));
    assert_eq!(i.opened_at, round(first_down));
    assert_eq!(i.closed_at, Some(round(first_up)));
    let when = |kind: &str| i.timeline.iter().find(|e| e.kind == kind).unwrap().at;
    assert_eq!(when("first_failure"), round(first_down));
    assert!(
        when("opened") >= round(first_down + 2),
        "after the third failed round"
    );
    assert!(
        when("closed") >= round(first_up + 2),
        "after the third good round"
    );

    // The webhook's two notices are in the outbox, in order (the receiver is not there).
    let notices = store.notices().await.unwrap();
    let events: Vec<NoticeEvent> = notices.iter().map(|n| n.event).collect();
    assert_eq!(events, [NoticeEvent::Opened, NoticeEvent::Closed]);
    assert!(notices.iter().all(|n| n.incident.id == i.id));

    // The report agrees: 5 minutes down of 30, nothing unknown.
    let c = nw.config().contract(None).unwrap().clone();
    let f = report::figures(&nw, &c, at(0), at(1800), false, at(1800))
        .await
        .unwrap();
    let charlie = f.nodes.iter().find(|l| l.id == "charlie").unwrap();
    assert_eq!(charlie.used_down_min, 5.0);
    assert_eq!(charlie.no_data_min, 0.0);
    assert_eq!(charlie.incidents, 1);
    let stats = nw.stats();
    assert_eq!(
        stats.late.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "on simulated time no round starts late"
    );
}

/// A monitor that stops leaves no slices for the time it was down (NO_DATA), and an incident
/// open across the restart is continued, not duplicated.
#[tokio::test(start_paused = true)]
async fn a_restart_leaves_an_exact_gap_and_continues_the_open_incident() {
    let store: Arc<dyn NetwatchStore> = Arc::new(rendan_netwatch::MemoryStore::default());
    // charlie goes down at minute 8 and comes back at minute 20; the monitor is stopped from
    // minute 10 to minute 15.
    let script = || {
        Arc::new(Script {
            down: "charlie".into(),
            from: 480,
            to: 1200,
        })
    };
    let clock = Netwatch::tokio_clock(at(0));
    let nw = Netwatch::with_clock(settings(), store.clone(), clock.clone());
    let m = rendan_netwatch::start_with(nw.clone(), script());
    tokio::time::sleep(Duration::from_secs(600)).await;
    m.shutdown().await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    let nw = Netwatch::with_clock(settings(), store.clone(), clock);
    let m = rendan_netwatch::start_with(nw.clone(), script());
    tokio::time::sleep(Duration::from_secs(900)).await;
    m.shutdown().await;

    let rows = store.slices(0, i64::MAX).await.unwrap();
    let minutes: Vec<i64> = rows
        .iter()
        .filter(|r| r.node == node("alpha"))
        .map(|r| (r.start - at(0).as_second()) / 60)
        .collect();
    let expected: Vec<i64> = (0..10).chain(15..30).collect();
    assert_eq!(minutes, expected, "minutes 10 to 14 have no slice: NO_DATA");
    let c = nw.config().contract(None).unwrap().clone();
    let f = report::figures(&nw, &c, at(0), at(1800), false, at(1800))
        .await
        .unwrap();
    let alpha = f.nodes.iter().find(|l| l.id == "alpha").unwrap();
    assert_eq!(alpha.no_data_min, 5.0);
    assert_eq!(
        alpha.availability,
        Some(100.0),
        "the gap is neither up nor down"
    );
    let incidents = store.incidents(None).await.unwrap();
    assert_eq!(
        incidents.len(),
        1,
        "continued after the restart: {incidents:?}"
    );
    let p = phase(&node("charlie"), Duration::from_secs(10)).as_millis() as i64;
    let first_up =
        (1200 * 1000 - p).div_euclid(10_000) + i64::from((1200 * 1000 - p) % 10_000 != 0);
    assert_eq!(
        incidents[0].closed_at,
        Some(at(0) + SignedDuration::from_millis(first_up * 10_000 + p))
    );
}

/// Samples are rolled up hour by hour and pruned after the retention; the report reads the
/// rollups (and rolls up the hour not done yet on the fly), so every round is still counted.
#[tokio::test(start_paused = true)]
async fn samples_roll_up_and_are_pruned_after_the_retention() {
    let store: Arc<dyn NetwatchStore> = Arc::new(rendan_netwatch::MemoryStore::default());
    let mut cfg = settings();
    cfg.sample_retention = SignedDuration::from_hours(2);
    let nw = Netwatch::with_clock(cfg, store.clone(), Netwatch::tokio_clock(at(0)));
    let script = Arc::new(Script {
        down: "charlie".into(),
        from: 0,
        to: 0,
    });
    let m = rendan_netwatch::start_with(nw.clone(), script);
    // Half a minute past the pass at 4:00, so that no pass races the end.
    tokio::time::sleep(Duration::from_secs(4 * 3600 + 30)).await;
    m.shutdown().await;

    // Hours 0 to 2 ended more than two minutes before the last pass; hour 3 had just ended.
    assert_eq!(
        store.rolled_up_until().await.unwrap(),
        Some(at(3 * 3600).as_second())
    );
    let oldest = store.oldest_sample().await.unwrap().unwrap();
    // The last pass ran at 4:00: it kept the two hours before.
    assert!(
        oldest >= at(2 * 3600) && oldest < at(2 * 3600 + 10),
        "samples older than two hours are pruned, the rest kept: {oldest}"
    );
    let c = nw.config().contract(None).unwrap().clone();
    let f = report::figures(&nw, &c, at(0), at(4 * 3600), true, at(4 * 3600))
        .await
        .unwrap();
    let alpha = f.nodes.iter().find(|l| l.id == "alpha").unwrap();
    let tcp = alpha.classes.iter().find(|c| c.class == "tcp").unwrap();
    assert_eq!(tcp.rounds, 4 * 360, "every round of the four hours");
    assert_eq!(tcp.loss_pct, 0.0);
    let p50 = tcp.rtt_p50_ms.unwrap();
    assert!((p50 - 1.0).abs() <= 0.02, "{p50}");
}
