//! The stock ledger over HTTP: receipts and balances.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{QueryMap, ValidJson};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rendan_domain::catalogue::Sku;
use rendan_domain::stock::Receipt;
use rendan_domain::{Invalids, SiteId};
use rendan_store::StockRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /stock/receipts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// Warehouse id.
    pub site: String,
    /// SKU.
    pub sku: String,
    /// Units received, 1..1000000.
    pub qty: i64,
    /// The delivery note or other document (optional).
    #[serde(default)]
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
#[utoipa::path(post, path = "/stock/receipts", tag = "stock", request_body = ReceiptBody,
    responses(
        (status = 201, body = StockView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(body): ValidJson<ReceiptBody>,
) -> Result<(StatusCode, Json<StockView>), ApiError> {
    let receipt = Receipt::new(
        state.cases().topology(),
        &body.site,
        &body.sku,
        body.qty,
        body.reference.as_deref(),
    )?;
    let row = state.cases().receive_stock(&caller, receipt).await?;
    Ok((StatusCode::CREATED, Json(StockView::from(&row))))
}

/// Balances per site and SKU (a scoped planner sees its region's sites only).
#[utoipa::path(get, path = "/stock", tag = "stock",
    params(("site" = Option<String>, Query, description = "Site id"), ("sku" = Option<String>, Query, description = "SKU")),
    responses((status = 200, body = Vec<StockView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn balances(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Vec<StockView>>, ApiError> {
    let q = q.only(&["site", "sku"])?;
    let mut errors = Vec::new();
    let site = q
        .get("site")
        .and_then(|s| SiteId::parse(s, "site").map_err(|e| errors.push(e)).ok());
    let sku = q
        .get("sku")
        .and_then(|s| Sku::parse(s, "sku").map_err(|e| errors.push(e)).ok());
    if !errors.is_empty() {
        return Err(Invalids(errors).into());
    }
    let rows = state.cases().stock(&caller, site, sku).await?;
    Ok(Json(rows.iter().map(StockView::from).collect()))
}
