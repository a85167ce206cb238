//! The genetic loop of HGS (Vidal 2022, Algorithm 1): parent selection, OX crossover, split,
//! local search ("education"), repair, adaptive penalties, restarts; plus, for the
//! vehicles-distance objective, a fleet-minimisation phase that lowers the fleet limit below the
//! best feasible route count (in the spirit of Vidal et al. 2013's fleet-size handling and of
//! Nagata & Bräysy 2009's route elimination, here by route removal and penalised reinsertion).

use super::data::Data;
use super::population::{Individual, PopParams, Population};
use super::rng::Rng;
use super::search::LocalSearch;
use super::segment::Penalties;
use super::split::split;
use super::{Config, Objective, Progress, Stop};

/// Penalty bounds and adaptation factors (HGS-CVRP).
const PEN_MIN: f64 = 0.1;
const PEN_MAX: f64 = 100_000.0;
const PEN_UP: f64 = 1.2;
const PEN_DOWN: f64 = 0.85;
/// Offspring between two penalty updates.
const PEN_WINDOW: u64 = 25;
/// HGS iterations between two route-elimination attempts (vehicles-distance objective).
const RM_EVERY: u64 = 50;
/// Insertion steps of one route-elimination attempt.
const RM_STEPS: usize = 300;
/// Fraction of the budget after which the fleet is no longer reduced and distance is optimised.
const FLEET_PHASE_END: f64 = 0.6;
/// Iterations without a feasible solution at a lowered fleet limit before giving up.
const FLEET_PATIENCE: u64 = 3000;
/// Penalty multiplier when repairing.
const REPAIR_BOOST: f64 = 10.0;

struct State<'a> {
    d: &'a Data,
    cfg: &'a Config,
    rng: Rng,
    ls: LocalSearch<'a>,
    pen: Penalties,
    pop: Population,
    pp: PopParams,
    best: Option<Individual>,
    fleet: usize,
    /// Vehicles-distance: still trying to lower the fleet.
    reducing: bool,
    /// Iteration at which the current fleet limit was set.
    attempt_start: u64,
    feas_load: u64,
    feas_tw: u64,
    seen: u64,
}

impl<'a> State<'a> {
    fn better(&self, a: &Individual, b: &Individual) -> bool {
        match self.cfg.objective {
            Objective::VehiclesDistance => (a.vehicles(), a.dist) < (b.vehicles(), b.dist),
            Objective::Distance => a.objective(self.d) < b.objective(self.d) - 1e-9,
        }
    }

    fn educate(&mut self, routes: &[Vec<u32>], pen: Penalties) -> Individual {
        self.ls.set_penalties(pen);
        self.ls.load(routes, self.fleet);
        self.ls.run(&mut self.rng);
        Individual::new(self.d, self.ls.export())
    }

    /// Educates, records feasibility statistics, repairs, inserts; true if the best improved.
    fn offspring(&mut self, routes: Vec<Vec<u32>>) -> bool {
        let ind = self.educate(&routes, self.pen);
        self.seen += 1;
        self.feas_load += u64::from(ind.excess <= 1e-9);
        self.feas_tw += u64::from(ind.warp <= 1e-9);
        let mut improved = self.consider(&ind);
        let infeasible = !ind.feasible();
        let again = infeasible && self.rng.unit() < self.cfg.params.repair_probability;
        let from = if again {
            Some(ind.routes.clone())
        } else {
            None
        };
        self.pop.add(ind, self.d, &self.pen, &self.pp);
        if let Some(r) = from {
            let boosted = Penalties {
                load: self.pen.load * REPAIR_BOOST,
                tw: self.pen.tw * REPAIR_BOOST,
            };
            let mut fixed = self.educate(&r, boosted);
            if !fixed.feasible() && self.best.is_none() {
                // Nothing feasible yet: escalate once more, so small or tight instances do not
                // wait for the slow penalty adaptation.
                let strong = Penalties {
                    load: boosted.load * REPAIR_BOOST,
                    tw: boosted.tw * REPAIR_BOOST,
                };
                fixed = self.educate(&fixed.routes, strong);
            }
            if fixed.feasible() {
                improved |= self.consider(&fixed);
                self.pop.add(fixed, self.d, &self.pen, &self.pp);
            }
        }
        improved
    }

