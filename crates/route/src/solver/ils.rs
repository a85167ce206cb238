//! The search driver: iterated local search with ruin and recreate.
//!
//! Each iteration removes a few strings of consecutive clients from routes near a random seed
//! client (the "slack induction by string removals" ruin of Christiaens & Vanden Berghe, "Slack
//! induction by string removals for vehicle routing problems", Transportation Science 54, 2020),
//! reinserts them greedily at their cheapest penalised position among the positions next to
//! their granular neighbours and the empty vehicles of every type, skipping a few positions at
//! random ("blinks", same paper), and then runs the local search on the clients that changed
//! (PyVRP 0.13+ does the same after its own ruin: Wouda, Lan & Kool 2024). The candidate is
//! accepted by simulated annealing on penalised cost, with a temperature that falls
//! geometrically over the budget and is measured in units of the solution's average arc cost,
//! so the same schedule fits every instance scale. Penalty weights adapt to keep a target share
//! of feasible candidates (Vidal et al. 2013). Rejected candidates are undone route by route
//! from a copy of the current solution, so one iteration costs about what it changes, whatever
//! the instance size.
//!
//! A budget large enough for several converged runs (400 iterations per client each; a 10 s
//! budget on the Solomon instances holds two, the budgets measured on 200 customers and more
//! hold less than one) is split into independent runs, each from its own first solution with
//! its own cooling schedule and elite pool, and the best solution of all is kept (a restart
//! in the sense of Lourenço, Martin & Stützle, "Iterated local search", Handbook of
//! Metaheuristics, 2003). Late in a long run the search settles in one deep local optimum,
//! often the same one for every seed (R104, RC204, R210 end at the same cost for seeds 1–3 at
//! 100,000 iterations), so the second half of a long budget buys little, while an
//! independent run draws another optimum: on Solomon at 100,000 iterations, the mean gap of
//! two runs of 50,000 was +0.059 / +0.016 / +0.025% over seeds 1–3 against +0.013 / +0.089 /
//! +0.074% for one run.
//!
//! For the vehicles-then-distance objective on one vehicle type, the best solution's fleet is
//! reduced by route elimination ([`super::fleet`]) during the first part of the budget, and the
//! search continues under the reduced fleet limit.

use super::data::{Data, MAX_DIMS};
use super::fleet::eliminate_route;
use super::rng::Rng;
use super::search::LocalSearch;
use super::segment::Penalties;
use super::split;
use super::{Config, Objective, Progress, Stop};

/// Penalty bounds and adaptation factors.
const PEN_MIN: f64 = 1e-3;
const PEN_MAX: f64 = 1e6;
const PEN_UP: f64 = 1.3;
const PEN_DOWN: f64 = 0.85;
/// Candidates between two penalty updates.
const PEN_WINDOW: u64 = 100;
/// Candidates between two penalty updates while nothing feasible is known.
const PEN_WINDOW_NONE: u64 = 20;
/// Penalty multiplier for the first solution.
const CONSTRUCT_BOOST: f64 = 100.0;
/// Iterations between two route-elimination attempts (vehicles-distance objective).
const RM_EVERY: u64 = 200;
/// Insertion steps of one route-elimination attempt.
const RM_STEPS: usize = 300;
/// Fraction of the budget after which the fleet is no longer reduced.
const FLEET_PHASE_END: f64 = 0.6;
/// Chance to skip a candidate position during reinsertion (SISR's blink rate).
const BLINK: f64 = 0.01;
/// Broken-pairs distance under which two solutions count as the same for the elite pool.
const POOL_SIMILAR: f64 = 0.05;
/// Share of the budget after which the number of independent runs is fixed.
const RUNS_DECIDED_AT: f64 = 0.01;
/// Most independent runs in one budget.
const MAX_RUNS: usize = 4;
/// Iterations between two offers of the current solution to the elite pool.
const POOL_EVERY: u64 = 50;

/// A solution as (vehicle type, client nodes) per route.
pub type Routes = Vec<(u32, Vec<u32>)>;

/// The best feasible solution found.
#[derive(Debug, Clone)]
pub struct Best {
    /// Routes.
    pub routes: Routes,
    /// Objective value (fixed costs plus unit cost × distance; no penalties).
    pub objective: f64,
}

