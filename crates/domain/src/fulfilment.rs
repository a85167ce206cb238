//! Zero-inventory fulfilment: where each line is served from, and the date promised.
//!
//! The rules, in one place:
//! 1. The warehouses that serve a customer are those whose radius covers the customer's
//!    location, nearest first. The nearest is the order's *serving warehouse*: its region is
//!    the order's region and it is where make-to-order goods are sent.
//! 2. A line is reserved from the first serving warehouse (nearest first) with enough free
//!    stock for the whole line (lines are never split).
//! 3. Otherwise it becomes a production order at the factory, among those that make the SKU,
//!    with the fewest days of lead time plus transfer to the serving warehouse
//!    (ties: shorter distance, then factory id), destined for the serving warehouse.
//! 4. [`promise_date`] is the latest line's ready date plus its transfer time plus the
//!    delivery lead time.
//!
//! 5. Lines of one order that share a SKU are decided in order, each seeing the units the
//!    earlier ones took ([`allocate`]).
//!
//! Storage backends read the balances [`OrderOptions::stock_keys`] names and call
//! [`allocate`] inside their transaction; they never decide.

use crate::catalogue::Sku;
use crate::order::{NewOrder, OrderStatus};
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

/// The make-to-order fallback for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionOption {
    /// The chosen factory.
    pub factory: SiteId,
    /// The factory node's time zone: its ready date is a local date there.
    pub zone: TimeZone,
    /// Where the goods go: the order's serving warehouse.
    pub destination: SiteId,
    /// Production lead time.
    pub lead_days: u32,
    /// Factory to warehouse.
    pub transfer_days: u32,
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
    /// What happens if none has the stock.
    pub production: ProductionOption,
}

/// The decision for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineChoice {
    /// Reserve `qty` at this warehouse.
    Stock(SiteId),
    /// Create a production order.
    Production(ProductionOption),
}

impl LineChoice {
    /// Days until the line is in the serving warehouse.
    pub fn days_to_warehouse(&self) -> u32 {
        match self {
            LineChoice::Stock(_) => 0,
            LineChoice::Production(p) => p.lead_days + p.transfer_days,
        }
    }
}

impl LineOptions {
    /// Rule 2 and 3: the first warehouse whose `available` covers the line, else production.
    pub fn choose(&self, mut available: impl FnMut(&SiteId) -> i64) -> LineChoice {
        self.warehouses
            .iter()
            .find(|w| available(w) >= i64::from(self.qty))
            .map(|w| LineChoice::Stock(w.clone()))
            .unwrap_or_else(|| LineChoice::Production(self.production.clone()))
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
}

fn zone_of(topology: &Topology, node: &NodeId) -> TimeZone {
    // Topology::new guarantees every site's node exists; UTC only for a hand-built one.
    topology
        .node(node)
        .map_or(TimeZone::UTC, |n| n.zone.clone())
}

/// Rules 1 and 3: the candidates for every line of `order`. Fails, naming every field at
/// fault, when SKUs are unknown or no warehouse serves the customer's location.
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
            let production = product
                .makers
                .iter()
                .filter_map(|m| {
                    let factory = topology.site(&m.factory)?;
                    let km = factory.location.distance_km(&home.location);
                    Some((m.lead_days + rules.transfer_days(km), km, m, factory))
                })
                .min_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then(a.1.total_cmp(&b.1))
                        .then_with(|| a.2.factory.cmp(&b.2.factory))
                })
                .map(|(total, _, m, factory)| ProductionOption {
                    factory: m.factory.clone(),
                    zone: zone_of(topology, &factory.node),
                    destination: home.id.clone(),
                    lead_days: m.lead_days,
                    transfer_days: total - m.lead_days,
                })
                .ok_or_else(|| {
                    Invalid::new(format!("lines[{i}].sku"), "no factory makes this SKU")
                })?;
            Ok::<_, Invalid>(LineOptions {
                sku: line.sku.clone(),
                qty: line.qty,
                warehouses: warehouses.clone(),
                production,
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

/// One line as [`allocate`] decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocatedLine {
    /// Stock or production.
    pub choice: LineChoice,
    /// For a stock line: the warehouse's balance before this line's reservation.
    pub prior: Option<Balance>,
    /// For a production line: the date the factory is to finish it.
    pub ready: Option<Date>,
}

/// A whole order decided: its lines, its initial state and its promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// One entry per line, in order.
    pub lines: Vec<AllocatedLine>,
    /// The state the order enters.
    pub status: OrderStatus,
    /// The date promised to the customer.
    pub promised: Date,
}

