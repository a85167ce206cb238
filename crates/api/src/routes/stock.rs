//! The stock ledger over HTTP: receipts and balances.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Problems, QueryMap, ValidJson, idempotency_key, param};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rendan_domain::SiteId;
use rendan_domain::catalogue::Sku;
use rendan_domain::stock::Receipt;
use rendan_store::StockRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /stock/receipts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"site": "wh-varese", "sku": "WM-FL-8", "qty": 20, "reference": "DN-1"}))]
pub struct ReceiptBody {
    /// Warehouse id.
    #[schema(value_type = contract::Warehouse)]
    pub site: String,
    /// SKU.
    #[schema(value_type = contract::Sku)]
    pub sku: String,
    /// Units received, 1..1000000.
    #[schema(schema_with = contract::receipt_qty)]
    #[serde(deserialize_with = "contract::whole")]
    pub qty: i64,
    /// The delivery note or other document (optional).
    #[serde(default)]
    #[schema(schema_with = contract::reference)]
    pub reference: Option<String>,
}

/// A balance row.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockView {
    /// Site id.
    pub site: String,
    /// SKU.
    pub sku: String,
    /// Physically present.
    pub on_hand: i64,
    /// Promised to orders.
    pub reserved: i64,
    /// Free: on hand minus reserved.
    pub available: i64,
}

impl From<&StockRow> for StockView {
    fn from(r: &StockRow) -> Self {
        StockView {
            site: r.site.to_string(),
            sku: r.sku.to_string(),
            on_hand: r.balance.on_hand,
            reserved: r.balance.reserved,
            available: r.balance.available(),
        }
    }
}

/// Receive goods into a warehouse.
#[utoipa::path(post, path = "/stock/receipts", tag = "stock", operation_id = "receiveStock", request_body = ReceiptBody,
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended receipt")),
    responses(
        (status = 201, body = StockView),
        (status = 200, description = "Retry of a recorded receipt: the balance it produced", body = StockView),
        (status = 403, description = "Channel tokens cannot receive stock, scoped planners only in their region", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<ReceiptBody>,
) -> Result<(StatusCode, Json<StockView>), ApiError> {
    let key = idempotency_key(&headers)?;
    let long = body
        .reference
        .as_deref()
        .map(|r| contract::within(r, contract::REFERENCE_MAX, "reference"));
    let receipt = contract::merge(
        Receipt::new(
            state.cases().topology(),
            &body.site,
            &body.sku,
            body.qty,
            body.reference.as_deref(),
        ),
        long,
    )?;
    let outcome = state.cases().receive_stock(&caller, key, receipt).await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(StockView::from(&outcome.into_inner()))))
}

/// Balances per site and SKU (a scoped planner sees its region's sites only).
#[utoipa::path(get, path = "/stock", tag = "stock", operation_id = "listStock",
    params(("site" = Option<contract::Site>, Query, description = "Only this site"),
        ("sku" = Option<contract::Sku>, Query, description = "Only this SKU")),
    responses((status = 200, body = Vec<StockView>),
        (status = 403, description = "Channel tokens cannot read stock, scoped planners only their region's sites", body = Problem, content_type = "application/problem+json")))]
pub async fn balances(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Vec<StockView>>, ApiError> {
    let q = q.only(&["site", "sku"])?;
    let mut p = Problems::default();
    let site = p.take(param(&q, "site", SiteId::parse)).flatten();
    let sku = p.take(param(&q, "sku", Sku::parse)).flatten();
    p.finish()?;
    let rows = state.cases().stock(&caller, site, sku).await?;
    Ok(Json(rows.iter().map(StockView::from).collect()))
}
