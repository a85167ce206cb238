//! Gathering concurrent order placements into batches.
//!
//! Each [`crate::Store::place_order`] call hands its command to a [`Batcher`]; the batcher
//! takes whatever commands are waiting and submits them as one job to the backend's writer,
//! which runs [`crate::script::place_orders`] on the whole batch in one transaction. A batch
//! costs a handful of statements however many orders it holds, so throughput grows with
//! concurrency instead of being capped by round trips per order. At most `in_flight`
//! batches are submitted at once: while they run, new commands gather for the next one.

use crate::{PlaceOrder, Placed, StoreError};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most orders placed in one batch; bounds the work and latency of one transaction.
pub const MAX_BATCH: usize = 256;

/// Runs one batch: the commands, answered in order, or the reason the whole batch failed.
pub type Submit = Arc<
    dyn Fn(
            Arc<Vec<PlaceOrder>>,
        ) -> BoxFuture<'static, Result<Vec<Result<Placed, StoreError>>, StoreError>>
        + Send
        + Sync,
>;

type Waiting = (PlaceOrder, oneshot::Sender<Result<Placed, StoreError>>);

/// The front door of order placement for one store; cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Waiting>,
}

impl Batcher {
    /// Starts gathering on the current tokio runtime; batches go to `submit`, at most
    /// `in_flight` at a time. The batcher stops when the last handle is dropped.
    pub fn start(submit: Submit, in_flight: usize) -> Batcher {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(gather(rx, submit, in_flight.max(1)));
        Batcher { queue }
    }

    /// Places one order in the next batch and answers once that batch is committed.
    pub async fn place(&self, cmd: PlaceOrder) -> Result<Placed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((cmd, reply))
            .await
            .map_err(|_| StoreError::Backend("order intake has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("order intake stopped before answering".into()))?
    }
}

async fn gather(mut rx: mpsc::Receiver<Waiting>, submit: Submit, in_flight: usize) {
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut waiting: Vec<Waiting> = Vec::with_capacity(MAX_BATCH);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if rx.recv_many(&mut waiting, MAX_BATCH).await == 0 {
            break;
        }
        // Callers just answered by the last batch are about to send their next order: yield
        // to them for as long as the batch keeps growing.
        loop {
            tokio::task::yield_now().await;
            let before = waiting.len();
            while waiting.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(w) => waiting.push(w),
                    Err(_) => break,
                }
            }
            if waiting.len() == before || waiting.len() >= MAX_BATCH {
                break;
            }
        }
        let (cmds, replies): (Vec<PlaceOrder>, Vec<_>) = waiting.drain(..).unzip();
        {
            use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
            static B: AtomicUsize = AtomicUsize::new(0);
            static O: AtomicUsize = AtomicUsize::new(0);
            let b = B.fetch_add(1, Relaxed) + 1;
            let o = O.fetch_add(cmds.len(), Relaxed) + cmds.len();
            if b % 500 == 0 {
                eprintln!(
                    "DEBUG batches {b} orders {o} avg {:.1}",
                    o as f64 / b as f64
                );
            }
        }
        let run = submit(Arc::new(cmds));
        tokio::spawn(async move {
            match run.await {
                Ok(answers) if answers.len() == replies.len() => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        // A caller that went away (client disconnected) needs no answer.
                        let _ = reply.send(answer);
                    }
                }
                Ok(_) => {
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Backend(
                            "a batch answered the wrong number of orders".into(),
                        )));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            drop(slot);
        });
    }
}
