//! The single writer: every change goes through one connection that commits in groups.
//!
//! SQLite allows one writer at a time. Rather than let request tasks queue on the database
//! lock, they queue on a channel; the writer takes whatever is waiting (up to [`MAX_BATCH`]),
//! runs each job inside its own SAVEPOINT of one transaction, commits once, and only then
//! answers every caller. With `synchronous=FULL` that commit is an fsync of the WAL, so a
//! caller's success means its change is on disk, and one fsync is shared by the whole group.
//! A job that fails is rolled back to its savepoint and does not disturb its neighbours.

use crate::backend;
use futures_util::future::BoxFuture;
use rendan_store::StoreError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed together; bounds the latency one group adds to its first member.
pub const MAX_BATCH: usize = 512;

/// What a job hands back: whether it succeeded, and how to answer its caller once the group's
/// commit outcome is known.
pub(crate) struct Done {
    ok: bool,
    reply: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// A unit of work run on the writer's connection.
pub(crate) type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Done> + Send>;

/// A handle for submitting jobs.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
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
                    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                    if ready_tx.send(Ok(Writer { jobs: tx })).is_ok() {
                        run(conn, rx).await;
                    }
                });
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| StoreError::Backend("the writer thread stopped while starting".into()))?
    }

    /// Runs `f` in the next group and returns its result once the group is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let reply = Box::new(move |commit: Result<(), StoreError>| {
                    // The caller may have gone away (client disconnected): nothing to tell.
                    let _ = tx.send(commit.and(result));
                });
                Done { ok, reply }
            })
        });
        self.jobs
            .send(job)
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

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(backend)
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
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
        let mut replies = Vec::with_capacity(batch.len());
        if let Err(e) = exec(&mut conn, "BEGIN IMMEDIATE").await {
            tracing::error!(error = %e, "cannot begin a write transaction");
            // The jobs never ran; dropping them tells each caller that nothing was written.
            batch.clear();
            continue;
        }
        for job in batch.drain(..) {
            if let Err(e) = exec(&mut conn, "SAVEPOINT job").await {
                tracing::error!(error = %e, "cannot open a savepoint");
                // Never ran: dropping it tells its caller that nothing was written.
                drop(job);
                continue;
            }
            let done = job(&mut conn).await;
            let closed = if done.ok {
                exec(&mut conn, "RELEASE job").await
            } else {
                match exec(&mut conn, "ROLLBACK TO job").await {
                    Ok(()) => exec(&mut conn, "RELEASE job").await,
                    Err(e) => Err(e),
                }
            };
            match closed {
                Ok(()) => replies.push(done.reply),
                Err(e) => (done.reply)(Err(e)),
            }
        }
        let commit = exec(&mut conn, "COMMIT").await;
        if let Err(e) = &commit {
            tracing::error!(error = %e, "group commit failed; its jobs are reported as failed");
            let _ = exec(&mut conn, "ROLLBACK").await;
        }
        for reply in replies {
            reply(commit.clone());
        }
    }
    tracing::debug!("writer stopped: every handle was dropped");
}
