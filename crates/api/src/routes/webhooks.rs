//! Webhooks: `POST /webhooks`, `GET /webhooks` and `GET /webhooks/{id}/deliveries`.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Problems, QueryMap, ValidJson, cursor, idempotency_key, limit, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rendan_domain::access::PrincipalName;
use rendan_domain::webhook::{NewWebhook, Webhook};
use rendan_store::{AfterAttempt, DeliveryAttempt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /webhooks` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example/rendan", "secret": "a long random secret",
    "events": ["out_for_delivery", "installed", "ready"]}))]
pub struct WebhookBody {
    /// Where deliveries are POSTed.
    #[schema(schema_with = contract::webhook_url)]
    pub url: String,
    /// The HMAC key.
    #[schema(schema_with = contract::webhook_secret)]
    pub secret: String,
    /// The order statuses whose changes are delivered.
    #[schema(schema_with = contract::webhook_events)]
    pub events: Vec<String>,
    /// The channel whose orders it follows (an admin's request).
    #[serde(default)]
    #[schema(schema_with = contract::webhook_channel)]
    pub channel: Option<String>,
}

/// A webhook, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Identifier.
    pub id: i64,
    /// The channel principal whose orders it follows.
    pub channel: i64,
    /// Where deliveries go.
    pub url: String,
    /// The statuses it follows.
    pub events: Vec<String>,
    /// When it was registered, RFC 3339.
    pub created_at: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        WebhookView {
            id: w.id,
            channel: w.channel,
            url: w.url.clone(),
            events: w.events.iter().map(|e| e.as_str().to_string()).collect(),
            created_at: w.created_at.to_string(),
        }
    }
}

/// One attempt to deliver one status change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// The attempt's id (a page's cursor).
    pub id: i64,
    /// The delivery (the `Rendan-Delivery` header; the same on every retry).
    pub delivery: i64,
    /// The order.
    pub order: i64,
    /// The status told.
    #[schema(schema_with = contract::order_status)]
    pub status: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made, RFC 3339.
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// `delivered`, `retrying` or `given_up`.
    pub outcome: String,
    /// When the next attempt is due, for `retrying`.
    pub next_attempt_at: Option<String>,
}

fn attempt_view(id: i64, a: &DeliveryAttempt) -> AttemptView {
    AttemptView {
        id,
        delivery: a.delivery,
        order: a.order,
        status: a.status.as_str().to_string(),
        attempt: a.attempt,
        at: a.at.to_string(),
        status_code: a.status_code,
        error: a.error.clone(),
        outcome: a.after.as_str().to_string(),
        next_attempt_at: match a.after {
            AfterAttempt::RetryAt(t) => Some(t.to_string()),
            _ => None,
        },
    }
}

/// A page of attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptPage {
    /// Oldest first.
    pub items: Vec<AttemptView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Register a webhook on the status changes of a channel's orders.
///
/// Every change of an order's status (placed, ready, scheduled, out for delivery, delivered,
/// installed, back to booking, cancelled) that the webhook follows is POSTed as JSON, from an
/// outbox written in the same transaction as the change: at least once, in order per order,
/// retried with exponential back-off for 24 hours, across restarts. Each delivery carries
/// `Rendan-Delivery: <id>` (the same on every retry) and `Rendan-Signature: t=<unix
/// seconds>,v1=<hex>`, the HMAC-SHA256 of `<t>.<raw body>` under the secret; refuse a `t` more
/// than five minutes old. A channel registers for its own orders; an admin names the channel.
#[utoipa::path(post, path = "/webhooks", tag = "channels", operation_id = "createWebhook",
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended webhook")),
    request_body = WebhookBody,
    responses((status = 201, body = WebhookView), (status = 200, description = "Retry", body = WebhookView),
        (status = 403, description = "Only channel and admin tokens register webhooks; a channel only its own", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<WebhookBody>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let key = idempotency_key(&headers)?;
    let mut p = Problems::default();
    let channel = body
        .channel
        .as_deref()
        .and_then(|c| p.take(PrincipalName::parse(c, "channel")));
    let hook = match NewWebhook::new(&body.url, &body.secret, &body.events) {
        Ok(h) => Some(h),
        Err(errors) => {
            for e in errors.0 {
                p.take::<()>(Err(e));
            }
            None
        }
    };
    p.finish()?;
    let Some(hook) = hook else {
        return Err(ApiError::invalid("body", "invalid webhook"));
    };
    let outcome = state
        .cases()
        .create_webhook(&caller, key, hook, channel)
        .await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(WebhookView::from(&outcome.into_inner()))))
}

/// The webhooks the caller may see: a channel's own, all for an admin.
#[utoipa::path(get, path = "/webhooks", tag = "channels", operation_id = "listWebhooks",
    responses((status = 200, body = [WebhookView]),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let hooks = state.cases().webhooks(&caller).await?;
    Ok(Json(hooks.iter().map(WebhookView::from).collect()))
}

/// A webhook's delivery attempts and their outcomes, oldest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "channels", operation_id = "webhookDeliveries",
    params(("id" = inline(contract::params::Id), Path, description = "Webhook id"),
        ("limit" = inline(Option<contract::params::Limit>), Query, description = "Page size"),
        ("cursor" = inline(Option<contract::params::Cursor>), Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = AttemptPage),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<AttemptPage>, ApiError> {
    let id = path_id(&id, "webhook")?;
    let q = q.only(&["limit", "cursor"])?;
    let mut p = Problems::default();
    let after = p.take(cursor(&q)).flatten().unwrap_or(0);
    let limit = p.take(limit(&q)).unwrap_or_default();
    p.finish()?;
    let page = state.cases().deliveries(&caller, id, after, limit).await?;
    let next_cursor = (page.len() == limit as usize)
        .then(|| page.last().map(|(id, _)| id.to_string()))
        .flatten();
    Ok(Json(AttemptPage {
        items: page.iter().map(|(id, a)| attempt_view(*id, a)).collect(),
        next_cursor,
    }))
}
