//! The SQLite store keeps the network watch's invariants: slices written once, never changed,
//! windows and incidents round-trip, and a restarted monitor (new process, same file) leaves
//! NO_DATA for its downtime.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::{NodeId, Region};
use rendan_netwatch::agent::{self, AgentOptions};
use rendan_netwatch::incident::TimelineEntry;
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec, WindowVersion};
use rendan_netwatch::store::{NetwatchStore, NoticeEvent, NoticeOutcome, SliceRow, StoreError};
use rendan_netwatch::{Netwatch, NetwatchConfig, SliceState, report};
use rendan_netwatch_sqlite::SqliteNetwatchStore;
use std::sync::Arc;
use std::time::Duration;

fn hook(name: &str) -> String {
    format!("http://127.0.0.1:9/{name}")
}

fn id(s: &str) -> NodeId {
    NodeId::parse(s, "n").unwrap()
}

fn row(node: &str, start: i64, state: SliceState) -> SliceRow {
    SliceRow {
        node: id(node),
        start,
        len_s: 60,
        state,
        measured: state,
        reporters: 1,
        down_votes: u16::from(state == SliceState::Down),
    }
}

#[tokio::test]
async fn slices_are_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteNetwatchStore::open(dir.path()).await.unwrap();
    s.put_slices(&[
        row("seoul", 60, SliceState::Up),
        row("osaka", 60, SliceState::Down),
    ])
    .await
    .unwrap();
    // Rewriting one slice fails and writes nothing of the batch.
    let err = s
        .put_slices(&[
            row("seoul", 120, SliceState::Up),
            row("seoul", 60, SliceState::Down),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let rows = s.slices(0, 1_000).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows.iter().find(|r| r.node == id("seoul")).unwrap().state,
        SliceState::Up
    );
    s.close().await;

    // Even SQL that bypasses the store cannot change a closed slice.
    let url = format!("sqlite://{}", dir.path().join("netwatch.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let upd = sqlx::query("UPDATE slices SET state = 'UP' WHERE node = 'osaka'")
        .execute(&pool)
        .await;
    assert!(upd.is_err());
    let del = sqlx::query("DELETE FROM slices").execute(&pool).await;
    assert!(del.is_err());
}

#[tokio::test]
async fn incidents_and_windows_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteNetwatchStore::open(dir.path()).await.unwrap();
    let t: Timestamp = "2026-10-31T15:50:00Z".parse().unwrap();
    let e = |kind: &str| TimelineEntry {
        at: t,
        kind: kind.into(),
        detail: "x".into(),
    };
    let i = s
        .open_incident(
            &id("moscow"),
            t,
            &[e("first_failure"), e("opened")],
            &[hook("a"), hook("b")],
        )
        .await
        .unwrap();
    s.update_incident(i, None, &[e("evidence")], &[hook("a")])
        .await
        .unwrap();
    s.update_incident(
        i,
        Some(t.checked_add(SignedDuration::from_mins(30)).unwrap()),
        &[e("closed")],
        &[hook("a")],
    )
    .await
    .unwrap();
    assert!(matches!(
        s.update_incident(i, Some(t), &[], &[hook("a")]).await,
        Err(StoreError::Conflict(_))
    ));
    let list = s.incidents(Some(&id("moscow"))).await.unwrap();
    assert_eq!(list.len(), 1);
    let kinds: Vec<_> = list[0].timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["first_failure", "opened", "evidence", "closed"]);
    // The notices were written with the changes (evidence tells nobody, the refused close
    // wrote none), survive a reopening, and come due in order per webhook and node.
    s.close().await;
    let s = SqliteNetwatchStore::open(dir.path()).await.unwrap();
    let all = s.notices().await.unwrap();
    let what: Vec<(String, NoticeEvent)> = all.iter().map(|n| (n.url.clone(), n.event)).collect();
    assert_eq!(
        what,
        [
            (hook("a"), NoticeEvent::Opened),
            (hook("b"), NoticeEvent::Opened),
            (hook("a"), NoticeEvent::Closed)
        ]
    );
    let later = t.checked_add(SignedDuration::from_hours(1)).unwrap();
    let due: Vec<i64> = s
        .due_notices(later, 10)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        due,
        [all[0].id, all[1].id],
        "a's closing waits behind its opening"
    );
    s.record_notice(all[0].id, later, &NoticeOutcome::Delivered, None)
        .await
        .unwrap();
    s.record_notice(
        all[1].id,
        later,
        &NoticeOutcome::RetryAt(later.checked_add(SignedDuration::from_secs(10)).unwrap()),
        Some("503"),
    )
    .await
    .unwrap();
    let due: Vec<i64> = s
        .due_notices(later, 10)
        .await
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(due, [all[2].id], "b waits for its back-off");
    let closed = &s.due_notices(later, 10).await.unwrap()[0];
    assert_eq!(
        closed.incident.closed_at,
        Some(t.checked_add(SignedDuration::from_mins(30)).unwrap())
    );
    assert_eq!(s.notices().await.unwrap()[1].attempts, 1);
    assert!(s.incidents(Some(&id("seoul"))).await.unwrap().is_empty());

    let weekly = Schedule::Weekly {
        weekday: Weekday::Sunday,
        at: Time::constant(2, 30, 0, 0),
        length: SignedDuration::from_hours(2),
        tz: TimeZone::get("Europe/Rome").unwrap(),
    };
    let spec = |scope, schedule, emergency| WindowSpec {
        scope,
        schedule,
        note: "patching".into(),
        emergency,
    };
    let europe = Scope::Region(Region::parse("europe", "r").unwrap());
    let w = s
        .create_window(&spec(europe, weekly.clone(), false), t, "ops", None)
        .await
        .unwrap();
    let one = Schedule::OneOff {
        start: t,
        end: t.checked_add(SignedDuration::from_hours(1)).unwrap(),
    };
    let later = t.checked_add(SignedDuration::from_mins(5)).unwrap();
    let e = s
        .create_window(
            &spec(Scope::Node(id("moscow")), one.clone(), true),
            later,
            "root",
            None,
        )
        .await
        .unwrap();
    let deletion = WindowVersion {
        window: w.window,
        version: 2,
        recorded_at: later,
        recorded_by: "ops".into(),
        spec: None,
    };
    s.append_window_version(&deletion).await.unwrap();
    assert!(
        matches!(
            s.append_window_version(&deletion).await,
            Err(StoreError::Conflict(_))
        ),
        "a version is written once"
    );
    let all = s.window_history().await.unwrap();
    assert_eq!(all, vec![w.clone(), deletion, e.clone()]);
    assert_eq!(all[2].spec.as_ref().unwrap().schedule, one);
    // The history is append-only in the database itself.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(rendan_netwatch_sqlite::DB_FILE).display()
    ))
    .await
    .unwrap();
    for sql in [
        "UPDATE maintenance_versions SET note = 'x'",
        "DELETE FROM maintenance_versions",
    ] {
        assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
    }
}

