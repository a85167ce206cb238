//! The single writer: every change goes through one connection that commits in groups.
//!
//! SQLite allows one writer at a time. Rather than let request tasks queue on the database
//! lock, they queue on a channel; the writer takes whatever is waiting (up to [`MAX_BATCH`]),
//! runs each job inside its own SAVEPOINT of one transaction, commits once, and only then
//! answers every caller. With `synchronous=FULL` that commit is an fsync of the WAL, so a
//! caller's success means its change is on disk, and one fsync is shared by the whole group.
//!
//! The writer never answers a caller with something the disk contradicts:
//! - a job that fails is rolled back to its savepoint and answered with its error, without
//!   disturbing its neighbours;
//! - when the group's transaction is lost (SQLite rolls the whole transaction back on
//!   `SQLITE_FULL` or `SQLITE_IOERR`, a savepoint cannot be closed, or the commit fails),
//!   nothing of the group is on disk and no caller has been answered yet, so the writer runs
//!   every job of the group again, each alone in its own transaction, and answers each from
//!   that;
//! - only the writer's own `COMMIT` may commit: a commit hook refuses every other one, so no
//!   statement of a job can take effect outside the writer's transaction (after an automatic
//!   rollback, say) and a rollback hook tells the writer that the transaction is gone.

use crate::backend;
use futures_util::future::BoxFuture;
use rendan_store::StoreError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot};

#[cfg(test)]
mod tests;

/// Most jobs committed together; bounds the latency one group adds to its first member.
pub const MAX_BATCH: usize = 512;

/// One caller's job. It can run more than once: a group whose transaction is lost is run
/// again job by job, and only the last run counts.
trait Task: Send {
    /// Runs the job on `conn` and keeps its result for the answer; returns whether it succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller: the last run's result once `commit` made it durable, else the
    /// reason it is not.
    fn answer(self: Box<Self>, commit: Result<(), StoreError>);
}

/// A job waiting for its answer.
struct Pending<T, F> {
    job: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Task for Pending<T, F>
where
    T: Send + 'static,
    F: for<'c> FnMut(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send,
{
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = (self.job)(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
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

/// A handle for submitting jobs.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Task>>,
}

impl Writer {
    /// Starts the writer on a thread of its own, connecting with `opts` and migrating first.
    ///
    /// Why a thread: sqlx runs each SQLite connection on a worker thread and every statement
    /// is a hand-off between that thread and the task that awaits it. When the two sit on
    /// different cores each hand-off is a cross-core wake-up, which on this project's virtual
    /// machines costs more than the statement itself (pinning the whole process to one core
    /// measured 2.5 times faster). So the writer task gets a single-threaded runtime on a
    /// thread pinned to one core, and sqlx's worker for its connection, spawned from that
    /// thread, inherits the pin: statements hop within a core, and a request pays one
    /// cross-core hand-off per job, not one per statement.
    pub(crate) async fn start(
        opts: SqliteConnectOptions,
        migrator: &'static sqlx::migrate::Migrator,
    ) -> Result<Writer, StoreError> {
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("rendan-writer".into())
            .spawn(move || {
                pin_to_last_core();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(StoreError::Backend(format!("writer runtime: {e}"))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut conn = match opts.connect().await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(backend(e)));
                            return;
                        }
                    };
                    if let Err(e) = migrator.run(&mut conn).await {
                        let _ = ready_tx
                            .send(Err(StoreError::Backend(format!("migration failed: {e}"))));
                        return;
                    }
                    let guard = match Guard::install(&mut conn).await {
                        Ok(g) => g,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                    if ready_tx.send(Ok(Writer { jobs: tx })).is_ok() {
                        run(conn, guard, rx).await;
                    }
                });
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| StoreError::Backend("the writer thread stopped while starting".into()))?
    }

    /// Runs `job` in the next group and returns its result once the group is durable.
    ///
    /// `job` may be called more than once (a lost group is run again job by job); every call
    /// starts from a database without the previous call's writes.
    pub(crate) async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnMut(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let task: Box<dyn Task> = Box::new(Pending {
            job,
            result: None,
            reply,
        });
        self.jobs
            .send(task)
            .await
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the writer stopped before answering".into()))?
    }
}

/// Pins the calling thread to the machine's last core (no-op on one core or when refused).
fn pin_to_last_core() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() > 1
        && let Some(last) = cores.last()
    {
        core_affinity::set_for_current(*last);
    }
}

/// The writer's hold on its connection's transactions: SQLite hooks that let only the
/// writer's `COMMIT` through and report every rollback, including SQLite's own.
struct Guard {
    /// Set only while the writer's `COMMIT` runs.
    committing: Arc<AtomicBool>,
    /// Set when a transaction is rolled back; cleared when the writer begins one.
    rolled_back: Arc<AtomicBool>,
}

/// Why a group's transaction could not be used any more.
struct Lost(StoreError);