/// Rules 2 to 5 for a whole order accepted at `now`: decides each line against `balances`
/// (as read in the caller's transaction, keyed by [`OrderOptions::stock_keys`]; a missing key
/// is an empty balance), letting later lines of one SKU see what earlier lines reserved.
/// Dates are local: the promise counts from today at the serving warehouse's node, a ready
/// date from today at the factory's node.
pub fn allocate(
    options: &OrderOptions,
    rules: &PromiseRules,
    now: Timestamp,
    balances: &HashMap<(SiteId, Sku), Balance>,
) -> Result<Allocation, StockError> {
    let today = now.to_zoned(options.zone.clone()).date();
    let mut seen = balances.clone();
    let mut lines = Vec::with_capacity(options.lines.len());
    for line in &options.lines {
        let choice = line.choose(|site| {
            seen.get(&(site.clone(), line.sku.clone()))
                .map_or(0, Balance::available)
        });
        let (prior, ready) = match &choice {
            LineChoice::Stock(site) => {
                let key = (site.clone(), line.sku.clone());
                let before = seen.get(&key).copied().unwrap_or_default();
                seen.insert(
                    key,
                    before.apply(MovementKind::Reserve, i64::from(line.qty))?,
                );
                (Some(before), None)
            }
            LineChoice::Production(p) => {
                let factory_today = now.to_zoned(p.zone.clone()).date();
                (
                    None,
                    Some(factory_today.saturating_add(i64::from(p.lead_days).days())),
                )
            }
        };
        lines.push(AllocatedLine {
            choice,
            prior,
            ready,
        });
    }
    let choices: Vec<LineChoice> = lines.iter().map(|l| l.choice.clone()).collect();
    let all_from_stock = choices.iter().all(|c| matches!(c, LineChoice::Stock(_)));
    Ok(Allocation {
        lines,
        status: OrderStatus::initial(all_from_stock),
        promised: promise_date(today, rules, &choices),
    })
}

/// Rule 4: the date promised to the customer, from the day the order is accepted.
pub fn promise_date(today: Date, rules: &PromiseRules, choices: &[LineChoice]) -> Date {
    let days = choices
        .iter()
        .map(LineChoice::days_to_warehouse)
        .max()
        .unwrap_or(0)
        + rules.delivery_lead_days;
    today.saturating_add(i64::from(days).days())
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
        assert_eq!(line.production.factory.as_str(), "fx-slow-near");
        assert_eq!(line.production.destination.as_str(), "wh-near");
        let only_far = |s: &SiteId| if s.as_str() == "wh-far" { 5 } else { 1 };
        assert_eq!(
            line.choose(only_far),
            LineChoice::Stock(line.warehouses[1].clone())
        );
        assert!(matches!(line.choose(|_| 1), LineChoice::Production(_)));
    }

    #[test]
    fn promise_is_latest_line_plus_delivery() {
        let rules = PromiseRules::default();
        let today = Date::constant(2026, 11, 21);
        let prod = LineChoice::Production(ProductionOption {
            factory: SiteId::parse("f", "").unwrap(),
            zone: TimeZone::UTC,
            destination: SiteId::parse("w", "").unwrap(),
            lead_days: 7,
            transfer_days: 2,
        });
        let stock = LineChoice::Stock(SiteId::parse("w", "").unwrap());
        assert_eq!(
            promise_date(today, &rules, std::slice::from_ref(&stock)),
            Date::constant(2026, 11, 23)
        );
        assert_eq!(
            promise_date(today, &rules, &[stock, prod]),
            Date::constant(2026, 12, 2)
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
        let balances = HashMap::from([
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
        ]);
        let today = Date::constant(2026, 11, 21);
        let morning: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let a = allocate(&opts, &rules, morning, &balances).unwrap();
        assert_eq!(a.lines[0].choice, LineChoice::Stock(near));
        assert_eq!(
            a.lines[0].prior,
            Some(Balance {
                on_hand: 5,
                reserved: 1
            })
        );
        assert_eq!(a.lines[1].choice, LineChoice::Stock(far));
        assert!(matches!(a.lines[2].choice, LineChoice::Production(_)));
        assert_eq!(a.lines[2].ready, Some(Date::constant(2026, 12, 1)));
        assert_eq!(a.status, OrderStatus::InProduction);
        assert_eq!(
            a.promised,
            promise_date(today, &rules, &[a.lines[2].choice.clone()])
        );
    }

    #[test]
    fn dates_are_local_to_the_serving_and_the_making_node() {
        let t = topology();
        let rules = PromiseRules::default();
        let opts = options(&t, &rules, &order(45.81, 8.81, "REF-1")).unwrap();
        // 23:30 UTC on 21 November is already 22 November in Rome (UTC+1).
        let late: Timestamp = "2026-11-21T23:30:00Z".parse().unwrap();
        let a = allocate(&opts, &rules, late, &HashMap::new()).unwrap();
        assert_eq!(a.lines[0].ready, Some(Date::constant(2026, 12, 2)));
        let LineChoice::Production(p) = &a.lines[0].choice else {
            panic!("no stock: made to order")
        };
        let days = i64::from(p.lead_days + p.transfer_days + rules.delivery_lead_days);
        assert_eq!(
            a.promised,
            Date::constant(2026, 11, 22).saturating_add(days.days())
        );
    }
}
