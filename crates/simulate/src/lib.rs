//! A month of operations, driven through the real application layer on a clock the
//! simulation moves: the demo and the system test at once.
//!
//! Time advances an hour at a time over every depot's local days. Each hour customers of the
//! three channels place orders around the depots and book the earliest (or a random) offered
//! window; factories finish the production orders due at 08:00 local; warehouses receive
//! replenishment at 06:00; orders not yet booked (goods still being made, a failed visit) are
//! offered windows again at 09:00; at 20:00 each depot's plan for the next day is optimised,
//! published and checked with the route engine's independent checker; when a local day
//! begins its plan goes out for delivery; at 22:00 the crews' devices sync the day's stop
//! events, shuffled, some twice, some only the next evening, with realistic failures. At the
//! end the ledger and the factories' queues are audited and the month's service standards
//! measured.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::crew::{NewCrew, RawCrew};
use rendan_domain::fulfilment::site_zone;
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, OrderStatus, RawCustomer};
use rendan_domain::service::{GroupBy, Report};
use rendan_domain::stock::Receipt;
use rendan_domain::stop::{EventId, FailureReason, StopEvent, StopEventKind};
use rendan_domain::visit::SiteAccess;
use rendan_domain::{LatLon, Site, SiteKind};
use rendan_store::{ProductionQuery, ProductionStatus, StoreError};
use rendan_usecases::{Error as CaseError, UseCases};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a simulation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The application layer failed on something the simulation did not expect.
    #[error("{what}: {source}")]
    Case {
        /// The step.
        what: String,
        /// The error.
        source: CaseError,
    },
    /// A stored value or the store itself failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The settings cannot be simulated.
    #[error("{0}")]
    Settings(String),
}

fn step(what: impl Into<String>) -> impl FnOnce(CaseError) -> SimError {
    let what = what.into();
    move |source| SimError::Case { what, source }
}

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Local days at every depot.
    pub days: u32,
    /// Orders placed per day, over all channels and depots.
    pub orders_per_day: u32,
    /// Seed of every random draw: the same seed gives the same month.
    pub seed: u64,
    /// The first local day.
    pub start: Date,
    /// Longest an optimisation of one depot-day may run.
    pub optimise_limit: Duration,
}

/// A clock the simulation moves and the use-cases read.
#[derive(Clone)]
pub struct SimClock(Arc<Mutex<Timestamp>>);

impl SimClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> Self {
        SimClock(Arc::new(Mutex::new(now)))
    }

    /// The time it shows.
    pub fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// The clock as the use-cases take it.
    pub fn boxed(&self) -> rendan_usecases::Clock {
        let me = self.clone();
        Box::new(move || me.now())
    }
}

/// What happened on one local day, over every depot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    /// Orders accepted.
    pub placed: u32,
    /// Orders refused (no warehouse serves the place, no capacity).
    pub refused: u32,
    /// Visits booked (first bookings and re-bookings).
    pub booked: u32,
    /// Production orders completed.
    pub produced: u32,
    /// Depot-days published.
    pub plans: u32,
    /// Visits on published plans that the route engine's checker refused.
    pub plan_violations: u32,
    /// Stop events posted (duplicates included).
    pub events: u32,
    /// Of those, repeats of an event already posted.
    pub duplicates: u32,
    /// Events held back to the next evening.
    pub delayed: u32,
    /// Visits that failed.
    pub failed: u32,
    /// Visits installed.
    pub installed: u32,
}

/// The whole month.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per local day.
    pub days: BTreeMap<Date, DayStats>,
    /// The month's service standards per region.
    pub report: Report,
    /// Movements replayed and balances compared by the ledger audit.
    pub ledger: (u64, u64),
    /// Balances the journal does not reproduce (must be 0).
    pub ledger_discrepancies: usize,
    /// Production orders not where their queue puts them (must be 0).
    pub misplaced_production: usize,
    /// Orders by final status.
    pub statuses: BTreeMap<String, i64>,
}

impl Summary {
    /// The month's totals.
    pub fn totals(&self) -> DayStats {
        let mut t = DayStats::default();
        for d in self.days.values() {
            t.placed += d.placed;
            t.refused += d.refused;
            t.booked += d.booked;
            t.produced += d.produced;
            t.plans += d.plans;
            t.plan_violations += d.plan_violations;
            t.events += d.events;
            t.duplicates += d.duplicates;
            t.delayed += d.delayed;
            t.failed += d.failed;
            t.installed += d.installed;
        }
        t
    }
}