impl Best {
    fn vehicles(&self) -> usize {
        self.routes.len()
    }
}

struct Ils<'a> {
    d: &'a Data,
    cfg: &'a Config,
    rng: Rng,
    ls: LocalSearch<'a>,
    /// Client lists of the current solution, per route index of the search.
    current: Vec<Vec<u32>>,
    current_cost: f64,
    best: Option<Best>,
    /// Feasible candidates since the last penalty update, per constraint family.
    feas_load: u64,
    feas_tw: u64,
    seen: u64,
    /// Average cost of one arc of the current solution (the temperature's unit).
    scale: f64,
    removed: Vec<u32>,
    /// Good, mutually different solutions found so far, for route exchanges.
    pool: Vec<Elite>,
}

/// A member of the elite pool.
#[derive(Debug, Clone)]
struct Elite {
    routes: Routes,
    objective: f64,
    /// Successor of each node (`u32::MAX` for the end of a route), for the distance between
    /// solutions.
    succ: Vec<u32>,
}

impl Elite {
    fn new(d: &Data, routes: Routes, objective: f64) -> Elite {
        let mut succ = vec![u32::MAX; d.nodes];
        for (_, r) in &routes {
            for w in r.windows(2) {
                succ[w[0] as usize] = w[1];
            }
        }
        Elite {
            routes,
            objective,
            succ,
        }
    }

    /// Share of clients whose successor differs (a broken-pairs distance, Vidal 2022).
    fn distance(&self, o: &Elite, d: &Data) -> f64 {
        let differ = d
            .clients()
            .filter(|&c| self.succ[c as usize] != o.succ[c as usize])
            .count();
        differ as f64 / d.n.max(1) as f64
    }
}

impl<'a> Ils<'a> {
    fn better(&self, objective: f64, vehicles: usize, than: &Best) -> bool {
        match self.cfg.objective {
            Objective::VehiclesDistance if self.d.homogeneous => {
                (vehicles, objective) < (than.vehicles(), than.objective - 1e-9)
            }
            _ => objective < than.objective - 1e-9,
        }
    }

    /// Records the search's state as best if it is feasible and better.
    fn consider(&mut self) -> bool {
        let (objective, _, _, feasible) = self.ls.summary();
        if !feasible {
            return false;
        }
        let vehicles = self.ls.used_routes();
        if self
            .best
            .as_ref()
            .is_none_or(|b| self.better(objective, vehicles, b))
        {
            self.best = Some(Best {
                routes: self.ls.solution(),
                objective,
            });
            return true;
        }
        false
    }

    /// Makes the search's state the current solution.
    fn accept(&mut self) {
        for &r in self.ls.changed() {
            let r = r as usize;
            if self.current.len() <= r {
                self.current.resize(r + 1, Vec::new());
            }
            self.current[r].clear();
            self.current[r].extend_from_slice(self.ls.route_clients(r));
        }
        self.current_cost = self.ls.cost();
    }

    /// Puts the search back to the current solution.
    fn undo(&mut self) {
        let changed: Vec<u32> = self.ls.changed().to_vec();
        for r in changed {
            let r = r as usize;
            let empty = Vec::new();
            let clients = self.current.get(r).unwrap_or(&empty).clone();
            self.ls.set_route(r, &clients);
        }
    }

    /// Loads `routes` as the current solution.
    fn reset_to(&mut self, routes: &Routes) {
        self.ls.load(routes);
        self.current = (0..self.ls.route_count())
            .map(|r| self.ls.route_clients(r).to_vec())
            .collect();
        self.ls.track();
        self.current_cost = self.ls.cost();
    }

