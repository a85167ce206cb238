//! The stock ledger's rules: movements and the balances they produce.
//!
//! A balance is never written without its movement; [`Balance::apply`] is the only arithmetic,
//! used both when a movement is recorded and when balances are recomputed from the journal.

use crate::catalogue::Sku;
use crate::topology::Topology;
use crate::{Invalid, Invalids, Site, SiteKind};

/// Kinds of stock movement; each is journalled with the document that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// Goods arrive: on hand grows.
    Receipt,
    /// Goods are promised to an order: reserved grows.
    Reserve,
    /// A promise is withdrawn: reserved shrinks.
    Release,
    /// Reserved goods leave the warehouse: on hand and reserved shrink.
    Issue,
    /// A count correction (positive or negative) of on hand.
    Adjust,
}

impl MovementKind {
    /// All kinds.
    pub const ALL: [MovementKind; 5] = [
        MovementKind::Receipt,
        MovementKind::Reserve,
        MovementKind::Release,
        MovementKind::Issue,
        MovementKind::Adjust,
    ];

    /// The wire and journal name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Reserve => "reserve",
            MovementKind::Release => "release",
            MovementKind::Issue => "issue",
            MovementKind::Adjust => "adjust",
        }
    }

    /// Parses a journal name.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        MovementKind::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| Invalid::new("kind", format!("unknown movement kind {value:?}")))
    }
}

/// A movement would break the ledger's invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    /// Reserving or issuing more than is available.
    #[error("only {available} available, {requested} requested")]
    Insufficient {
        /// What is free.
        available: i64,
        /// What was asked.
        requested: i64,
    },
    /// Releasing or issuing more than is reserved.
    #[error("only {reserved} reserved, {requested} requested")]
    NotReserved {
        /// What is reserved.
        reserved: i64,
        /// What was asked.
        requested: i64,
    },
    /// Quantity of a non-adjust movement must be positive.
    #[error("quantity must be positive, got {0}")]
    NonPositive(i64),
}

/// On hand and reserved units of one SKU at one site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    /// Physically present.
    pub on_hand: i64,
    /// Promised to orders.
    pub reserved: i64,
}

impl Balance {
    /// Free to promise: on hand minus reserved.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    /// The balance after a movement, or why the movement is refused.
    /// Invariant kept: `0 <= reserved <= on_hand`.
    pub fn apply(self, kind: MovementKind, qty: i64) -> Result<Balance, StockError> {
        if kind != MovementKind::Adjust && qty <= 0 {
            return Err(StockError::NonPositive(qty));
        }
        let next = match kind {
            MovementKind::Receipt => Balance {
                on_hand: self.on_hand + qty,
                ..self
            },
            MovementKind::Reserve => {
                if qty > self.available() {
                    return Err(StockError::Insufficient {
                        available: self.available(),
                        requested: qty,
                    });
                }
                Balance {
                    reserved: self.reserved + qty,
                    ..self
                }
            }
            MovementKind::Release | MovementKind::Issue => {
                if qty > self.reserved {
                    return Err(StockError::NotReserved {
                        reserved: self.reserved,
                        requested: qty,
                    });
                }
                let on_hand = if kind == MovementKind::Issue {
                    self.on_hand - qty
                } else {
                    self.on_hand
                };
                Balance {
                    on_hand,
                    reserved: self.reserved - qty,
                }
            }
            MovementKind::Adjust => {
                if self.on_hand + qty < self.reserved {
                    return Err(StockError::Insufficient {
                        available: self.available(),
                        requested: -qty,
                    });
                }
                Balance {
                    on_hand: self.on_hand + qty,
                    ..self
                }
            }
        };
        Ok(next)
    }
}

/// Largest quantity one receipt may carry.
pub const MAX_RECEIPT: i64 = 1_000_000;

/// A validated goods receipt: known warehouse, known SKU, a sane quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The receiving warehouse.
    pub site: Site,
    /// What arrived.
    pub sku: Sku,
    /// How many.
    pub qty: i64,
    /// The delivery note or other document, if given.
    pub reference: Option<String>,
}

impl Receipt {
    /// Validates raw fields against the topology, reporting every field at fault.
    pub fn new(
        topology: &Topology,
        site: &str,
        sku: &str,
        qty: i64,
        reference: Option<&str>,
    ) -> Result<Receipt, Invalids> {
        let mut errors = Vec::new();
        let site = match crate::SiteId::parse(site, "site") {
            Err(e) => {
                errors.push(e);
                None
            }
            Ok(id) => match topology.site(&id) {
                None => {
                    errors.push(Invalid::new("site", format!("unknown site {id}")));
                    None
                }
                Some(s) if s.kind != SiteKind::Warehouse => {
                    errors.push(Invalid::new(
                        "site",
                        format!("{} is a {}, not a warehouse", s.id, s.kind.as_str()),
                    ));
                    None
                }
                Some(s) => Some(s.clone()),
            },
        };
        let sku = match Sku::parse(sku, "sku") {
            Err(e) => {
                errors.push(e);
                None
            }
            Ok(sku) if topology.product(&sku).is_none() => {
                errors.push(Invalid::new("sku", format!("unknown SKU {sku}")));
                None
            }
            Ok(sku) => Some(sku),
        };
        if !(1..=MAX_RECEIPT).contains(&qty) {
            errors.push(Invalid::new(
                "qty",
                format!("must be between 1 and {MAX_RECEIPT}"),
            ));
        }
        let reference = match reference.map(str::trim) {
            Some(r)
                if r.is_empty() || r.chars().count() > 200 || r.chars().any(char::is_control) =>
            {
                errors.push(Invalid::new(
                    "reference",
                    "must be 1-200 printable characters",
                ));
                None
            }
            other => other.map(str::to_string),
        };
        match (site, sku) {
            (Some(site), Some(sku)) if errors.is_empty() => Ok(Receipt {
                site,
                sku,
                qty,
                reference,
            }),
            _ => Err(Invalids(errors)),
        }
    }

    /// The journal's document text for this receipt.
    pub fn document(&self) -> String {
        match &self.reference {
            Some(r) => format!("receipt {r}"),
            None => "receipt".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MovementKind::*;

    #[test]
    fn never_reserves_more_than_available() {
        let b = Balance::default().apply(Receipt, 5).unwrap();
        let b = b.apply(Reserve, 3).unwrap();
        assert_eq!(b.available(), 2);
        assert_eq!(
            b.apply(Reserve, 3),
            Err(StockError::Insufficient {
                available: 2,
                requested: 3
            })
        );
        let b = b.apply(Issue, 3).unwrap();
        assert_eq!(
            b,
            Balance {
                on_hand: 2,
                reserved: 0
            }
        );
        assert!(b.apply(Release, 1).is_err());
        assert!(b.apply(Adjust, -3).is_err());
        assert_eq!(b.apply(Adjust, -2).unwrap().on_hand, 0);
        assert_eq!(b.apply(Receipt, 0), Err(StockError::NonPositive(0)));
    }
}
