//! A graceful-stop signal shared by the agent's and the monitor's tasks.
//!
//! One [`StopSource`] trips many cloned [`Stop`]s; a task selects on [`Stop::wait`] beside its
//! work so it finishes the current step and returns instead of being aborted mid-write.

use tokio::sync::watch;

/// The side that trips the signal.
#[derive(Debug)]
pub struct StopSource(watch::Sender<bool>);

/// The side that waits for it.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

/// A new untripped signal.
pub fn channel() -> (StopSource, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopSource(tx), Stop(rx))
}

impl StopSource {
    /// Trips the signal for every waiter.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// A waiter.
    pub fn subscribe(&self) -> Stop {
        Stop(self.0.subscribe())
    }
}

impl Stop {
    /// Resolves once the signal is tripped (or its source dropped).
    pub async fn wait(&mut self) {
        // An error means the source is gone, which also means stop.
        let _ = self.0.wait_for(|v| *v).await;
    }

    /// True once tripped.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}
