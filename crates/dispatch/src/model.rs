//! One depot-day as the routing engine's problem, and back.

use crate::{CrewDay, Dispatch, DispatchError, Schedule, Stop};
use rendan_domain::appointment::Window;
use rendan_domain::crew::minute_of_day;
use rendan_domain::order::Order;
use rendan_domain::visit::VisitNeeds;
use rendan_domain::{LatLon, SiteId};
use rendan_route::check::RoutePlan;
use rendan_route::model::{Job, Location, Matrix, Problem, TimeWindow, Vehicle};
use rendan_store::DayState;

/// Job ids of candidate visits count down from the top, far from any order id.
const CANDIDATE: u64 = u64::MAX - 1_000;

/// A depot-day's routing problem: vehicle `v` is crew `crews[v]`, booked job `j` is order
/// `orders[j]`, candidate `k` is job `first_candidate + k`.
#[derive(Debug, Clone)]
pub struct Model {
    /// The problem.
    pub problem: Problem,
    crews: Vec<i64>,
    orders: Vec<i64>,
    windows: Vec<Window>,
    first_candidate: usize,
    /// The current plan: per crew (vehicle index), its orders in visit order.
    routes: Vec<(usize, Vec<u64>)>,
}

fn minutes(w: &Window) -> (f64, f64) {
    (
        f64::from(minute_of_day(w.start)),
        f64::from(minute_of_day(w.end)),
    )
}

fn job(id: u64, location: usize, need: &VisitNeeds, window: &Window) -> Result<Job, DispatchError> {
    let (start, end) = minutes(window);
    Ok(Job {
        id,
        location,
        delivery: vec![need.kg, need.m3],
        pickup: vec![need.back_kg, need.back_m3],
        windows: vec![
            TimeWindow::new(start, end).map_err(|e| DispatchError::Engine(e.to_string()))?,
        ],
        service: f64::from(need.service_minutes),
        skills: need.skills.iter().map(|s| s.as_str().to_string()).collect(),
    })
}

impl Model {
    /// The model of `state`, with one candidate job per window of `extra` for one more visit
    /// to its order; `None` when no crew works that day.
    pub(crate) fn build(
        d: &Dispatch,
        state: &DayState,
        extra: Option<(&Order, &[Window])>,
    ) -> Result<Option<Model>, DispatchError> {
        let date = state.day.date;
        let depot = d.depot(&state.day.depot)?;
        let mut working: Vec<_> = state
            .crews
            .iter()
            .filter_map(|c| c.shift_on(date).map(|s| (c, s)))
            .collect();
        working.sort_by_key(|(c, _)| c.id);
        let crews: Vec<i64> = working.iter().map(|(c, _)| c.id).collect();
        for b in &state.day.visits {
            if !crews.contains(&b.appointment.crew) {
                return Err(DispatchError::CrewAbsent {
                    crew: b.appointment.crew,
                    date,
                });
            }
        }
        if working.is_empty() {
            return Ok(None);
        }
        // Locations: the depot, then each booked visit, then the candidate's place.
        let mut places: Vec<LatLon> = vec![depot.location];
        let mut jobs = Vec::new();
        let mut orders = Vec::new();
        let mut visits: Vec<_> = state.day.visits.iter().collect();
        visits.sort_by_key(|b| (b.appointment.crew, b.position));
        for b in &visits {
            places.push(b.visit.location);
            let need = d.needs_of(&b.visit.lines, &b.visit.site_access);
            jobs.push(job(
                b.visit.order as u64,
                places.len() - 1,
                &need,
                &b.appointment.window,
            )?);
            orders.push(b.visit.order);
        }
        let first_candidate = jobs.len();
        let mut windows = Vec::new();
        if let Some((order, candidates)) = extra {
            places.push(order.customer.location);
            let need = d.needs(order);
            for (k, w) in candidates.iter().enumerate() {
                jobs.push(job(CANDIDATE - k as u64, places.len() - 1, &need, w)?);
                windows.push(*w);
            }
        }
        let n = places.len();
        let road = d.road(&depot.id);
        let mut dist = vec![0.0; n * n];
        let mut time = vec![0.0; n * n];
        for (a, pa) in places.iter().enumerate() {
            for (b, pb) in places.iter().enumerate().skip(a + 1) {
                let (km, min) = road.travel(pa, pb);
                dist[a * n + b] = km;
                dist[b * n + a] = km;
                time[a * n + b] = min;
                time[b * n + a] = min;
            }
        }
        let matrix =
            Matrix::explicit(n, dist, time).map_err(|e| DispatchError::Engine(e.to_string()))?;
        let vehicles = working
            .iter()
            .map(|(c, s)| {
                let (start, end) = s.minutes();
                Ok(Vehicle {
                    id: c.id as u64,
                    start: 0,
                    end: 0,
                    capacity: vec![c.truck.kg, c.truck.m3],
                    shift: TimeWindow::new(f64::from(start), f64::from(end))
                        .map_err(|e| DispatchError::Engine(e.to_string()))?,
                    max_duration: None,
                    skills: c.skills.iter().map(|s| s.as_str().to_string()).collect(),
                    fixed_cost: 0.0,
                    unit_cost: 1.0,
                })
            })
            .collect::<Result<Vec<_>, DispatchError>>()?;
        // Planar coordinates only feed the engine's geometric heuristics (sweep angles): the
        // matrix above is what it drives on.
        let locations = places
            .iter()
            .map(|p| Location {
                x: p.lon() * p.lat().to_radians().cos() * 111.3,
                y: p.lat() * 111.3,
            })
            .collect();
        let problem = Problem::new(
            format!("{}-{}", state.day.depot, date),
            locations,
            jobs,
            vehicles,
            Some(matrix),
        )
        .map_err(|e| DispatchError::Engine(e.to_string()))?;
        let mut routes: Vec<(usize, Vec<u64>)> = Vec::new();
        for b in &visits {
            let v = crews
                .iter()
                .position(|c| *c == b.appointment.crew)
                .unwrap_or_default();
            match routes.last_mut() {
                Some((last, jobs)) if *last == v => jobs.push(b.visit.order as u64),
                _ => routes.push((v, vec![b.visit.order as u64])),
            }
        }
        Ok(Some(Model {
            problem,
            crews,
            orders,
            windows,
            first_candidate,
            routes,
        }))
    }

