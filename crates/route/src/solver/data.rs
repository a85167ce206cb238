//! The solver's flat view of a [`Problem`]: dense node numbering, a node-to-node matrix, per-node
//! segments and granular neighbour lists.
//!
//! Node 0 is the start depot, nodes `1..=n` are the jobs in input order, node `n+1` the end
//! depot. The fleet is homogeneous (checked in [`Data::new`]), which is what lets split and the
//! crossover treat routes as interchangeable.

use super::segment::Seg;
use crate::error::SolveError;
use crate::model::{EPS, Problem};

/// Capacity dimensions the solver handles (kg, m³, pallets).
pub const MAX_DIMS: usize = 3;

/// Weight of waiting time in the granular proximity (Vidal et al. 2013, §4.1; also PyVRP).
const WEIGHT_WAIT: f64 = 0.2;
/// Weight of time-window infeasibility in the granular proximity.
const WEIGHT_TW: f64 = 1.0;

/// Dense solver data.
#[derive(Debug, Clone)]
pub struct Data {
    /// Number of clients.
    pub n: usize,
    /// Nodes: `n + 2`.
    pub nodes: usize,
    dist: Vec<f64>,
    time: Vec<f64>,
    /// One-node segment per node.
    pub node_seg: Vec<Seg>,
    /// Capacity dimensions in use.
    pub dims: usize,
    /// Capacity per dimension.
    pub capacity: [f64; MAX_DIMS],
    /// Max route duration (infinite if none).
    pub max_duration: f64,
    /// Cost of a used vehicle in the objective (fixed cost, plus the vehicle weight of the
    /// hierarchical objective).
    pub route_fixed: f64,
    /// Vehicles available.
    pub fleet: usize,
    /// Granular neighbours of each client (empty for depots).
    pub neighbours: Vec<Vec<u32>>,
    /// Polar angle of each node around the start depot.
    pub angle: Vec<f64>,
    /// Largest demand over clients and dimensions (for the initial load penalty).
    pub max_demand: f64,
    /// Largest distance in the matrix.
    pub max_dist: f64,
    /// Distances are symmetric (reversed paths have the same length).
    pub symmetric: bool,
}

