//! Customer orders and the order state machine.
//!
//! The state machine lives in [`OrderStatus::apply`] and nowhere else:
//!
//! ```text
//!            accept (some line needs production)
//!   (new) ─────────────────────────────────────► in_production ──┐
//!     │                                              │            │ book
//!     │ accept (every line reserved from stock)      │ all        ▼
//!     ▼                                              │ done    scheduled ──dispatch──► out_for_delivery
//!   ready ◄──────────────────────────────────────────┘            ▲  │                  │     │
//!     │  └──────────────────────── book ─────────────────────────┘  │ unbook (back to  │ deliver
//!     │                                                              │ ready or         ▼     │
//!     └──── cancel ───► cancelled ◄──── cancel (in_production,       │ in_production)  delivered
//!                                        scheduled)                                   │     │ install
//!   ready / in_production ◄──── fail (a failed attempt) ─────────────────────────────┘     ▼
//!                                                                                       installed
//! ```
//!
//! `cancelled` and `installed` are final. A scheduled order has an appointment; the production
//! that may still run behind it does not change its state. `out_for_delivery` is entered when
//! the day's published plan starts; `delivered`, `installed` and a failed attempt come from the
//! crews' stop events ([`crate::stop`]). A failed attempt sends the order back to booking: to
//! `ready`, or to `in_production` when replacement goods must be made. When a late stop event
//! shows that a visit recorded as failed (for a reason that left the goods intact) was in fact
//! installed, `install` also applies to a `ready` or `scheduled` order of that attempt.

use crate::catalogue::Sku;
use crate::visit::SiteAccess;
use crate::{Invalid, Invalids, LatLon, Region, SiteId};
use jiff::Timestamp;
use jiff::civil::Date;

/// Where an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A web shop.
    Web,
    /// A marketplace.
    Marketplace,
    /// A retail store.
    Store,
}

impl Channel {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Marketplace => "marketplace",
            Channel::Store => "store",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        match value {
            "web" => Ok(Channel::Web),
            "marketplace" => Ok(Channel::Marketplace),
            "store" => Ok(Channel::Store),
            other => Err(Invalid::new(
                field,
                format!("expected web, marketplace or store, got {other:?}"),
            )),
        }
    }
}

/// An order's state; see the module docs for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// At least one line waits for a production order.
    InProduction,
    /// Every line's goods are reserved in a warehouse; ready for delivery planning.
    Ready,
    /// A visit is booked.
    Scheduled,
    /// On a crew's published route today.
    OutForDelivery,
    /// The goods were handed over; installation is under way.
    Delivered,
    /// Delivered and installed. Final.
    Installed,
    /// Cancelled; its reservations were released. Final.
    Cancelled,
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order was accepted; `all_from_stock` tells whether every line is reserved already.
    Accept {
        /// Every line was served from stock.
        all_from_stock: bool,
    },
    /// The last outstanding production order was completed.
    AllLinesReady,
    /// The customer or a planner cancelled it.
    Cancel,
    /// A visit was booked.
    Book,
    /// The booked visit was cancelled; `all_ready` tells whether every line's goods are in.
    Unbook {
        /// No production order of it is open.
        all_ready: bool,
    },
    /// The day of its visit started on a published plan.
    Dispatch,
    /// The crew handed the goods over.
    Deliver,
    /// The crew installed the goods (a visit recorded as failed with its goods intact may
    /// turn out installed after all, from a late event).
    Install,
    /// The visit failed; `all_ready` tells whether every line's goods are in a warehouse again.
    FailVisit {
        /// No replacement has to be made.
        all_ready: bool,
    },
}

/// A transition the state machine forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order is {current}; it cannot {event}", current = .current.as_str())]
pub struct IllegalTransition {
    /// The state the order is in.
    pub current: OrderStatus,
    /// What was attempted, in words.
    pub event: &'static str,
}

