//! The company's network: nodes (the headquarters and the regional sub-nodes) and regions.

use crate::LatLon;
use crate::ident::slug_type;
use jiff::tz::TimeZone;

/// A node's identifier, e.g. `qingdao` (lowercase letters, digits and dashes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

/// A region that nodes, sites, orders and planners belong to, e.g. `asia` or `europe`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

slug_type!(NodeId, "a node id");
slug_type!(Region, "a region");

/// A node of the global network, with the availability its contract promises.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Stable identifier.
    pub id: NodeId,
    /// Human name, e.g. `Silverwater (Sydney)`.
    pub name: String,
    /// Region the node reports under.
    pub region: Region,
    /// Approximate location.
    pub location: LatLon,
    /// Contracted availability in percent, e.g. 99.7.
    pub availability_target: f64,
    /// The node's time zone: dates it serves (promises, ready dates) are local dates there.
    pub zone: TimeZone,
    /// Address the node's agent listens on for probes, if any.
    pub agent: Option<String>,
    /// True for the headquarters node where the central ERP runs.
    pub main: bool,
}
