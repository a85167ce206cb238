//! Channels are told: webhooks on the status changes of a channel's orders.
//!
//! Every status change of an order is written, in the same transaction as the change, into an
//! outbox row for each webhook of the order's channel that asked for that status. A worker
//! delivers the rows: each webhook's rows of one order strictly in order (the next waits until
//! the one before it is delivered or given up), at least once (a delivery whose outcome was
//! not recorded before a crash is sent again), retried with exponential back-off
//! ([`next_attempt`]) for [`RETRY_FOR`], then given up.
//!
//! Each delivery is a POST of a JSON body with the headers `Rendan-Delivery: <id>` (the same
//! on every retry, for de-duplication) and `Rendan-Signature: t=<unix seconds>,v1=<hex>`, the
//! HMAC-SHA256 under the webhook's secret of `<t>.<raw body>`: a receiver recomputes it and
//! refuses a `t` older than a few minutes, so a captured delivery cannot be replayed later.

use crate::order::OrderStatus;
use crate::{Invalid, Invalids};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// How long a delivery is retried before it is given up.
pub const RETRY_FOR: SignedDuration = SignedDuration::from_hours(24);

/// The longest wait between two attempts.
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_hours(1);

/// Secrets are at least this long (bytes).
pub const SECRET_MIN: usize = 16;

/// Secrets are at most this long (bytes).
pub const SECRET_MAX: usize = 256;

/// URLs are at most this long.
pub const URL_MAX: usize = 2048;

/// A webhook as asked for, valid on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// The statuses whose changes are delivered, without repeats, in state-machine order.
    pub events: Vec<OrderStatus>,
}

impl NewWebhook {
    /// Validates a webhook; every field at fault is reported at once.
    pub fn new(url: &str, secret: &str, events: &[String]) -> Result<NewWebhook, Invalids> {
        let mut errors = Vec::new();
        let url = url.trim();
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        if !scheme_ok || host.is_empty() || url.len() > URL_MAX || url.contains(char::is_whitespace)
        {
            errors.push(Invalid::new(
                "url",
                format!(
                    "expected an http:// or https:// URL with a host, at most {URL_MAX} characters"
                ),
            ));
        }
        if !(SECRET_MIN..=SECRET_MAX).contains(&secret.len()) {
            errors.push(Invalid::new(
                "secret",
                format!("must be {SECRET_MIN} to {SECRET_MAX} bytes"),
            ));
        }
        let mut statuses = Vec::new();
        if events.is_empty() {
            errors.push(Invalid::new("events", "name at least one status"));
        }
        for (i, e) in events.iter().enumerate() {
            match OrderStatus::parse(e, &format!("events[{i}]")) {
                Ok(s) if statuses.contains(&s) => errors.push(Invalid::new(
                    format!("events[{i}]"),
                    format!("{e} is named twice"),
                )),
                Ok(s) => statuses.push(s),
                Err(err) => errors.push(err),
            }
        }
        statuses.sort_by_key(|s| OrderStatus::ALL.iter().position(|a| a == s));
        if errors.is_empty() {
            Ok(NewWebhook {
                url: url.to_string(),
                secret: secret.to_string(),
                events: statuses,
            })
        } else {
            Err(Invalids(errors))
        }
    }
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Identifier.
    pub id: i64,
    /// The channel principal whose orders it follows.
    pub channel: i64,
    /// Where deliveries go.
    pub url: String,
    /// The statuses it follows.
    pub events: Vec<OrderStatus>,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// Stop: the delivery was retried for [`RETRY_FOR`].
    GiveUp,
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `Rendan-Signature` header's value for `body` sent at unix second `t`:
/// `t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Every webhook rendan sends (order changes,
/// network incidents) is signed this way.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={t},v1={digest}")
}

/// What a receiver checks: the signature matches the body under `secret`, and was made at most
/// `tolerance` before `now` (so a captured delivery cannot be replayed later).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: SignedDuration,
) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let fresh = (now.as_second() - t).abs() <= tolerance.as_secs();
    // Constant-time comparison.
    fresh && mac(secret, t, body).is_some_and(|m| m.verify_slice(&v1).is_ok())
}

/// After `attempts` failed attempts of a delivery created at `created`, failing last at `now`:
/// wait `base × 2^(attempts-1)`, at most [`MAX_BACKOFF`], unless that is past
/// `created + RETRY_FOR`.
pub fn next_attempt(
    attempts: u32,
    created: Timestamp,
    now: Timestamp,
    base: SignedDuration,
) -> Next {
    let doubling = 2i32.saturating_pow(attempts.saturating_sub(1).min(30));
    let wait = base.saturating_mul(doubling).min(MAX_BACKOFF);
    let at = now.saturating_add(wait).unwrap_or(now);
    match created.checked_add(RETRY_FOR) {
        Ok(deadline) if at <= deadline => Next::RetryAt(at),
        _ => Next::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_validated_field_by_field() {
        let e = NewWebhook::new("ftp://x", "short", &["shipped".into()]).unwrap_err();
        assert_eq!(e.fields(), ["url", "secret", "events[0]"]);
        let e = NewWebhook::new("https://", &"s".repeat(16), &[]).unwrap_err();
        assert_eq!(e.fields(), ["url", "events"]);
        let twice = ["installed".to_string(), "installed".to_string()];
        let e = NewWebhook::new("https://shop.example/hook", &"s".repeat(16), &twice).unwrap_err();
        assert_eq!(e.fields(), ["events[1]"]);
        let ok = NewWebhook::new(
            " https://shop.example/hook ",
            &"s".repeat(16),
            &["installed".into(), "ready".into()],
        )
        .unwrap();
        assert_eq!(ok.url, "https://shop.example/hook");
        assert_eq!(ok.events, [OrderStatus::Ready, OrderStatus::Installed]);
    }

    #[test]
    fn back_off_doubles_to_an_hour_and_gives_up_after_a_day() {
        let t0: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let base = SignedDuration::from_secs(10);
        let at = |n: u32, now: Timestamp| next_attempt(n, t0, now, base);
        assert_eq!(at(1, t0), Next::RetryAt(t0 + SignedDuration::from_secs(10)));
        assert_eq!(at(3, t0), Next::RetryAt(t0 + SignedDuration::from_secs(40)));
        assert_eq!(at(20, t0), Next::RetryAt(t0 + MAX_BACKOFF));
        let late = t0 + SignedDuration::from_hours(23) + SignedDuration::from_mins(30);
        assert_eq!(
            at(40, late),
            Next::GiveUp,
            "an hour more would pass the day"
        );
    }
}