    /// Cheapest penalised insertion of unrouted `c`: next to a routed granular neighbour, or
    /// alone in an empty vehicle of some type; with `blink`, positions are skipped at random.
    fn best_insertion(&mut self, c: u32, blink: bool) -> Option<(usize, usize)> {
        let d = self.d;
        let mut best: Option<(f64, usize, usize)> = None;
        for &v in &d.neighbours[c as usize] {
            if !self.ls.is_routed(v) {
                continue;
            }
            let (r, i) = self.ls.position(v);
            self.offer(c, r, i, blink, &mut best);
            self.offer(c, r, i - 1, blink, &mut best);
        }
        for k in 0..d.types.len() {
            let t = self.ls.type_order()[k];
            if let Some(er) = self.ls.empty_route(t) {
                self.offer(c, er, 0, blink, &mut best);
            }
        }
        if best.is_none() {
            // No routed neighbour and no vehicle left: every position of every route.
            for r in 0..self.ls.route_count() {
                for p in 0..self.ls.visits(r).len() - 1 {
                    self.offer(c, r, p, false, &mut best);
                }
            }
        }
        best.map(|b| (b.1, b.2))
    }

    /// Keeps inserting `c` after position `p` of route `r` in `best` if it is cheaper.
    fn offer(
        &mut self,
        c: u32,
        r: usize,
        p: usize,
        blink: bool,
        best: &mut Option<(f64, usize, usize)>,
    ) {
        if blink && self.rng.unit() < BLINK {
            return;
        }
        let bound = best.map_or(f64::INFINITY, |b| b.0);
        if self.ls.insert_bound(c, r, p) >= bound {
            return;
        }
        let delta = self.ls.insert_delta(c, r, p);
        if delta < bound {
            *best = Some((delta, r, p));
        }
    }

    /// Reinserts the unrouted clients of `self.removed`, in a random one of SISR's orders.
    fn recreate(&mut self, blink: bool) {
        let d = self.d;
        let mut removed = std::mem::take(&mut self.removed);
        match self.rng.below(4) {
            0 => self.rng.shuffle(&mut removed),
            1 => removed.sort_by(|a, b| {
                let la: f64 = d.node_seg[*a as usize].peak.iter().sum();
                let lb: f64 = d.node_seg[*b as usize].peak.iter().sum();
                lb.total_cmp(&la)
            }),
            2 => removed.sort_by(|a, b| {
                let (da, db) = (self.depot_dist(*a), self.depot_dist(*b));
                db.total_cmp(&da)
            }),
            _ => removed.sort_by(|a, b| {
                let (ea, eb) = (d.node_seg[*a as usize].e, d.node_seg[*b as usize].e);
                ea.total_cmp(&eb)
            }),
        }
        for &c in &removed {
            if let Some((r, p)) = self.best_insertion(c, blink) {
                self.ls.insert(c, r, p);
            }
        }
        removed.clear();
        self.removed = removed;
    }

    fn depot_dist(&self, c: u32) -> f64 {
        let d = self.d;
        (0..d.depots as u32)
            .map(|k| d.dist(k, c))
            .fold(f64::INFINITY, f64::min)
    }

    /// SISR string removal around a random seed client: up to `strings` routes near it each
    /// lose a string of consecutive clients containing the neighbour found in it.
    fn ruin(&mut self, average_removed: f64, max_string: usize) {
        let d = self.d;
        let routes = self.ls.used_routes().max(1);
        let avg_len = d.n as f64 / routes as f64;
        let lmax = (max_string as f64).min(avg_len).max(1.0);
        let kmax = (4.0 * average_removed / (1.0 + lmax) - 1.0).max(1.0);
        let strings = 1 + self.rng.below(kmax as usize);
        let seed = d.depots as u32 + self.rng.below(d.n) as u32;
        let mut ruined: Vec<usize> = Vec::with_capacity(strings);
        let neigh = &d.neighbours[seed as usize];
        for k in 0..=neigh.len() {
            if ruined.len() >= strings {
                break;
            }
            let c = if k == 0 { seed } else { neigh[k - 1] };
            if !self.ls.is_routed(c) {
                continue;
            }
            let (r, i) = self.ls.position(c);
            if ruined.contains(&r) {
                continue;
            }
            ruined.push(r);
            let len = self.ls.visits(r).len() - 2;
            let lt = 1 + self.rng.below((lmax.min(len as f64)) as usize);
            // A string of `lt` clients containing position i, placed at random.
            let lo = i.saturating_sub(lt - 1).max(1);
            let hi = i.min(len + 1 - lt);
            let start = lo + self.rng.below(hi - lo + 1);
            let string: Vec<u32> = self.ls.visits(r)[start..start + lt].to_vec();
            for c in string {
                self.ls.remove(c);
                self.removed.push(c);
            }
        }
    }

