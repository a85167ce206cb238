//! Faults injected into the writer's groups. Every test compares each answer a caller got with
//! what a fresh connection finds committed in the file: a success must be there, exactly once;
//! a failure must have left nothing.

use super::{MAX_BATCH, Writer};
use rendan_store::StoreError;
use sqlx::{Connection, SqliteConnection};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Answers = Vec<(String, Result<(), StoreError>)>;

async fn start(dir: &Path) -> Writer {
    let writer = Writer::start(crate::options(&dir.join(crate::DB_FILE)), &crate::MIGRATOR)
        .await
        .expect("writer");
    writer
        .write(|conn| {
            Box::pin(async move {
                exec(
                    conn,
                    "CREATE TABLE probe (name TEXT NOT NULL, pad BLOB NOT NULL)",
                )
                .await
            })
        })
        .await
        .expect("probe table");
    writer
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(crate::backend)
}

/// Writes the row that says job `name` took effect, padded to `pad` bytes.
async fn insert(conn: &mut SqliteConnection, name: &str, pad: usize) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO probe (name, pad) VALUES (?, zeroblob(?))")
        .bind(name)
        .bind(i64::try_from(pad).expect("pad"))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(crate::backend)
}

/// How many times each name is in the committed file, read on a connection of its own.
async fn on_disk(dir: &Path) -> BTreeMap<String, i64> {
    let url = format!("sqlite://{}?mode=ro", dir.join(crate::DB_FILE).display());
    let mut conn = SqliteConnection::connect(&url).await.expect("reader");
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, count(*) FROM probe GROUP BY name")
        .fetch_all(&mut conn)
        .await
        .expect("probe rows");
    rows.into_iter().collect()
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
                    Ok(())
                })
            })
            .await
            .expect("held job");
    });
    started_rx.await.expect("the writer runs the holding job");
    (release_tx, held)
}

/// Submits `jobs` so that they form one group, and collects every answer.
async fn one_group<F>(writer: &Writer, jobs: Vec<(String, F)>) -> Answers
where
    F: for<'c> FnMut(
            &'c mut SqliteConnection,
        ) -> futures_util::future::BoxFuture<'c, Result<(), StoreError>>
        + Send
        + 'static,
{
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

/// Every success is on disk once; every failure left nothing.
fn assert_truthful(answers: &Answers, disk: &BTreeMap<String, i64>) {
    for (name, answer) in answers {
        let copies = disk.get(name).copied().unwrap_or(0);
        match answer {
            Ok(()) => assert_eq!(
                copies, 1,
                "{name} was answered success but is on disk {copies} times"
            ),
            Err(e) => assert_eq!(
                copies, 0,
                "{name} was answered {e} but is on disk {copies} times"
            ),
        }
    }
}

type BoxJob = Box<
    dyn for<'c> FnMut(
            &'c mut SqliteConnection,
        ) -> futures_util::future::BoxFuture<'c, Result<(), StoreError>>
        + Send,
>;

/// A job that writes its row and succeeds.
fn honest(name: &str, pad: usize) -> (String, BoxJob) {
    let row = name.to_string();
    let job: BoxJob = Box::new(move |conn| {
        let row = row.clone();
        Box::pin(async move { insert(conn, &row, pad).await })
    });
    (name.to_string(), job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_fails_after_writing_is_rolled_back_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let writer = start(dir.path()).await;
    let mut jobs = Vec::new();
    for i in 0..24 {
        let name = format!("job-{i}");
        if i % 3 == 1 {
            let row = name.clone();
            let job: BoxJob = Box::new(move |conn| {
                let row = row.clone();
                Box::pin(async move {
                    insert(conn, &row, 10).await?;
                    Err(StoreError::Backend("fails after writing".into()))
                })
            });
            jobs.push((name, job));
        } else {
            jobs.push(honest(&name, 10));
        }
    }
    let answers = one_group(&writer, jobs).await;
    assert_truthful(&answers, &on_disk(dir.path()).await);
    for (i, (name, answer)) in answers.iter().enumerate() {
        assert_eq!(answer.is_ok(), i % 3 != 1, "{name}: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_savepoint_cannot_be_released_is_answered_as_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let writer = start(dir.path()).await;
    let mut jobs = Vec::new();
    for i in 0..12 {
        let name = format!("job-{i}");
        if i == 5 {
            // Releases the writer's savepoint itself, so the writer's RELEASE fails while the
            // job's row stays in the group's transaction.
            let row = name.clone();
            let job: BoxJob = Box::new(move |conn| {
                let row = row.clone();
                Box::pin(async move {
                    insert(conn, &row, 10).await?;
                    let _ = exec(conn, "RELEASE job").await;
                    Ok(())
                })
            });
            jobs.push((name, job));
        } else {
            jobs.push(honest(&name, 10));
        }
    }
    let answers = one_group(&writer, jobs).await;
    let disk = on_disk(dir.path()).await;
    assert_truthful(&answers, &disk);
    for (name, answer) in &answers {
        assert!(answer.is_ok(), "{name}: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_commits_outside_the_writers_transaction() {
    let dir = tempfile::tempdir().expect("dir");
    let writer = start(dir.path()).await;
    let mut jobs = Vec::new();
    for i in 0..12 {
        let name = format!("job-{i}");
        if i == 4 {
            // Commits behind the writer's back, then keeps writing as if nothing happened.
            let row = name.clone();
            let job: BoxJob = Box::new(move |conn| {
                let row = row.clone();
                Box::pin(async move {
                    insert(conn, &row, 10).await?;
                    let _ = exec(conn, "COMMIT").await;
                    let _ = insert(conn, &format!("{row}-after-commit"), 10).await;
                    Ok(())
                })
            });
            jobs.push((name, job));
        } else {
            jobs.push(honest(&name, 10));
        }
    }
    let answers = one_group(&writer, jobs).await;
    let disk = on_disk(dir.path()).await;
    assert_truthful(&answers, &disk);
    assert!(
        !disk.contains_key("job-4-after-commit"),
        "a statement took effect outside the writer's transaction: {disk:?}"
    );
    for (name, answer) in &answers {
        assert_eq!(answer.is_ok(), name != "job-4", "{name}: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_fills_the_database_is_retried_job_by_job() {
    let dir = tempfile::tempdir().expect("dir");
    let writer = start(dir.path()).await;
    // Room for about eight more rows of one page each: the group of 40 fills it part way.
    writer
        .write(|conn| {
            Box::pin(async move {
                let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(crate::backend)?;
                // A number, not input: nothing to inject.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA max_page_count = {}",
                    pages + 8
                )))
                .fetch_all(&mut *conn)
                .await
                .map_err(crate::backend)?;
                Ok(())
            })
        })
        .await
        .expect("page limit");
    let jobs = (0..40).map(|i| honest(&format!("job-{i}"), 3000)).collect();
    let answers = one_group(&writer, jobs).await;
    let disk = on_disk(dir.path()).await;
    assert_truthful(&answers, &disk);
    let ok = answers.iter().filter(|(_, a)| a.is_ok()).count();
    assert!(ok > 0, "the jobs that fit were not kept: {answers:?}");
    assert!(ok < answers.len(), "the page limit was never reached");

    // The writer is still usable once there is room again.
    writer
        .write(|conn| Box::pin(async move { exec(conn, "PRAGMA max_page_count = 100000").await }))
        .await
        .expect("lift the limit");
    writer
        .write(|conn| Box::pin(async move { insert(conn, "after", 3000).await }))
        .await
        .expect("a write after the limit is lifted");
    assert_eq!(on_disk(dir.path()).await.get("after"), Some(&1));
}
