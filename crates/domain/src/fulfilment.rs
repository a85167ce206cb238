//! Zero-inventory fulfilment: where each line is served from, and the date promised.
//!
//! The rules, in one place:
//! 1. The warehouses that serve a customer are those whose radius covers the customer's
//!    location, nearest first. The nearest is the order's *serving warehouse*: its region is
//!    the order's region and it is where make-to-order goods are sent.
//! 2. A line is reserved from the first serving warehouse (nearest first) with enough free
//!    stock for the whole line (lines are never split).
//! 3. Otherwise it becomes a production order at one of the factories that make the SKU,
//!    destined for the serving warehouse. Each factory makes at most its daily capacity of the
//!    product's category ([`crate::schedule`]): a production order takes, in promise order, what
//!    the orders before it left free, from its earliest day (today at the factory plus the
//!    maker's lead time) on. The line goes to the factory whose goods would *arrive* first
//!    (the day its last unit is finished plus the transfer to the warehouse); ties go to the
//!    fewest lead + transfer days, then the shorter distance, then the factory id.
//! 4. The promise ([`promise_date`]) is the day the last line is in the serving warehouse
//!    (today for stock, a production order's finish day plus its transfer) plus the delivery
//!    lead time, counted in the serving warehouse's local dates.
//! 5. Lines of one order, and orders decided one after another against the same
//!    [`Snapshot`], see what earlier ones reserved and which capacity they took ([`allocate`]).
//! 6. When production finishes early or late, [`repromise`] computes the order's new promise
//!    from where each of its production orders stands.
//!
//! Storage backends read the balances [`OrderOptions::stock_keys`] names and the capacity
//! [`OrderOptions::queues`] names into a [`Snapshot`] inside their transaction and call
//! [`allocate`]; they never decide.

use crate::catalogue::{Category, Sku};
use crate::order::{NewOrder, OrderStatus};
use crate::schedule::{self, Booked};
use crate::stock::{Balance, MovementKind, StockError};
use crate::topology::Topology;
use crate::{Invalid, Invalids, NodeId, Region, SiteId, SiteKind};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::collections::HashMap;

/// Tunable constants of the promise: transfer speed and the last mile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromiseRules {
    /// Kilometres a transfer between sites covers per day (by road or sea, averaged).
    pub transfer_km_per_day: f64,
    /// Days from goods ready in the serving warehouse to delivered and installed.
    pub delivery_lead_days: u32,
}

impl Default for PromiseRules {
    fn default() -> Self {
        Self {
            transfer_km_per_day: 600.0,
            delivery_lead_days: 2,
        }
    }
}

impl PromiseRules {
    /// Whole days to move goods over `km` (a same-site transfer takes none).
    pub fn transfer_days(&self, km: f64) -> u32 {
        if km <= 0.0 {
            0
        } else {
            (km / self.transfer_km_per_day).ceil() as u32
        }
    }
}

/// One factory that may make a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionOption {
    /// The factory.
    pub factory: SiteId,
    /// The factory node's time zone: its days are local dates there.
    pub zone: TimeZone,
    /// Where the goods go: the order's serving warehouse.
    pub destination: SiteId,
    /// The product's category, whose capacity the line takes.
    pub category: Category,
    /// Production lead time.
    pub lead_days: u32,
    /// Factory to warehouse.
    pub transfer_days: u32,
    /// Units of the category the factory finishes a day; `None` when no limit is declared.
    pub per_day: Option<u32>,
}

impl ProductionOption {
    /// The first day this factory may finish a unit of an order accepted at `now`.
    pub fn earliest(&self, now: Timestamp) -> Date {
        now.to_zoned(self.zone.clone())
            .date()
            .saturating_add(i64::from(self.lead_days).days())
    }
}

/// Everything needed to decide one line, computed before any stock is read.
#[derive(Debug, Clone, PartialEq)]
pub struct LineOptions {
    /// What.
    pub sku: Sku,
    /// How many.
    pub qty: u32,
    /// Warehouses that may serve it, nearest first.
    pub warehouses: Vec<SiteId>,
    /// Factories that may make it when no warehouse has the stock (never empty), fewest lead +
    /// transfer days first (then shorter distance, then id).
    pub production: Vec<ProductionOption>,
}

