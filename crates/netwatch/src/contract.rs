//! Contracts: which nodes a service-level promise covers, its targets, the zone of its months
//! and whether DEGRADED counts as down.
//!
//! The default contract names every node with its own `availability_target` from the topology
//! (99.7% for the Asian nodes, 99.8% for the others): targets are explicit per node, never
//! derived from a continent rule, and months are cut in Asia/Shanghai.

use jiff::tz::TimeZone;
use rendan_domain::{Node, NodeId};
use std::collections::BTreeMap;

/// The zone of the default contract's months (the headquarters' zone).
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// A service-level contract.
#[derive(Debug, Clone)]
pub struct Contract {
    /// Name shown in reports.
    pub name: String,
    /// The zone whose calendar defines a month.
    pub tz: TimeZone,
    /// Whether DEGRADED slices count as down.
    pub degraded_is_down: bool,
    /// Target availability in percent for every covered node.
    pub targets: BTreeMap<NodeId, f64>,
}

impl Contract {
    /// The default contract: every node at its topology target, months in Asia/Shanghai.
    pub fn default_for(nodes: &[Node]) -> Self {
        Contract {
            name: "default".into(),
            // The zone database is bundled by jiff, so this lookup cannot fail in practice;
            // UTC keeps the monitor running should it ever.
            tz: TimeZone::get(DEFAULT_ZONE).unwrap_or(TimeZone::UTC),
            degraded_is_down: false,
            targets: nodes
                .iter()
                .map(|n| (n.id.clone(), n.availability_target))
                .collect(),
        }
    }

    /// The zone's IANA name, for reports.
    pub fn zone_name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }
}
