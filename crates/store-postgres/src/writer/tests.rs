//! Groups of the PostgreSQL writer against a real server (`RENDAN_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Every test compares each answer a caller
//! got with what a fresh connection finds committed: a success must be there exactly once, a
//! failure must have left nothing.

use super::{MAX_BATCH, Writer};
use crate::error::Fail;
use crate::scratch;
use futures_util::future::BoxFuture;
use rendan_store::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Answers = Vec<(String, Result<String, StoreError>)>;

type BoxJob =
    Box<dyn for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<String, Fail>> + Send>;

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// A scratch database; dropped by `Scratch::drop_now`.
struct Scratch {
    admin: String,
    name: String,
    url: String,
}

impl Scratch {
    /// A fresh database with a `probe` table, or `None` (after a message) when no server is
    /// reachable outside CI.
    async fn fresh() -> Option<Scratch> {
        let admin = std::env::var("RENDAN_TEST_PG")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let name = format!(
            "rendan_writer_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let url = match scratch::create(&admin, &name).await {
            Ok(url) => url,
            Err(e) => {
                let why = format!("PostgreSQL at {admin} is unreachable: {e}");
                assert!(
                    !std::env::var("CI").is_ok_and(|v| v == "true"),
                    "{why} (CI=true: PostgreSQL suites fail rather than skip)"
                );
                eprintln!("SKIPPED: {why}");
                return None;
            }
        };
        let mut conn = PgConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql("CREATE TABLE probe (name TEXT PRIMARY KEY)")
            .execute(&mut conn)
            .await
            .expect("probe table");
        Some(Scratch { admin, name, url })
    }

    async fn writer(&self) -> Writer {
        let opts = PgConnectOptions::from_str(&self.url).expect("url");
        Writer::start(opts, 1).await.expect("writer")
    }

    /// How many times each name is committed, read on a connection of its own.
    async fn on_disk(&self) -> BTreeMap<String, i64> {
        let mut conn = PgConnection::connect(&self.url).await.expect("reader");
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, count(*) FROM probe GROUP BY name")
                .fetch_all(&mut conn)
                .await
                .expect("probe rows");
        rows.into_iter().collect()
    }

    async fn drop_now(self) {
        scratch::drop(&self.admin, &self.name)
            .await
            .expect("drop scratch database");
    }
}

/// Writes the row that says job `name` took effect.
async fn insert(conn: &mut PgConnection, name: &str) -> Result<(), Fail> {
    sqlx::query("INSERT INTO probe (name) VALUES ($1)")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Holds the writer inside a job of its own until the returned sender fires, so that every job
/// submitted meanwhile waits in the channel and the next group holds all of them.
async fn hold(writer: &Writer) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let (mut started, mut release) = (Some(started_tx), Some(release_rx));
    let writer = writer.clone();
    let held = tokio::spawn(async move {
        writer
            .write(move |_conn| {
                let (started, release) = (started.take(), release.take());
                Box::pin(async move {
                    if let Some(s) = started {
                        let _ = s.send(());
                    }
                    if let Some(r) = release {
                        let _ = r.await;
                    }
                    Ok::<(), Fail>(())
                })
            })
            .await
            .expect("held job");
    });
    started_rx.await.expect("the writer runs the holding job");
    (release_tx, held)
}

/// Submits `jobs` so that they form one group, and collects every answer.
async fn one_group(writer: &Writer, jobs: Vec<(String, BoxJob)>) -> Answers {
    assert!(jobs.len() <= MAX_BATCH);
    let (release, held) = hold(writer).await;
    let n = jobs.len();
    let mut tasks = Vec::new();
    for (name, job) in jobs {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move { (name, writer.write(job).await) }));
    }
    while writer.jobs.max_capacity() - writer.jobs.capacity() < n {
        tokio::task::yield_now().await;
    }
    release.send(()).expect("release");
    held.await.expect("held");
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("caller"));
    }
    answers
}

