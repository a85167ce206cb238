//! The independent checker: recomputes a solution's cost and verifies every constraint from
//! scratch, by a plain forward simulation of each route: which vehicle drives it, every job
//! once, skills, the load on board at every point (deliveries leave the start loaded, pickups
//! ride to the end), time windows, the shift and the maximum duration.
//!
//! It shares no code with the solver's incremental evaluation (`solver::segment`): a bug there
//! cannot hide itself here. Every test and benchmark result goes through [`check`]. Times and
//! quantities are compared with the tolerance [`EPS`] (1e-6), the convention of the Solomon
//! best-known tables' README.

use crate::model::{EPS, Problem};
use std::collections::HashMap;

/// One route of a solution: the vehicle that drives it and the jobs it visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// Index of the vehicle in [`Problem::vehicles`] (0-based).
    pub vehicle: usize,
    /// Job ids in visit order.
    pub jobs: Vec<u64>,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// A route names a job id the problem does not have.
    UnknownJob(u64),
    /// A job visited more than once.
    Duplicate(u64),
    /// A job never visited.
    Missing(u64),
    /// A route names a vehicle the problem does not have.
    UnknownVehicle(usize),
    /// Two routes use the same vehicle.
    VehicleTwice(usize),
    /// Load on board above capacity at some point of a route.
    Capacity {
        /// Route index.
        route: usize,
        /// Dimension.
        dim: usize,
        /// Largest load on board.
        load: f64,
        /// Capacity.
        capacity: f64,
    },
    /// Service would start after every window of the job has closed.
    Late {
        /// Route index.
        route: usize,
        /// Job id.
        job: u64,
        /// Arrival time.
        arrival: f64,
    },
    /// Back at the end depot after the shift.
    LateReturn {
        /// Route index.
        route: usize,
        /// Arrival time at the end location.
        arrival: f64,
        /// Shift end.
        end: f64,
    },
    /// Route longer than the vehicle's maximum duration.
    Duration {
        /// Route index.
        route: usize,
        /// Shortest achievable duration of the route.
        duration: f64,
        /// Maximum.
        max: f64,
    },
    /// A job needing a skill the vehicle lacks.
    Skill {
        /// Route index.
        route: usize,
        /// Job id.
        job: u64,
    },
}

/// What the checker found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// No violation.
    pub feasible: bool,
    /// Non-empty routes.
    pub vehicles: usize,
    /// Total travelled distance (unrounded).
    pub distance: f64,
    /// Σ over used vehicles of fixed cost + cost per unit of distance × route length.
    pub cost: f64,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

/// Routes given as job ids per vehicle position: route k is driven by vehicle k.
pub fn by_position(routes: &[Vec<u64>]) -> Vec<RoutePlan> {
    routes
        .iter()
        .enumerate()
        .map(|(vehicle, jobs)| RoutePlan {
            vehicle,
            jobs: jobs.clone(),
        })
        .collect()
}

/// Checks `routes` against `problem`.
pub fn check(problem: &Problem, routes: &[RoutePlan]) -> Report {
    let index: HashMap<u64, usize> = problem
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id, i))
        .collect();
    let mut seen = vec![false; problem.jobs.len()];
    let mut vehicle_used = vec![false; problem.vehicles.len()];
    let mut violations = Vec::new();
    let mut distance = 0.0;
    let mut cost = 0.0;
    let mut used = 0;
    for (r, plan) in routes.iter().enumerate() {
        if plan.jobs.is_empty() {
            continue;
        }
        used += 1;
        let Some(veh) = problem.vehicles.get(plan.vehicle) else {
            violations.push(Violation::UnknownVehicle(plan.vehicle));
            continue;
        };
        if std::mem::replace(&mut vehicle_used[plan.vehicle], true) {
            violations.push(Violation::VehicleTwice(plan.vehicle));
        }
        let m = &problem.matrix;
        let mut jobs = Vec::with_capacity(plan.jobs.len());
        for &id in &plan.jobs {
            let Some(&ji) = index.get(&id) else {
                violations.push(Violation::UnknownJob(id));
                continue;
            };
            if seen[ji] {
                violations.push(Violation::Duplicate(id));
            }
            seen[ji] = true;
            let job = &problem.jobs[ji];
            if job.skills.iter().any(|s| !veh.skills.contains(s)) {
                violations.push(Violation::Skill { route: r, job: id });
            }
            jobs.push(job);
        }
        // Load on board: everything to deliver at the start, then each stop unloads its
        // delivery and loads its pickup.
        let mut on_board: Vec<f64> = (0..problem.dims)
            .map(|d| jobs.iter().map(|j| j.delivery[d]).sum())
            .collect();
        let mut peak = on_board.clone();
        for job in &jobs {
            for (d, l) in on_board.iter_mut().enumerate() {
                *l += job.pickup[d] - job.delivery[d];
                peak[d] = peak[d].max(*l);
            }
        }
        for (dim, (&l, &c)) in peak.iter().zip(&veh.capacity).enumerate() {
            if l > c + EPS {
                violations.push(Violation::Capacity {
                    route: r,
                    dim,
                    load: l,
                    capacity: c,
                });
            }
        }
        let mut route_dist = 0.0;
        let mut at = veh.start;
        let depart = veh.shift.start;
        let mut t = depart;
        let mut starts = Vec::with_capacity(jobs.len());
        let mut chosen_end = Vec::with_capacity(jobs.len());
        for job in &jobs {
            route_dist += m.dist(at, job.location);
            let arrival = t + m.time(at, job.location);
            // The earliest window still open on arrival gives the earliest service start.
            match job.windows.iter().find(|w| arrival <= w.end + EPS) {
                Some(w) => {
                    t = arrival.max(w.start);
                    chosen_end.push(w.end);
                }
                None => {
                    violations.push(Violation::Late {
                        route: r,
                        job: job.id,
                        arrival,
                    });
                    t = arrival;
                    chosen_end.push(arrival);
                }
            }
            starts.push(t);
            t += job.service;
            at = job.location;
        }
        route_dist += m.dist(at, veh.end);
        let arrival = t + m.time(at, veh.end);
        if arrival > veh.shift.end + EPS {
            violations.push(Violation::LateReturn {
                route: r,
                arrival,
                end: veh.shift.end,
            });
        }
        if let Some(max) = veh.max_duration {
            // Delay the departure as much as possible without delaying the return (backward pass
            // of latest starts), which gives the shortest duration of this visit order.
            let mut latest = arrival - m.time(at, veh.end);
            for k in (0..starts.len()).rev() {
                let s = latest.min(chosen_end[k]).max(starts[k]);
                latest = s - if k > 0 {
                    m.time(jobs[k - 1].location, jobs[k].location) + jobs[k - 1].service
                } else {
                    m.time(veh.start, jobs[0].location)
                };
            }
            let leave = latest.max(depart);
            let duration = arrival - leave;
            if duration > max + EPS {
                violations.push(Violation::Duration {
                    route: r,
                    duration,
                    max,
                });
            }
        }
        distance += route_dist;
        cost += veh.fixed_cost + veh.unit_cost * route_dist;
    }
    for (i, s) in seen.iter().enumerate() {
        if !s {
            violations.push(Violation::Missing(problem.jobs[i].id));
        }
    }
    Report {
        feasible: violations.is_empty(),
        vehicles: used,
        distance,
        cost,
        violations,
    }
}
