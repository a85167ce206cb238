//! Webhook notices of incidents opening and closing, delivered from the store's outbox with the
//! same design as the platform's order webhooks (`rendan_domain::webhook`).
//!
//! The store writes one notice per webhook in the transaction that opens or closes an incident,
//! so a change the monitor recorded is never lost to a crash. [`Deliverer::run_once`] reads the
//! notices due now (only the oldest unsettled one of each webhook and node, so a node's close
//! never overtakes its open), POSTs each as JSON with `Rendan-Delivery: <id>` (the same on every
//! attempt) and `Rendan-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, and
//! records the outcome before it looks for more: at least once, in order, retried with
//! exponential back-off (the webhook's `backoff`, doubling, at most an hour) for 24 hours,
//! across restarts.

use crate::config::WebhookSpec;
use crate::monitor::Clock;
use crate::stop::Stop;
use crate::store::{NetwatchStore, Notice, NoticeEvent, NoticeOutcome, StoreError};
use rendan_domain::webhook::{Next, next_attempt};
use std::sync::Arc;
use std::time::Duration;

pub use rendan_domain::webhook::{sign, verify};

/// The header naming the delivery (the same on every retry).
pub const DELIVERY_HEADER: &str = "rendan-delivery";

/// The signature header.
pub const SIGNATURE_HEADER: &str = "rendan-signature";

/// Notices read per round.
const BATCH: u32 = 64;

/// How often the outbox is looked at when idle.
const POLL: Duration = Duration::from_millis(250);

/// The JSON body of a notice: the same bytes on every attempt.
pub fn body(n: &Notice) -> Vec<u8> {
    let closed_at = match n.event {
        NoticeEvent::Opened => None,
        NoticeEvent::Closed => n.incident.closed_at.map(|t| t.to_string()),
    };
    serde_json::json!({
        "delivery": n.id,
        "event": n.event.as_str(),
        "incident": {
            "id": n.incident.id,
            "node": n.incident.node.as_str(),
            "opened_at": n.incident.opened_at.to_string(),
            "closed_at": closed_at,
        }
    })
    .to_string()
    .into_bytes()
}

/// Delivers a network watch's notices.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn NetwatchStore>,
    hooks: Vec<WebhookSpec>,
    client: reqwest::Client,
    clock: Clock,
}

impl Deliverer {
    /// A deliverer of `store`'s outbox to `hooks`, reading the time from `clock`.
    pub fn new(store: Arc<dyn NetwatchStore>, hooks: Vec<WebhookSpec>, clock: Clock) -> Self {
        Deliverer {
            store,
            hooks,
            client: reqwest::Client::new(),
            clock,
        }
    }

    /// Makes one attempt at every notice due now; answers how many attempts were recorded.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let due = self.store.due_notices((self.clock)(), BATCH).await?;
        let mut set = tokio::task::JoinSet::new();
        for n in due {
            let me = self.clone();
            set.spawn(async move { me.attempt(n).await });
        }
        let mut recorded = 0;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(())) => recorded += 1,
                Ok(Err(e)) => {
                    tracing::error!("cannot record a webhook attempt (it will be made again): {e}")
                }
                Err(e) => tracing::error!("a webhook attempt failed: {e}"),
            }
        }
        Ok(recorded)
    }

    async fn attempt(&self, n: Notice) -> Result<(), StoreError> {
        let Some(hook) = self.hooks.iter().find(|h| h.url == n.url) else {
            // The webhook left the configuration: nobody to tell.
            let at = (self.clock)();
            return self
                .store
                .record_notice(
                    n.id,
                    at,
                    &NoticeOutcome::GaveUp,
                    Some("webhook no longer configured"),
                )
                .await;
        };
        let payload = body(&n);
        let sent = (self.clock)();
        let result = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(DELIVERY_HEADER, n.id.to_string())
            .header(
                SIGNATURE_HEADER,
                sign(hook.secret.as_bytes(), sent.as_second(), &payload),
            )
            .body(payload)
            .timeout(hook.timeout)
            .send()
            .await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("status {}", r.status())),
            Err(e) => Some(if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                e.to_string()
            }),
        };
        let at = (self.clock)();
        let outcome = match &error {
            None => NoticeOutcome::Delivered,
            Some(_) => match next_attempt(n.attempts + 1, n.created_at, at, hook.backoff) {
                Next::RetryAt(t) => NoticeOutcome::RetryAt(t),
                Next::GiveUp => NoticeOutcome::GaveUp,
            },
        };
        if let Some(e) = &error {
            tracing::warn!(url = %hook.url, notice = n.id, "webhook attempt failed: {e}");
        }
        self.store
            .record_notice(n.id, at, &outcome, error.as_deref())
            .await
    }

    /// Delivers until `stop` fires; a round that recorded attempts is followed by another at
    /// once (a round whose outcomes could not be recorded waits, so it never spins).
    pub async fn run(self, mut stop: Stop) {
        loop {
            if stop.is_stopped() {
                return;
            }
            let busy = match self.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::error!("cannot read the webhook outbox: {e}");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }
}
