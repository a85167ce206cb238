//! The solver: hybrid genetic search (HGS) with granular local search on penalised costs.
//!
//! References: Vidal, Crainic, Gendreau & Prins (2013), "A hybrid genetic algorithm with adaptive
//! diversity management for a large class of vehicle routing problems with time-windows" (time
//! warp, granular proximity, diversity management); Vidal (2022), "Hybrid genetic search for the
//! CVRP: open-source implementation and SWAP* neighborhood" (algorithmic loop and parameters);
//! Wouda, Lan & Kool (2024), "PyVRP: a high-performance VRP solver package" (operator design as
//! evaluate + apply, VRPTW defaults). The core never reads the clock: the caller injects a
//! [`Stop`] object (time and/or iteration limits) and receives the best-so-far through a
//! progress callback, so a run with an iteration limit is a pure function of problem and seed.

pub mod data;
pub mod fleet;
mod hgs;
pub mod population;
pub mod rng;
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

/// Tunable parameters (defaults from HGS-CVRP and PyVRP, adjusted on Solomon).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Granular neighbourhood size.
    pub granularity: usize,
    /// Minimum subpopulation size μ.
    pub mu: usize,
    /// Generation size λ.
    pub lambda: usize,
    /// Elite count for biased fitness.
    pub elite: usize,
    /// Neighbours in the diversity contribution.
    pub close: usize,
    /// Target fraction of feasible offspring after local search.
    pub target_feasible: f64,
    /// Iterations without improvement before a restart.
    pub restart_after: u64,
    /// Probability to repair an infeasible offspring with boosted penalties.
    pub repair_probability: f64,
    /// Random individuals generated at the start and after each restart.
    pub initial: usize,
    /// Use the SWAP* neighbourhood.
    pub swap_star: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            granularity: 20,
            mu: 25,
            lambda: 40,
            elite: 4,
            close: 5,
            target_feasible: 0.3,
            restart_after: 20_000,
            repair_probability: 0.5,
            initial: 10,
            swap_star: true,
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

/// A solution: job indices (into `Problem::jobs`) per route; route k uses vehicle k.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Job indices per non-empty route in visit order.
    pub routes: Vec<Vec<usize>>,
    /// Non-empty routes.
    pub vehicles: usize,
    /// Total distance.
    pub distance: f64,
    /// Feasible according to the solver (confirm with [`crate::check::check`]).
    pub feasible: bool,
    /// Genetic iterations run.
    pub iterations: u64,
}

impl Solution {
    /// Routes as the problem's external job ids.
    pub fn job_ids(&self, p: &Problem) -> Vec<Vec<u64>> {
        self.routes
            .iter()
            .map(|r| {
                r.iter()
                    .filter_map(|&j| p.jobs.get(j).map(|x| x.id))
                    .collect()
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
    // The hierarchical objective is handled by the fleet limit of the fleet-minimisation phase
    // (see `hgs`), not by a large per-vehicle weight: such a weight would dwarf the penalties
    // and drive the search into infeasible space.
    let d = data::Data::new(problem, 0.0, config.params.granularity)?;
    if d.n == 0 {
        return Ok(Solution {
            routes: Vec::new(),
            vehicles: 0,
            distance: 0.0,
            feasible: true,
            iterations: 0,
        });
    }
    let (best, iterations) = hgs::run(&d, config, stop, progress);
    Ok(Solution {
        routes: best
            .routes
            .iter()
            .map(|r| r.iter().map(|&c| c as usize - 1).collect())
            .collect(),
        vehicles: best.vehicles(),
        distance: best.dist,
        feasible: best.feasible(),
        iterations,
    })
}
