//! Read-only views of the catalogue and the topology.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// A factory that makes a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct MakerView {
    /// Factory id.
    pub factory: String,
    /// Production lead time in days.
    pub lead_days: u32,
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// Packed volume, m³.
    pub volume_m3: f64,
    /// Packed weight, kg.
    pub weight_kg: f64,
    /// Installation minutes.
    pub install_minutes: u32,
    /// Installer skill needed, if any.
    pub skill: Option<String>,
    /// Factories that make it.
    pub makers: Vec<MakerView>,
}

/// A site.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    /// Id.
    pub id: String,
    /// `factory`, `warehouse` or `depot`.
    pub kind: String,
    /// Node id.
    pub node: String,
    /// Region.
    pub region: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Service radius in km (warehouses and depots).
    pub radius_km: f64,
}

/// A network node.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Contracted availability, percent.
    pub availability_target: f64,
    /// IANA time zone: the node's dates (promises, ready dates) are local dates there.
    pub zone: String,
    /// True for the headquarters.
    pub main: bool,
}

/// The catalogue.
#[utoipa::path(get, path = "/products", tag = "catalogue", operation_id = "listProducts", responses((status = 200, body = Vec<ProductView>)))]
pub async fn products(State(state): State<AppState>) -> Json<Vec<ProductView>> {
    Json(
        state
            .cases()
            .topology()
            .products()
            .iter()
            .map(|p| ProductView {
                sku: p.sku.to_string(),
                name: p.name.clone(),
                category: p.category.as_str().to_string(),
                volume_m3: p.volume_m3,
                weight_kg: p.weight_kg,
                install_minutes: p.install_minutes,
                skill: p.skill.clone(),
                makers: p
                    .makers
                    .iter()
                    .map(|m| MakerView {
                        factory: m.factory.to_string(),
                        lead_days: m.lead_days,
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// Factories, warehouses and depots.
#[utoipa::path(get, path = "/sites", tag = "catalogue", operation_id = "listSites", responses((status = 200, body = Vec<SiteView>)))]
pub async fn sites(State(state): State<AppState>) -> Json<Vec<SiteView>> {
    Json(
        state
            .cases()
            .topology()
            .sites()
            .iter()
            .map(|s| SiteView {
                id: s.id.to_string(),
                kind: s.kind.as_str().to_string(),
                node: s.node.to_string(),
                region: s.region.to_string(),
                lat: s.location.lat(),
                lon: s.location.lon(),
                radius_km: s.serves_radius_km,
            })
            .collect(),
    )
}

/// The network's nodes.
#[utoipa::path(get, path = "/nodes", tag = "catalogue", operation_id = "listNodes", responses((status = 200, body = Vec<NodeView>)))]
pub async fn nodes(State(state): State<AppState>) -> Json<Vec<NodeView>> {
    Json(
        state
            .cases()
            .topology()
            .nodes()
            .iter()
            .map(|n| NodeView {
                id: n.id.to_string(),
                name: n.name.clone(),
                region: n.region.to_string(),
                lat: n.location.lat(),
                lon: n.location.lon(),
                availability_target: n.availability_target,
                zone: n.zone.iana_name().unwrap_or("UTC").to_string(),
                main: n.main,
            })
            .collect(),
    )
}
