//! The company's network: nodes (the headquarters and the regional sub-nodes) and regions.

use crate::{Invalid, LatLon};
use std::fmt;

/// A node's identifier, e.g. `qingdao` (lowercase letters, digits and dashes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

/// A region that nodes, sites, orders and planners belong to, e.g. `asia` or `europe`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

fn slug(value: &str, field: &str, what: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            field,
            format!("{what} must be 1-64 characters of a-z, 0-9 and '-', got {value:?}"),
        ))
    }
}

macro_rules! slug_type {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// Validates an identifier; `field` names it in the error.
            pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
                slug(value, field, $what).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

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
    /// Address the node's agent listens on for probes, if any.
    pub agent: Option<String>,
    /// True for the headquarters node where the central ERP runs.
    pub main: bool,
}