impl OrderStatus {
    /// All states, in display order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::InProduction,
        OrderStatus::Ready,
        OrderStatus::Scheduled,
        OrderStatus::OutForDelivery,
        OrderStatus::Delivered,
        OrderStatus::Installed,
        OrderStatus::Cancelled,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::InProduction => "in_production",
            OrderStatus::Ready => "ready",
            OrderStatus::Scheduled => "scheduled",
            OrderStatus::OutForDelivery => "out_for_delivery",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Installed => "installed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "expected in_production, ready, scheduled, out_for_delivery, \
                         delivered, installed or cancelled, got {value:?}"
                    ),
                )
            })
    }

    /// The state a brand-new order enters.
    pub fn initial(all_from_stock: bool) -> OrderStatus {
        if all_from_stock {
            OrderStatus::Ready
        } else {
            OrderStatus::InProduction
        }
    }

    /// The one place where order transitions are decided.
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        match (self, event) {
            (InProduction, OrderEvent::AllLinesReady) => Ok(Ready),
            // Production finishing behind a booked visit changes nothing of the order's state.
            (Scheduled, OrderEvent::AllLinesReady) => Ok(Scheduled),
            (InProduction | Ready | Scheduled, OrderEvent::Cancel) => Ok(Cancelled),
            (InProduction | Ready, OrderEvent::Book) => Ok(Scheduled),
            (Scheduled, OrderEvent::Unbook { all_ready: true }) => Ok(Ready),
            (Scheduled, OrderEvent::Unbook { all_ready: false }) => Ok(InProduction),
            (Scheduled, OrderEvent::Dispatch) => Ok(OutForDelivery),
            (OutForDelivery, OrderEvent::Deliver) => Ok(Delivered),
            (OutForDelivery | Delivered | Ready | Scheduled, OrderEvent::Install) => Ok(Installed),
            (OutForDelivery | Delivered, OrderEvent::FailVisit { all_ready: true }) => Ok(Ready),
            (OutForDelivery | Delivered, OrderEvent::FailVisit { all_ready: false }) => {
                Ok(InProduction)
            }
            (current, OrderEvent::Deliver) => Err(IllegalTransition {
                current,
                event: "be delivered",
            }),
            (current, OrderEvent::Install) => Err(IllegalTransition {
                current,
                event: "be installed",
            }),
            (current, OrderEvent::FailVisit { .. }) => Err(IllegalTransition {
                current,
                event: "fail a visit",
            }),
            (current, OrderEvent::Book) => Err(IllegalTransition {
                current,
                event: "be booked",
            }),
            (current, OrderEvent::Unbook { .. }) => Err(IllegalTransition {
                current,
                event: "lose its appointment",
            }),
            (current, OrderEvent::Dispatch) => Err(IllegalTransition {
                current,
                event: "go out for delivery",
            }),
            (current, OrderEvent::Accept { .. }) => Err(IllegalTransition {
                current,
                event: "be accepted again",
            }),
            (current, OrderEvent::AllLinesReady) => Err(IllegalTransition {
                current,
                event: "become ready",
            }),
            (current, OrderEvent::Cancel) => Err(IllegalTransition {
                current,
                event: "be cancelled",
            }),
        }
    }
}

/// A second order with a reference its channel already used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("external_ref {external_ref:?} of channel {channel} is already order {existing}")]
pub struct DuplicateReference {
    /// The channel.
    pub channel: &'static str,
    /// The reference.
    pub external_ref: String,
    /// The order that has it.
    pub existing: i64,
}

/// A channel's reference names one order: placing `order` is refused when the same principal
/// already has an order (`existing`) with its channel and reference.
pub fn check_reference(order: &NewOrder, existing: Option<i64>) -> Result<(), DuplicateReference> {
    match existing {
        Some(id) => Err(DuplicateReference {
            channel: order.channel.as_str(),
            external_ref: order.external_ref.clone(),
            existing: id,
        }),
        None => Ok(()),
    }
}

/// The person an order is delivered to and installed for.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Full name.
    pub name: String,
    /// Phone number for the crew.
    pub phone: String,
    /// Street address.
    pub address: String,
    /// Delivery location.
    pub location: LatLon,
}

/// One requested line: a SKU and a quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRequest {
    /// What is ordered.
    pub sku: Sku,
    /// How many (at least 1).
    pub qty: u32,
}

/// Largest quantity on one line: more is a data-entry error, not an order.
pub const MAX_LINE_QTY: u32 = 10_000;
/// Largest number of lines on one order.
pub const MAX_LINES: usize = 200;

/// A validated order as a channel sends it, before fulfilment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Where it came from.
    pub channel: Channel,
    /// The channel's own reference.
    pub external_ref: String,
    /// Who receives it.
    pub customer: Customer,
    /// What is ordered.
    pub lines: Vec<LineRequest>,
    /// How the crew reaches the place of installation (ground floor, no haul-away unless
    /// said otherwise).
    pub site_access: SiteAccess,
}

