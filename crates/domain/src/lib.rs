//! rendan's domain: plain types and business rules, free of HTTP, SQL and any IO.
//!
//! The main types are [`network::Node`] and [`site::Site`] (the company's topology),
//! [`catalogue::Product`], [`order::NewOrder`] and [`order::Order`] with the order state machine
//! [`order::OrderStatus`], the stock ledger's [`stock::Movement`], the fulfilment rules in
//! [`fulfilment`] (where a line is served from, and the promise date) and the access rules in
//! [`access`]. Everything here is deterministic: "today" and "now" are always passed in.

pub mod access;
pub mod appointment;
pub mod catalogue;
pub mod crew;
pub mod fulfilment;
pub mod geo;
pub mod idempotency;
mod ident;
pub mod network;
pub mod order;
pub mod production;
pub mod schedule;
pub mod service;
pub mod site;
pub mod stock;
pub mod stop;
pub mod topology;
pub mod travel;
pub mod visit;
pub mod webhook;

pub use geo::LatLon;
pub use network::{Node, NodeId, Region};
pub use site::{Site, SiteId, SiteKind};

/// A value in a request or file that breaks a domain rule, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// Path of the offending field, e.g. `customer.lat` or `lines[2].qty`.
    pub field: String,
    /// What is wrong with it, in words a client can act on.
    pub message: String,
}

impl Invalid {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every rule a request or file breaks, in field order; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Invalids(pub Vec<Invalid>);

impl Invalids {
    /// The fields at fault, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }
}

impl From<Invalid> for Invalids {
    fn from(e: Invalid) -> Self {
        Invalids(vec![e])
    }
}