    /// Offers the search's state (feasible) to the elite pool: it replaces a similar member if
    /// better, else joins, else replaces the worst member if better than it.
    fn offer_to_pool(&mut self, objective: f64) {
        let d = self.d;
        let e = Elite::new(d, self.ls.solution(), objective);
        if let Some(k) = self
            .pool
            .iter()
            .position(|m| m.distance(&e, d) < POOL_SIMILAR)
        {
            if objective < self.pool[k].objective {
                self.pool[k] = e;
            }
            return;
        }
        if self.pool.len() < self.cfg.params.pool_size {
            self.pool.push(e);
            return;
        }
        if let Some((k, worst)) = self
            .pool
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
            && objective < worst.objective
        {
            self.pool[k] = e;
        }
    }

    /// Routes of `routes` (indices) near a seed client: the route holding it, then the routes
    /// holding its nearest neighbours, up to `k`.
    fn routes_near(
        &self,
        seed: u32,
        k: usize,
        route_of: &dyn Fn(u32) -> Option<usize>,
    ) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        for c in std::iter::once(seed).chain(self.d.neighbours[seed as usize].iter().copied()) {
            if out.len() >= k {
                break;
            }
            if let Some(r) = route_of(c)
                && !out.contains(&r)
            {
                out.push(r);
            }
        }
        out
    }

    /// Route exchange with an elite solution (after the selective route exchange crossover of
    /// Nagata & Kobayashi, "A memetic algorithm for the pickup and delivery problem with time
    /// windows using selective route exchange crossover", PPSN 2010): the current routes near
    /// a random client are dissolved, the elite's routes near it are copied in whole (each on a
    /// free vehicle of its type), and every client left out is reinserted at its cheapest place.
    fn exchange_routes(&mut self) {
        let d = self.d;
        let elite = self.pool[self.rng.below(self.pool.len())].clone();
        let seed = d.depots as u32 + self.rng.below(d.n) as u32;
        let k = 1 + self.rng.below(3);
        let mut elite_route = vec![usize::MAX; d.nodes];
        for (r, (_, clients)) in elite.routes.iter().enumerate() {
            for &c in clients {
                elite_route[c as usize] = r;
            }
        }
        let from_elite = self.routes_near(seed, k, &|c| {
            let r = elite_route[c as usize];
            (r != usize::MAX).then_some(r)
        });
        let ls = &self.ls;
        let mine = self.routes_near(seed, k, &|c| ls.is_routed(c).then(|| ls.position(c).0));
        let mut out: Vec<u32> = Vec::new();
        for r in mine {
            out.extend_from_slice(self.ls.route_clients(r));
        }
        for &r in &from_elite {
            out.extend_from_slice(&elite.routes[r].1);
        }
        for &c in &out {
            if self.ls.is_routed(c) {
                self.ls.remove(c);
            }
        }
        for &r in &from_elite {
            let (t, clients) = &elite.routes[r];
            if let Some(er) = self.ls.empty_route(*t) {
                for (p, &c) in clients.iter().enumerate() {
                    self.ls.insert(c, er, p);
                }
            }
        }
        out.retain(|&c| !self.ls.is_routed(c));
        out.sort_unstable();
        out.dedup();
        self.removed = out;
        self.recreate(false);
    }

    /// Re-cuts the current routes over the vehicle types ([`split::resplit`]), route by route
    /// through the search so that the change can be undone. Declines (and changes nothing)
    /// when the cut does not fit the fleet limits: repairing it would cost a long local search
    /// for a start worse than the current solution.
    fn resplit(&mut self) -> bool {
        let routes = self.ls.solution();
        let limits = self.ls.limits().to_vec();
        let (cut, rest) = split::resplit(self.d, &self.ls.pen, &routes, &limits, &mut self.rng);
        if !rest.is_empty() {
            return false;
        }
        for r in 0..self.ls.route_count() {
            if !self.ls.route_clients(r).is_empty() {
                self.ls.set_route(r, &[]);
            }
        }
        for (t, clients) in cut {
            match self.ls.empty_route(t) {
                Some(er) => self.ls.set_route(er, &clients),
                None => self.removed.extend(clients),
            }
        }
        self.recreate(false);
        true
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
        let mut pen = self.ls.pen;
        let fl = self.feas_load as f64 / n;
        for w in pen.load.iter_mut() {
            *w = adapt(*w, fl);
        }
        pen.tw = adapt(pen.tw, self.feas_tw as f64 / n);
        self.feas_load = 0;
        self.feas_tw = 0;
        self.seen = 0;
        if pen != self.ls.pen {
            self.ls.set_penalties(pen);
            self.ls.track();
            self.current_cost = self.ls.cost();
        }
    }

    /// Builds a first solution, the better of two: every client inserted at its cheapest
    /// position in random order, and a sweep order split into routes of the best vehicle types
    /// ([`super::split`]); each followed by a full local search, with strong penalties so that
    /// it starts feasible when it easily can (PyVRP also starts from its largest penalties).
    fn construct(&mut self) {
        let pen = self.ls.pen;
        let boosted = pen.scaled(CONSTRUCT_BOOST);
        self.ls.set_penalties(boosted);
        self.ls.load(&[]);
        let mut order: Vec<u32> = self.d.clients().collect();
        self.rng.shuffle(&mut order);
        self.removed = order;
        self.recreate(false);
        self.ls.exhaustive = true;
        self.ls.run(&mut self.rng);
        let mut sol = self.ls.solution();
        let cost = self.ls.cost();

        let limits = self.ls.limits().to_vec();
        let (routes, rest) = split::sweep_split(self.d, &boosted, &limits, &mut self.rng);
        self.ls.load(&routes);
        self.removed = rest;
        self.recreate(false);
        self.ls.run(&mut self.rng);
        if self.ls.cost() < cost {
            sol = self.ls.solution();
        }
        self.ls.set_penalties(pen);
        self.reset_to(&sol);
    }
}

