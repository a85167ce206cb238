//! The solver: iterated local search with ruin and recreate ([`ils`]) around a granular local
//! search on penalised costs ([`search`]), for heterogeneous fleets with several depots,
//! capacities in several dimensions, simultaneous pickup and delivery, time windows, shifts,
//! maximum durations and skills.
//!
//! References: Vidal, Crainic, Gendreau & Prins (2013), "A hybrid genetic algorithm with adaptive
//! diversity management for a large class of vehicle routing problems with time-windows" (time
//! warp, granular proximity, penalty adaptation); Vidal (2022), "Hybrid genetic search for the
//! CVRP: open-source implementation and SWAP* neighborhood"; Christiaens & Vanden Berghe (2020),
//! "Slack induction by string removals for vehicle routing problems" (ruin and recreate);
//! Wouda, Lan & Kool (2024), "PyVRP: a high-performance VRP solver package" (operator design as
//! evaluate + apply). The core never reads the clock: the caller injects a [`Stop`] object (time
//! and/or iteration limits) and receives the best-so-far through a progress callback, so a run
//! with an iteration limit is a pure function of problem and seed.

pub mod data;
pub mod fleet;
pub mod ils;
pub mod insertion;
pub mod rng;
pub mod route;
pub mod search;
pub mod segment;
pub mod split;

use crate::error::SolveError;
use crate::model::Problem;
use std::time::{Duration, Instant};

/// What to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Fewest vehicles first, then distance (the published Solomon tables' convention).
    VehiclesDistance,
    /// Total distance (plus fixed costs) only.
    Distance,
}

impl Objective {
    /// The name used on the command line and in solution files.
    pub fn name(self) -> &'static str {
        match self {
            Objective::VehiclesDistance => "vehicles-distance",
            Objective::Distance => "distance",
        }
    }
}

impl std::str::FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "vehicles-distance" => Ok(Objective::VehiclesDistance),
            "distance" => Ok(Objective::Distance),
            _ => Err(format!(
                "unknown objective {s:?} (vehicles-distance or distance)"
            )),
        }
    }
}

/// Tunable parameters; the defaults are the same for every instance and family.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Granular neighbourhood size; 0 (the default) scales it with the instance: a fifth of
    /// the clients, between 20 and 40. On small instances 40 neighbours are a large share of
    /// all clients and the extra moves cost iterations without finding more (measured on the
    /// Solomon set: +0.18% against +0.30% mean gap at 10 s, `docs/benchmarks.md`).
    pub granularity: usize,
    /// Average number of clients removed by one ruin (SISR's c̄).
    pub average_removed: f64,
    /// Longest string removed from one route (SISR's L_max).
    pub max_string: usize,
    /// Simulated-annealing temperature at the start, in average arc costs.
    pub temp_start: f64,
    /// Temperature at the end of the budget, in average arc costs.
    pub temp_end: f64,
    /// Target fraction of feasible candidates, per constraint family.
    pub target_feasible: f64,
    /// Elite solutions kept for route exchanges.
    pub pool_size: usize,
    /// Chance that an iteration exchanges routes with an elite solution instead of a ruin.
    pub exchange_rate: f64,
    /// Chance that an iteration re-cuts the routes over vehicle types instead of a ruin (on
    /// mixed fleets only; see [`split::resplit`]).
    pub resplit_rate: f64,
    /// Independent runs the budget is split into; 0 (the default): as many as the budget
    /// holds `run_iterations_per_client` iterations per client, between 1 and 4 (always 1
    /// while vehicles are minimised, whose route elimination needs the whole budget). A run
    /// that has converged tends to end in the same local optimum whatever its seed, so a
    /// second run pays more than a longer first one (see `ils`).
    pub restarts: usize,
    /// Iterations per client a run needs to converge (see `restarts`).
    pub run_iterations_per_client: f64,
    /// Use the SWAP* neighbourhood in full local searches (the start and each new best).
    pub swap_star: bool,
    /// Also use SWAP* in the local search of every iteration.
    pub swap_star_always: bool,
}

impl Params {
    /// Sets one parameter by name (`granularity=30`, `swap_star=false`, ...), for tuning.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let num = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{key}: {value:?} is not a non-negative number"))
        };
        let flag = || {
            value
                .parse::<bool>()
                .map_err(|_| format!("{key}: {value:?} is not true or false"))
        };
        match key {
            "granularity" => self.granularity = num()? as usize,
            "average_removed" => self.average_removed = num()?.max(1.0),
            "max_string" => self.max_string = (num()? as usize).max(1),
            "temp_start" => self.temp_start = num()?,
            "temp_end" => self.temp_end = num()?,
            "target_feasible" => self.target_feasible = num()?.min(1.0),
            "pool_size" => self.pool_size = num()? as usize,
            "exchange_rate" => self.exchange_rate = num()?.min(1.0),
            "resplit_rate" => self.resplit_rate = num()?.min(1.0),
            "restarts" => self.restarts = num()? as usize,
            "run_iterations_per_client" => self.run_iterations_per_client = num()?.max(1.0),
            "swap_star" => self.swap_star = flag()?,
            "swap_star_always" => self.swap_star_always = flag()?,
            _ => return Err(format!("unknown parameter {key:?}")),
        }
        Ok(())
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            granularity: 0,
            average_removed: 10.0,
            max_string: 10,
            temp_start: 0.5,
            temp_end: 0.01,
            target_feasible: 0.5,
            pool_size: 8,
            exchange_rate: 0.05,
            resplit_rate: 0.01,
            restarts: 0,
            run_iterations_per_client: 400.0,
            swap_star: true,
            swap_star_always: false,
        }
    }
}

