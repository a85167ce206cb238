//! Live booking: where can one more job go in a fixed plan?
//!
//! [`Insertions::new`] takes a feasible plan (a route per vehicle, as the checker reads it) and
//! precomputes every route's prefix and suffix segments once; [`Insertions::of`] then answers,
//! for a job outside the plan, every (vehicle, position) at which it fits with every constraint
//! still met (capacity in every dimension at every point, windows of every booked visit, shift,
//! maximum duration, skills) and the change of cost, with one O(1) segment concatenation per
//! position. The plan itself is never changed.

use super::data::Data;
use super::route::{Route, exact_cost};
use super::segment::{Penalties, Seg, route_cost};
use crate::check::RoutePlan;
use crate::model::Problem;
use std::collections::HashMap;

/// A feasible place for the job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Insertion {
    /// Index of the vehicle in `Problem::vehicles`.
    pub vehicle: usize,
    /// Number of the route's jobs visited before it (0: first).
    pub position: usize,
    /// Increase of the plan's cost (fixed cost when the vehicle was unused, plus unit cost ×
    /// added distance).
    pub delta: f64,
}

/// Why a plan cannot be used for insertions.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A route names a vehicle the problem does not have, or one used twice.
    #[error("route {route}: vehicle {vehicle} does not exist or drives another route")]
    Vehicle {
        /// Route index in the plan.
        route: usize,
        /// The vehicle.
        vehicle: usize,
    },
    /// A route names an unknown job or one visited twice.
    #[error("route {route}: job {job} is unknown or visited twice")]
    Job {
        /// Route index in the plan.
        route: usize,
        /// The job id.
        job: u64,
    },
    /// A route of the plan breaks a constraint.
    #[error("route {route} (vehicle {vehicle}) is not feasible")]
    Infeasible {
        /// Route index in the plan.
        route: usize,
        /// The vehicle.
        vehicle: usize,
    },
    /// The solver cannot represent the problem.
    #[error(transparent)]
    Unsupported(#[from] crate::error::SolveError),
}

/// A fixed plan prepared for insertion queries.
#[derive(Debug, Clone)]
pub struct Insertions {
    d: Data,
    /// Per vehicle: its route (empty if unused) and its type.
    routes: Vec<Route>,
    /// Jobs in the plan.
    planned: Vec<bool>,
}

impl Insertions {
    /// Prepares `plan` (every route feasible) over `problem`.
    pub fn new(problem: &Problem, plan: &[RoutePlan]) -> Result<Insertions, PlanError> {
        let d = Data::build(problem, 0.0, 0)?;
        let mut type_of = vec![0u32; problem.vehicles.len()];
        for (t, vt) in d.types.iter().enumerate() {
            for &v in &vt.vehicles {
                type_of[v] = t as u32;
            }
        }
        let index: HashMap<u64, usize> = problem
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id, i))
            .collect();
        let pen = Penalties {
            load: [1.0; super::data::MAX_DIMS],
            tw: 1.0,
        };
        let mut routes: Vec<Route> = type_of.iter().map(|&t| Route::empty(&d, t)).collect();
        let mut used = vec![false; problem.vehicles.len()];
        let mut planned = vec![false; problem.jobs.len()];
        for (k, rp) in plan.iter().enumerate() {
            if rp.vehicle >= used.len() || std::mem::replace(&mut used[rp.vehicle], true) {
                return Err(PlanError::Vehicle {
                    route: k,
                    vehicle: rp.vehicle,
                });
            }
            let route = &mut routes[rp.vehicle];
            let end = route.visits.pop().unwrap_or_default();
            for &id in &rp.jobs {
                match index.get(&id) {
                    Some(&j) if !planned[j] => {
                        planned[j] = true;
                        route.visits.push(d.node_of_job(j));
                    }
                    _ => return Err(PlanError::Job { route: k, job: id }),
                }
            }
            route.visits.push(end);
            route.update(&d, &pen);
            if !route.cost.feasible() {
                return Err(PlanError::Infeasible {
                    route: k,
                    vehicle: rp.vehicle,
                });
            }
        }
        Ok(Insertions { d, routes, planned })
    }

    /// Every feasible (vehicle, position) for job index `job` (into `Problem::jobs`), cheapest
    /// first; empty when it fits nowhere or is already planned.
    pub fn of(&self, job: usize) -> Vec<Insertion> {
        let d = &self.d;
        let mut out = Vec::new();
        if job >= self.planned.len() || self.planned[job] {
            return out;
        }
        let c = d.node_of_job(job);
        let cs = &d.node_seg[c as usize];
        let multi_job = !d.windows[c as usize].is_empty();
        for (vehicle, r) in self.routes.iter().enumerate() {
            let t = r.vtype as usize;
            let vt = &d.types[t];
            if cs.skills & !vt.skills != 0 {
                continue;
            }
            let before = if r.is_empty() { 0.0 } else { r.cost.objective };
            for p in 0..r.last() {
                let cost = if r.multi || multi_job {
                    let mut v = r.clients().to_vec();
                    v.insert(p, c);
                    exact_cost(d, t, &v)
                } else {
                    let s = Seg::concat(d, &Seg::concat(d, &r.fwd[p], cs), &r.bwd[p + 1]);
                    route_cost(d, t, &s)
                };
                if cost.feasible() {
                    out.push(Insertion {
                        vehicle,
                        position: p,
                        delta: cost.objective - before,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.delta.total_cmp(&b.delta));
        out
    }
}
