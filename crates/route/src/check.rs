//! The independent checker: recomputes a solution's cost and verifies every constraint from
//! scratch, by a plain forward simulation of each route.
//!
//! It shares no code with the solver's incremental evaluation (`solver::segment`): a bug there
//! cannot hide itself here. Every test and benchmark result goes through [`check`]. Times and
//! quantities are compared with the tolerance [`EPS`] (1e-6), the convention of the Solomon
//! best-known tables' README.

use crate::model::{EPS, Problem};
use std::collections::HashMap;

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// A route names a job id the problem does not have.
    UnknownJob(u64),
    /// A job visited more than once.
    Duplicate(u64),
    /// A job never visited.
    Missing(u64),
    /// More non-empty routes than vehicles.
    TooManyRoutes {
        /// Routes given.
        routes: usize,
        /// Vehicles available.
        vehicles: usize,
    },
    /// Load above capacity on a route.
    Capacity {
        /// Route index.
        route: usize,
        /// Dimension.
        dim: usize,
        /// Load carried.
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
    /// Distance plus the fixed costs of the vehicles used.
    pub cost: f64,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

/// Checks `routes` (job ids, route k driven by vehicle k) against `problem`.
pub fn check(problem: &Problem, routes: &[Vec<u64>]) -> Report {
    let index: HashMap<u64, usize> = problem
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id, i))
        .collect();
    let mut seen = vec![false; problem.jobs.len()];
    let mut violations = Vec::new();
    let mut distance = 0.0;
    let mut cost = 0.0;
    let used = routes.iter().filter(|r| !r.is_empty()).count();
    if routes.len() > problem.vehicles.len() && used > 0 {
        let last_nonempty = routes.iter().rposition(|r| !r.is_empty()).unwrap_or(0);
        if last_nonempty >= problem.vehicles.len() {
            violations.push(Violation::TooManyRoutes {
                routes: last_nonempty + 1,
                vehicles: problem.vehicles.len(),
            });
        }
    }
    for (r, route) in routes.iter().enumerate() {
        if route.is_empty() {
            continue;
        }
        let Some(veh) = problem.vehicles.get(r) else {
            continue;
        };
        let m = &problem.matrix;
        let mut load = vec![0.0; problem.dims];
        let mut at = veh.start;
        let depart = veh.shift.start;
        let mut t = depart;
        let mut starts = Vec::with_capacity(route.len());
        let mut chosen_end = Vec::with_capacity(route.len());
        let mut services = Vec::with_capacity(route.len());
        let mut locs = Vec::with_capacity(route.len());
        for &id in route {
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
            for (l, d) in load.iter_mut().zip(&job.demand) {
                *l += d;
            }
            distance += m.dist(at, job.location);
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
                        job: id,
                        arrival,
                    });
                    t = arrival;
                    chosen_end.push(arrival);
                }
            }
            starts.push(t);
            services.push(job.service);
            locs.push(job.location);
            t += job.service;
            at = job.location;
        }
        distance += m.dist(at, veh.end);
        let arrival = t + m.time(at, veh.end);
        if arrival > veh.shift.end + EPS {
            violations.push(Violation::LateReturn {
                route: r,
                arrival,
                end: veh.shift.end,
            });
        }
        for (dim, (&l, &c)) in load.iter().zip(&veh.capacity).enumerate() {
            if l > c + EPS {
                violations.push(Violation::Capacity {
                    route: r,
                    dim,
                    load: l,
                    capacity: c,
                });
            }
        }
        if let Some(max) = veh.max_duration {
            // Delay the departure as much as possible without delaying the return (backward pass
            // of latest starts), which gives the shortest duration of this visit order.
            let mut latest = arrival - m.time(at, veh.end);
            for k in (0..starts.len()).rev() {
                let s = latest.min(chosen_end[k]).max(starts[k]);
                latest = s - if k > 0 {
                    m.time(locs[k - 1], locs[k]) + services[k - 1]
                } else {
                    0.0
                };
                if k == 0 {
                    latest = s - m.time(veh.start, locs[0]);
                }
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
        cost += veh.fixed_cost;
    }
    for (i, s) in seen.iter().enumerate() {
        if !s {
            violations.push(Violation::Missing(problem.jobs[i].id));
        }
    }
    cost += distance;
    Report {
        feasible: violations.is_empty(),
        vehicles: used,
        distance,
        cost,
        violations,
    }
}
