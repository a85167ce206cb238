//! Individuals and the population with diversity management of HGS (Vidal et al. 2012, 2013;
//! Vidal 2022 §3.2): two subpopulations (feasible, infeasible), broken-pairs distance between
//! solutions, biased fitness combining cost rank and diversity-contribution rank, survivor
//! selection that removes clones first, binary tournament parent selection.

use super::data::Data;
use super::rng::Rng;
use super::segment::Penalties;

/// A complete solution as seen by the genetic algorithm.
#[derive(Debug, Clone)]
pub struct Individual {
    /// Client nodes per non-empty route.
    pub routes: Vec<Vec<u32>>,
    /// Total distance.
    pub dist: f64,
    /// Total load excess.
    pub excess: f64,
    /// Total time warp (including excess duration).
    pub warp: f64,
    /// Successor of each node (0 for the depot).
    succ: Vec<u32>,
    /// Predecessor of each node (0 for the depot).
    pred: Vec<u32>,
}

impl Individual {
    /// Evaluates routes into an individual.
    pub fn new(d: &Data, routes: Vec<Vec<u32>>) -> Self {
        let mut succ = vec![0; d.nodes];
        let mut pred = vec![0; d.nodes];
        let (mut dist, mut excess, mut warp) = (0.0, 0.0, 0.0);
        for r in routes.iter().filter(|r| !r.is_empty()) {
            let s = d.route_seg(r);
            dist += s.dist;
            excess += s.excess(d);
            warp += s.route_warp(d);
            for (k, &c) in r.iter().enumerate() {
                pred[c as usize] = if k == 0 { 0 } else { r[k - 1] };
                succ[c as usize] = r.get(k + 1).copied().unwrap_or(0);
            }
        }
        let routes: Vec<Vec<u32>> = routes.into_iter().filter(|r| !r.is_empty()).collect();
        Individual {
            routes,
            dist,
            excess,
            warp,
            succ,
            pred,
        }
    }

    /// Non-empty routes.
    pub fn vehicles(&self) -> usize {
        self.routes.len()
    }

    /// No load excess and no time warp.
    pub fn feasible(&self) -> bool {
        self.excess <= 1e-9 && self.warp <= 1e-9
    }

    /// Objective value (distance plus the per-route fixed cost) without penalties.
    pub fn objective(&self, d: &Data) -> f64 {
        self.dist + d.route_fixed * self.vehicles() as f64
    }

    /// Penalised cost.
    pub fn penalised(&self, d: &Data, p: &Penalties) -> f64 {
        self.objective(d) + p.load * self.excess + p.tw * self.warp
    }

    /// The giant tour: routes concatenated.
    pub fn tour(&self) -> Vec<u32> {
        self.routes.iter().flatten().copied().collect()
    }

    /// Broken-pairs distance in [0, 1] (Vidal 2022, as in HGS-CVRP's `brokenPairsDistance`).
    pub fn broken_pairs(&self, o: &Individual, n: usize) -> f64 {
        let mut diff = 0usize;
        for j in 1..=n {
            if self.succ[j] != o.succ[j] && self.succ[j] != o.pred[j] {
                diff += 1;
            }
            if self.pred[j] == 0 && o.pred[j] != 0 && o.succ[j] != 0 {
                diff += 1;
            }
        }
        diff as f64 / n.max(1) as f64
    }
}

/// Population sizing and diversity parameters (HGS-CVRP defaults).
#[derive(Debug, Clone, Copy)]
pub struct PopParams {
    /// μ: minimum subpopulation size after survivor selection.
    pub mu: usize,
    /// λ: generation size before survivor selection.
    pub lambda: usize,
    /// Elite individuals protected by the biased fitness.
    pub elite: usize,
    /// Closest individuals used for the diversity contribution.
    pub close: usize,
}

/// One subpopulation with its pairwise distance cache.
#[derive(Debug, Clone, Default)]
pub struct SubPop {
    /// Members.
    pub inds: Vec<Individual>,
    dist: Vec<Vec<f64>>,
    fit: Vec<f64>,
}