/// Crews at every depot: skills for every product, trucks of three sizes. A visit with its
/// drive takes most of a two-hour window, so a crew makes three or four a day: eight crews
/// working six days carry the 20 or so visits a day that 300 orders a day bring each of the
/// 16 depots.
const CREWS: [(&str, &[&str], f64, f64); 8] = [
    ("Crew A", &["ac-certified", "wall-mount"], 1500.0, 18.0),
    (
        "Crew B",
        &["gas-certified", "plumber", "kitchen-fitter"],
        1000.0,
        12.0,
    ),
    ("Crew C", &["wall-mount"], 800.0, 9.0),
    ("Crew D", &[], 600.0, 7.0),
    ("Crew E", &["ac-certified", "plumber"], 1200.0, 14.0),
    ("Crew F", &[], 600.0, 7.0),
    ("Crew G", &["wall-mount", "kitchen-fitter"], 1000.0, 12.0),
    ("Crew H", &[], 800.0, 9.0),
];

/// Failure reasons and their chance per visit (8.5% of visits fail).
const FAILURES: [(FailureReason, f64); 8] = [
    (FailureReason::CustomerAbsent, 0.03),
    (FailureReason::AccessImpossible, 0.01),
    (FailureReason::Refused, 0.01),
    (FailureReason::DamagedInTransit, 0.01),
    (FailureReason::WrongItem, 0.005),
    (FailureReason::CrewLate, 0.01),
    (FailureReason::VehicleBreakdown, 0.005),
    (FailureReason::MissingSkill, 0.005),
];

const CHANNELS: [&str; 3] = ["web", "marketplace", "store"];

struct Sim<'a> {
    cases: &'a UseCases,
    settings: Settings,
    rng: StdRng,
    admin: Principal,
    channels: Vec<Principal>,
    crews: HashMap<i64, Principal>,
    depots: Vec<(Site, TimeZone)>,
    warehouses: Vec<(Site, TimeZone)>,
    factories: Vec<(Site, TimeZone)>,
    /// Orders waiting for a booking, by depot.
    waiting: HashMap<String, Vec<i64>>,
    /// Events held back to the next evening, by depot: (order, crew, event).
    held: HashMap<String, Vec<(i64, i64, StopEvent)>>,
    days: BTreeMap<Date, DayStats>,
    keys: u64,
}

