//! Group commit: every write of a process goes through a few writer connections that commit
//! many callers' jobs in one transaction.
//!
//! A write that reserves stock locks its balance rows until its transaction commits, and a
//! commit waits for the WAL to reach disk. One transaction per write therefore lets one hot
//! balance row pass one order per WAL flush. Here jobs queue on a channel instead; a writer
//! takes whatever is waiting (up to [`MAX_BATCH`]), runs each job inside its own SAVEPOINT of
//! one READ COMMITTED transaction, commits once, and only then answers every caller: the row
//! lock and the flush are shared by the whole group. [`WRITERS`] writers per process each own
//! a connection, so one gathers its next group while another waits for its commit, and the
//! groups of several processes still interleave on the same rows.
//!
//! The writer never answers a caller with something the database contradicts:
//! - a job that fails is rolled back to its savepoint and answered with its error, without
//!   disturbing its neighbours;
//! - a job that loses a race to another process on a unique constraint (`23505`) is rolled
//!   back to its savepoint and run again in the same transaction; at READ COMMITTED the rerun
//!   sees the winner's committed row and answers as a replay or a conflict;
//! - when the group's transaction is lost (a deadlock or serialization failure, `40P01` /
//!   `40001`, a savepoint that cannot be rolled back or released, a connection error, or a
//!   `COMMIT` the server refuses), nothing of the group is committed and no caller has been
//!   answered, so the writer runs every job of the group again, each in a transaction of its
//!   own, and answers each from that;
//! - when the connection breaks during `COMMIT` nobody can tell whether the group committed,
//!   so every caller of the group is told so (an error), as a lone transaction would be.

use crate::MAX_ATTEMPTS;
use crate::error::backend;
use futures_util::future::BoxFuture;
use rendan_store::StoreError;
use rendan_store::tx::Fail;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

#[cfg(test)]
mod tests;

/// Most jobs committed together; bounds the latency one group adds to its first member.
pub const MAX_BATCH: usize = 256;

/// Writer connections per process: two let one gather while the other commits, and stay
/// few so that the groups of several processes interleave rather than queue on a row.
pub const WRITERS: usize = 2;

/// How a job's run ended.
enum Ran {
    /// It succeeded; its writes stay.
    Done,
    /// It failed with its answer; its writes must go.
    Failed,
    /// It lost a race on a unique constraint: roll back its writes and run it again.
    Retry(String),
    /// The database aborted the whole transaction (deadlock, serialization failure).
    Abort(String),
}

/// One caller's job. It can run more than once, and only the last run counts.
trait Task: Send {
    /// Runs the job on `conn` and keeps its result for the answer.
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, Ran>;
    /// Answers the caller: the last run's result once `commit` made it durable, else the
    /// reason it is not.
    fn answer(self: Box<Self>, commit: Result<(), StoreError>);
}

/// A job waiting for its answer.
struct Pending<T, E, F> {
    job: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
    _error: std::marker::PhantomData<fn() -> E>,
}

impl<T, E, F> Task for Pending<T, E, F>
where
    T: Send + 'static,
    E: Into<Fail> + Send + 'static,
    F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T, E>> + Send,
{
    fn run<'c>(&'c mut self, conn: &'c mut PgConnection) -> BoxFuture<'c, Ran> {
        Box::pin(async move {
            let (result, ran) = match (self.job)(conn).await.map_err(Into::into) {
                Ok(v) => (Ok(v), Ran::Done),
                Err(Fail::Store(e)) => (Err(e), Ran::Failed),
                // Should this be the last run, its answer is that it kept losing.
                Err(Fail::Retry(why)) => (Err(gave_up(&why)), Ran::Retry(why)),
                Err(Fail::Abort(why)) => (Err(gave_up(&why)), Ran::Abort(why)),
            };
            self.result = Some(result);
            ran
        })
    }

    fn answer(self: Box<Self>, commit: Result<(), StoreError>) {
        let result = self
            .result
            .unwrap_or_else(|| Err(StoreError::Backend("the job never ran".into())));
        // The caller may have gone away (client disconnected): nothing to tell.
        let _ = self.reply.send(commit.and(result));
    }
}

