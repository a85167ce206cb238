//! Sites: factories, warehouses and delivery depots, each attached to a network node.

use crate::ident::slug_type;
use crate::{Invalid, LatLon, NodeId, Region};

/// A site's identifier, e.g. `wh-seoul`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId(String);

slug_type!(SiteId, "a site id");

/// What a site does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteKind {
    /// Makes products to order.
    Factory,
    /// Holds stock and serves customers within its radius.
    Warehouse,
    /// Where delivery crews and trucks start their day.
    Depot,
    /// A depot's returns stock: old appliances collected by haul-away and goods brought back
    /// damaged. Never sells; one per depot, derived by [`crate::topology::Topology::new`].
    Returns,
}

impl SiteKind {
    /// The kind's wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SiteKind::Factory => "factory",
            SiteKind::Warehouse => "warehouse",
            SiteKind::Depot => "depot",
            SiteKind::Returns => "returns",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        match value {
            "factory" => Ok(SiteKind::Factory),
            "warehouse" => Ok(SiteKind::Warehouse),
            "depot" => Ok(SiteKind::Depot),
            other => Err(Invalid::new(
                field,
                format!("expected factory, warehouse or depot, got {other:?}"),
            )),
        }
    }
}

/// A factory, warehouse or depot.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Stable identifier.
    pub id: SiteId,
    /// What the site does.
    pub kind: SiteKind,
    /// The network node it belongs to.
    pub node: NodeId,
    /// The node's region (denormalised for scoping).
    pub region: Region,
    /// Where it is.
    pub location: LatLon,
    /// Warehouses and depots serve customers within this many kilometres.
    pub serves_radius_km: f64,
}

impl Site {
    /// True when this site serves a customer at `at`.
    pub fn serves(&self, at: &LatLon) -> bool {
        self.location.distance_km(at) <= self.serves_radius_km
    }
}