/// Initial penalty weights: one unit of excess load costs as much as the longest arc over the
/// largest client load, one unit of time warp as one unit of distance at the average unit cost.
/// On a mixed fleet, a unit of excess load also costs at least what a unit of capacity costs in
/// fixed cost on any type, or overloading a route would beat opening a vehicle.
fn initial_penalties(d: &Data) -> Penalties {
    let unit = d.types.iter().map(|t| t.unit).sum::<f64>() / d.types.len().max(1) as f64;
    let mut load = [1.0; MAX_DIMS];
    for (k, w) in load.iter_mut().enumerate().take(d.dims) {
        let mut weight = d.max_dist * unit / d.max_load[k].max(1e-9);
        if !d.homogeneous {
            for t in &d.types {
                weight = weight.max(t.fixed / t.capacity[k].max(1e-9));
            }
        }
        *w = weight.clamp(PEN_MIN, PEN_MAX);
    }
    Penalties {
        load,
        tw: unit.max(PEN_MIN),
    }
}

/// Runs the search until `stop` says so; returns the best feasible solution found, or the
/// current (infeasible) one if none, with the iteration count.
pub fn run(
    d: &Data,
    cfg: &Config,
    stop: &mut dyn Stop,
    progress: &mut dyn FnMut(&Progress),
) -> (Routes, bool, u64) {
    let p = &cfg.params;
    let mut ls = LocalSearch::new(d);
    ls.swap_star = p.swap_star;
    ls.pen = initial_penalties(d);
    let mut s = Ils {
        d,
        cfg,
        rng: Rng::new(cfg.seed),
        ls,
        current: Vec::new(),
        current_cost: 0.0,
        best: None,
        feas_load: 0,
        feas_tw: 0,
        seen: 0,
        scale: 1.0,
        removed: Vec::new(),
        pool: Vec::new(),
    };
    let mut report = |s: &Ils, iter: u64| {
        if let Some(b) = &s.best {
            progress(&Progress {
                iteration: iter,
                vehicles: b.vehicles(),
                distance: b.objective,
                feasible: true,
            });
        }
    };
    s.construct();
    if s.consider() {
        report(&s, 0);
    }
    let reduce = cfg.objective == Objective::VehiclesDistance && d.homogeneous;
    let mut reducing = reduce;
    let mut iter: u64 = 0;
    // On a small instance a ruin of a quarter of the clients (1 or 2 of 7) moves too little to
    // leave a local optimum whose way out changes two routes at once (a mixed fleet with one
    // vehicle per type, found by the brute-force test); half of them does. From 40 clients on,
    // SISR's c̄ = 10 is the smaller bound and this cap plays no part.
    let average_removed = p.average_removed.min(d.n as f64 / 2.0).max(1.0);
    let mut runs = if reduce { 1 } else { p.restarts.max(1) };
    let mut decided = reduce || p.restarts > 0;
    let mut run_index = 0;
    while !stop.should_stop(iter) {
        iter += 1;
        let whole = stop.fraction(iter);
        if !decided && whole >= RUNS_DECIDED_AT {
            // The budget in iterations, projected from the pace so far (exact under an
            // iteration limit), per client: enough for several converged runs on a small
            // instance, less than one on a large one.
            decided = true;
            let per_client = iter as f64 / whole / d.n as f64;
            runs = ((per_client / p.run_iterations_per_client) as usize).clamp(1, MAX_RUNS);
        }
        let k = ((whole * runs as f64) as usize).min(runs - 1);
        if k > run_index {
            // A new independent run: fresh first solution, fresh schedule, empty pool; the
            // best so far is kept.
            run_index = k;
            s.pool.clear();
            s.construct();
            if s.consider() {
                report(&s, iter);
            }
        }
        let frac = whole * runs as f64 - run_index as f64;
        s.ls.track();
        s.ls.clear_marks();
        let draw = s.rng.unit();
        s.ls.exhaustive = false;
        if s.pool.len() > 1 && draw < p.exchange_rate {
            s.exchange_routes();
        } else if d.types.len() > 1 && draw < p.exchange_rate + p.resplit_rate && s.resplit() {
            s.ls.exhaustive = true;
        } else {
            s.ruin(average_removed, p.max_string);
            s.recreate(true);
        }
        s.ls.swap_star = p.swap_star && p.swap_star_always;
        s.ls.run(&mut s.rng);
        s.ls.swap_star = p.swap_star;
        let (objective, excess, warp, _) = s.ls.summary();
        s.seen += 1;
        s.feas_load += u64::from(excess <= 1e-9);
        s.feas_tw += u64::from(warp <= 1e-9);
        if s.consider() {
            // A new best: polish it with a full pass before it becomes current.
            s.ls.exhaustive = true;
            s.ls.run(&mut s.rng);
            s.ls.exhaustive = false;
            s.consider();
            report(&s, iter);
            if let Some(b) = &s.best {
                let o = b.objective;
                s.offer_to_pool(o);
            }
        } else if iter.is_multiple_of(POOL_EVERY) && objective > 0.0 {
            let (_, excess, warp, feasible) = s.ls.summary();
            if feasible && excess == 0.0 && warp == 0.0 {
                s.offer_to_pool(objective);
            }
        }
        let cand = s.ls.cost();
        s.scale = objective / (d.n + s.ls.used_routes()).max(1) as f64;
        let temp = p.temp_start * (p.temp_end / p.temp_start).powf(frac) * s.scale;
        let threshold = s.current_cost - temp * s.rng.unit().max(1e-300).ln();
        if cand < threshold {
            s.accept();
        } else {
            s.undo();
        }
        let window = if s.best.is_some() {
            PEN_WINDOW
        } else {
            PEN_WINDOW_NONE
        };
        if s.seen >= window {
            s.adapt_penalties();
        }
        if reducing && iter.is_multiple_of(RM_EVERY) {
            if frac > FLEET_PHASE_END {
                reducing = false;
            } else if let Some(b) = s.best.clone() {
                let routes: Vec<Vec<u32>> = b.routes.into_iter().map(|r| r.1).collect();
                if let Some(fewer) = eliminate_route(d, &routes, RM_STEPS, &mut s.rng) {
                    let fewer: Routes = fewer.into_iter().map(|r| (0, r)).collect();
                    s.ls.max_routes = fewer.len();
                    s.reset_to(&fewer);
                    if s.consider() {
                        report(&s, iter);
                    }
                }
            }
        }
    }
    match s.best {
        Some(b) => (b.routes, true, iter),
        None => (s.ls.solution(), false, iter),
    }
}
