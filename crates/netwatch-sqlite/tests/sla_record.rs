//! The SLA record cannot be rewritten: a month with a planned, an emergency and a deleted
//! maintenance window gives the same report before and after a restart, and after the month has
//! closed no later change of windows moves its figures.

use jiff::Timestamp;
use rendan_domain::NodeId;
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec};
use rendan_netwatch::report::{self, Format};
use rendan_netwatch::store::{NetwatchStore, SliceRow};
use rendan_netwatch::windows::WindowError;
use rendan_netwatch::{Netwatch, NetwatchConfig, SliceState};
use rendan_netwatch_sqlite::SqliteNetwatchStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn config() -> NetwatchConfig {
    let text = "[[node]]\nid = \"alpha\"\nname = \"Alpha\"\nregion = \"asia\"\nlat = 0.0\nlon = 0.0\n\
                availability_target = 99.7\nagent = \"127.0.0.1:9\"\n\n[netwatch]\nslice = \"1m\"\n\
                classes = []\n\n[[netwatch.contract]]\nname = \"acme\"\ntz = \"UTC\"\n";
    NetwatchConfig::from_topology(&rendan_topology::parse(text, "t").unwrap()).unwrap()
}

/// A clock the test moves by hand.
fn clock(at: &Arc<AtomicI64>) -> rendan_netwatch::monitor::Clock {
    let at = at.clone();
    Arc::new(move || Timestamp::from_second(at.load(Ordering::SeqCst)).unwrap())
}

fn one_off(a: &str, b: &str, note: &str, emergency: bool) -> WindowSpec {
    WindowSpec {
        scope: Scope::Node(NodeId::parse("alpha", "n").unwrap()),
        schedule: Schedule::OneOff {
            start: ts(a),
            end: ts(b),
        },
        note: note.into(),
        emergency,
    }
}

async fn open(dir: &std::path::Path, now: &Arc<AtomicI64>) -> (Netwatch, Arc<SqliteNetwatchStore>) {
    let store = Arc::new(SqliteNetwatchStore::open(dir).await.unwrap());
    (
        Netwatch::with_clock(config(), store.clone(), clock(now)),
        store,
    )
}

async fn november(nw: &Netwatch) -> (report::Figures, Vec<String>) {
    let c = nw.config().contract(None).unwrap().clone();
    let f = report::month_figures(nw, &c, "2026-11".parse().unwrap(), nw.now())
        .await
        .unwrap();
    let texts = [Format::Markdown, Format::Csv, Format::Html]
        .iter()
        .map(|fmt| report::render(&f, *fmt))
        .collect();
    (f, texts)
}

#[tokio::test]
async fn emergency_and_deleted_windows_are_reported_and_a_closed_month_never_moves() {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(ts("2026-11-01T00:00:00Z").as_second()));
    let set = |t: &str| now.store(ts(t).as_second(), Ordering::SeqCst);
    let (nw, store) = open(dir.path(), &now).await;
    // November observed minute by minute: down 10:00-13:00 on the 10th, 14th and 20th.
    let node = NodeId::parse("alpha", "n").unwrap();
    let (from, to) = (ts("2026-11-01T00:00:00Z"), ts("2026-12-01T00:00:00Z"));
    let down = [
        ("2026-11-10T10:00:00Z", "2026-11-10T13:00:00Z"),
        ("2026-11-14T10:00:00Z", "2026-11-14T13:00:00Z"),
        ("2026-11-20T10:00:00Z", "2026-11-20T13:00:00Z"),
    ]
    .map(|(a, b)| (ts(a).as_second(), ts(b).as_second()));
    let rows: Vec<SliceRow> = (from.as_second()..to.as_second())
        .step_by(60)
        .map(|s| {
            let state = if down.iter().any(|(a, b)| s >= *a && s < *b) {
                SliceState::Down
            } else {
                SliceState::Up
            };
            SliceRow {
                node: node.clone(),
                start: s,
                len_s: 60,
                state,
                measured: state,
                reporters: 1,
                down_votes: u16::from(state == SliceState::Down),
            }
        })
        .collect();
    store.put_slices(&rows).await.unwrap();

    // A planned window announced a week ahead masks two of the 10th's three hours.
    set("2026-11-03T08:00:00Z");
    nw.create_window(
        one_off(
            "2026-11-10T10:00:00Z",
            "2026-11-10T12:00:00Z",
            "CHG-1 router swap",
            false,
        ),
        "ops",
        None,
    )
    .await
    .unwrap();
    // Recording the 14th's outage as maintenance after the fact is refused...
    set("2026-11-14T14:00:00Z");
    let late = nw
        .create_window(
            one_off(
                "2026-11-14T10:00:00Z",
                "2026-11-14T13:00:00Z",
                "oops",
                false,
            ),
            "ops",
            None,
        )
        .await;
    assert!(matches!(late, Err(WindowError::Refused(_))), "{late:?}");
    // ...unless an administrator records it as an emergency, which every report lists.
    let emergency = nw
        .create_window(
            one_off(
                "2026-11-14T10:00:00Z",
                "2026-11-14T11:00:00Z",
                "INC-7 power",
                true,
            ),
            "root",
            None,
        )
        .await
        .unwrap()
        .window;
    // A window for the 20th, announced, then deleted: its downtime counts again.
    set("2026-11-15T00:00:00Z");
    let dropped = nw
        .create_window(
            one_off(
                "2026-11-20T10:00:00Z",
                "2026-11-20T13:00:00Z",
                "CHG-2",
                false,
            ),
            "ops",
            None,
        )
        .await
        .unwrap()
        .window;
    set("2026-11-25T00:00:00Z");
    nw.revise_window(dropped.id, None, "auditor").await.unwrap();

    set("2026-12-07T09:00:00Z");
    let (f, before) = november(&nw).await;
    let a = &f.nodes[0];
    assert_eq!(a.maintenance_min, 120.0 + 60.0);
    assert_eq!(a.used_down_min, 60.0 + 120.0 + 180.0);
    assert_eq!(f.in_progress_at, None);
    let md = &before[0];
    for needle in [
        "EMERGENCY",
        "INC-7 power",
        "DELETED",
        "2026-11-25T00:00:00Z by auditor",
        "CHG-1 router swap",
        "planned",
    ] {
        assert!(md.contains(needle), "{needle} missing from\n{md}");
    }
    assert!(!md.contains("oops"), "a refused window is not recorded");
    assert_eq!(f.windows.len(), 3);
    assert!(
        f.windows
            .iter()
            .any(|w| w.id == emergency.id && w.emergency)
    );

    // The month is closed: deleting the planned window and recording another emergency for it
    // now changes nothing in November's report.
    set("2026-12-07T10:00:00Z");
    nw.revise_window(1, None, "ops").await.unwrap();
    nw.create_window(
        one_off(
            "2026-11-20T10:00:00Z",
            "2026-11-20T13:00:00Z",
            "rewrite",
            true,
        ),
        "root",
        None,
    )
    .await
    .unwrap();
    let (_, rerun) = november(&nw).await;
    assert_eq!(rerun, before, "a closed month is reproducible bit for bit");

    // A restart: a new process opens the same file.
    store.close().await;
    drop(nw);
    let (nw, store) = open(dir.path(), &now).await;
    let (_, restarted) = november(&nw).await;
    assert_eq!(restarted, before);
    let history = nw.store().window_history().await.unwrap();
    assert_eq!(history.len(), 6, "every creation and deletion is a version");
    store.close().await;
}