impl SubPop {
    /// Adds an individual and runs survivor selection when the subpopulation is full.
    pub fn add(&mut self, ind: Individual, d: &Data, pen: &Penalties, pp: &PopParams) {
        let row: Vec<f64> = self.inds.iter().map(|o| ind.broken_pairs(o, d.n)).collect();
        for (k, r) in self.dist.iter_mut().enumerate() {
            r.push(row[k]);
        }
        let mut row = row;
        row.push(0.0);
        self.dist.push(row);
        self.inds.push(ind);
        if self.inds.len() > pp.mu + pp.lambda {
            while self.inds.len() > pp.mu {
                self.update_fitness(d, pen, pp);
                let worst = self.worst();
                self.remove(worst);
            }
        }
    }

    fn remove(&mut self, k: usize) {
        self.inds.remove(k);
        self.dist.remove(k);
        for r in &mut self.dist {
            r.remove(k);
        }
    }

    fn worst(&self) -> usize {
        let n = self.inds.len();
        let mut best = 0;
        let mut key = (false, f64::NEG_INFINITY);
        for k in 0..n {
            let clone = (0..n).any(|j| j != k && self.dist[k][j] < 1e-12);
            let cand = (clone, self.fit[k]);
            if (cand.0 && !key.0) || (cand.0 == key.0 && cand.1 > key.1) {
                key = cand;
                best = k;
            }
        }
        best
    }

    /// Average distance to the `close` nearest others.
    fn diversity(&self, k: usize, close: usize) -> f64 {
        let mut ds: Vec<f64> = (0..self.inds.len())
            .filter(|&j| j != k)
            .map(|j| self.dist[k][j])
            .collect();
        if ds.is_empty() {
            return 0.0;
        }
        let c = close.min(ds.len());
        ds.select_nth_unstable_by(c - 1, |a, b| a.total_cmp(b));
        ds[..c].iter().sum::<f64>() / c as f64
    }

    /// Recomputes biased fitness: rank of cost + (1 − elite/size) · rank of diversity.
    pub fn update_fitness(&mut self, d: &Data, pen: &Penalties, pp: &PopParams) {
        let n = self.inds.len();
        self.fit = vec![0.0; n];
        if n <= 1 {
            return;
        }
        let mut by_cost: Vec<(f64, usize)> = self
            .inds
            .iter()
            .enumerate()
            .map(|(k, i)| (i.penalised(d, pen), k))
            .collect();
        by_cost.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut div: Vec<(f64, usize)> = (0..n)
            .map(|k| (-self.diversity(by_cost[k].1, pp.close), k))
            .collect();
        div.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let w = 1.0 - pp.elite as f64 / n as f64;
        for (drank, &(_, crank)) in div.iter().enumerate() {
            let k = by_cost[crank].1;
            self.fit[k] = crank as f64 / (n - 1) as f64 + w * drank as f64 / (n - 1) as f64;
        }
    }

    /// Biased fitness of member `k` (after `update_fitness`).
    pub fn fitness(&self, k: usize) -> f64 {
        self.fit.get(k).copied().unwrap_or(0.0)
    }
}

/// The two subpopulations.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// Feasible individuals.
    pub feasible: SubPop,
    /// Infeasible individuals.
    pub infeasible: SubPop,
}

impl Population {
    /// Adds to the right subpopulation.
    pub fn add(&mut self, ind: Individual, d: &Data, pen: &Penalties, pp: &PopParams) {
        if ind.feasible() {
            self.feasible.add(ind, d, pen, pp);
        } else {
            self.infeasible.add(ind, d, pen, pp);
        }
    }

    /// Total size.
    pub fn len(&self) -> usize {
        self.feasible.inds.len() + self.infeasible.inds.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Binary tournament on biased fitness over both subpopulations.
    pub fn select(
        &mut self,
        rng: &mut Rng,
        d: &Data,
        pen: &Penalties,
        pp: &PopParams,
    ) -> &Individual {
        self.feasible.update_fitness(d, pen, pp);
        self.infeasible.update_fitness(d, pen, pp);
        let nf = self.feasible.inds.len();
        let n = self.len();
        let pick = |k: usize| {
            if k < nf {
                self.feasible.fitness(k)
            } else {
                self.infeasible.fitness(k - nf)
            }
        };
        let a = rng.below(n);
        let b = rng.below(n);
        let k = if pick(a) <= pick(b) { a } else { b };
        if k < nf {
            &self.feasible.inds[k]
        } else {
            &self.infeasible.inds[k - nf]
        }
    }

    /// Empties both subpopulations.
    pub fn clear(&mut self) {
        *self = Population::default();
    }
}
