//! A depot-day as a routing problem: where a visit fits, which windows can still be kept, and
//! the day's plan.
//!
//! [`Dispatch`] turns a depot-day ([`rendan_store::DayState`]: the depot's crews and the visits
//! booked on the day, each with its crew and position) into a [`rendan_route::Problem`]: the
//! depot is the start and end of every route; each crew working that day is a vehicle with its
//! truck's capacity in kilograms and cubic metres, its shift in minutes since the depot's local
//! midnight and its skills; each booked visit is a job with its booked window, its load, the
//! old appliances it takes back ([`rendan_domain::visit::needs`]), its time on site and the
//! skills it needs; travel comes from [`rendan_domain::travel::RoadModel`]. The current plan is
//! the booked visits in their crews' order, and it is always feasible: a visit is only booked
//! where [`rendan_route::solver::insertion::Insertions`] finds it a place that keeps every
//! booked visit in its window ([`Dispatch`] implements [`rendan_store::Decide`] for the
//! booking's transaction). The same insertion test says which windows of a day an order can be
//! offered ([`Dispatch::open_windows`]), and when none fits, [`Dispatch::why_not`] names the
//! reason. [`Dispatch::optimise`] re-plans a day with the engine and keeps the result only when
//! it is cheaper; [`Dispatch::schedule`] gives each stop its times.

mod model;

pub use model::Model;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use rendan_domain::appointment::{Reason, Refusal, Window, Windows, visitable_from};
use rendan_domain::crew::{format_time, minute_of_day};
use rendan_domain::fulfilment::{Progress, PromiseRules, site_zone};
use rendan_domain::order::{Fulfilment, Order};
use rendan_domain::production::{ProductionOrder, ProductionStatus};
use rendan_domain::topology::Topology;
use rendan_domain::travel::RoadModel;
use rendan_domain::visit::{AccessRules, VisitNeeds, needs};
use rendan_domain::{LatLon, Site, SiteId, SiteKind};
use rendan_route::solver::insertion::Insertions;
use rendan_store::{DayState, Decide};
use std::sync::Arc;
use std::time::Duration;

/// Iterations of the route engine per booked visit when a day is optimised: more than a
/// 10-second search gets through on a 100-visit day, so the time limit binds on large days and
/// a small day's answer comes at once.
pub const OPTIMISE_ITERATIONS_PER_VISIT: u64 = 2_000;

/// A day's plan as (crew, orders in visit order) per crew with visits.
pub type Routes = Vec<(i64, Vec<i64>)>;

/// How depot-days are planned: the topology (depots with their windows and road model,
/// products, zones), the promise rules (for transfer days), and the access surcharges.
#[derive(Debug, Clone)]
pub struct Dispatch {
    topology: Arc<Topology>,
    rules: PromiseRules,
    /// Surcharges on site.
    pub access: AccessRules,
}

/// A window that can be kept, and where the visit would go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Offer {
    /// The window.
    pub window: Window,
    /// The crew that would serve it.
    pub crew: i64,
    /// Its position in that crew's route.
    pub position: usize,
    /// Kilometres it adds to the day.
    pub added_km: f64,
}

/// A stop of a crew's day with its times (minutes since the depot's local midnight).
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// The order visited.
    pub order: i64,
    /// Arrival.
    pub arrival: f64,
    /// Start of work (the window's start at the earliest).
    pub start: f64,
    /// End of work.
    pub end: f64,
    /// The booked window.
    pub window: Window,
}

/// A crew's day.
#[derive(Debug, Clone, PartialEq)]
pub struct CrewDay {
    /// The crew.
    pub crew: i64,
    /// Leaves the depot (minutes since local midnight).
    pub departure: f64,
    /// Back at the depot.
    pub back: f64,
    /// Kilometres driven.
    pub km: f64,
    /// Its stops in order.
    pub stops: Vec<Stop>,
}

/// A depot-day's plan with its times.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// One entry per crew with visits.
    pub routes: Vec<CrewDay>,
    /// Kilometres driven by all crews.
    pub km: f64,
    /// The engine's cost of the plan (kilometres: crews cost nothing extra when used).
    pub cost: f64,
}

/// Why a day cannot be turned into a routing problem or planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    /// A booked visit's crew does not work that day any more (a day off added since).
    #[error("crew {crew} serves visits on {date} but does not work that day")]
    CrewAbsent {
        /// The crew.
        crew: i64,
        /// The day.
        date: Date,
    },
    /// The site is not a depot of the topology.
    #[error("{0} is not a depot")]
    NotADepot(SiteId),
    /// The routing engine refused the problem.
    #[error("routing: {0}")]
    Engine(String),
}

