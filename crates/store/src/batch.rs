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

/// Longest a batch waits for the orders it expects (as many as the last batch held) before it
/// goes with what it has. Callers answered together come back spread over a millisecond or
/// so (each has its own network round trip); without the wait the first few would form a
/// batch of their own and pay a commit for a handful of orders, with the rest queued behind.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

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
    let mut expected = 1;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if rx.recv_many(&mut waiting, MAX_BATCH).await == 0 {
            break;
        }
        // Callers just answered by the last batch are about to send their next order: yield
        // to them for as long as the batch keeps growing, then wait (a little) for as many as
        // the last batch held. A load that drops shrinks the expectation with the next batch.
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
        let deadline = tokio::time::Instant::now() + GATHER;
        while waiting.len() < expected.min(MAX_BATCH) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(w)) => waiting.push(w),
                Ok(None) | Err(_) => break,
            }
        }
        expected = waiting.len();
        let (cmds, replies): (Vec<PlaceOrder>, Vec<_>) = waiting.drain(..).unzip();
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