impl Guard {
    async fn install(conn: &mut SqliteConnection) -> Result<Guard, StoreError> {
        let committing = Arc::new(AtomicBool::new(false));
        let rolled_back = Arc::new(AtomicBool::new(true));
        let mut handle = conn.lock_handle().await.map_err(backend)?;
        let allowed = committing.clone();
        handle.set_commit_hook(move || allowed.load(Ordering::SeqCst));
        let seen = rolled_back.clone();
        handle.set_rollback_hook(move || seen.store(true, Ordering::SeqCst));
        drop(handle);
        Ok(Guard {
            committing,
            rolled_back,
        })
    }

    /// Whether the current transaction is gone (rolled back, by the writer or by SQLite).
    fn lost(&self) -> bool {
        self.rolled_back.load(Ordering::SeqCst)
    }

    async fn begin(&self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        exec(conn, "BEGIN IMMEDIATE").await?;
        self.rolled_back.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Runs a statement of the writer's own inside the open transaction; a failure, or a
    /// transaction that is gone afterwards, loses the group.
    async fn step(&self, conn: &mut SqliteConnection, sql: &'static str) -> Result<(), Lost> {
        let done = exec(conn, sql).await;
        match done {
            Err(e) => Err(Lost(e)),
            Ok(()) if self.lost() => Err(Lost(StoreError::Backend(format!(
                "the transaction was rolled back during {sql}"
            )))),
            Ok(()) => Ok(()),
        }
    }

    async fn commit(&self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        self.committing.store(true, Ordering::SeqCst);
        let done = exec(conn, "COMMIT").await;
        self.committing.store(false, Ordering::SeqCst);
        done
    }

    /// Rolls back whatever is still open; afterwards nothing since `begin` is on disk.
    async fn rollback(&self, conn: &mut SqliteConnection) {
        if !self.lost()
            && let Err(e) = exec(conn, "ROLLBACK").await
        {
            tracing::error!(error = %e, "cannot roll back the writer's transaction");
        }
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(backend)
}

async fn run(mut conn: SqliteConnection, guard: Guard, mut rx: mpsc::Receiver<Box<dyn Task>>) {
    let mut batch: Vec<Box<dyn Task>> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Callers just answered by the previous commit are about to send their next job.
        // Yield to them for as long as the group keeps growing, so one fsync serves as many as
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
        match group(&mut conn, &guard, &mut batch).await {
            Ok(()) => {
                for task in batch.drain(..) {
                    task.answer(Ok(()));
                }
            }
            Err(Lost(e)) => {
                guard.rollback(&mut conn).await;
                tracing::warn!(
                    error = %e,
                    jobs = batch.len(),
                    "group transaction lost; running its jobs one by one"
                );
                for task in batch.drain(..) {
                    alone(&mut conn, &guard, task).await;
                }
            }
        }
    }
    tracing::debug!("writer stopped: every handle was dropped");
}

/// Runs every task in one transaction, each in its own savepoint, and commits. On `Ok` every
/// task's last run is durable (a failed task's writes were rolled back to its savepoint); on
/// `Err` the transaction must be rolled back and nothing of the group counts.
async fn group(
    conn: &mut SqliteConnection,
    guard: &Guard,
    tasks: &mut [Box<dyn Task>],
) -> Result<(), Lost> {
    guard.begin(conn).await.map_err(Lost)?;
    for task in tasks.iter_mut() {
        guard.step(conn, "SAVEPOINT job").await?;
        let ok = task.run(conn).await;
        if guard.lost() {
            return Err(Lost(StoreError::Backend(
                "SQLite rolled the transaction back during a job".into(),
            )));
        }
        if !ok {
            guard.step(conn, "ROLLBACK TO job").await?;
        }
        guard.step(conn, "RELEASE job").await?;
    }
    if let Err(e) = guard.commit(conn).await {
        return Err(Lost(e));
    }
    if guard.lost() {
        return Err(Lost(StoreError::Backend(
            "the commit was rolled back".into(),
        )));
    }
    Ok(())
}

/// Runs one task in a transaction of its own and answers it.
async fn alone(conn: &mut SqliteConnection, guard: &Guard, mut task: Box<dyn Task>) {
    if let Err(e) = guard.begin(conn).await {
        task.answer(Err(e));
        return;
    }
    let ok = task.run(conn).await;
    let outcome = if guard.lost() {
        Err(StoreError::Backend(
            "SQLite rolled the transaction back during the job".into(),
        ))
    } else if ok {
        match guard.commit(conn).await {
            Ok(()) if guard.lost() => Err(StoreError::Backend("the commit was rolled back".into())),
            other => other,
        }
    } else {
        // The job's own error is the answer; its writes go.
        guard.rollback(conn).await;
        Ok(())
    };
    if outcome.is_err() {
        guard.rollback(conn).await;
    }
    task.answer(outcome);
}