fn config(addr: std::net::SocketAddr) -> NetwatchConfig {
    let text = format!(
        "[[node]]\nid = \"alpha\"\nname = \"Alpha\"\nregion = \"asia\"\nlat = 0.0\nlon = 0.0\navailability_target = 99.7\nagent = \"{addr}\"\n\n[netwatch]\nslice = \"1s\"\ninterval = \"1s\"\ntimeout = \"300ms\"\nclasses = [\"data\"]\n"
    );
    NetwatchConfig::from_topology(&rendan_topology::parse(&text, "t").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_restart_leaves_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent::spawn(AgentOptions::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let run = |secs: u64| {
        let (dir, cfg) = (dir.path().to_path_buf(), config(a.addr()));
        async move {
            let store = Arc::new(SqliteNetwatchStore::open(&dir).await.unwrap());
            let nw = Netwatch::new(cfg, store.clone()).await.unwrap();
            let m = rendan_netwatch::start(nw);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            m.shutdown().await;
            store.close().await;
        }
    };
    let t0 = Timestamp::now();
    run(4).await;
    let gap_from = Timestamp::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let gap_to = Timestamp::now();
    run(4).await;
    let t1 = Timestamp::now();
    a.shutdown().await;

    let store = Arc::new(SqliteNetwatchStore::open(dir.path()).await.unwrap());
    let nw = Netwatch::new(config("127.0.0.1:9".parse().unwrap()), store.clone())
        .await
        .unwrap();
    let contract = nw.config().contract(None).unwrap().clone();
    let inner_from = Timestamp::from_second(gap_from.as_second() + 1).unwrap();
    let inner_to = Timestamp::from_second(gap_to.as_second()).unwrap();
    let gap = report::figures(&nw, &contract, inner_from, inner_to, false, t1)
        .await
        .unwrap();
    let g = &gap.nodes[0];
    assert_eq!(
        g.counts.counted(),
        0,
        "nothing measured while stopped: {g:?}"
    );
    assert!(g.counts.no_data >= 3);
    let all = report::figures(&nw, &contract, t0, t1, false, t1)
        .await
        .unwrap();
    let l = &all.nodes[0];
    assert!(l.counts.up >= 5 && l.counts.no_data >= 4, "{l:?}");
    assert_eq!(l.counts.down, 0);
    assert_eq!(l.availability, Some(100.0));
}

/// One monitor per data directory: a second is refused with an error naming the first, and
/// the directory is free again once the first has shut down.
#[tokio::test]
async fn a_second_monitor_on_one_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || config("127.0.0.1:9".parse().unwrap());
    let first = rendan_netwatch_sqlite::start_monitor(cfg(), dir.path())
        .await
        .unwrap();
    let second = rendan_netwatch_sqlite::start_monitor(cfg(), dir.path()).await;
    let Err(e) = second else {
        panic!("two monitors on one data directory");
    };
    let message = e.to_string();
    assert!(
        message.contains(&format!("process {}", std::process::id())),
        "{message}"
    );
    assert!(message.contains("another network monitor"), "{message}");
    first.shutdown().await;
    let again = rendan_netwatch_sqlite::start_monitor(cfg(), dir.path())
        .await
        .unwrap();
    again.shutdown().await;
}

/// An hour rolls up in SQL to what the network watch's own rollup computes from the samples,
/// and pruning the samples leaves the rollups (and so the reports) as they were.
#[tokio::test]
async fn samples_roll_up_in_sql_and_survive_pruning() {
    use rendan_netwatch::rollup::rollup;
    use rendan_netwatch::store::Sample;
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteNetwatchStore::open(dir.path()).await.unwrap();
    let t0: Timestamp = "2026-11-05T02:00:00Z".parse().unwrap();
    let samples: Vec<Sample> = (0..720)
        .map(|i| Sample {
            node: id(if i % 2 == 0 { "seoul" } else { "osaka" }),
            class: if i % 3 == 0 {
                "voice".into()
            } else {
                "tcp".into()
            },
            at: t0 + SignedDuration::from_secs(5 * i),
            rtt_ms: (i % 7 != 0).then_some(0.1 + f64::from(i as u32 % 50)),
            sent: if i % 3 == 0 { 50 } else { 1 },
            received: if i % 3 == 0 {
                49
            } else {
                u32::from(i % 7 != 0)
            },
            jitter_ms: (i % 3 == 0).then_some(f64::from(i as u32 % 11) / 3.0),
        })
        .collect();
    s.put_samples(&samples).await.unwrap();
    let hour = t0.as_second();
    s.roll_up(hour).await.unwrap();
    assert_eq!(s.rolled_up_until().await.unwrap(), Some(hour + 3600));
    let stored = s.rollups(hour, hour + 3600).await.unwrap();
    assert_eq!(stored, rollup(&samples), "SQL and Rust roll up alike");
    // Rolling up again replaces, never doubles.
    s.roll_up(hour).await.unwrap();
    assert_eq!(s.rollups(hour, hour + 3600).await.unwrap(), stored);
    let gone = s
        .prune_samples(t0 + SignedDuration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(gone, 720);
    assert_eq!(s.oldest_sample().await.unwrap(), None);
    assert_eq!(s.rollups(hour, hour + 3600).await.unwrap(), stored);
}

/// Slices stored as MAINTENANCE before windows were versioned stay maintenance: the window
/// that masked them may be gone, and the months they belong to must not move.
#[tokio::test]
async fn slices_stored_as_maintenance_before_versioning_stay_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteNetwatchStore::open(dir.path()).await.unwrap());
    let t0: Timestamp = "2026-11-05T00:00:00Z".parse().unwrap();
    let rows: Vec<SliceRow> = (0..240)
        .map(|k| {
            let mut r = row("alpha", t0.as_second() + 60 * k, SliceState::Up);
            if (60..90).contains(&k) {
                // What the old monitor wrote under a window: MAINTENANCE over a DOWN.
                r.state = SliceState::Maintenance;
                r.measured = SliceState::Down;
            }
            r
        })
        .collect();
    s.put_slices(&rows).await.unwrap();
    let nw = Netwatch::new(config("127.0.0.1:9".parse().unwrap()), s.clone())
        .await
        .unwrap();
    let c = nw.config().contract(None).unwrap().clone();
    let to = t0 + SignedDuration::from_hours(4);
    let f = report::figures(&nw, &c, t0, to, false, to).await.unwrap();
    let a = &f.nodes[0];
    assert_eq!(a.counts.maintenance, 30 * 60, "{a:?}");
    assert_eq!(a.counts.down, 0);
    assert_eq!(a.counts.up, 210 * 60);
}

