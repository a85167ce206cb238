//! Production orders: listing and completion.

use super::orders::OrderView;
use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Problems, QueryMap, cursor, idempotency_key, limit, param, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use rendan_store::{ProductionOrder, ProductionQuery, ProductionStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// A production order as returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductionView {
    /// Id.
    pub id: i64,
    /// The customer order it serves.
    pub order_id: i64,
    /// SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Factory id.
    pub factory: String,
    /// Destination warehouse id.
    pub destination: String,
    /// Region of the destination.
    pub region: String,
    /// `open`, `completed` or `cancelled`.
    #[schema(schema_with = contract::production_status)]
    pub status: String,
    /// Product category, whose daily capacity at the factory it takes.
    #[schema(schema_with = contract::category)]
    pub category: String,
    /// First day it could be finished (acceptance plus lead time), YYYY-MM-DD, factory-local.
    pub earliest: String,
    /// Planned ready date at the factory (the day its last unit is finished in the factory's
    /// schedule), YYYY-MM-DD, factory-local.
    pub ready_date: String,
    /// Days from the factory to the destination.
    pub transfer_days: u32,
    /// Creation time.
    pub created_at: String,
    /// When it was completed or cancelled, RFC 3339.
    pub closed_at: Option<String>,
}

impl From<&ProductionOrder> for ProductionView {
    fn from(p: &ProductionOrder) -> Self {
        ProductionView {
            id: p.id,
            order_id: p.order_id,
            sku: p.sku.to_string(),
            qty: p.qty,
            factory: p.factory.to_string(),
            destination: p.destination.to_string(),
            region: p.region.to_string(),
            status: p.status.as_str().to_string(),
            category: p.category.as_str().to_string(),
            earliest: p.earliest.to_string(),
            ready_date: p.ready_date.to_string(),
            transfer_days: p.transfer_days,
            created_at: p.created_at.to_string(),
            closed_at: p.closed_at.map(|t| t.to_string()),
        }
    }
}

/// A page of production orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductionPage {
    /// Newest first.
    pub items: Vec<ProductionView>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// The completed production order and its customer order afterwards.
#[derive(Debug, Serialize, ToSchema)]
pub struct Completion {
    /// The production order.
    pub production_order: ProductionView,
    /// Its order (now `ready` when nothing else is outstanding).
    pub order: OrderView,
}

/// Production orders, newest first.
#[utoipa::path(get, path = "/production-orders", tag = "production", operation_id = "listProductionOrders",
    params(
        ("status" = inline(Option<contract::params::ProductionStatusName>), Query, description = "Only production orders in this status"),
        ("factory" = Option<contract::Factory>, Query, description = "Only production orders of this factory"),
        ("limit" = inline(Option<contract::params::Limit>), Query, description = "Page size"),
        ("cursor" = inline(Option<contract::params::Cursor>), Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = ProductionPage),
        (status = 400, description = "Unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every parameter with a value it cannot take", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<ProductionPage>, ApiError> {
    let q = q.only(&["status", "factory", "limit", "cursor"])?;
    let mut p = Problems::default();
    let cases = state.cases();
    let query = ProductionQuery {
        status: p
            .take(param(&q, "status", ProductionStatus::parse))
            .flatten(),
        factory: p
            .take(param(&q, "factory", |v, f| cases.factory(v, f)))
            .flatten(),
        region: None,
        before_id: p.take(cursor(&q)).flatten(),
        limit: p.take(limit(&q)).unwrap_or_default(),
    };
    p.finish()?;
    let page = state.cases().production_orders(&caller, query).await?;
    Ok(Json(ProductionPage {
        items: page.items.iter().map(ProductionView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// Complete a production order: the goods are received into the destination warehouse and
/// reserved for the order in one transaction.
#[utoipa::path(post, path = "/production-orders/{id}/complete", tag = "production", operation_id = "completeProduction",
    params(("id" = inline(contract::params::Id), Path, description = "Production order id"),
        ("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended completion")),
    responses(
        (status = 200, body = Completion),
        (status = 403, description = "Channel tokens cannot complete production orders", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such production order in this token's region", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open (`current_status`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Completion>, ApiError> {
    let id = path_id(&id, "production order")?;
    let key = idempotency_key(&headers)?;
    let (po, order) = state
        .cases()
        .complete_production(&caller, key, id)
        .await?
        .into_inner();
    Ok(Json(Completion {
        production_order: ProductionView::from(&po),
        order: OrderView::from(&order),
    }))
}