impl Sim<'_> {
    fn key(&mut self, what: &str) -> Result<Key, SimError> {
        self.keys += 1;
        Key::parse(&format!("sim-{what}-{}", self.keys), "key")
            .map_err(|e| SimError::Settings(e.to_string()))
    }

    fn last_day(&self) -> Date {
        self.settings
            .start
            .saturating_add((i64::from(self.settings.days) - 1).days())
    }

    fn in_month(&self, d: Date) -> bool {
        d >= self.settings.start && d <= self.last_day()
    }

    fn stats(&mut self, d: Date) -> &mut DayStats {
        self.days.entry(d).or_default()
    }

    async fn principal(&mut self, name: &str, role: Role) -> Result<Principal, SimError> {
        let name = PrincipalName::parse(name, "principal")
            .map_err(|e| SimError::Settings(e.to_string()))?;
        let token = self
            .cases
            .create_token(None, None, Some(name.clone()), role, "simulate")
            .await
            .map_err(step("a token"))?
            .into_inner();
        let secret = token
            .secret
            .ok_or_else(|| SimError::Settings("a new token without its secret".into()))?;
        self.cases
            .principal(&secret)
            .await
            .map_err(step("a principal"))?
            .ok_or_else(|| SimError::Settings(format!("the token of {name}")))
    }

    async fn set_up(&mut self) -> Result<(), SimError> {
        for (i, depot) in self.depots.clone().iter().enumerate() {
            for (name, skills, kg, m3) in CREWS {
                let skills: Vec<String> = skills.iter().map(|s| s.to_string()).collect();
                let crew = NewCrew::new(&RawCrew {
                    name,
                    skills: &skills,
                    kg,
                    m3,
                    ..Default::default()
                })
                .map_err(|e| SimError::Settings(e.to_string()))?;
                let key = self.key("crew")?;
                let admin = self.admin.clone();
                let crew = self
                    .cases
                    .create_crew(&admin, key, &depot.0, crew)
                    .await
                    .map_err(step("a crew"))?
                    .into_inner();
                let device = self
                    .principal(
                        &format!("sim-crew-{i}-{}", crew.id),
                        Role::Crew { crew: crew.id },
                    )
                    .await?;
                self.crews.insert(crew.id, device);
            }
        }
        // Opening stock: enough for about a week of orders from stock.
        for (w, _) in self.warehouses.clone() {
            self.replenish(&w, 8).await?;
        }
        Ok(())
    }

    async fn replenish(&mut self, warehouse: &Site, most: i64) -> Result<(), SimError> {
        let products: Vec<_> = self.cases.topology().products().to_vec();
        for p in products {
            let qty = self.rng.random_range(0..=most);
            if qty == 0 {
                continue;
            }
            let key = self.key("receipt")?;
            let admin = self.admin.clone();
            let receipt = Receipt {
                site: warehouse.clone(),
                sku: p.sku.clone(),
                qty,
                reference: Some("simulated replenishment".into()),
            };
            self.cases
                .receive_stock(&admin, key, receipt)
                .await
                .map_err(step("a receipt"))?;
        }
        Ok(())
    }

    /// Places `n` orders around random depots, each booked at once when a window is offered.
    async fn place(&mut self, n: u32, now: Timestamp) -> Result<(), SimError> {
        let products: Vec<_> = self.cases.topology().products().to_vec();
        for _ in 0..n {
            let (depot, zone) = self
                .depots
                .choose(&mut self.rng)
                .cloned()
                .ok_or_else(|| SimError::Settings("the topology has no depot".into()))?;
            let today = now.to_zoned(zone.clone()).date();
            if !self.in_month(today) {
                continue;
            }
            // Within about 25 km of the depot.
            let angle: f64 = self.rng.random_range(0.0..std::f64::consts::TAU);
            let dist: f64 = self.rng.random_range(0.0..0.22);
            let lat = (depot.location.lat() + dist * angle.sin()).clamp(-89.0, 89.0);
            let lon = depot.location.lon() + dist * angle.cos() / lat.to_radians().cos().max(0.2);
            let c = self.rng.random_range(0..CHANNELS.len());
            let lines: Vec<(String, i64)> = (0..self.rng.random_range(1..=2))
                .filter_map(|_| products.choose(&mut self.rng))
                .map(|p| (p.sku.as_str().to_string(), 1))
                .collect();
            let mut unique: Vec<(&str, i64)> = Vec::new();
            for (sku, qty) in &lines {
                if !unique.iter().any(|(s, _)| s == sku) {
                    unique.push((sku, *qty));
                }
            }
            self.keys += 1;
            let reference = format!("sim-{}", self.keys);
            let customer = RawCustomer {
                name: "Simulated Customer",
                phone: "+39 0332 000000",
                address: "Simulated street 1",
                lat,
                lon: ((lon + 180.0).rem_euclid(360.0)) - 180.0,
            };
            let Ok(order) = NewOrder::new(CHANNELS[c], &reference, customer, &unique) else {
                continue;
            };
            let access = SiteAccess::new(
                self.rng.random_range(0..=6),
                self.rng.random_bool(0.6),
                self.rng.random_bool(0.3),
                "site_access",
            )
            .map_err(|e| SimError::Settings(e.to_string()))?;
            let order = order.with_access(access);
            let key =
                Key::parse(&reference, "key").map_err(|e| SimError::Settings(e.to_string()))?;
            let channel = self.channels[c].clone();
            match self.cases.place_order(&channel, key, order).await {
                Ok(placed) => {
                    self.stats(today).placed += 1;
                    let id = placed.into_inner().id;
                    if !self.book(id, &depot, &zone, now).await? {
                        self.waiting
                            .entry(depot.id.to_string())
                            .or_default()
                            .push(id);
                    }
                }
                Err(e) if e.is_refusal() => self.stats(today).refused += 1,
                Err(e) => return Err(step("placing an order")(e)),
            }
        }
        Ok(())
    }

    /// Offers the order the windows of the next week and books the earliest (70%) or a
    /// random one; answers whether it was booked.
    async fn book(
        &mut self,
        id: i64,
        depot: &Site,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<bool, SimError> {
        let today = now.to_zoned(zone.clone()).date();
        let from = today.saturating_add(1.day());
        let admin = self.admin.clone();
        let slots = match self.cases.slots(&admin, id, from, 7).await {
            Ok(s) => s,
            Err(e) if e.is_refusal() => return Ok(false),
            Err(e) => return Err(step(format!("slots of order {id}"))(e)),
        };
        let slots: Vec<_> = slots
            .into_iter()
            .filter(|s| s.depot == depot.id && self.in_month(s.date))
            .collect();
        let Some(first) = slots.first() else {
            return Ok(false);
        };
        let pick = if self.rng.random_bool(0.7) {
            first.clone()
        } else {
            slots
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_else(|| first.clone())
        };
        let key = self.key("visit")?;
        match self
            .cases
            .book(&admin, key, id, pick.date, pick.window.start)
            .await
        {
            Ok(_) => {
                self.stats(today).booked += 1;
                Ok(true)
            }
            Err(e) if e.is_refusal() => Ok(false),
            Err(e) => Err(step(format!("booking order {id}"))(e)),
        }
    }

    /// Offers windows again to the depot's orders waiting for one.
    async fn rebook(
        &mut self,
        depot: &Site,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<(), SimError> {
        let waiting = self.waiting.remove(depot.id.as_str()).unwrap_or_default();
        let mut still = Vec::new();
        for id in waiting {
            let admin = self.admin.clone();
            let order = self
                .cases
                .order(&admin, id)
                .await
                .map_err(step("an order"))?;
            if !matches!(order.status, OrderStatus::Ready | OrderStatus::InProduction) {
                continue;
            }
            if !self.book(id, depot, zone, now).await? {
                still.push(id);
            }
        }
        self.waiting
            .entry(depot.id.to_string())
            .or_default()
            .extend(still);
        Ok(())
    }

    /// Completes the open production orders of a factory whose ready date has come.
    async fn produce(&mut self, factory: &Site, today: Date) -> Result<(), SimError> {
        let admin = self.admin.clone();
        let mut before = None;
        let mut due = Vec::new();
        loop {
            let page = self
                .cases
                .production_orders(
                    &admin,
                    ProductionQuery {
                        status: Some(ProductionStatus::Open),
                        factory: Some(factory.id.clone()),
                        region: None,
                        before_id: before,
                        limit: 500,
                    },
                )
                .await
                .map_err(step("production orders"))?;
            due.extend(
                page.items
                    .iter()
                    .filter(|p| p.ready_date <= today)
                    .map(|p| p.id),
            );
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        due.sort_unstable();
        for id in due {
            let key = self.key("complete")?;
            match self.cases.complete_production(&admin, key, id).await {
                Ok(_) => self.stats(today).produced += 1,
                Err(e) if e.is_refusal() => {}
                Err(e) => return Err(step(format!("completing production order {id}"))(e)),
            }
        }
        Ok(())
    }

    /// Optimises and publishes a depot's plan for `date` and checks it with the engine's
    /// independent checker.
    async fn plan(&mut self, depot: &Site, date: Date) -> Result<(), SimError> {
        let admin = self.admin.clone();
        let day = self.cases.store().depot_day(&depot.id, date).await?;
        if day.visits.is_empty() {
            return Ok(());
        }
        self.cases
            .optimise_for(&admin, None, depot, date, self.settings.optimise_limit)
            .await
            .map_err(step(format!("optimising {} on {date}", depot.id)))?;
        self.cases
            .publish(&admin, None, depot, date)
            .await
            .map_err(step(format!("publishing {} on {date}", depot.id)))?;
        let (problem, solution) = self
            .cases
            .export(&admin, depot, date)
            .await
            .map_err(step("exporting a plan"))?;
        let violations = match (
            rendan_route::io::json::parse_problem(&problem, rendan_route::io::Distances::Exact),
            rendan_route::io::json::parse_solution(&solution),
        ) {
            (Ok(p), Ok(s)) => rendan_route::check(&p, &s.plans()).violations.len() as u32,
            _ => day.visits.len() as u32,
        };
        let stats = self.stats(date);
        stats.plans += 1;
        stats.plan_violations += violations;
        Ok(())
    }

    /// The crews' devices sync a depot's day: the events of every visit that went out today,
    /// shuffled, some twice, some held back to tomorrow, and yesterday's held-back ones.
    async fn sync(&mut self, depot: &Site, today: Date, last: bool) -> Result<(), SimError> {
        let zone = site_zone(self.cases.topology(), &depot.id);
        let zone = &zone;
        let admin = self.admin.clone();
        let plan = self
            .cases
            .plan(&admin, depot, today)
            .await
            .map_err(step("reading a plan"))?;
        let status: HashMap<i64, OrderStatus> = plan
            .day
            .visits
            .iter()
            .map(|v| (v.visit.order, v.visit.status))
            .collect();
        let haul: HashMap<i64, bool> = plan
            .day
            .visits
            .iter()
            .map(|v| (v.visit.order, v.visit.site_access.haul_away))
            .collect();
        let mut posts: Vec<(i64, i64, StopEvent)> =
            self.held.remove(depot.id.as_str()).unwrap_or_default();
        for route in &plan.schedule.routes {
            for stop in &route.stops {
                if status.get(&stop.order) != Some(&OrderStatus::OutForDelivery) {
                    continue;
                }
                let haul = haul.get(&stop.order) == Some(&true);
                let events = self.story(stop, today, zone, haul, depot.location);
                let failed = events.iter().any(|e| e.kind == StopEventKind::Failed);
                let stats = self.stats(today);
                if failed {
                    stats.failed += 1;
                } else {
                    stats.installed += 1;
                }
                posts.extend(events.into_iter().map(|e| (stop.order, route.crew, e)));
            }
        }
        posts.shuffle(&mut self.rng);
        let mut held = Vec::new();
        let mut sent = Vec::new();
        for p in posts {
            if !last && self.rng.random_bool(0.05) {
                held.push(p);
            } else {
                sent.push(p);
            }
        }
        let repeats: Vec<(i64, i64, StopEvent)> = sent
            .iter()
            .filter(|_| self.rng.random_bool(0.10))
            .copied()
            .collect();
        let stats = self.stats(today);
        stats.delayed += held.len() as u32;
        stats.duplicates += repeats.len() as u32;
        for r in repeats {
            let at = self.rng.random_range(0..=sent.len());
            sent.insert(at, r);
        }
        for (order, crew, event) in sent {
            let device = self
                .crews
                .get(&crew)
                .cloned()
                .unwrap_or_else(|| admin.clone());
            self.cases
                .report_stop(&device, order, event)
                .await
                .map_err(step(format!("an event of order {order}")))?;
            self.stats(today).events += 1;
        }
        if !held.is_empty() {
            self.held.insert(depot.id.to_string(), held);
        }
        Ok(())
    }

    /// What happens at one stop: the crew rings at the planned start of work (which is never
    /// before the window opens) or up to ten minutes after it, one time in twenty-five an hour
    /// or more later (traffic); then delivers, installs, or fails for one of the reasons.
    fn story(
        &mut self,
        stop: &rendan_dispatch::Stop,
        day: Date,
        zone: &TimeZone,
        haul: bool,
        location: LatLon,
    ) -> Vec<StopEvent> {
        let mut late = self.rng.random_range(0.0..10.0);
        if self.rng.random_bool(0.04) {
            late += self.rng.random_range(60.0..150.0);
        }
        let ring = (stop.start + late).clamp(0.0, 23.0 * 60.0);
        let work = (stop.end - stop.start).max(10.0);
        let roll: f64 = self.rng.random();
        let mut acc = 0.0;
        let failure = FAILURES.iter().find_map(|(r, p)| {
            acc += p;
            (roll < acc).then_some(*r)
        });
        let at = |m: f64| {
            let m = m.clamp(0.0, 24.0 * 60.0 - 1.0) as i64;
            day.to_datetime(Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0))
                .to_zoned(zone.clone())
                .map(|z| z.timestamp())
                .unwrap_or_default()
        };
        let mut events = vec![(StopEventKind::Arrived, at(ring), None)];
        match failure {
            Some(FailureReason::MissingSkill) => {
                events.push((StopEventKind::Delivered, at(ring + 10.0), None));
                events.push((
                    StopEventKind::Failed,
                    at(ring + 25.0),
                    Some(FailureReason::MissingSkill),
                ));
            }
            Some(r) => events.push((StopEventKind::Failed, at(ring + 5.0), Some(r))),
            None => {
                events.push((StopEventKind::Delivered, at(ring + 10.0), None));
                if haul {
                    events.push((
                        StopEventKind::HaulAwayCollected,
                        at(ring + work * 0.8),
                        None,
                    ));
                }
                events.push((StopEventKind::Installed, at(ring + work), None));
            }
        }
        events
            .into_iter()
            .map(|(kind, at, reason)| StopEvent {
                id: EventId(self.rng.random()),
                kind,
                at,
                location,
                reason,
                proof: None,
            })
            .collect()
    }
}

fn sites(cases: &UseCases, kind: SiteKind) -> Vec<(Site, TimeZone)> {
    cases
        .topology()
        .sites()
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| (s.clone(), site_zone(cases.topology(), &s.id)))
        .collect()
}

