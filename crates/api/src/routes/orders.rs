//! Order intake, reading, listing and cancellation.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{
    Problems, QueryMap, ValidJson, cursor, idempotency_key, limit, param, path_id, timestamp,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rendan_domain::Invalids;
use rendan_domain::order::{
    Channel, Fulfilment, NewOrder, Order, OrderStatus, PromiseReason, RawCustomer,
};
use rendan_domain::visit::SiteAccess;
use rendan_store::{OrderQuery, Placed};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The customer who receives the goods.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// Full name.
    #[schema(schema_with = contract::customer_name)]
    pub name: String,
    /// Phone number.
    #[schema(schema_with = contract::phone)]
    pub phone: String,
    /// Street address.
    #[schema(schema_with = contract::address)]
    pub address: String,
    /// Latitude, -90..90.
    #[schema(schema_with = contract::latitude)]
    pub lat: f64,
    /// Longitude, -180..180.
    #[schema(schema_with = contract::longitude)]
    pub lon: f64,
}

/// A requested line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// A SKU of the catalogue.
    #[schema(value_type = contract::Sku)]
    pub sku: String,
    /// Units, 1..10000.
    #[schema(schema_with = contract::line_qty)]
    #[serde(deserialize_with = "contract::whole")]
    pub qty: i64,
}

/// How the crew reaches the place of installation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteAccessBody {
    /// Floor, 0 (ground floor) to 200.
    #[schema(schema_with = contract::floor)]
    #[serde(default, deserialize_with = "contract::whole")]
    pub floor: i64,
    /// Whether a lift serves that floor.
    #[serde(default)]
    pub lift: bool,
    /// Whether the old appliances are to be taken away on the visit.
    #[serde(default)]
    pub haul_away: bool,
}

/// `POST /orders` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "channel": "web",
    "external_ref": "W-1",
    "customer": {"name": "Ana Rossi", "phone": "+39 0332 123456",
        "address": "Via Roma 1, Varese", "lat": 45.82, "lon": 8.83},
    "lines": [{"sku": "WM-FL-8", "qty": 1}, {"sku": "AC-MS-36", "qty": 40}]
}))]
pub struct OrderBody {
    /// `web`, `marketplace` or `store`.
    #[schema(schema_with = contract::channel)]
    pub channel: String,
    /// The channel's own reference.
    #[schema(schema_with = contract::external_ref)]
    pub external_ref: String,
    /// Recipient.
    pub customer: CustomerBody,
    /// At least one line.
    #[schema(schema_with = contract::lines)]
    pub lines: Vec<LineBody>,
    /// How the crew reaches the place of installation; ground floor, no haul-away when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_access: Option<SiteAccessBody>,
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

/// One promise in an order's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromiseView {
    /// The promised date, YYYY-MM-DD.
    pub date: String,
    /// When it was given, RFC 3339.
    pub at: String,
    /// `accepted` (the first promise) or `replanned` (a factory's queue moved).
    #[schema(schema_with = contract::promise_reason)]
    pub reason: String,
    /// For `replanned`: the production order whose completion or cancellation moved the queue.
    pub production_order: Option<i64>,
}

/// An order as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// Order id.
    pub id: i64,
    /// `in_production`, `ready` or `cancelled`.
    #[schema(schema_with = contract::order_status)]
    pub status: String,
    /// Origin channel.
    #[schema(schema_with = contract::channel)]
    pub channel: String,
    /// The channel's reference.
    pub external_ref: String,
    /// Region of the serving warehouse.
    pub region: String,
    /// Acceptance time, RFC 3339.
    pub created_at: String,
    /// Promised delivery date, YYYY-MM-DD, local to the serving warehouse.
    pub promised_date: String,
    /// Every promise given, oldest first; the last is `promised_date`.
    pub promises: Vec<PromiseView>,
    /// Recipient.
    pub customer: CustomerBody,
    /// How the crew reaches the place of installation.
    pub site_access: SiteAccessBody,
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
            promises: o
                .promises
                .iter()
                .map(|p| PromiseView {
                    date: p.date.to_string(),
                    at: p.at.to_string(),
                    reason: p.reason.as_str().to_string(),
                    production_order: match p.reason {
                        PromiseReason::Accepted => None,
                        PromiseReason::Replanned { production_order } => Some(production_order),
                    },
                })
                .collect(),
            customer: CustomerBody {
                name: o.customer.name.clone(),
                phone: o.customer.phone.clone(),
                address: o.customer.address.clone(),
                lat: o.customer.location.lat(),
                lon: o.customer.location.lon(),
            },
            site_access: SiteAccessBody {
                floor: i64::from(o.site_access.floor),
                lift: o.site_access.lift,
                haul_away: o.site_access.haul_away,
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

/// Translates a body into a domain order, naming every field at fault.
pub fn to_new_order(body: &OrderBody) -> Result<NewOrder, Invalids> {
    let c = &body.customer;
    // The contract's limits apply to the text as sent; the domain counts after trimming.
    contract::merge(
        new_order(body),
        [
            contract::within(
                &body.external_ref,
                contract::EXTERNAL_REF_MAX,
                "external_ref",
            ),
            contract::within(&c.name, contract::NAME_MAX, "customer.name"),
            contract::within(&c.phone, contract::PHONE_MAX, "customer.phone"),
            contract::within(&c.address, contract::ADDRESS_MAX, "customer.address"),
        ],
    )
}

fn new_order(body: &OrderBody) -> Result<NewOrder, Invalids> {
    let lines: Vec<(&str, i64)> = body.lines.iter().map(|l| (l.sku.as_str(), l.qty)).collect();
    let c = &body.customer;
    let customer = RawCustomer {
        name: &c.name,
        phone: &c.phone,
        address: &c.address,
        lat: c.lat,
        lon: c.lon,
    };
    let order = NewOrder::new(&body.channel, &body.external_ref, customer, &lines);
    let access = body
        .site_access
        .map(|a| SiteAccess::new(a.floor, a.lift, a.haul_away, "site_access"))
        .transpose();
    match (order, access) {
        (Ok(order), Ok(access)) => Ok(order.with_access(access.unwrap_or_default())),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(mut errors), Err(e)) => {
            errors.0.push(e);
            Err(errors)
        }
        (Err(errors), Ok(_)) => Err(errors),
    }
}