impl Data {
    /// Builds solver data; `vehicle_weight` is added to every used route's cost.
    pub fn new(p: &Problem, vehicle_weight: f64, granularity: usize) -> Result<Data, SolveError> {
        p.ensure_servable()?;
        let v0 = &p.vehicles[0];
        if p.vehicles.iter().any(|v| {
            v.start != v0.start
                || v.end != v0.end
                || v.capacity != v0.capacity
                || v.shift != v0.shift
                || v.max_duration != v0.max_duration
                || v.skills != v0.skills
                || v.fixed_cost != v0.fixed_cost
        }) {
            return Err(SolveError::Unsupported("a heterogeneous fleet".into()));
        }
        if p.dims > MAX_DIMS {
            return Err(SolveError::Unsupported(format!(
                "more than {MAX_DIMS} capacity dimensions"
            )));
        }
        if let Some(j) = p.jobs.iter().find(|j| j.windows.len() > 1) {
            return Err(SolveError::Unsupported(format!(
                "several time windows (job {})",
                j.id
            )));
        }
        let n = p.jobs.len();
        let nodes = n + 2;
        let loc: Vec<usize> = std::iter::once(v0.start)
            .chain(p.jobs.iter().map(|j| j.location))
            .chain(std::iter::once(v0.end))
            .collect();
        let mut dist = vec![0.0; nodes * nodes];
        let mut time = vec![0.0; nodes * nodes];
        for a in 0..nodes {
            for b in 0..nodes {
                dist[a * nodes + b] = p.matrix.dist(loc[a], loc[b]);
                time[a * nodes + b] = p.matrix.time(loc[a], loc[b]);
            }
        }
        let mut capacity = [0.0; MAX_DIMS];
        capacity[..p.dims].copy_from_slice(&v0.capacity);
        let depot_seg = |i: u32| Seg {
            first: i,
            last: i,
            clients: 0,
            dist: 0.0,
            dur: 0.0,
            tw: 0.0,
            e: v0.shift.start,
            l: v0.shift.end,
            load: [0.0; MAX_DIMS],
        };
        let mut node_seg = vec![depot_seg(0)];
        for (k, j) in p.jobs.iter().enumerate() {
            let mut load = [0.0; MAX_DIMS];
            load[..p.dims].copy_from_slice(&j.demand);
            let w = j.windows[0];
            node_seg.push(Seg {
                first: k as u32 + 1,
                last: k as u32 + 1,
                clients: 1,
                dist: 0.0,
                dur: j.service,
                tw: 0.0,
                e: w.start,
                // A tiny slack makes the solver's feasibility agree with the checker's EPS
                // on float noise, without ever accepting what the checker rejects.
                l: w.end + EPS * 0.01,
                load,
            });
        }
        node_seg.push(depot_seg(n as u32 + 1));
        if let Some(s) = node_seg.last_mut() {
            s.l = v0.shift.end + EPS * 0.01;
        }
        let depot = p
            .locations
            .get(v0.start)
            .copied()
            .unwrap_or(crate::model::Location { x: 0.0, y: 0.0 });
        let angle = loc
            .iter()
            .map(|&l| {
                let q = p.locations.get(l).copied().unwrap_or(depot);
                (q.y - depot.y).atan2(q.x - depot.x)
            })
            .collect();
        let max_demand = p
            .jobs
            .iter()
            .flat_map(|j| j.demand.iter().copied())
            .fold(0.0, f64::max);
        let max_dist = dist.iter().copied().fold(0.0, f64::max);
        let symmetric =
            (0..nodes).all(|a| (0..a).all(|b| dist[a * nodes + b] == dist[b * nodes + a]));
        let mut d = Data {
            n,
            nodes,
            dist,
            time,
            node_seg,
            dims: p.dims,
            capacity,
            max_duration: v0.max_duration.unwrap_or(f64::INFINITY),
            route_fixed: v0.fixed_cost + vehicle_weight,
            // More routes than clients are never useful; this also bounds the search state.
            fleet: p.vehicles.len().min(n.max(1)),
            neighbours: Vec::new(),
            angle,
            max_demand,
            max_dist,
            symmetric,
        };
        d.neighbours = d.granular(granularity);
        Ok(d)
    }

    /// Distance between nodes.
    #[inline]
    pub fn dist(&self, a: u32, b: u32) -> f64 {
        self.dist[a as usize * self.nodes + b as usize]
    }

    /// Travel time between nodes.
    #[inline]
    pub fn time(&self, a: u32, b: u32) -> f64 {
        self.time[a as usize * self.nodes + b as usize]
    }

    /// The `k` closest clients of each client by the time-window-aware proximity of Vidal et
    /// al. (2013, §4.1): distance plus weighted minimum waiting time plus weighted minimum time
    /// warp, symmetrised with the minimum of both directions (as PyVRP does).
    fn granular(&self, k: usize) -> Vec<Vec<u32>> {
        let n = self.n;
        let prox = |i: usize, j: usize| {
            let (a, b) = (&self.node_seg[i], &self.node_seg[j]);
            let t = self.time(i as u32, j as u32);
            self.dist(i as u32, j as u32)
                + WEIGHT_WAIT * (b.e - a.dur - t - a.l).max(0.0)
                + WEIGHT_TW * (a.e + a.dur + t - b.l).max(0.0)
        };
        let mut out = vec![Vec::new(); self.nodes];
        for (i, slot) in out.iter_mut().enumerate().take(n + 1).skip(1) {
            let mut c: Vec<(f64, u32)> = (1..=n)
                .filter(|&j| j != i)
                .map(|j| (prox(i, j).min(prox(j, i)), j as u32))
                .collect();
            c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            c.truncate(k);
            *slot = c.into_iter().map(|x| x.1).collect();
        }
        out
    }

    /// Cost-bearing summary of a whole route given as client nodes.
    pub fn route_seg(&self, clients: &[u32]) -> Seg {
        let mut s = self.node_seg[0];
        for &c in clients {
            s = Seg::concat(self, &s, &self.node_seg[c as usize]);
        }
        Seg::concat(self, &s, &self.node_seg[self.n + 1])
    }
}