/// The decision for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineChoice {
    /// Reserve `qty` at this warehouse.
    Stock(SiteId),
    /// Create a production order.
    Production(ProductionOption),
}

impl LineOptions {
    /// Rule 2: the first warehouse whose `available` covers the line.
    pub fn stock_from(&self, mut available: impl FnMut(&SiteId) -> i64) -> Option<SiteId> {
        self.warehouses
            .iter()
            .find(|w| available(w) >= i64::from(self.qty))
            .cloned()
    }
}

/// The options for a whole order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderOptions {
    /// The order's region (its serving warehouse's).
    pub region: Region,
    /// The serving warehouse node's time zone: the promise is a local date there.
    pub zone: TimeZone,
    /// One entry per line, in order.
    pub lines: Vec<LineOptions>,
}

/// One factory's capacity for one category: the unit of capacity planning, and of locking.
pub type Queue = (SiteId, Category);

impl OrderOptions {
    /// The (warehouse, SKU) balances [`allocate`] needs, each once, in line order.
    pub fn stock_keys(&self) -> Vec<(SiteId, Sku)> {
        let mut keys: Vec<(SiteId, Sku)> = Vec::new();
        for line in &self.lines {
            for w in &line.warehouses {
                let key = (w.clone(), line.sku.clone());
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// The capacity queues [`allocate`] may plan on for an order accepted at `now`, each
    /// once, with the first day it may book there; factories without a declared limit need
    /// no reading.
    pub fn queues(&self, now: Timestamp) -> Vec<(Queue, Date)> {
        let mut out: Vec<(Queue, Date)> = Vec::new();
        for p in self.lines.iter().flat_map(|l| &l.production) {
            if p.per_day.is_none() {
                continue;
            }
            let from = p.earliest(now);
            match out
                .iter_mut()
                .find(|(q, _)| q.0 == p.factory && q.1 == p.category)
            {
                Some((_, d)) => *d = (*d).min(from),
                None => out.push(((p.factory.clone(), p.category), from)),
            }
        }
        out
    }
}

fn zone_of(topology: &Topology, node: &NodeId) -> TimeZone {
    // Topology::new guarantees every site's node exists; UTC only for a hand-built one.
    topology
        .node(node)
        .map_or(TimeZone::UTC, |n| n.zone.clone())
}

/// The time zone of a site's node: its local dates.
pub fn site_zone(topology: &Topology, site: &SiteId) -> TimeZone {
    topology
        .site(site)
        .map_or(TimeZone::UTC, |s| zone_of(topology, &s.node))
}

/// Rules 1 and 3: the candidates for every line of `order`. Fails, naming every field at
/// fault, when SKUs are unknown, no factory can make one, or no warehouse serves the
/// customer's location.
pub fn options(
    topology: &Topology,
    rules: &PromiseRules,
    order: &NewOrder,
) -> Result<OrderOptions, Invalids> {
    let at = &order.customer.location;
    let mut serving: Vec<(f64, &crate::Site)> = topology
        .sites()
        .iter()
        .filter(|s| s.kind == SiteKind::Warehouse && s.serves(at))
        .map(|s| (s.location.distance_km(at), s))
        .collect();
    serving.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let Some(&(_, home)) = serving.first() else {
        return Err(Invalid::new("customer", "no warehouse serves this location").into());
    };
    let warehouses: Vec<SiteId> = serving.iter().map(|(_, s)| s.id.clone()).collect();
    let (lines, errors): (Vec<_>, Vec<_>) = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let product = topology.product(&line.sku).ok_or_else(|| {
                Invalid::new(
                    format!("lines[{i}].sku"),
                    format!("unknown SKU {}", line.sku),
                )
            })?;
            let mut makers: Vec<(u32, f64, ProductionOption)> = product
                .makers
                .iter()
                .filter_map(|m| {
                    let factory = topology.site(&m.factory)?;
                    let per_day = topology.capacities().per_day(&m.factory, product.category);
                    if per_day == Some(0) {
                        return None;
                    }
                    let km = factory.location.distance_km(&home.location);
                    let transfer_days = rules.transfer_days(km);
                    let option = ProductionOption {
                        factory: m.factory.clone(),
                        zone: zone_of(topology, &factory.node),
                        destination: home.id.clone(),
                        category: product.category,
                        lead_days: m.lead_days,
                        transfer_days,
                        per_day,
                    };
                    Some((m.lead_days + transfer_days, km, option))
                })
                .collect();
            makers.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then_with(|| a.2.factory.cmp(&b.2.factory))
            });
            if makers.is_empty() {
                return Err(Invalid::new(
                    format!("lines[{i}].sku"),
                    "no factory can make this SKU",
                ));
            }
            Ok::<_, Invalid>(LineOptions {
                sku: line.sku.clone(),
                qty: line.qty,
                warehouses: warehouses.clone(),
                production: makers.into_iter().map(|m| m.2).collect(),
            })
        })
        .partition(Result::is_ok);
    if !errors.is_empty() {
        return Err(Invalids(
            errors.into_iter().filter_map(Result::err).collect(),
        ));
    }
    let lines = lines.into_iter().filter_map(Result::ok).collect();
    Ok(OrderOptions {
        region: home.region.clone(),
        zone: zone_of(topology, &home.node),
        lines,
    })
}