    fn consider(&mut self, ind: &Individual) -> bool {
        if ind.feasible() && self.best.as_ref().is_none_or(|b| self.better(ind, b)) {
            self.best = Some(ind.clone());
            return true;
        }
        false
    }

    fn random_routes(&mut self) -> Vec<Vec<u32>> {
        let mut tour: Vec<u32> = (1..=self.d.n as u32).collect();
        self.rng.shuffle(&mut tour);
        split(self.d, &tour, &self.pen, self.fleet)
    }

    fn adapt_penalties(&mut self) {
        let target = self.cfg.params.target_feasible;
        let adapt = |w: f64, frac: f64| {
            if frac < target - 0.05 {
                (w * PEN_UP).min(PEN_MAX)
            } else if frac > target + 0.05 {
                (w * PEN_DOWN).max(PEN_MIN)
            } else {
                w
            }
        };
        let n = self.seen.max(1) as f64;
        self.pen.load = adapt(self.pen.load, self.feas_load as f64 / n);
        self.pen.tw = adapt(self.pen.tw, self.feas_tw as f64 / n);
        self.feas_load = 0;
        self.feas_tw = 0;
        self.seen = 0;
    }

    /// OX crossover (Oliver et al. 1987) of two giant tours, as in HGS-CVRP.
    fn crossover(&mut self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let n = a.len();
        let start = self.rng.below(n);
        let mut end = self.rng.below(n);
        while n > 1 && end == start {
            end = self.rng.below(n);
        }
        let mut child = vec![0u32; n];
        let mut used = vec![false; self.d.nodes];
        let mut j = start;
        loop {
            child[j % n] = a[j % n];
            used[a[j % n] as usize] = true;
            if j % n == end {
                break;
            }
            j += 1;
        }
        let mut pos = end + 1;
        for i in 1..=n {
            let c = b[(end + i) % n];
            if !used[c as usize] {
                child[pos % n] = c;
                pos += 1;
            }
        }
        child
    }

    /// Removes the `excess` smallest routes of `routes` and reinserts their clients at the
    /// cheapest penalised position in the remaining routes (route removal).
    fn squeeze(&self, mut routes: Vec<Vec<u32>>, limit: usize) -> Vec<Vec<u32>> {
        if routes.len() <= limit {
            return routes;
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.len()));
        let removed: Vec<u32> = routes.drain(limit..).flatten().collect();
        let d = self.d;
        for c in removed {
            let mut best = (f64::INFINITY, 0, 0);
            for (ri, r) in routes.iter().enumerate() {
                let base = super::segment::route_cost(d, &d.route_seg(r), &self.pen);
                for p in 0..=r.len() {
                    let mut t = r.clone();
                    t.insert(p, c);
                    let delta = super::segment::route_cost(d, &d.route_seg(&t), &self.pen) - base;
                    if delta < best.0 {
                        best = (delta, ri, p);
                    }
                }
            }
            if let Some(r) = routes.get_mut(best.1) {
                r.insert(best.2.min(r.len()), c);
            }
        }
        routes
    }
}