/// A netwatch.db written before windows were versioned upgrades in place: its windows become
/// version 1, announced long ago, and keep masking what they masked.
#[tokio::test]
async fn a_database_from_before_versioned_windows_upgrades() {
    use sqlx::migrate::Migrator;
    let dir = tempfile::tempdir().unwrap();
    let first = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0001_netwatch.sql"),
        first.path().join("0001_netwatch.sql"),
    )
    .unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join(rendan_netwatch_sqlite::DB_FILE).display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    Migrator::new(first.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO maintenance (scope_kind, scope, kind, start_ms, end_ms, note) VALUES ('node', 'alpha', 'one_off', $1, $2, 'old swap')",
    )
    .bind(Timestamp::from_second(1_762_304_400).unwrap().as_millisecond())
    .bind(Timestamp::from_second(1_762_308_000).unwrap().as_millisecond())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let s = Arc::new(SqliteNetwatchStore::open(dir.path()).await.unwrap());
    let history = s.window_history().await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].recorded_at, Timestamp::UNIX_EPOCH);
    assert_eq!(history[0].spec.as_ref().unwrap().note, "old swap");
    let t0 = Timestamp::from_second(1_762_300_800).unwrap();
    let rows: Vec<SliceRow> = (0..240)
        .map(|k| row("alpha", t0.as_second() + 60 * k, SliceState::Down))
        .collect();
    s.put_slices(&rows).await.unwrap();
    let nw = Netwatch::new(config("127.0.0.1:9".parse().unwrap()), s.clone())
        .await
        .unwrap();
    let c = nw.config().contract(None).unwrap().clone();
    let to = t0 + SignedDuration::from_hours(4);
    let f = report::figures(&nw, &c, t0, to, false, to).await.unwrap();
    assert_eq!(
        f.nodes[0].counts.maintenance, 3600,
        "the old window still masks its hour"
    );
    assert_eq!(f.windows.len(), 1);
}