/// What a decision rests on, as read in the caller's transaction: the balances named by
/// [`OrderOptions::stock_keys`] (a missing key is an empty balance) and the capacity already
/// booked on the queues named by [`OrderOptions::queues`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Balances per (warehouse, SKU).
    pub balances: HashMap<(SiteId, Sku), Balance>,
    /// Units booked per factory, category and day.
    pub booked: Booked,
}

/// Where the capacity for one production line was planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The first day it could be finished (acceptance plus lead time, factory-local).
    pub earliest: Date,
    /// The day its last unit is finished (factory-local): the production order's ready date.
    pub finish: Date,
    /// Units taken per day, in day order (empty when the factory declares no limit).
    pub days: Vec<(Date, u32)>,
}

/// One line as [`allocate`] decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocatedLine {
    /// Stock or production.
    pub choice: LineChoice,
    /// For a stock line: the warehouse's balance before this line's reservation.
    pub prior: Option<Balance>,
    /// For a production line: its place in the factory's schedule.
    pub planned: Option<Planned>,
}

/// A whole order decided: its lines, its initial state and its promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// One entry per line, in order.
    pub lines: Vec<AllocatedLine>,
    /// The state the order enters.
    pub status: OrderStatus,
    /// The local date of acceptance at the serving warehouse.
    pub accepted_on: Date,
    /// The date promised to the customer.
    pub promised: Date,
}

/// Why an order cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocateError {
    /// The ledger refused a reservation.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// No factory that makes a line has any capacity for it.
    #[error("line {line}: no factory has capacity to make it")]
    NoCapacity {
        /// The line's index.
        line: usize,
    },
}

/// What [`allocate`] changed in a snapshot, to be put back when the order fails.
enum Change {
    /// A balance and its value before.
    Balance((SiteId, Sku), Option<Balance>),
    /// Units taken per day on a queue.
    Booked(Queue, Vec<(Date, u32)>),
}

/// Rules 2 to 5 for a whole order accepted at `now`: decides each line against `snapshot`
/// and leaves in it what the order reserved and booked, so the next order decided against
/// the same snapshot sees it; on an error the snapshot is as it was. Dates are local: the
/// promise counts from today at the serving warehouse's node, a factory's days from today at
/// the factory's node.
pub fn allocate(
    options: &OrderOptions,
    rules: &PromiseRules,
    now: Timestamp,
    snapshot: &mut Snapshot,
) -> Result<Allocation, AllocateError> {
    let mut undo = Vec::new();
    let decided = decide(options, rules, now, snapshot, &mut undo);
    if decided.is_err() {
        for change in undo.into_iter().rev() {
            match change {
                Change::Balance(k, Some(b)) => {
                    snapshot.balances.insert(k, b);
                }
                Change::Balance(k, None) => {
                    snapshot.balances.remove(&k);
                }
                Change::Booked((factory, category), days) => {
                    for (day, units) in days {
                        let key = (factory.clone(), category, day);
                        if let Some(used) = snapshot.booked.get_mut(&key) {
                            *used = used.saturating_sub(units);
                            if *used == 0 {
                                snapshot.booked.remove(&key);
                            }
                        }
                    }
                }
            }
        }
    }
    decided
}