fn text(value: &str, field: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// The value of `r`, or `None` after noting its error.
fn keep<T>(errors: &mut Vec<Invalid>, r: Result<T, Invalid>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// Raw fields of a customer, as they arrive, to be validated by [`NewOrder::new`].
#[derive(Debug, Clone)]
pub struct RawCustomer<'a> {
    /// Name.
    pub name: &'a str,
    /// Phone.
    pub phone: &'a str,
    /// Address.
    pub address: &'a str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl NewOrder {
    /// The same order reached as `access` says.
    pub fn with_access(mut self, access: SiteAccess) -> Self {
        self.site_access = access;
        self
    }

    /// Validates every field and reports every field at fault, not only the first.
    pub fn new(
        channel: &str,
        external_ref: &str,
        customer: RawCustomer<'_>,
        lines: &[(&str, i64)],
    ) -> Result<Self, Invalids> {
        let mut errors = Vec::new();
        let channel = keep(&mut errors, Channel::parse(channel, "channel"));
        let external_ref = keep(&mut errors, text(external_ref, "external_ref", 128));
        let name = keep(&mut errors, text(customer.name, "customer.name", 200));
        let phone = keep(
            &mut errors,
            text(customer.phone, "customer.phone", 40).and_then(|phone| {
                if phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
                    && phone.chars().any(|c| c.is_ascii_digit())
                {
                    Ok(phone)
                } else {
                    Err(Invalid::new(
                        "customer.phone",
                        "must be digits with optional + - ( ) . and spaces",
                    ))
                }
            }),
        );
        let address = keep(&mut errors, text(customer.address, "customer.address", 500));
        let location = keep(
            &mut errors,
            LatLon::new(customer.lat, customer.lon, "customer"),
        );
        if lines.is_empty() {
            errors.push(Invalid::new("lines", "an order needs at least one line"));
        }
        if lines.len() > MAX_LINES {
            errors.push(Invalid::new("lines", format!("at most {MAX_LINES} lines")));
        }
        let mut parsed = Vec::with_capacity(lines.len());
        for (i, (sku, qty)) in lines.iter().enumerate() {
            let sku = keep(&mut errors, Sku::parse(sku, &format!("lines[{i}].sku")));
            let qty = keep(
                &mut errors,
                if *qty < 1 || *qty > i64::from(MAX_LINE_QTY) {
                    Err(Invalid::new(
                        format!("lines[{i}].qty"),
                        format!("must be between 1 and {MAX_LINE_QTY}"),
                    ))
                } else {
                    Ok(*qty as u32)
                },
            );
            if let (Some(sku), Some(qty)) = (sku, qty) {
                parsed.push(LineRequest { sku, qty });
            }
        }
        match (channel, external_ref, name, phone, address, location) {
            (
                Some(channel),
                Some(external_ref),
                Some(name),
                Some(phone),
                Some(address),
                Some(location),
            ) if errors.is_empty() => Ok(NewOrder {
                channel,
                external_ref,
                customer: Customer {
                    name,
                    phone,
                    address,
                    location,
                },
                lines: parsed,
                site_access: SiteAccess::default(),
            }),
            _ => Err(Invalids(errors)),
        }
    }
}

/// How one line is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// Reserved from free stock in a warehouse.
    Stock {
        /// The warehouse holding the reservation.
        site: SiteId,
    },
    /// Made to order.
    Production {
        /// The production order.
        production_order: i64,
        /// The factory making it.
        factory: SiteId,
    },
}

/// A line of an accepted order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    /// What.
    pub sku: Sku,
    /// How many.
    pub qty: u32,
    /// Where it comes from.
    pub fulfilment: Fulfilment,
}

/// An accepted order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Identifier.
    pub id: i64,
    /// Current state.
    pub status: OrderStatus,
    /// Origin channel.
    pub channel: Channel,
    /// The channel's reference.
    pub external_ref: String,
    /// Recipient.
    pub customer: Customer,
    /// Region of the warehouse that serves the customer.
    pub region: Region,
    /// Token that created it.
    pub created_by: i64,
    /// When it was accepted.
    pub created_at: Timestamp,
    /// The date promised to the customer.
    pub promised_date: Date,
    /// The local date it was accepted on at the serving warehouse (its stock lines are ready
    /// from then).
    pub accepted_on: Date,
    /// Every promise it was given, oldest first; the last is `promised_date`.
    pub promises: Vec<PromiseChange>,
    /// How the crew reaches the place of installation.
    pub site_access: SiteAccess,
    /// Its lines, in request order.
    pub lines: Vec<OrderLine>,
}

/// Why an order was given a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseReason {
    /// The order was accepted.
    Accepted,
    /// A production order completed early or late, or was cancelled, and the factory's queue
    /// was planned again.
    Replanned {
        /// The production order whose completion or cancellation moved the queue.
        production_order: i64,
    },
}

impl PromiseReason {
    /// Wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PromiseReason::Accepted => "accepted",
            PromiseReason::Replanned { .. } => "replanned",
        }
    }
}