/// Every success is committed once; every failure left nothing.
fn assert_truthful(answers: &Answers, disk: &BTreeMap<String, i64>) {
    for (name, answer) in answers {
        let copies = disk.get(name).copied().unwrap_or(0);
        match answer {
            Ok(_) => assert_eq!(
                copies, 1,
                "{name} was answered success but is committed {copies} times"
            ),
            Err(e) => assert_eq!(
                copies, 0,
                "{name} was answered {e} but is committed {copies} times"
            ),
        }
    }
}

/// A job that writes its row and succeeds.
fn honest(name: &str) -> (String, BoxJob) {
    let row = name.to_string();
    let job: BoxJob = Box::new(move |conn| {
        let row = row.clone();
        Box::pin(async move {
            insert(conn, &row).await?;
            Ok("stored".to_string())
        })
    });
    (name.to_string(), job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_fails_after_writing_is_rolled_back_alone() {
    let Some(db) = Scratch::fresh().await else {
        return;
    };
    let writer = db.writer().await;
    let mut jobs = Vec::new();
    for i in 0..24 {
        let name = format!("job-{i}");
        if i % 3 == 1 {
            let row = name.clone();
            let job: BoxJob = Box::new(move |conn| {
                let row = row.clone();
                Box::pin(async move {
                    insert(conn, &row).await?;
                    Err(Fail::Store(StoreError::Backend(
                        "fails after writing".into(),
                    )))
                })
            });
            jobs.push((name, job));
        } else {
            jobs.push(honest(&name));
        }
    }
    let answers = one_group(&writer, jobs).await;
    let disk = db.on_disk().await;
    assert_truthful(&answers, &disk);
    for (i, (name, answer)) in answers.iter().enumerate() {
        assert_eq!(answer.is_ok(), i % 3 != 1, "{name}: {answer:?}");
    }
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_loses_a_unique_race_runs_again_and_finds_the_winner() {
    let Some(db) = Scratch::fresh().await else {
        return;
    };
    let writer = db.writer().await;
    // Another process inserts "contested" and commits only once the writer's insert of the
    // same key waits on it, so the writer's insert fails with a unique violation.
    let mut rival = PgConnection::connect(&db.url).await.expect("rival");
    sqlx::raw_sql("BEGIN; INSERT INTO probe (name) VALUES ('contested')")
        .execute(&mut rival)
        .await
        .expect("rival insert");
    let mut jobs = vec![honest("before")];
    let job: BoxJob = Box::new(move |conn| {
        Box::pin(async move {
            let found: Option<(String,)> =
                sqlx::query_as("SELECT name FROM probe WHERE name = 'contested'")
                    .fetch_optional(&mut *conn)
                    .await?;
            if found.is_some() {
                return Ok("found the winner's row".to_string());
            }
            insert(conn, "contested").await?;
            Ok("stored".to_string())
        })
    });
    jobs.push(("contested".to_string(), job));
    jobs.push(honest("after"));
    let group = tokio::spawn({
        let writer = writer.clone();
        async move { one_group(&writer, jobs).await }
    });
    let mut watcher = PgConnection::connect(&db.url).await.expect("watcher");
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    sqlx::raw_sql("COMMIT")
        .execute(&mut rival)
        .await
        .expect("rival commit");
    let answers = group.await.expect("group");
    let disk = db.on_disk().await;
    let by_name: BTreeMap<_, _> = answers.iter().cloned().collect();
    assert_eq!(
        by_name.get("contested").cloned().map(|a| a.ok()),
        Some(Some("found the winner's row".to_string())),
        "{answers:?}"
    );
    // The winner's row, once; the neighbours committed in the same group.
    assert_eq!(disk.get("contested"), Some(&1));
    let others: Answers = answers
        .into_iter()
        .filter(|(n, _)| n != "contested")
        .collect();
    assert!(others.iter().all(|(_, a)| a.is_ok()), "{others:?}");
    assert_truthful(&others, &disk);
    db.drop_now().await;
}