/// Runs the simulation on `cases`, whose clock is `clock`, on a fresh store; `progress` is
/// told each simulated hour (hours done, hours in all).
pub async fn run(
    cases: &UseCases,
    clock: &SimClock,
    settings: Settings,
    mut progress: impl FnMut(u64, u64),
) -> Result<Summary, SimError> {
    if settings.days == 0 || settings.days > 366 {
        return Err(SimError::Settings("--days must be 1 to 366".into()));
    }
    if !cases.store().crews(None).await?.is_empty() {
        return Err(SimError::Settings(
            "the data directory is not fresh: it has crews already".into(),
        ));
    }
    // The first hour is the first local day's 00:00 where it comes first (UTC+14); the last
    // is the last local day's 24:00 where it comes last (UTC-12).
    let begin = settings
        .start
        .to_datetime(Time::midnight())
        .to_zoned(TimeZone::fixed(jiff::tz::offset(14)))
        .map_err(|e| SimError::Settings(e.to_string()))?
        .timestamp();
    let hours = u64::from(settings.days) * 24 + 26;
    clock.set(
        begin
            .saturating_sub(SignedDuration::from_hours(1))
            .unwrap_or(begin),
    );
    let mut sim = Sim {
        cases,
        settings,
        rng: StdRng::seed_from_u64(settings.seed),
        admin: Principal {
            id: 0,
            name: String::new(),
            token_id: 0,
            role: Role::Admin,
        },
        channels: Vec::new(),
        crews: HashMap::new(),
        depots: sites(cases, SiteKind::Depot),
        warehouses: sites(cases, SiteKind::Warehouse),
        factories: sites(cases, SiteKind::Factory),
        waiting: HashMap::new(),
        held: HashMap::new(),
        days: BTreeMap::new(),
        keys: 0,
    };
    sim.admin = sim.principal("sim-planner", Role::Admin).await?;
    for c in CHANNELS {
        let p = sim.principal(&format!("sim-{c}"), Role::Channel).await?;
        sim.channels.push(p);
    }
    sim.set_up().await?;
    for h in 0..hours {
        let now = begin + SignedDuration::from_hours(h as i64);
        clock.set(now);
        // Published plans whose day has begun go out.
        cases
            .start_due_days(1)
            .await
            .map_err(step("starting the day's plans"))?;
        let per_day = u64::from(settings.orders_per_day);
        let n = ((h + 1) * per_day / 24 - h * per_day / 24) as u32;
        sim.place(n, now).await?;
        for (w, zone) in sim.warehouses.clone() {
            let local = now.to_zoned(zone.clone());
            if local.hour() == 6 && sim.in_month(local.date()) {
                sim.replenish(&w, 2).await?;
            }
        }
        for (f, zone) in sim.factories.clone() {
            let local = now.to_zoned(zone.clone());
            if local.hour() == 8 && sim.in_month(local.date()) {
                sim.produce(&f, local.date()).await?;
            }
        }
        for (d, zone) in sim.depots.clone() {
            let local = now.to_zoned(zone.clone());
            let today = local.date();
            match local.hour() {
                9 if sim.in_month(today) => sim.rebook(&d, &zone, now).await?,
                20 => {
                    let tomorrow = today.saturating_add(1.day());
                    if sim.in_month(tomorrow) {
                        sim.plan(&d, tomorrow).await?;
                    }
                }
                22 if sim.in_month(today) => {
                    let last = today == sim.last_day();
                    sim.sync(&d, today, last).await?;
                }
                _ => {}
            }
        }
        progress(h + 1, hours);
    }
    let store = cases.store().as_ref();
    let ledger = rendan_store::ledger::check(store).await?;
    let misplaced =
        rendan_store::ledger::check_queues(store, cases.topology().capacities()).await?;
    let report = cases
        .service_levels(None, settings.start, sim.last_day(), GroupBy::Region)
        .await
        .map_err(step("measuring the service standards"))?;
    let statuses = store
        .order_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n))
        .collect();
    Ok(Summary {
        days: sim.days,
        report,
        ledger: (ledger.movements, ledger.balances),
        ledger_discrepancies: ledger.discrepancies.len(),
        misplaced_production: misplaced.len(),
        statuses,
    })
}