/// One promise in an order's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseChange {
    /// The promised date.
    pub date: Date,
    /// When it was given.
    pub at: Timestamp,
    /// Why.
    pub reason: PromiseReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_diagram() {
        use OrderStatus::*;
        assert_eq!(OrderStatus::initial(true), Ready);
        assert_eq!(OrderStatus::initial(false), InProduction);
        assert_eq!(InProduction.apply(OrderEvent::AllLinesReady), Ok(Ready));
        assert_eq!(Ready.apply(OrderEvent::Cancel), Ok(Cancelled));
        assert_eq!(InProduction.apply(OrderEvent::Cancel), Ok(Cancelled));
        let err = Cancelled.apply(OrderEvent::Cancel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "order is cancelled; it cannot be cancelled"
        );
        assert!(Ready.apply(OrderEvent::AllLinesReady).is_err());
        assert_eq!(Ready.apply(OrderEvent::Book), Ok(Scheduled));
        assert_eq!(InProduction.apply(OrderEvent::Book), Ok(Scheduled));
        assert_eq!(Scheduled.apply(OrderEvent::AllLinesReady), Ok(Scheduled));
        assert_eq!(
            Scheduled.apply(OrderEvent::Unbook { all_ready: true }),
            Ok(Ready)
        );
        assert_eq!(
            Scheduled.apply(OrderEvent::Unbook { all_ready: false }),
            Ok(InProduction)
        );
        assert_eq!(Scheduled.apply(OrderEvent::Dispatch), Ok(OutForDelivery));
        assert_eq!(Scheduled.apply(OrderEvent::Cancel), Ok(Cancelled));
        assert!(Scheduled.apply(OrderEvent::Book).is_err());
        assert!(OutForDelivery.apply(OrderEvent::Cancel).is_err());
        assert!(Ready.apply(OrderEvent::Dispatch).is_err());
        assert_eq!(OutForDelivery.apply(OrderEvent::Deliver), Ok(Delivered));
        assert_eq!(Delivered.apply(OrderEvent::Install), Ok(Installed));
        assert_eq!(OutForDelivery.apply(OrderEvent::Install), Ok(Installed));
        let fail = |all_ready| OrderEvent::FailVisit { all_ready };
        assert_eq!(OutForDelivery.apply(fail(true)), Ok(Ready));
        assert_eq!(Delivered.apply(fail(false)), Ok(InProduction));
        assert!(Installed.apply(fail(true)).is_err());
        assert!(Installed.apply(OrderEvent::Cancel).is_err());
        assert!(Delivered.apply(OrderEvent::Cancel).is_err());
        assert!(Scheduled.apply(OrderEvent::Deliver).is_err());
        assert!(InProduction.apply(OrderEvent::Install).is_err());
    }

    fn raw() -> RawCustomer<'static> {
        RawCustomer {
            name: "Ana",
            phone: "+39 0332 1234",
            address: "Via Roma 1",
            lat: 45.8,
            lon: 8.8,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let e = NewOrder::new("web", "x", raw(), &[("REF-1", 0)]).unwrap_err();
        assert_eq!(e.fields(), ["lines[0].qty"]);
        let e = NewOrder::new("web", " ", raw(), &[("REF-1", 1)]).unwrap_err();
        assert_eq!(e.fields(), ["external_ref"]);
        let e = NewOrder::new("web", "x", raw(), &[]).unwrap_err();
        assert_eq!(e.fields(), ["lines"]);
        let mut c = raw();
        c.phone = "call me";
        let e = NewOrder::new("web", "x", c, &[("REF-1", 1)]).unwrap_err();
        assert_eq!(e.fields(), ["customer.phone"]);
        assert!(NewOrder::new("web", "x", raw(), &[("REF-1", 2)]).is_ok());
    }

    #[test]
    fn every_fault_is_reported_at_once() {
        let mut c = raw();
        c.lat = 123.0;
        let e = NewOrder::new("fax", "", c, &[("REF-1", 0), ("no sku!", 1)]).unwrap_err();
        assert_eq!(
            e.fields(),
            [
                "channel",
                "external_ref",
                "customer.lat",
                "lines[0].qty",
                "lines[1].sku"
            ]
        );
    }

    #[test]
    fn a_reference_names_one_order() {
        let o = NewOrder::new("web", "W-1", raw(), &[("REF-1", 1)]).unwrap();
        assert_eq!(check_reference(&o, None), Ok(()));
        let e = check_reference(&o, Some(7)).unwrap_err();
        assert_eq!(e.existing, 7);
        assert_eq!(
            e.to_string(),
            "external_ref \"W-1\" of channel web is already order 7"
        );
    }
}