fn gave_up(why: &str) -> StoreError {
    StoreError::Backend(format!(
        "gave up after {MAX_ATTEMPTS} attempts lost races: {why}"
    ))
}

/// A handle for submitting jobs.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Task>>,
}

impl Writer {
    /// Connects `count` writer connections with `opts` and starts a task for each on the
    /// current runtime; they stop when the last handle is dropped.
    pub(crate) async fn start(opts: PgConnectOptions, count: usize) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..count.max(1) {
            let conn = opts.connect().await.map_err(backend)?;
            tokio::spawn(run(opts.clone(), conn, rx.clone()));
        }
        Ok(Writer { jobs: tx })
    }

    /// Runs `job` in the next group and returns its result once the group is durable.
    ///
    /// `job` may be called more than once (a lost race or a lost group runs it again); every
    /// call starts from a database without the previous call's writes.
    pub(crate) async fn write<T, E, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        E: Into<Fail> + Send + 'static,
        F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let task: Box<dyn Task> = Box::new(Pending {
            job,
            result: None,
            reply,
            _error: std::marker::PhantomData,
        });
        self.jobs
            .send(task)
            .await
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the writer stopped before answering".into()))?
    }
}

/// Why a group's transaction could not be used any more.
struct Lost(String);

/// How a transaction ended.
enum Ended {
    Committed,
    /// Rolled back, by the server or by the writer: nothing of it is in the database.
    Lost(String),
    /// The connection broke during `COMMIT`: it may or may not have committed.
    Unknown(String),
}

/// Runs `sql` (one or more statements of the writer's own) as a simple query.
async fn exec(conn: &mut PgConnection, sql: &'static str) -> Result<(), Lost> {
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| Lost(format!("{sql}: {e}")))
}

async fn run(
    opts: PgConnectOptions,
    conn: PgConnection,
    rx: Arc<Mutex<mpsc::Receiver<Box<dyn Task>>>>,
) {
    let mut conn = Some(conn);
    let mut batch: Vec<Box<dyn Task>> = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            // Only one writer gathers at a time; the others are committing meanwhile.
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                break;
            }
            // Callers just answered by a commit are about to send their next job. Yield to
            // them for as long as the group keeps growing, so one commit serves as many as
            // are ready; an idle system pays a single yield.
            loop {
                tokio::task::yield_now().await;
                let before = batch.len();
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                if batch.len() == before || batch.len() >= MAX_BATCH {
                    break;
                }
            }
        }
        if connected(&opts, &mut conn).await.is_none() {
            for task in batch.drain(..) {
                task.answer(Err(StoreError::Backend(
                    "the writer cannot reach the database".into(),
                )));
            }
            continue;
        }
        match transaction(&mut conn, &mut batch).await {
            Ended::Committed => {
                for task in batch.drain(..) {
                    task.answer(Ok(()));
                }
            }
            Ended::Unknown(why) => {
                for task in batch.drain(..) {
                    task.answer(Err(StoreError::Backend(why.clone())));
                }
            }
            Ended::Lost(why) => {
                tracing::warn!(
                    error = %why,
                    jobs = batch.len(),
                    "group transaction lost; running its jobs one by one"
                );
                for task in batch.drain(..) {
                    alone(&opts, &mut conn, task).await;
                }
            }
        }
    }
    tracing::debug!("writer stopped: every handle was dropped");
}

/// The writer's connection, connecting again when it has been dropped; `None` if that fails.
async fn connected<'a>(
    opts: &PgConnectOptions,
    conn: &'a mut Option<PgConnection>,
) -> Option<&'a mut PgConnection> {
    if conn.is_none() {
        match opts.connect().await {
            Ok(c) => *conn = Some(c),
            Err(e) => tracing::error!(error = %e, "the writer cannot connect"),
        }
    }
    conn.as_mut()
}