fn decide(
    options: &OrderOptions,
    rules: &PromiseRules,
    now: Timestamp,
    snapshot: &mut Snapshot,
    undo: &mut Vec<Change>,
) -> Result<Allocation, AllocateError> {
    let today = now.to_zoned(options.zone.clone()).date();
    let mut lines = Vec::with_capacity(options.lines.len());
    let mut arrivals = Vec::new();
    for (i, line) in options.lines.iter().enumerate() {
        let site = line.stock_from(|site| {
            snapshot
                .balances
                .get(&(site.clone(), line.sku.clone()))
                .map_or(0, Balance::available)
        });
        if let Some(site) = site {
            let key = (site.clone(), line.sku.clone());
            let before = snapshot.balances.get(&key).copied();
            let after = before
                .unwrap_or_default()
                .apply(MovementKind::Reserve, i64::from(line.qty))?;
            undo.push(Change::Balance(key.clone(), before));
            snapshot.balances.insert(key, after);
            lines.push(AllocatedLine {
                choice: LineChoice::Stock(site),
                prior: Some(before.unwrap_or_default()),
                planned: None,
            });
            continue;
        }
        // Rule 3: the factory whose goods arrive first, given what is booked there; the
        // candidates come sorted by the tie-breaks, and `min_by_key` keeps the first minimum.
        let best = line
            .production
            .iter()
            .filter_map(|p| {
                let earliest = p.earliest(now);
                let finish = schedule::finish_day(
                    p.per_day,
                    &snapshot.booked,
                    &p.factory,
                    p.category,
                    line.qty,
                    earliest,
                )?;
                let arrival = finish.saturating_add(i64::from(p.transfer_days).days());
                Some((arrival, p, earliest))
            })
            .min_by_key(|(arrival, ..)| *arrival);
        let Some((arrival, p, earliest)) = best else {
            return Err(AllocateError::NoCapacity { line: i });
        };
        let days = schedule::book(
            p.per_day,
            &mut snapshot.booked,
            &p.factory,
            p.category,
            line.qty,
            earliest,
        )
        .ok_or(AllocateError::NoCapacity { line: i })?;
        undo.push(Change::Booked(
            (p.factory.clone(), p.category),
            days.clone(),
        ));
        let finish = days.last().map_or(earliest, |d| d.0);
        arrivals.push(arrival);
        lines.push(AllocatedLine {
            choice: LineChoice::Production(p.clone()),
            prior: None,
            planned: Some(Planned {
                earliest,
                finish,
                days,
            }),
        });
    }
    let all_from_stock = lines
        .iter()
        .all(|l| matches!(l.choice, LineChoice::Stock(_)));
    Ok(Allocation {
        lines,
        status: OrderStatus::initial(all_from_stock),
        accepted_on: today,
        promised: promise_date(today, rules, arrivals),
    })
}

/// Rule 4: the date promised to the customer, from the day the order is accepted and the
/// days its production lines arrive at the serving warehouse.
pub fn promise_date(
    today: Date,
    rules: &PromiseRules,
    arrivals: impl IntoIterator<Item = Date>,
) -> Date {
    let ready = arrivals.into_iter().fold(today, Date::max);
    ready.saturating_add(i64::from(rules.delivery_lead_days).days())
}

/// Where one production order of an order stands, for [`repromise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still to be made: planned to finish on `finish` (factory-local), then transferred.
    Open {
        /// Planned finish day.
        finish: Date,
        /// Days from the factory to the warehouse.
        transfer_days: u32,
    },
    /// Made and received into the serving warehouse on `on` (the warehouse's local date).
    Completed {
        /// Day of receipt.
        on: Date,
    },
    /// Cancelled: it no longer holds the order back.
    Cancelled,
}

/// The day every good of an order accepted on `accepted_on` (its stock lines are in the
/// warehouse then) is in its serving warehouse, given where its production orders stand.
pub fn in_warehouse_on(accepted_on: Date, productions: &[Progress]) -> Date {
    productions
        .iter()
        .filter_map(|p| match *p {
            Progress::Open {
                finish,
                transfer_days,
            } => Some(finish.saturating_add(i64::from(transfer_days).days())),
            Progress::Completed { on } => Some(on),
            Progress::Cancelled => None,
        })
        .fold(accepted_on, Date::max)
}