    /// The depot this model plans.
    pub fn depot(state: &DayState) -> &SiteId {
        &state.day.depot
    }

    /// Job index of candidate `k`.
    pub fn candidate(&self, k: usize) -> usize {
        self.first_candidate + k
    }

    /// The crew driving vehicle `v`.
    pub fn crew_of(&self, v: usize) -> i64 {
        self.crews.get(v).copied().unwrap_or_default()
    }

    /// The current plan in the checker's terms.
    pub fn current(&self) -> Vec<RoutePlan> {
        self.routes
            .iter()
            .map(|(v, jobs)| RoutePlan {
                vehicle: *v,
                jobs: jobs.clone(),
            })
            .collect()
    }

    /// Plans in the checker's terms as (crew, orders) routes.
    pub fn routes_of(&self, plans: &[RoutePlan]) -> crate::Routes {
        plans
            .iter()
            .filter(|p| !p.jobs.is_empty())
            .map(|p| {
                (
                    self.crew_of(p.vehicle),
                    p.jobs.iter().map(|&j| j as i64).collect(),
                )
            })
            .collect()
    }

    /// Each route of `plans` driven from its crew's shift start, waiting where a window opens
    /// later: the times of every stop.
    pub fn schedule(&self, plans: &[RoutePlan]) -> Schedule {
        let p = &self.problem;
        let mut routes = Vec::new();
        let (mut km, mut cost) = (0.0, 0.0);
        for plan in plans.iter().filter(|r| !r.jobs.is_empty()) {
            let Some(v) = p.vehicles.get(plan.vehicle) else {
                continue;
            };
            let mut at = v.start;
            let mut t = v.shift.start;
            let mut driven = 0.0;
            let mut stops = Vec::new();
            for &id in &plan.jobs {
                let Some((j, job)) = p.jobs.iter().enumerate().find(|(_, x)| x.id == id) else {
                    continue;
                };
                driven += p.matrix.dist(at, job.location);
                let arrival = t + p.matrix.time(at, job.location);
                let start = job
                    .windows
                    .first()
                    .map_or(arrival, |w| arrival.max(w.start));
                let end = start + job.service;
                stops.push(Stop {
                    order: id as i64,
                    arrival,
                    start,
                    end,
                    window: self.window_of(j),
                });
                at = job.location;
                t = end;
            }
            driven += p.matrix.dist(at, v.end);
            let back = t + p.matrix.time(at, v.end);
            km += driven;
            cost += v.fixed_cost + v.unit_cost * driven;
            routes.push(CrewDay {
                crew: self.crew_of(plan.vehicle),
                departure: v.shift.start,
                back,
                km: driven,
                stops,
            });
        }
        Schedule { routes, km, cost }
    }

    /// The booked window of job `j`.
    fn window_of(&self, j: usize) -> Window {
        if j >= self.first_candidate {
            return self.windows[j - self.first_candidate];
        }
        let w = self.problem.jobs[j]
            .windows
            .first()
            .copied()
            .unwrap_or(TimeWindow::UNBOUNDED);
        let time = |m: f64| {
            let m = m.clamp(0.0, 24.0 * 60.0 - 1.0) as i64;
            jiff::civil::Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0)
        };
        Window {
            start: time(w.start),
            end: time(w.end),
        }
    }

    /// The order of booked job `j`.
    pub fn order_of(&self, j: usize) -> Option<i64> {
        self.orders.get(j).copied()
    }
}
