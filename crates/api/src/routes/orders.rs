//! Order intake, reading, listing and cancellation.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{QueryMap, ValidJson, cursor, limit, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rendan_domain::Region;
use rendan_domain::access::Principal;
use rendan_domain::fulfilment;
use rendan_domain::order::{Channel, Fulfilment, NewOrder, Order, OrderStatus, RawCustomer};
use rendan_store::{OrderQuery, PlaceOrder, Placed};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The customer who receives the goods.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// Full name.
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Street address.
    pub address: String,
    /// Latitude, -90..90.
    pub lat: f64,
    /// Longitude, -180..180.
    pub lon: f64,
}

/// A requested line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// A SKU of the catalogue.
    pub sku: String,
    /// Units, 1..10000.
    pub qty: i64,
}

/// `POST /orders` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// `web`, `marketplace` or `store`.
    pub channel: String,
    /// The channel's own reference.
    pub external_ref: String,
    /// Recipient.
    pub customer: CustomerBody,
    /// At least one line.
    pub lines: Vec<LineBody>,
}

/// How a line is served.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FulfilmentView {
    /// Reserved from stock at `site`.
    Stock {
        /// Warehouse id.
        site: String,
    },
    /// Made to order.
    Production {
        /// Production order id.
        production_order: i64,
        /// Factory id.
        factory: String,
    },
}

/// An order line as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineView {
    /// SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Where it comes from.
    pub fulfilment: FulfilmentView,
}

/// An order as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// Order id.
    pub id: i64,
    /// `in_production`, `ready` or `cancelled`.
    pub status: String,
    /// Origin channel.
    pub channel: String,
    /// The channel's reference.
    pub external_ref: String,
    /// Region of the serving warehouse.
    pub region: String,
    /// Acceptance time, RFC 3339.
    pub created_at: String,
    /// Promised delivery date, YYYY-MM-DD.
    pub promised_date: String,
    /// Recipient.
    pub customer: CustomerBody,
    /// Lines in request order.
    pub lines: Vec<LineView>,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        OrderView {
            id: o.id,
            status: o.status.as_str().to_string(),
            channel: o.channel.as_str().to_string(),
            external_ref: o.external_ref.clone(),
            region: o.region.to_string(),
            created_at: o.created_at.to_string(),
            promised_date: o.promised_date.to_string(),
            customer: CustomerBody {
                name: o.customer.name.clone(),
                phone: o.customer.phone.clone(),
                address: o.customer.address.clone(),
                lat: o.customer.location.lat(),
                lon: o.customer.location.lon(),
            },
            lines: o
                .lines
                .iter()
                .map(|l| LineView {
                    sku: l.sku.to_string(),
                    qty: l.qty,
                    fulfilment: match &l.fulfilment {
                        Fulfilment::Stock { site } => FulfilmentView::Stock {
                            site: site.to_string(),
                        },
                        Fulfilment::Production {
                            production_order,
                            factory,
                        } => FulfilmentView::Production {
                            production_order: *production_order,
                            factory: factory.to_string(),
                        },
                    },
                })
                .collect(),
        }
    }
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub items: Vec<OrderView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::bad_request("Idempotency-Key", "the Idempotency-Key header is required")
    })?;
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key", "must be 1-255 visible ASCII characters")
        })?;
    Ok(key.to_string())
}

/// Validates a body into a domain order.
pub fn to_new_order(body: &OrderBody) -> Result<NewOrder, ApiError> {
    let channel = Channel::parse(&body.channel, "channel")?;
    let lines: Vec<(&str, i64)> = body.lines.iter().map(|l| (l.sku.as_str(), l.qty)).collect();
    let c = &body.customer;
    let customer = RawCustomer {
        name: &c.name,
        phone: &c.phone,
        address: &c.address,
        lat: c.lat,
        lon: c.lon,
    };
    Ok(NewOrder::new(
        channel,
        &body.external_ref,
        customer,
        &lines,
    )?)
}