impl Dispatch {
    /// Planning over `topology` with the default surcharges.
    pub fn new(topology: Arc<Topology>, rules: PromiseRules) -> Self {
        Dispatch {
            topology,
            rules,
            access: AccessRules::default(),
        }
    }

    /// The windows a depot offers.
    pub fn windows(&self, depot: &SiteId) -> Windows {
        self.topology.depot_settings(depot).windows
    }

    /// How a depot's trucks move.
    pub fn road(&self, depot: &SiteId) -> RoadModel {
        self.topology.depot_settings(depot).road
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The depot whose area covers `at`, nearest first; `None` outside every depot's area.
    pub fn depot_for(&self, at: &LatLon) -> Option<&Site> {
        self.topology
            .sites()
            .iter()
            .filter(|s| s.kind == SiteKind::Depot && s.serves(at))
            .min_by(|a, b| {
                a.location
                    .distance_km(at)
                    .total_cmp(&b.location.distance_km(at))
                    .then_with(|| a.id.cmp(&b.id))
            })
    }

    /// A depot of the topology.
    pub fn depot(&self, id: &SiteId) -> Result<&Site, DispatchError> {
        self.topology
            .site(id)
            .filter(|s| s.kind == SiteKind::Depot)
            .ok_or_else(|| DispatchError::NotADepot(id.clone()))
    }

    /// The depot's time zone: its dates and windows are local there.
    pub fn zone(&self, depot: &SiteId) -> TimeZone {
        site_zone(&self.topology, depot)
    }

    /// Today at the depot, and the minute of the day.
    pub fn local_now(&self, depot: &SiteId, now: Timestamp) -> (Date, f64) {
        let z = now.to_zoned(self.zone(depot));
        (
            z.date(),
            f64::from(minute_of_day(z.time())) + f64::from(z.second()) / 60.0,
        )
    }

    /// What a visit to `order` needs (products from the topology; an unknown product, which
    /// the topology would have refused at intake, counts as nothing).
    pub fn needs(&self, order: &Order) -> VisitNeeds {
        let lines: Vec<(rendan_domain::catalogue::Sku, u32)> =
            order.lines.iter().map(|l| (l.sku.clone(), l.qty)).collect();
        self.needs_of(&lines, &order.site_access)
    }

    /// What a visit delivering `lines` to a site reached as `access` needs.
    pub fn needs_of(
        &self,
        lines: &[(rendan_domain::catalogue::Sku, u32)],
        access: &rendan_domain::visit::SiteAccess,
    ) -> VisitNeeds {
        let lines: Vec<(&rendan_domain::catalogue::Product, u32)> = lines
            .iter()
            .filter_map(|(sku, qty)| self.topology.product(sku).map(|p| (p, *qty)))
            .collect();
        needs(&lines, access, &self.access)
    }

    /// The first local date on which `order` can be visited from `depot`: its goods all in
    /// the warehouses that hold them, plus the transfer from the farthest of them.
    pub fn visitable_from(
        &self,
        order: &Order,
        productions: &[ProductionOrder],
        depot: &Site,
    ) -> Date {
        let progress: Vec<Progress> = productions
            .iter()
            .map(|p| match (p.status, p.closed_at) {
                (ProductionStatus::Open, _) => Progress::Open {
                    finish: p.ready_date,
                    transfer_days: p.transfer_days,
                },
                (ProductionStatus::Completed, Some(at)) => Progress::Completed {
                    on: at
                        .to_zoned(site_zone(&self.topology, &p.destination))
                        .date(),
                },
                (ProductionStatus::Completed, None) => Progress::Completed {
                    on: order.accepted_on,
                },
                (ProductionStatus::Cancelled, _) => Progress::Cancelled,
            })
            .collect();
        let transfer = order
            .lines
            .iter()
            .filter_map(|l| match &l.fulfilment {
                Fulfilment::Stock { site } => Some(site.clone()),
                Fulfilment::Production {
                    production_order, ..
                } => productions
                    .iter()
                    .find(|p| p.id == *production_order)
                    .map(|p| p.destination.clone()),
            })
            .filter_map(|site| self.topology.site(&site))
            .map(|s| {
                self.rules
                    .transfer_days(s.location.distance_km(&depot.location))
            })
            .max()
            .unwrap_or(0);
        visitable_from(order.accepted_on, &progress, transfer)
    }

    /// The day as a routing problem with `candidates` (windows for one more visit to `order`)
    /// as extra jobs.
    pub fn model(
        &self,
        state: &DayState,
        extra: Option<(&Order, &[Window])>,
    ) -> Result<Option<Model>, DispatchError> {
        Model::build(self, state, extra)
    }

    /// Which of the depot's windows on the day of `state` can be kept for a visit to
    /// `order`: those where the engine finds it a place beside every booked visit, cheapest
    /// place each. Windows that have started by `now` are left out, and so is every window of
    /// a day before the order can be visited.
    pub fn open_windows(
        &self,
        state: &DayState,
        order: &Order,
        productions: &[ProductionOrder],
        now: Timestamp,
    ) -> Result<Vec<Offer>, DispatchError> {
        let depot = self.depot(&state.day.depot)?;
        let date = state.day.date;
        if self.visitable_from(order, productions, depot) > date {
            return Ok(Vec::new());
        }
        let (today, minute) = self.local_now(&depot.id, now);
        let windows: Vec<Window> = self
            .windows(&depot.id)
            .all()
            .iter()
            .copied()
            .filter(|w| {
                date > today || (date == today && f64::from(minute_of_day(w.start)) > minute)
            })
            .collect();
        if date < today || windows.is_empty() {
            return Ok(Vec::new());
        }
        let Some(model) = self.model(state, Some((order, &windows)))? else {
            return Ok(Vec::new());
        };
        let ins = model.insertions()?;
        Ok(windows
            .iter()
            .enumerate()
            .filter_map(|(k, w)| {
                let best = ins.of(model.candidate(k)).into_iter().next()?;
                Some(Offer {
                    window: *w,
                    crew: model.crew_of(best.vehicle),
                    position: best.position,
                    added_km: best.delta,
                })
            })
            .collect())
    }

    /// Why a visit to `order` cannot be kept in `window` on the day of `state`, checked in
    /// the order a planner would: goods, skills, weight, volume, a shift that covers it alone,
    /// and only then the visits already booked.
    pub fn why_not(
        &self,
        state: &DayState,
        order: &Order,
        productions: &[ProductionOrder],
        window: Window,
    ) -> Refusal {
        let date = state.day.date;
        let Ok(depot) = self.depot(&state.day.depot) else {
            return Refusal::new(Reason::Shift, format!("{} is not a depot", state.day.depot));
        };
        let ready = self.visitable_from(order, productions, depot);
        if ready > date {
            return Refusal::new(
                Reason::NotReady,
                format!(
                    "the goods of order {} can be visited from {ready} on",
                    order.id
                ),
            );
        }
        let need = self.needs(order);
        let working: Vec<_> = state
            .crews
            .iter()
            .filter_map(|c| c.shift_on(date).map(|s| (c, s)))
            .collect();
        if working.is_empty() {
            return Refusal::new(
                Reason::Shift,
                format!("no crew of {} works on {date}", depot.id),
            );
        }
        let skilled: Vec<_> = working
            .iter()
            .filter(|(c, _)| c.can_do(&need.skills))
            .collect();
        if skilled.is_empty() {
            let names: Vec<&str> = need.skills.iter().map(|s| s.as_str()).collect();
            return Refusal::new(
                Reason::Skills,
                format!("no crew working on {date} holds {}", names.join(", ")),
            );
        }
        let strong: Vec<_> = skilled
            .iter()
            .filter(|(c, _)| c.truck.kg + 1e-9 >= need.kg.max(need.back_kg))
            .collect();
        if strong.is_empty() {
            return Refusal::new(
                Reason::Weight,
                format!(
                    "no truck working on {date} carries {:.0} kg",
                    need.kg.max(need.back_kg)
                ),
            );
        }
        let roomy: Vec<_> = strong
            .iter()
            .filter(|(c, _)| c.truck.m3 + 1e-9 >= need.m3.max(need.back_m3))
            .collect();
        if roomy.is_empty() {
            return Refusal::new(
                Reason::Volume,
                format!(
                    "no truck working on {date} holds {:.2} m³",
                    need.m3.max(need.back_m3)
                ),
            );
        }
        let (_, there) = self
            .road(&depot.id)
            .travel(&depot.location, &order.customer.location);
        let (w_start, w_end) = (
            f64::from(minute_of_day(window.start)),
            f64::from(minute_of_day(window.end)),
        );
        let fits_alone = roomy.iter().any(|(_, s)| {
            let (s_start, s_end) = s.minutes();
            let start = (f64::from(s_start) + there).max(w_start);
            start <= w_end + 1e-9
                && start + f64::from(need.service_minutes) + there <= f64::from(s_end) + 1e-9
        });
        if !fits_alone {
            return Refusal::new(
                Reason::Shift,
                format!(
                    "no crew's shift on {date} covers {} minutes on site in {} with the drive there and back",
                    need.service_minutes,
                    window.label()
                ),
            );
        }
        Refusal::new(
            Reason::WindowFull,
            format!(
                "{} on {date} is full: no crew can add the visit and keep its other visits",
                window.label()
            ),
        )
    }

    /// The day's plan with the times of every stop.
    pub fn schedule(&self, state: &DayState) -> Result<Schedule, DispatchError> {
        let Some(model) = self.model(state, None)? else {
            return Ok(Schedule {
                routes: Vec::new(),
                km: 0.0,
                cost: 0.0,
            });
        };
        Ok(model.schedule(&model.current()))
    }

    /// Re-plans the day with the engine for `limit` and answers the new routes (crew, orders)
    /// when they keep every visit in its window and cost less than the current plan; `None`
    /// keeps the current plan.
    pub fn optimise(
        &self,
        state: &DayState,
        limit: Duration,
        seed: u64,
    ) -> Result<Option<Routes>, DispatchError> {
        let Some(model) = self.model(state, None)? else {
            return Ok(None);
        };
        let current = model.current();
        let before = rendan_route::check(&model.problem, &current);
        let config = rendan_route::Config::new(rendan_route::Objective::Distance, seed);
        // A small day is done long before the time limit: its search stops after a budget
        // that grows with its visits (a large day meets the time limit first).
        let visits = model.problem.jobs.len().max(1) as u64;
        let mut stop = rendan_route::Limits::new(
            Some(limit),
            Some(OPTIMISE_ITERATIONS_PER_VISIT.saturating_mul(visits)),
        );
        let solution = rendan_route::solve(&model.problem, &config, &mut stop, &mut |_| {})
            .map_err(|e| DispatchError::Engine(e.to_string()))?;
        let plans = solution.plans(&model.problem);
        let after = rendan_route::check(&model.problem, &plans);
        if !after.feasible || (before.feasible && after.cost >= before.cost - 1e-6) {
            return Ok(None);
        }
        Ok(Some(model.routes_of(&plans)))
    }

    /// The day as the engine's JSON problem and the current plan as its JSON solution, so that
    /// `rendan route check` verifies any plan independently; `None` when no crew works that
    /// day.
    pub fn export(&self, state: &DayState) -> Result<Option<(String, String)>, DispatchError> {
        let Some(model) = self.model(state, None)? else {
            return Ok(None);
        };
        let plans = model.current();
        let report = rendan_route::check(&model.problem, &plans);
        let doc = rendan_route::io::json::SolutionDoc {
            instance: model.problem.name.clone(),
            objective: rendan_route::Objective::Distance.name().to_string(),
            vehicles: report.vehicles,
            distance: report.distance,
            cost: report.cost,
            feasible: report.feasible,
            elapsed_s: 0.0,
            iterations: 0,
            routes: plans
                .iter()
                .map(|p| rendan_route::io::json::RouteDoc {
                    vehicle: p.vehicle,
                    jobs: p.jobs.clone(),
                })
                .collect(),
        };
        Ok(Some((
            rendan_route::io::json::write_problem(&model.problem),
            rendan_route::io::json::write_solution(&doc),
        )))
    }
}

impl Decide for Dispatch {
    fn place(
        &self,
        state: &DayState,
        order: &Order,
        productions: &[ProductionOrder],
        window: Window,
    ) -> Result<(i64, usize), Refusal> {
        let unplannable = |e: DispatchError| {
            Refusal::new(
                Reason::WindowFull,
                format!("the day cannot be planned: {e}"),
            )
        };
        let depot = self.depot(&state.day.depot).map_err(unplannable)?;
        if self.visitable_from(order, productions, depot) > state.day.date {
            return Err(self.why_not(state, order, productions, window));
        }
        let model = self
            .model(state, Some((order, &[window])))
            .map_err(unplannable)?;
        let best = model.and_then(|m| {
            let ins = m.insertions().ok()?;
            ins.of(m.candidate(0))
                .into_iter()
                .next()
                .map(|b| (m.crew_of(b.vehicle), b.position))
        });
        best.ok_or_else(|| self.why_not(state, order, productions, window))
    }
}

/// A time of day from minutes since midnight, `HH:MM` (rounded down; 24:00 and beyond clamp to
/// 23:59).
pub fn clock(minutes: f64) -> String {
    let m = minutes.max(0.0).floor() as i64;
    let m = m.min(24 * 60 - 1);
    format_time(Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0))
}

/// The dates from `from`, `days` of them.
pub fn dates(from: Date, days: u32) -> impl Iterator<Item = Date> {
    (0..i64::from(days)).map(move |d| from.saturating_add(d.days()))
}

/// Insertions on a model's current plan (every booked visit kept).
impl Model {
    fn insertions(&self) -> Result<Insertions, DispatchError> {
        Insertions::new(&self.problem, &self.current())
            .map_err(|e| DispatchError::Engine(e.to_string()))
    }
}