/// Rule 6: the promise of an order accepted on `accepted_on` (its stock lines are ready
/// then) whose production orders stand as `productions` say.
pub fn repromise(accepted_on: Date, rules: &PromiseRules, productions: &[Progress]) -> Date {
    promise_date(
        accepted_on,
        rules,
        [in_warehouse_on(accepted_on, productions)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Category, Maker, Product};
    use crate::order::RawCustomer;
    use crate::{LatLon, Node, NodeId, Site};

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon, "").unwrap()
    }

    fn topology() -> Topology {
        let region = Region::parse("europe", "").unwrap();
        let node = NodeId::parse("varese", "").unwrap();
        let site = |id: &str, kind, at: LatLon| Site {
            id: SiteId::parse(id, "").unwrap(),
            kind,
            node: node.clone(),
            region: region.clone(),
            location: at,
            serves_radius_km: 500.0,
        };
        let nodes = vec![Node {
            id: node.clone(),
            name: "Varese".into(),
            region: region.clone(),
            location: ll(45.82, 8.83),
            availability_target: 99.8,
            zone: TimeZone::get("Europe/Rome").unwrap(),
            agent: None,
            main: false,
        }];
        let sites = vec![
            site("wh-near", SiteKind::Warehouse, ll(45.8, 8.8)),
            site("wh-far", SiteKind::Warehouse, ll(45.0, 9.5)),
            site("fx-slow-near", SiteKind::Factory, ll(45.5, 9.0)),
            site("fx-fast-far", SiteKind::Factory, ll(30.0, 120.0)),
        ];
        let products = vec![Product {
            sku: Sku::parse("REF-1", "").unwrap(),
            name: "Fridge".into(),
            category: Category::Refrigerator,
            volume_m3: 0.9,
            weight_kg: 80.0,
            install_minutes: 30,
            skill: None,
            makers: vec![
                Maker {
                    factory: SiteId::parse("fx-slow-near", "").unwrap(),
                    lead_days: 10,
                },
                Maker {
                    factory: SiteId::parse("fx-fast-far", "").unwrap(),
                    lead_days: 1,
                },
            ],
        }];
        Topology::new(nodes, sites, products).unwrap()
    }

    fn order(lat: f64, lon: f64, sku: &str) -> NewOrder {
        let c = RawCustomer {
            name: "A",
            phone: "1",
            address: "x",
            lat,
            lon,
        };
        NewOrder::new("web", "r", c, &[(sku, 2)]).unwrap()
    }

    #[test]
    fn nearest_warehouse_with_stock_then_factory_by_total_days() {
        let t = topology();
        let rules = PromiseRules::default();
        let opts = options(&t, &rules, &order(45.81, 8.81, "REF-1")).unwrap();
        assert_eq!(opts.region.as_str(), "europe");
        let line = &opts.lines[0];
        assert_eq!(line.warehouses[0].as_str(), "wh-near");
        // The far factory's 1 lead day is outweighed by ~15 transfer days.
        assert_eq!(line.production[0].factory.as_str(), "fx-slow-near");
        assert_eq!(line.production[1].factory.as_str(), "fx-fast-far");
        assert_eq!(line.production[0].destination.as_str(), "wh-near");
        let only_far = |s: &SiteId| if s.as_str() == "wh-far" { 5 } else { 1 };
        assert_eq!(line.stock_from(only_far), Some(line.warehouses[1].clone()));
        assert_eq!(line.stock_from(|_| 1), None);
    }

    #[test]
    fn promise_is_latest_line_plus_delivery() {
        let rules = PromiseRules::default();
        let today = Date::constant(2026, 11, 21);
        assert_eq!(
            promise_date(today, &rules, []),
            Date::constant(2026, 11, 23)
        );
        assert_eq!(
            promise_date(today, &rules, [Date::constant(2026, 11, 30)]),
            Date::constant(2026, 12, 2)
        );
        // An arrival before today (a clock skew between zones) never promises the past.
        assert_eq!(
            promise_date(today, &rules, [Date::constant(2026, 11, 20)]),
            Date::constant(2026, 11, 23)
        );
        assert_eq!(rules.transfer_days(0.0), 0);
        assert_eq!(rules.transfer_days(601.0), 2);
    }

    #[test]
    fn rejects_unknown_sku_and_unserved_location() {
        let t = topology();
        let rules = PromiseRules::default();
        assert_eq!(
            options(&t, &rules, &order(45.81, 8.81, "NOPE"))
                .unwrap_err()
                .fields(),
            ["lines[0].sku"]
        );
        assert_eq!(
            options(&t, &rules, &order(-45.0, -120.0, "REF-1"))
                .unwrap_err()
                .fields(),
            ["customer"]
        );
    }

    #[test]
    fn lines_sharing_a_sku_see_what_earlier_lines_reserved() {
        let t = topology();
        let rules = PromiseRules::default();
        let c = RawCustomer {
            name: "A",
            phone: "1",
            address: "x",
            lat: 45.81,
            lon: 8.81,
        };
        let order =
            NewOrder::new("web", "r", c, &[("REF-1", 3), ("REF-1", 3), ("REF-1", 3)]).unwrap();
        let opts = options(&t, &rules, &order).unwrap();
        let near = SiteId::parse("wh-near", "").unwrap();
        let far = SiteId::parse("wh-far", "").unwrap();
        let sku = Sku::parse("REF-1", "").unwrap();
        assert_eq!(
            opts.stock_keys(),
            [(near.clone(), sku.clone()), (far.clone(), sku.clone())]
        );
        // 4 free near, 3 free far: the first line takes near, the second cannot (1 left) and
        // takes far, the third is made to order.
        let mut snapshot = Snapshot {
            balances: HashMap::from([
                (
                    (near.clone(), sku.clone()),
                    Balance {
                        on_hand: 5,
                        reserved: 1,
                    },
                ),
                (
                    (far.clone(), sku.clone()),
                    Balance {
                        on_hand: 3,
                        reserved: 0,
                    },
                ),
            ]),
            booked: Booked::new(),
        };
        let today = Date::constant(2026, 11, 21);
        let morning: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let a = allocate(&opts, &rules, morning, &mut snapshot).unwrap();
        assert_eq!(a.lines[0].choice, LineChoice::Stock(near.clone()));
        assert_eq!(
            a.lines[0].prior,
            Some(Balance {
                on_hand: 5,
                reserved: 1
            })
        );
        assert_eq!(a.lines[1].choice, LineChoice::Stock(far));
        assert!(matches!(a.lines[2].choice, LineChoice::Production(_)));
        let planned = a.lines[2].planned.clone().expect("a production line");
        assert_eq!(planned.finish, Date::constant(2026, 12, 1));
        assert_eq!(a.status, OrderStatus::InProduction);
        let LineChoice::Production(p) = &a.lines[2].choice else {
            unreachable!()
        };
        let arrival = planned
            .finish
            .saturating_add(i64::from(p.transfer_days).days());
        assert_eq!(a.promised, promise_date(today, &rules, [arrival]));
        // The snapshot now holds what the order reserved.
        assert_eq!(snapshot.balances[&(near, sku)].reserved, 4);
    }

    #[test]
    fn dates_are_local_to_the_serving_and_the_making_node() {
        let t = topology();
        let rules = PromiseRules::default();
        let opts = options(&t, &rules, &order(45.81, 8.81, "REF-1")).unwrap();
        // 23:30 UTC on 21 November is already 22 November in Rome (UTC+1).
        let late: Timestamp = "2026-11-21T23:30:00Z".parse().unwrap();
        let a = allocate(&opts, &rules, late, &mut Snapshot::default()).unwrap();
        let planned = a.lines[0].planned.clone().expect("made to order");
        assert_eq!(planned.finish, Date::constant(2026, 12, 2));
        assert_eq!(a.accepted_on, Date::constant(2026, 11, 22));
        let LineChoice::Production(p) = &a.lines[0].choice else {
            panic!("no stock: made to order")
        };
        let days = i64::from(p.lead_days + p.transfer_days + rules.delivery_lead_days);
        assert_eq!(
            a.promised,
            Date::constant(2026, 11, 22).saturating_add(days.days())
        );
    }

    fn with_capacity(per_day: u32) -> Topology {
        let mut caps = crate::schedule::Capacities::new();
        caps.set(
            SiteId::parse("fx-slow-near", "").unwrap(),
            Category::Refrigerator,
            per_day,
        );
        caps.set(
            SiteId::parse("fx-fast-far", "").unwrap(),
            Category::Refrigerator,
            per_day,
        );
        topology().with_capacities(caps).unwrap()
    }

    fn big(qty: u32) -> NewOrder {
        let c = RawCustomer {
            name: "A",
            phone: "1",
            address: "x",
            lat: 45.81,
            lon: 8.81,
        };
        NewOrder::new("web", "r", c, &[("REF-1", i64::from(qty))]).unwrap()
    }

    #[test]
    fn large_orders_spill_over_days_and_later_ones_queue_behind() {
        let t = with_capacity(2_000);
        let rules = PromiseRules::default();
        let opts = options(&t, &rules, &big(10_000)).unwrap();
        assert_eq!(
            opts.queues("2026-11-21T10:00:00Z".parse().unwrap()).len(),
            2
        );
        let now: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let mut snapshot = Snapshot::default();
        let promised: Vec<Date> = (0..3)
            .map(|_| {
                allocate(&opts, &rules, now, &mut snapshot)
                    .unwrap()
                    .promised
            })
            .collect();
        // Near factory: earliest 1 December, 5 days per order at 2,000 a day, no transfer
        // beyond a day; each order waits for the one before it.
        assert!(
            promised[0] < promised[1] && promised[1] < promised[2],
            "{promised:?}"
        );
        let first = allocate(&opts, &rules, now, &mut Snapshot::default()).unwrap();
        let planned = first.lines[0].planned.clone().unwrap();
        assert_eq!(planned.days.len(), 5);
        assert_eq!(planned.days.iter().map(|d| d.1).sum::<u32>(), 10_000);
        assert_eq!(planned.finish, Date::constant(2026, 12, 5));
    }

    #[test]
    fn a_full_queue_sends_the_line_to_the_factory_that_delivers_first() {
        let t = with_capacity(100);
        let rules = PromiseRules::default();
        let opts = options(&t, &rules, &big(100)).unwrap();
        let now: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let near = SiteId::parse("fx-slow-near", "").unwrap();
        let mut snapshot = Snapshot::default();
        // The near factory is booked solid for a month from its earliest day.
        let start = Date::constant(2026, 12, 1);
        for d in 0..30 {
            snapshot.booked.insert(
                (
                    near.clone(),
                    Category::Refrigerator,
                    start.saturating_add(d.days()),
                ),
                100,
            );
        }
        let a = allocate(&opts, &rules, now, &mut snapshot).unwrap();
        let LineChoice::Production(p) = &a.lines[0].choice else {
            panic!("made to order")
        };
        assert_eq!(p.factory.as_str(), "fx-fast-far");
    }

    #[test]
    fn a_failed_order_leaves_the_snapshot_as_it_was() {
        let t = topology();
        let rules = PromiseRules::default();
        let c = RawCustomer {
            name: "A",
            phone: "1",
            address: "x",
            lat: 45.81,
            lon: 8.81,
        };
        let order = NewOrder::new("web", "r", c, &[("REF-1", 1), ("REF-1", 1)]).unwrap();
        let mut opts = options(&t, &rules, &order).unwrap();
        // The second line has no factory left: the first line's reservation must go.
        opts.lines[1].production.clear();
        let near = SiteId::parse("wh-near", "").unwrap();
        let sku = Sku::parse("REF-1", "").unwrap();
        let mut snapshot = Snapshot::default();
        snapshot.balances.insert(
            (near, sku),
            Balance {
                on_hand: 1,
                reserved: 0,
            },
        );
        let before = snapshot.clone();
        let now: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        assert_eq!(
            allocate(&opts, &rules, now, &mut snapshot),
            Err(AllocateError::NoCapacity { line: 1 })
        );
        assert_eq!(snapshot, before);
    }

    #[test]
    fn repromise_follows_the_latest_production_order() {
        let rules = PromiseRules::default();
        let accepted = Date::constant(2026, 11, 21);
        let open = Progress::Open {
            finish: Date::constant(2026, 12, 1),
            transfer_days: 3,
        };
        assert_eq!(
            repromise(accepted, &rules, &[open]),
            Date::constant(2026, 12, 6)
        );
        let done = Progress::Completed {
            on: Date::constant(2026, 11, 25),
        };
        assert_eq!(
            repromise(accepted, &rules, &[done, Progress::Cancelled]),
            Date::constant(2026, 11, 27)
        );
        assert_eq!(
            repromise(accepted, &rules, &[]),
            Date::constant(2026, 11, 23)
        );
    }
}