/// Accept an order.
///
/// Serves each line from free stock at a warehouse that serves the customer (nearest first),
/// else creates a production order. A retry with the same `Idempotency-Key` and body returns
/// the same order with 200; the same key with another body is 409.
#[utoipa::path(post, path = "/orders", tag = "orders", operation_id = "createOrder", request_body = OrderBody,
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended order")),
    responses(
        (status = 201, description = "Accepted", body = OrderView),
        (status = 200, description = "Retry of an accepted order", body = OrderView),
        (status = 403, description = "Planner tokens cannot place orders", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key reused for another body, or the channel's external_ref names another order (`existing_order`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field at fault, including a SKU no factory makes and a customer no warehouse serves", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<OrderBody>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let key = idempotency_key(&headers)?;
    let order = to_new_order(&body)?;
    match state.cases().place_order(&caller, key, order).await? {
        Placed::Created(o) => Ok((StatusCode::CREATED, Json(OrderView::from(&o)))),
        Placed::Replayed(o) => Ok((StatusCode::OK, Json(OrderView::from(&o)))),
    }
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", operation_id = "getOrder",
    params(("id" = inline(contract::params::Id), Path, description = "Order id")),
    responses((status = 200, body = OrderView),
        (status = 404, description = "No such order visible to this token", body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id = path_id(&id, "order")?;
    Ok(Json(OrderView::from(
        &state.cases().order(&caller, id).await?,
    )))
}

/// Orders visible to the caller, newest first, filtered and paginated by cursor.
#[utoipa::path(get, path = "/orders", tag = "orders", operation_id = "listOrders",
    params(
        ("status" = inline(Option<contract::params::OrderStatusName>), Query, description = "Only orders in this status"),
        ("channel" = inline(Option<contract::params::ChannelName>), Query, description = "Only orders from this channel"),
        ("region" = Option<contract::Region>, Query, description = "Region of the serving warehouse"),
        ("created_from" = inline(Option<contract::params::Instant>), Query, description = "RFC 3339, inclusive"),
        ("created_to" = inline(Option<contract::params::Instant>), Query, description = "RFC 3339, exclusive"),
        ("limit" = inline(Option<contract::params::Limit>), Query, description = "Page size"),
        ("cursor" = inline(Option<contract::params::Cursor>), Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = OrderPage),
        (status = 400, description = "Unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every parameter with a value it cannot take", body = Problem, content_type = "application/problem+json")))]
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
    let mut p = Problems::default();
    let cases = state.cases();
    let query = OrderQuery {
        visibility: Default::default(),
        status: p.take(param(&q, "status", OrderStatus::parse)).flatten(),
        channel: p.take(param(&q, "channel", Channel::parse)).flatten(),
        region: p
            .take(param(&q, "region", |v, f| cases.region(v, f)))
            .flatten(),
        created_from: p.take(timestamp(&q, "created_from")).flatten(),
        created_to: p.take(timestamp(&q, "created_to")).flatten(),
        before_id: p.take(cursor(&q)).flatten(),
        limit: p.take(limit(&q)).unwrap_or_default(),
    };
    p.finish()?;
    let page = state.cases().orders(&caller, query).await?;
    Ok(Json(OrderPage {
        items: page.items.iter().map(OrderView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// Cancel an order, releasing its reservations and open production orders. A retry with
/// the same `Idempotency-Key` answers the same order.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders", operation_id = "cancelOrder",
    params(("id" = inline(contract::params::Id), Path, description = "Order id"),
        ("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended cancellation")),
    responses(
        (status = 200, body = OrderView),
        (status = 403, description = "Planner tokens cannot cancel orders, scoped planners only in their region", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order visible to this token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not cancellable in its current state (`current_status`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id = path_id(&id, "order")?;
    let key = idempotency_key(&headers)?;
    let order = state
        .cases()
        .cancel_order(&caller, key, id)
        .await?
        .into_inner();
    Ok(Json(OrderView::from(&order)))
}