/// Solver configuration.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Objective.
    pub objective: Objective,
    /// Seed of the random generator; same seed and iteration limit, same result.
    pub seed: u64,
    /// Parameters.
    pub params: Params,
}

impl Config {
    /// Default parameters for an objective and seed.
    pub fn new(objective: Objective, seed: u64) -> Self {
        Config {
            objective,
            seed,
            params: Params::default(),
        }
    }
}

/// When to stop; the only place where the solver may consult a clock.
pub trait Stop {
    /// True when the search must end, after `iterations` genetic iterations.
    fn should_stop(&mut self, iterations: u64) -> bool;
    /// Fraction of the budget used, in [0, 1] (for phase scheduling).
    fn fraction(&mut self, iterations: u64) -> f64;
}

/// A time limit and/or an iteration limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    start: Instant,
    time: Option<Duration>,
    iterations: Option<u64>,
}

impl Limits {
    /// Limits starting now. With neither limit, the search never stops: give one.
    pub fn new(time: Option<Duration>, iterations: Option<u64>) -> Self {
        Limits {
            start: Instant::now(),
            time,
            iterations,
        }
    }
}

impl Stop for Limits {
    fn should_stop(&mut self, iterations: u64) -> bool {
        self.iterations.is_some_and(|m| iterations >= m)
            || self.time.is_some_and(|t| self.start.elapsed() >= t)
    }

    fn fraction(&mut self, iterations: u64) -> f64 {
        let a = self
            .iterations
            .map(|m| iterations as f64 / m.max(1) as f64)
            .unwrap_or(0.0);
        let b = self
            .time
            .map(|t| self.start.elapsed().as_secs_f64() / t.as_secs_f64().max(1e-9))
            .unwrap_or(0.0);
        a.max(b).min(1.0)
    }
}

/// Best-so-far, reported whenever it improves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Genetic iterations done.
    pub iteration: u64,
    /// Vehicles of the best solution.
    pub vehicles: usize,
    /// Distance of the best solution.
    pub distance: f64,
    /// Whether the best solution is feasible.
    pub feasible: bool,
}

/// One route of a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolvedRoute {
    /// Index of the vehicle in `Problem::vehicles`.
    pub vehicle: usize,
    /// Job indices (into `Problem::jobs`) in visit order.
    pub jobs: Vec<usize>,
}

/// A solution: the non-empty routes, each with its vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Non-empty routes.
    pub routes: Vec<SolvedRoute>,
    /// Non-empty routes.
    pub vehicles: usize,
    /// Total distance.
    pub distance: f64,
    /// Σ over used vehicles of fixed cost + unit cost × route length.
    pub cost: f64,
    /// Feasible according to the solver (confirm with [`crate::check::check`]).
    pub feasible: bool,
    /// Search iterations run.
    pub iterations: u64,
}

impl Solution {
    /// Routes in the checker's terms (vehicle index and job ids).
    pub fn plans(&self, p: &Problem) -> Vec<crate::check::RoutePlan> {
        self.routes
            .iter()
            .map(|r| crate::check::RoutePlan {
                vehicle: r.vehicle,
                jobs: r
                    .jobs
                    .iter()
                    .filter_map(|&j| p.jobs.get(j).map(|x| x.id))
                    .collect(),
            })
            .collect()
    }
}

/// Solves `problem`, calling `progress` on every improvement of the best solution.
pub fn solve(
    problem: &Problem,
    config: &Config,
    stop: &mut dyn Stop,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Solution, SolveError> {
    let granularity = match config.params.granularity {
        0 => (problem.jobs.len() / 5).clamp(20, 40),
        g => g,
    };
    let mut d = data::Data::new(problem, 0.0, granularity)?;
    if config.objective == Objective::VehiclesDistance && !d.homogeneous {
        // Route elimination needs one vehicle type; a mixed fleet counts vehicles through a
        // fixed cost that outweighs any distance a vehicle can save.
        let unit = d.types.iter().map(|t| t.unit).fold(0.0, f64::max);
        let weight = 2.0 * d.max_dist * unit * (d.n + 1) as f64;
        d = data::Data::new(problem, weight, granularity)?;
    }
    if d.n == 0 {
        return Ok(Solution {
            routes: Vec::new(),
            vehicles: 0,
            distance: 0.0,
            cost: 0.0,
            feasible: true,
            iterations: 0,
        });
    }
    let (routes, feasible, iterations) = ils::run(&d, config, stop, progress);
    Ok(solution_of(problem, &d, &routes, feasible, iterations))
}

/// Turns the search's routes into a [`Solution`], giving each route a vehicle of its type.
fn solution_of(
    p: &Problem,
    d: &data::Data,
    routes: &[(u32, Vec<u32>)],
    feasible: bool,
    iterations: u64,
) -> Solution {
    let mut next = vec![0usize; d.types.len()];
    let mut out = Vec::with_capacity(routes.len());
    let (mut distance, mut cost) = (0.0, 0.0);
    for (t, clients) in routes {
        let t = *t as usize;
        let Some(&vehicle) = d.types[t].vehicles.get(next[t]) else {
            continue;
        };
        next[t] += 1;
        let seg = d.route_seg(t, clients);
        let v = &p.vehicles[vehicle];
        distance += seg.dist;
        cost += v.fixed_cost + v.unit_cost * seg.dist;
        out.push(SolvedRoute {
            vehicle,
            jobs: clients.iter().map(|&c| d.job_of_node(c)).collect(),
        });
    }
    out.sort_by_key(|r| r.vehicle);
    Solution {
        vehicles: out.len(),
        routes: out,
        distance,
        cost,
        feasible,
        iterations,
    }
}
