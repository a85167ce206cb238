//! Webhook notifications of incidents opening and closing, signed and retried.
//!
//! The body is JSON; the header `X-Rendan-Signature: sha256=<hex>` carries HMAC-SHA256 of the
//! exact body bytes under the webhook's secret, so a receiver can verify it before parsing.
//! A delivery that fails (no answer or a non-2xx status) is retried `retries` times with
//! exponential back-off (`backoff`, 2×, 4×...); deliveries run in their own tasks so a slow
//! receiver never delays probing.

use crate::config::WebhookSpec;
use crate::incident::Incident;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "x-rendan-signature";

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON body for `event` (`incident.opened` or `incident.closed`).
pub fn body(event: &str, inc: &Incident) -> Vec<u8> {
    serde_json::json!({
        "event": event,
        "incident": {
            "id": inc.id,
            "node": inc.node.as_str(),
            "opened_at": inc.opened_at.to_string(),
            "closed_at": inc.closed_at.map(|t| t.to_string()),
        }
    })
    .to_string()
    .into_bytes()
}

/// Sends `event` about `inc` to every webhook, each in the background.
pub fn notify(client: &reqwest::Client, hooks: &[WebhookSpec], event: &str, inc: &Incident) {
    let payload = body(event, inc);
    for h in hooks {
        let (client, hook, payload) = (client.clone(), h.clone(), payload.clone());
        tokio::spawn(async move {
            if let Err(e) = deliver(&client, &hook, payload).await {
                tracing::warn!(url = %hook.url, "webhook given up: {e}");
            }
        });
    }
}

/// Posts `payload` with retries; returns the last error once they are exhausted.
pub async fn deliver(
    client: &reqwest::Client,
    hook: &WebhookSpec,
    payload: Vec<u8>,
) -> Result<u32, String> {
    let sig = sign(hook.secret.as_bytes(), &payload);
    let mut wait = hook.backoff;
    let mut last = String::new();
    for attempt in 0..=hook.retries {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2).min(Duration::from_secs(300));
        }
        let r = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, &sig)
            .body(payload.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => return Ok(attempt + 1),
            Ok(resp) => last = format!("status {}", resp.status()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