/// Runs one task in transactions of its own until it is answered.
async fn alone(opts: &PgConnectOptions, conn: &mut Option<PgConnection>, task: Box<dyn Task>) {
    let mut batch = vec![task];
    let mut last = String::new();
    for _ in 0..MAX_ATTEMPTS {
        if connected(opts, conn).await.is_none() {
            break;
        }
        match transaction(conn, &mut batch).await {
            Ended::Committed => {
                for task in batch.drain(..) {
                    task.answer(Ok(()));
                }
                return;
            }
            Ended::Unknown(why) => {
                for task in batch.drain(..) {
                    task.answer(Err(StoreError::Backend(why.clone())));
                }
                return;
            }
            Ended::Lost(why) => {
                tracing::debug!(%why, "transaction lost; running it again");
                last = why;
                tokio::task::yield_now().await;
            }
        }
    }
    for task in batch.drain(..) {
        task.answer(Err(StoreError::Backend(format!(
            "gave up after {MAX_ATTEMPTS} lost transactions: {last}"
        ))));
    }
}

/// Runs every task in one transaction on the connection in `slot`, each in its own
/// savepoint, and commits. On `Committed` every task's last run is durable (a failed task's
/// writes were rolled back to its savepoint); on `Lost` nothing of it is in the database. A
/// connection that broke is taken out of `slot`.
async fn transaction(slot: &mut Option<PgConnection>, tasks: &mut [Box<dyn Task>]) -> Ended {
    let Some(conn) = slot.as_mut() else {
        return Ended::Lost("the writer has no connection".into());
    };
    if let Err(Lost(why)) = group(conn, tasks).await {
        // No COMMIT was sent. A connection that cannot roll back is dropped, and the server
        // rolls the transaction back when it goes.
        if exec(conn, "ROLLBACK").await.is_err() {
            *slot = None;
        }
        return Ended::Lost(why);
    }
    match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
        Ok(_) => Ended::Committed,
        // The server answered with an error: it rolled the transaction back.
        Err(e) if e.as_database_error().is_some() => Ended::Lost(format!("COMMIT: {e}")),
        Err(e) => {
            *slot = None;
            Ended::Unknown(format!(
                "the connection broke during COMMIT; the write may or may not be saved: {e}"
            ))
        }
    }
}

/// Begins the transaction and runs every task in it; `Err` means it must be rolled back.
async fn group(conn: &mut PgConnection, tasks: &mut [Box<dyn Task>]) -> Result<(), Lost> {
    exec(conn, "BEGIN ISOLATION LEVEL READ COMMITTED").await?;
    for task in tasks.iter_mut() {
        job(conn, task.as_mut()).await?;
    }
    Ok(())
}

/// Runs one task inside a savepoint until it succeeds, fails with its answer, or has lost
/// [`MAX_ATTEMPTS`] races; only a successful run's writes stay.
async fn job(conn: &mut PgConnection, task: &mut dyn Task) -> Result<(), Lost> {
    for _ in 0..MAX_ATTEMPTS {
        exec(conn, "SAVEPOINT job").await?;
        match task.run(conn).await {
            Ran::Done => return exec(conn, "RELEASE SAVEPOINT job").await,
            Ran::Failed => {
                return exec(conn, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job").await;
            }
            Ran::Retry(why) => {
                tracing::debug!(%why, "job lost a race; running it again");
                exec(conn, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job").await?;
            }
            // Another group may hold what this one waits for, and rolling back one job would
            // not release the locks of its neighbours: give the whole transaction up.
            Ran::Abort(why) => return Err(Lost(why)),
        }
    }
    // The task's result already says it gave up; its writes are gone.
    Ok(())
}
