//! The stock ledger over HTTP: receipts and balances.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{QueryMap, ValidJson};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rendan_domain::access::Principal;
use rendan_domain::catalogue::Sku;
use rendan_domain::{Site, SiteId, SiteKind};
use rendan_store::{StockQuery, StockRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest quantity one receipt may carry.
const MAX_RECEIPT: i64 = 1_000_000;

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

fn known_site<'a>(
    state: &'a AppState,
    raw: &str,
    field: &str,
    caller: &Principal,
) -> Result<&'a Site, ApiError> {
    let id = SiteId::parse(raw, field)?;
    let site = state
        .topology()
        .site(&id)
        .ok_or_else(|| ApiError::invalid(field, format!("unknown site {raw}")))?;
    if !caller.can_manage_stock_in(&site.region) {
        return Err(
            ApiError::forbidden(format!("site {raw} is outside this token's region")).field(field),
        );
    }
    Ok(site)
}

fn known_sku(state: &AppState, raw: &str, field: &str) -> Result<Sku, ApiError> {
    let sku = Sku::parse(raw, field)?;
    if state.topology().product(&sku).is_none() {
        return Err(ApiError::invalid(field, format!("unknown SKU {raw}")));
    }
    Ok(sku)
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
    if !caller.can_read_stock() {
        return Err(ApiError::forbidden("channel tokens cannot change stock"));
    }
    let site = known_site(&state, &body.site, "site", &caller)?;
    if site.kind != SiteKind::Warehouse {
        return Err(ApiError::invalid(
            "site",
            format!("{} is a {}, not a warehouse", site.id, site.kind.as_str()),
        ));
    }
    let sku = known_sku(&state, &body.sku, "sku")?;
    if !(1..=MAX_RECEIPT).contains(&body.qty) {
        return Err(ApiError::invalid(
            "qty",
            format!("must be between 1 and {MAX_RECEIPT}"),
        ));
    }
    let document = match body.reference.as_deref().map(str::trim) {
        Some(r) if r.is_empty() || r.len() > 200 || r.chars().any(char::is_control) => {
            return Err(ApiError::invalid(
                "reference",
                "must be 1-200 printable characters",
            ));
        }
        Some(r) => format!("receipt {r}"),
        None => "receipt".to_string(),
    };
    let row = state
        .store()
        .receive_stock(&site.id, &sku, body.qty, &document, state.now())
        .await?;
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
    if !caller.can_read_stock() {
        return Err(ApiError::forbidden("channel tokens cannot read stock"));
    }
    let q = q.only(&["site", "sku"])?;
    let site = q
        .get("site")
        .map(|s| known_site(&state, s, "site", &caller).map(|s| s.id.clone()))
        .transpose()?;
    let sku = q
        .get("sku")
        .map(|s| known_sku(&state, s, "sku"))
        .transpose()?;
    let query = StockQuery {
        site,
        sku,
        region: caller.role.region().cloned(),
    };
    let rows = state.store().stock(&query).await?;
    Ok(Json(rows.iter().map(StockView::from).collect()))
}
