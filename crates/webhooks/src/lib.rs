//! Delivers the webhook outbox (`rendan_domain::webhook` describes the guarantees).
//!
//! [`Deliverer::run_once`] reads the rows due now (only the oldest pending row of each
//! webhook and order, so one order's changes never overtake each other), POSTs each, signed,
//! up to [`PARALLEL`] at once, and records every attempt through the store's writer before it
//! looks for more: a delivery whose outcome was not recorded (the process died) is sent again,
//! so each change arrives at least once. [`Deliverer::run`] repeats that until shut down.

use jiff::{SignedDuration, Timestamp};
use rendan_domain::webhook::{Next, next_attempt};
use rendan_store::{AfterAttempt, DeliveryAttempt, DueDelivery, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// The header naming the delivery (the same on every retry).
pub const DELIVERY_HEADER: &str = "rendan-delivery";

/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "rendan-signature";

/// Deliveries in flight at once.
pub const PARALLEL: usize = 16;

/// Rows read per round.
const BATCH: u32 = 256;

/// The current instant, injected so tests control time.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How deliveries are made.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// The first wait after a failed attempt (doubling after each).
    pub backoff: SignedDuration,
    /// How often the outbox is looked at when idle.
    pub poll: Duration,
}

impl Default for Settings {
    /// 10 s to answer, 10 s before the first retry, the outbox looked at every second.
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(10),
            backoff: SignedDuration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

pub use rendan_domain::webhook::{sign, verify};

/// The JSON body of a delivery: the same bytes on every attempt.
pub fn body(d: &DueDelivery) -> Vec<u8> {
    serde_json::json!({
        "delivery": d.id,
        "event": "order.status_changed",
        "order": d.order,
        "external_ref": d.external_ref,
        "status": d.status.as_str(),
        "at": d.at.to_string(),
    })
    .to_string()
    .into_bytes()
}

/// Delivers the outbox of one store.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    settings: Settings,
    clock: Clock,
}

impl Deliverer {
    /// A deliverer on `store`, reading the time from `clock`.
    pub fn new(store: Arc<dyn Store>, settings: Settings, clock: Clock) -> Self {
        Deliverer {
            store,
            client: reqwest::Client::new(),
            settings,
            clock,
        }
    }

    /// Makes one attempt at every row due now; answers how many were attempted.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let due = self.store.due_deliveries((self.clock)(), BATCH).await?;
        let count = due.len();
        let mut set = JoinSet::new();
        for d in due {
            while set.len() >= PARALLEL {
                if let Some(r) = set.join_next().await {
                    flatten(r)?;
                }
            }
            let this = self.clone();
            set.spawn(async move { this.attempt(d).await });
        }
        while let Some(r) = set.join_next().await {
            flatten(r)?;
        }
        Ok(count)
    }

    /// Delivers until `shutdown` resolves; a failing store is logged and tried again.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let idle = match self.run_once().await {
                Ok(n) => n == 0,
                Err(e) => {
                    tracing::warn!("webhook outbox: {e}");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(self.settings.poll) => {}
                }
            }
        }
    }

    async fn attempt(&self, d: DueDelivery) -> Result<(), StoreError> {
        let payload = body(&d);
        let sent = (self.clock)();
        let signature = sign(d.secret.as_bytes(), sent.as_second(), &payload);
        let answer = self
            .client
            .post(&d.url)
            .header("content-type", "application/json")
            .header(DELIVERY_HEADER, d.id.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(payload)
            .timeout(self.settings.timeout)
            .send()
            .await;
        let (status_code, error) = match answer {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("answered {}", r.status())),
            ),
            Err(e) if e.is_timeout() => (None, Some("no answer in time".to_string())),
            Err(e) => (None, Some(e.to_string())),
        };
        let attempt = d.attempts + 1;
        let now = (self.clock)();
        let after = match error {
            None => AfterAttempt::Delivered,
            Some(_) => match next_attempt(attempt, d.at, now, self.settings.backoff) {
                Next::RetryAt(at) => AfterAttempt::RetryAt(at),
                Next::GiveUp => AfterAttempt::GaveUp,
            },
        };
        if after == AfterAttempt::GaveUp {
            tracing::warn!(delivery = d.id, url = %d.url, "webhook delivery given up after a day");
        }
        self.store
            .record_attempt(DeliveryAttempt {
                delivery: d.id,
                webhook: d.webhook,
                order: d.order,
                status: d.status,
                attempt,
                at: sent,
                status_code,
                error,
                after,
            })
            .await
    }
}

fn flatten(r: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), StoreError> {
    r.map_err(|e| StoreError::Backend(format!("a delivery task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_fresh_and_unaltered() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let header = sign(b"0123456789abcdef", now.as_second(), b"{\"a\":1}");
        let five = SignedDuration::from_mins(5);
        assert!(verify(
            b"0123456789abcdef",
            &header,
            b"{\"a\":1}",
            now,
            five
        ));
        assert!(!verify(
            b"0123456789abcdef",
            &header,
            b"{\"a\":2}",
            now,
            five
        ));
        assert!(!verify(
            b"another secret!!",
            &header,
            b"{\"a\":1}",
            now,
            five
        ));
        let later = now + SignedDuration::from_mins(6);
        assert!(
            !verify(b"0123456789abcdef", &header, b"{\"a\":1}", later, five),
            "a replay"
        );
        assert!(!verify(b"0123456789abcdef", "v1=00", b"{}", now, five));
    }
}