/// Accept an order.
///
/// Serves each line from free stock at a warehouse that serves the customer (nearest first),
/// else creates a production order. A retry with the same `Idempotency-Key` and body returns
/// the same order with 200; the same key with another body is 409.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = OrderBody,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended order, 1-255 characters")),
    responses(
        (status = 201, description = "Accepted", body = OrderView),
        (status = 200, description = "Retry of an accepted order", body = OrderView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<OrderBody>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    if !caller.can_create_orders() {
        return Err(ApiError::forbidden(
            "only admin and channel tokens may create orders",
        ));
    }
    let key = idempotency_key(&headers)?;
    match place_order(&state, caller.token_id, key, &body).await? {
        Placed::Created(o) => Ok((StatusCode::CREATED, Json(OrderView::from(&o)))),
        Placed::Replayed(o) => Ok((StatusCode::OK, Json(OrderView::from(&o)))),
    }
}

/// Order intake without HTTP: validation, fulfilment options and the store's transaction.
/// The API handler and the CSV importer both go through here.
pub async fn place_order(
    state: &AppState,
    token_id: i64,
    key: String,
    body: &OrderBody,
) -> Result<Placed, ApiError> {
    let order = to_new_order(body)?;
    let options = fulfilment::options(state.topology(), state.rules(), &order)?;
    // Hash the parsed request, not the raw bytes: a retry that differs only in whitespace or
    // key order is the same request.
    let canonical = serde_json::to_vec(body).map_err(|e| ApiError::internal(&e))?;
    let now = state.now();
    let cmd = PlaceOrder {
        token_id,
        idempotency_key: key,
        request_hash: Sha256::digest(&canonical).to_vec(),
        order,
        options,
        rules: *state.rules(),
        today: now.to_zoned(TimeZone::UTC).date(),
        now,
    };
    Ok(state.store().place_order(cmd).await?)
}

async fn visible_order(
    state: &AppState,
    caller: &Principal,
    raw_id: &str,
) -> Result<Order, ApiError> {
    let id = path_id(raw_id, "order")?;
    state
        .store()
        .order(id)
        .await?
        .filter(|o| caller.can_see_order(&o.region, o.created_by))
        .ok_or_else(|| ApiError::not_found(format!("order {id} not found")))
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(OrderView::from(
        &visible_order(&state, &caller, &id).await?,
    )))
}

fn timestamp(q: &QueryMap, name: &str) -> Result<Option<Timestamp>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<Timestamp>().map_err(|_| {
                ApiError::bad_request(
                    name,
                    "must be an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z",
                )
            })
        })
        .transpose()
}

/// Orders visible to the caller, newest first, filtered and paginated by cursor.
#[utoipa::path(get, path = "/orders", tag = "orders",
    params(
        ("status" = Option<String>, Query, description = "in_production, ready or cancelled"),
        ("channel" = Option<String>, Query, description = "web, marketplace or store"),
        ("region" = Option<String>, Query, description = "Region of the serving warehouse"),
        ("created_from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("created_to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("limit" = Option<u32>, Query, description = "1-500, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<OrderPage>, ApiError> {
    let q = q.only(&[
        "status",
        "channel",
        "region",
        "created_from",
        "created_to",
        "limit",
        "cursor",
    ])?;
    let region = q
        .get("region")
        .map(|r| Region::parse(r, "region").map_err(|e| ApiError::bad_request("region", e.message)))
        .transpose()?;
    if let (Some(scope), Some(asked)) = (caller.role.region(), &region)
        && scope != asked
    {
        return Err(
            ApiError::forbidden(format!("this token is limited to region {scope}")).field("region"),
        );
    }
    let query = OrderQuery {
        visibility: caller.order_visibility(),
        status: q
            .get("status")
            .map(|s| {
                OrderStatus::parse(s, "status")
                    .map_err(|e| ApiError::bad_request("status", e.message))
            })
            .transpose()?,
        channel: q
            .get("channel")
            .map(|s| {
                Channel::parse(s, "channel")
                    .map_err(|e| ApiError::bad_request("channel", e.message))
            })
            .transpose()?,
        region,
        created_from: timestamp(&q, "created_from")?,
        created_to: timestamp(&q, "created_to")?,
        before_id: cursor(&q)?,
        limit: limit(&q)?,
    };
    let page = state.store().orders(&query).await?;
    Ok(Json(OrderPage {
        items: page.items.iter().map(OrderView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// Cancel an order, releasing its reservations and open production orders.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders",
    params(("id" = i64, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not cancellable in its current state", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    if !caller.can_change_orders() {
        return Err(ApiError::forbidden("channel tokens cannot cancel orders"));
    }
    let id = path_id(&id, "order")?;
    let order = state
        .store()
        .cancel_order(id, &caller.order_visibility(), state.now())
        .await?;
    Ok(Json(OrderView::from(&order)))
}