/// Runs HGS until `stop` says so; returns the best individual found and the iteration count.
pub fn run(
    d: &Data,
    cfg: &Config,
    stop: &mut dyn Stop,
    progress: &mut dyn FnMut(&Progress),
) -> (Individual, u64) {
    let p = &cfg.params;
    let pen = Penalties {
        load: (d.max_dist / d.max_demand.max(1e-9)).clamp(PEN_MIN, 1000.0),
        tw: 1.0,
    };
    let mut s = State {
        d,
        cfg,
        rng: Rng::new(cfg.seed),
        ls: {
            let mut ls = LocalSearch::new(d);
            ls.swap_star = p.swap_star;
            ls
        },
        pen,
        pop: Population::default(),
        pp: PopParams {
            mu: p.mu,
            lambda: p.lambda,
            elite: p.elite,
            close: p.close,
        },
        best: None,
        fleet: d.fleet,
        reducing: cfg.objective == Objective::VehiclesDistance,
        attempt_start: 0,
        feas_load: 0,
        feas_tw: 0,
        seen: 0,
    };
    let mut iter: u64 = 0;
    let mut last_improvement: u64 = 0;
    let mut report = |s: &State, iter: u64| {
        if let Some(b) = &s.best {
            progress(&Progress {
                iteration: iter,
                vehicles: b.vehicles(),
                distance: b.dist,
                feasible: true,
            });
        }
    };
    // A fallback so that even a zero budget returns a complete (if infeasible) solution.
    let first = s.random_routes();
    let fallback = Individual::new(d, first);
    let mut fresh = 0usize;
    while !stop.should_stop(iter) {
        iter += 1;
        let routes = if s.pop.len() < 2 || fresh < p.initial {
            fresh += 1;
            s.random_routes()
        } else {
            let a = s.pop.select(&mut s.rng, d, &s.pen, &s.pp).tour();
            let b = s.pop.select(&mut s.rng, d, &s.pen, &s.pp).tour();
            let child = s.crossover(&a, &b);
            split(d, &child, &s.pen, s.fleet)
        };
        let routes = s.squeeze(routes, s.fleet);
        if s.offspring(routes) {
            last_improvement = iter;
            report(&s, iter);
        }
        if iter.is_multiple_of(PEN_WINDOW) {
            s.adapt_penalties();
        }
        if cfg.objective == Objective::VehiclesDistance {
            if s.reducing && iter.is_multiple_of(RM_EVERY) && stop.fraction(iter) <= FLEET_PHASE_END
            {
                let routes = s.best.as_ref().map(|b| b.routes.clone());
                if let Some(r) =
                    routes.and_then(|r| super::fleet::eliminate_route(d, &r, RM_STEPS, &mut s.rng))
                {
                    let ind = Individual::new(d, r);
                    if s.consider(&ind) {
                        last_improvement = iter;
                        report(&s, iter);
                    }
                }
            }
            fleet_phase(&mut s, stop, iter);
        }
        if iter - last_improvement > p.restart_after {
            s.pop.clear();
            fresh = 0;
            last_improvement = iter;
        }
    }
    // No feasible solution: return the least infeasible one (under the current penalties).
    let least_bad = s
        .pop
        .infeasible
        .inds
        .iter()
        .min_by(|a, b| a.penalised(d, &s.pen).total_cmp(&b.penalised(d, &s.pen)))
        .cloned();
    (s.best.take().or(least_bad).unwrap_or(fallback), iter)
}

/// Fleet minimisation: while a feasible solution with the current fleet limit exists, lower the
/// limit to one below it and squeeze the population into it. An attempt that has not produced a
/// feasible solution after `FLEET_PATIENCE` iterations, or once `FLEET_PHASE_END` of the budget
/// is spent, is abandoned: the limit returns to the best route count and the rest of the time
/// goes to distance.
fn fleet_phase(s: &mut State, stop: &mut dyn Stop, iter: u64) {
    let Some(best_v) = s.best.as_ref().map(|b| b.vehicles()) else {
        return;
    };
    if !s.reducing {
        return;
    }
    let late = stop.fraction(iter) > FLEET_PHASE_END;
    if best_v > s.fleet && (late || iter - s.attempt_start > FLEET_PATIENCE) {
        s.reducing = false;
        s.fleet = best_v;
        if let Some(b) = s.best.clone() {
            s.pop.add(b, s.d, &s.pen, &s.pp);
        }
        return;
    }
    if best_v <= s.fleet && best_v > 1 && !late {
        s.fleet = best_v - 1;
        s.attempt_start = iter;
        let old = std::mem::take(&mut s.pop);
        for ind in old.feasible.inds.into_iter().chain(old.infeasible.inds) {
            let routes = s.squeeze(ind.routes, s.fleet);
            let child = s.educate(&routes, s.pen);
            s.pop.add(child, s.d, &s.pen, &s.pp);
        }
    }
}
