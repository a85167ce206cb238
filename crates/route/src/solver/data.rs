//! The solver's flat view of a [`Problem`]: dense node numbering, a node-to-node matrix, vehicle
//! types, per-node segments and granular neighbour lists.
//!
//! Nodes `0..depots` are the distinct locations where vehicles start or end, nodes
//! `depots..depots + n` the jobs in input order (job `j` is node `depots + j`). Vehicles that
//! differ only by their id form one [`VehicleType`]; routes of one type are interchangeable,
//! which is what lets the search keep a single empty route per type.

use super::segment::Seg;
use crate::error::SolveError;
use crate::model::{EPS, Problem};

/// Capacity dimensions the solver handles (kg, m³, pallets).
pub const MAX_DIMS: usize = 3;
/// Distinct skills the solver handles (one bit each).
pub const MAX_SKILLS: usize = 64;

/// Weight of waiting time in the granular proximity (Vidal et al. 2013, §4.1; also PyVRP).
const WEIGHT_WAIT: f64 = 0.2;
/// Weight of time-window infeasibility in the granular proximity.
const WEIGHT_TW: f64 = 1.0;

/// Identical vehicles, as the solver sees them.
#[derive(Debug, Clone)]
pub struct VehicleType {
    /// Indices of the problem's vehicles of this type.
    pub vehicles: Vec<usize>,
    /// Start depot node.
    pub start: u32,
    /// End depot node.
    pub end: u32,
    /// Capacity per dimension.
    pub capacity: [f64; MAX_DIMS],
    /// Maximum route duration (infinite if none).
    pub max_duration: f64,
    /// Fixed cost of a used vehicle, plus the weight of the hierarchical objective.
    pub fixed: f64,
    /// Cost per unit of distance.
    pub unit: f64,
    /// Skills of the crew, one bit each.
    pub skills: u64,
    /// Segment of the start depot (its window is the shift).
    pub start_seg: Seg,
    /// Segment of the end depot.
    pub end_seg: Seg,
}

/// Dense solver data.
#[derive(Debug, Clone)]
pub struct Data {
    /// Number of clients.
    pub n: usize,
    /// Number of depot nodes (clients start at this node number).
    pub depots: usize,
    /// Nodes: `depots + n`.
    pub nodes: usize,
    dist: Vec<f64>,
    time: Vec<f64>,
    /// One-node segment per node (depots: the location alone, unbounded window).
    pub node_seg: Vec<Seg>,
    /// Capacity dimensions in use.
    pub dims: usize,
    /// Vehicle types.
    pub types: Vec<VehicleType>,
    /// Per client node (index `node - depots`): the types that may serve it alone.
    pub allowed: Vec<Vec<u32>>,
    /// Granular neighbours of each client node (empty for depots).
    pub neighbours: Vec<Vec<u32>>,
    /// Coordinates of each node (for angles and geometric decompositions).
    pub xy: Vec<(f64, f64)>,
    /// Largest load over clients per dimension (for the initial load penalty).
    pub max_load: [f64; MAX_DIMS],
    /// Largest distance in the matrix.
    pub max_dist: f64,
    /// Distances are symmetric (reversed paths have the same length).
    pub symmetric: bool,
    /// Every vehicle is of one type.
    pub homogeneous: bool,
    /// Some client picks goods up.
    pub has_pickups: bool,
    /// Per node, its time windows when it has several (empty otherwise): routes through such
    /// clients are evaluated exactly, others through segments.
    pub windows: Vec<Vec<(f64, f64)>>,
    /// Some client has several time windows.
    pub has_multi: bool,
}

impl Data {
    /// Builds solver data; `vehicle_weight` is added to every used route's cost. Fails when a
    /// job can be served by no vehicle.
    pub fn new(p: &Problem, vehicle_weight: f64, granularity: usize) -> Result<Data, SolveError> {
        p.ensure_servable()?;
        Self::build(p, vehicle_weight, granularity)
    }

    /// [`Data::new`] without the servability check (for evaluating a fixed plan).
    pub fn build(p: &Problem, vehicle_weight: f64, granularity: usize) -> Result<Data, SolveError> {
        if p.dims > MAX_DIMS {
            return Err(SolveError::Unsupported(format!(
                "more than {MAX_DIMS} capacity dimensions"
            )));
        }
        // Only skills some job requires get a bit: a vehicle's other skills decide nothing,
        // so a fleet may hold any number of them.
        let mut skill_names: Vec<&str> = Vec::new();
        for s in p.jobs.iter().flat_map(|j| &j.skills) {
            if !skill_names.contains(&s.as_str()) {
                skill_names.push(s);
            }
        }
        if skill_names.len() > MAX_SKILLS {
            return Err(SolveError::Unsupported(format!(
                "jobs requiring more than {MAX_SKILLS} distinct skills"
            )));
        }
        let mask = |names: &[String]| {
            names.iter().fold(0u64, |m, s| {
                m | skill_names
                    .iter()
                    .position(|x| *x == s.as_str())
                    .map_or(0, |k| 1u64 << k)
            })
        };
        // Depot nodes: every location where some vehicle starts or ends, in order of appearance.
        let mut depot_loc: Vec<usize> = Vec::new();
        for v in &p.vehicles {
            for l in [v.start, v.end] {
                if !depot_loc.contains(&l) {
                    depot_loc.push(l);
                }
            }
        }
        let depots = depot_loc.len();
        let n = p.jobs.len();
        let nodes = depots + n;
        let loc: Vec<usize> = depot_loc
            .iter()
            .copied()
            .chain(p.jobs.iter().map(|j| j.location))
            .collect();
        let mut dist = vec![0.0; nodes * nodes];
        let mut time = vec![0.0; nodes * nodes];
        for a in 0..nodes {
            for b in 0..nodes {
                dist[a * nodes + b] = p.matrix.dist(loc[a], loc[b]);
                time[a * nodes + b] = p.matrix.time(loc[a], loc[b]);
            }
        }
        let node_of_depot = |l: usize| depot_loc.iter().position(|&x| x == l).unwrap_or(0) as u32;
        // A tiny slack makes the solver's feasibility agree with the checker's EPS on float
        // noise, without ever accepting what the checker rejects.
        let slack = EPS * 0.01;
        let types: Vec<VehicleType> = p
            .vehicle_types()
            .into_iter()
            .map(|t| {
                let v = &p.vehicles[t.vehicles[0]];
                let mut capacity = [0.0; MAX_DIMS];
                capacity[..p.dims].copy_from_slice(&v.capacity);
                let (start, end) = (node_of_depot(v.start), node_of_depot(v.end));
                VehicleType {
                    vehicles: t.vehicles,
                    start,
                    end,
                    capacity,
                    max_duration: v.max_duration.unwrap_or(f64::INFINITY) + slack,
                    fixed: v.fixed_cost + vehicle_weight,
                    unit: v.unit_cost,
                    skills: mask(&v.skills),
                    start_seg: Seg::visit(start, (v.shift.start, v.shift.end), 0.0),
                    end_seg: Seg::visit(end, (v.shift.start, v.shift.end + slack), 0.0),
                }
            })
            .collect();
        let mut node_seg: Vec<Seg> = (0..depots as u32)
            .map(|k| Seg::visit(k, (0.0, f64::INFINITY), 0.0))
            .collect();
        let mut windows = vec![Vec::new(); depots];
        let mut max_load = [0.0f64; MAX_DIMS];
        for (k, j) in p.jobs.iter().enumerate() {
            let node = (depots + k) as u32;
            let first = j.windows[0];
            let last = j.windows[j.windows.len() - 1];
            // Several windows: segments see their envelope; the search evaluates such routes
            // exactly (see `search`).
            let mut s = Seg::visit(node, (first.start, last.end + slack), j.service);
            s.clients = 1;
            for (dim, max) in max_load.iter_mut().enumerate().take(p.dims) {
                s.delivery[dim] = j.delivery[dim];
                s.pickup[dim] = j.pickup[dim];
                s.peak[dim] = j.delivery[dim].max(j.pickup[dim]);
                *max = max.max(s.peak[dim]);
            }
            s.skills = mask(&j.skills);
            node_seg.push(s);
            windows.push(if j.windows.len() > 1 {
                j.windows.iter().map(|w| (w.start, w.end + slack)).collect()
            } else {
                Vec::new()
            });
        }
        let allowed = p
            .jobs
            .iter()
            .map(|j| {
                types
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| p.why_not(j, &p.vehicles[t.vehicles[0]]).is_none())
                    .map(|(k, _)| k as u32)
                    .collect()
            })
            .collect();
        let xy = loc
            .iter()
            .map(|&l| p.locations.get(l).map_or((0.0, 0.0), |q| (q.x, q.y)))
            .collect();
        let max_dist = dist.iter().copied().fold(0.0, f64::max);
        let symmetric =
            (0..nodes).all(|a| (0..a).all(|b| dist[a * nodes + b] == dist[b * nodes + a]));
        let homogeneous = types.len() == 1;
        let has_pickups = p.jobs.iter().any(|j| j.pickup.iter().any(|x| *x > 0.0));
        let mut d = Data {
            n,
            depots,
            nodes,
            dist,
            time,
            node_seg,
            dims: p.dims,
            types,
            allowed,
            neighbours: Vec::new(),
            xy,
            max_load,
            max_dist,
            symmetric,
            homogeneous,
            has_pickups,
            has_multi: windows.iter().any(|w| !w.is_empty()),
            windows,
        };
        if granularity > 0 {
            d.neighbours = d.granular(granularity);
        } else {
            d.neighbours = vec![Vec::new(); d.nodes];
        }
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

    /// The client node of job index `j`.
    #[inline]
    pub fn node_of_job(&self, j: usize) -> u32 {
        (self.depots + j) as u32
    }

    /// The job index of client node `c`.
    #[inline]
    pub fn job_of_node(&self, c: u32) -> usize {
        c as usize - self.depots
    }

    /// True for a client node.
    #[inline]
    pub fn is_client(&self, c: u32) -> bool {
        c as usize >= self.depots
    }

    /// Client nodes.
    pub fn clients(&self) -> std::ops::Range<u32> {
        self.depots as u32..self.nodes as u32
    }

    /// Whether a vehicle of type `t` may serve client node `c` (skills and size alone).
    #[inline]
    pub fn may_serve(&self, t: usize, c: u32) -> bool {
        self.allowed[self.job_of_node(c)].contains(&(t as u32))
    }

    /// The `k` closest clients of each client by the time-window-aware proximity of Vidal et
    /// al. (2013, §4.1): distance plus weighted minimum waiting time plus weighted minimum time
    /// warp, symmetrised with the minimum of both directions (as PyVRP does). Clients that no
    /// common vehicle type may serve together are not neighbours.
    fn granular(&self, k: usize) -> Vec<Vec<u32>> {
        let prox = |i: u32, j: u32| {
            let (a, b) = (&self.node_seg[i as usize], &self.node_seg[j as usize]);
            let t = self.time(i, j);
            self.dist(i, j)
                + WEIGHT_WAIT * (b.e - a.dur - t - a.l).max(0.0)
                + WEIGHT_TW * (a.e + a.dur + t - b.l).max(0.0)
        };
        let compatible = |i: u32, j: u32| {
            let (a, b) = (
                &self.allowed[self.job_of_node(i)],
                &self.allowed[self.job_of_node(j)],
            );
            a.iter().any(|t| b.contains(t))
        };
        let mut out = vec![Vec::new(); self.nodes];
        let mut c: Vec<(f64, u32)> = Vec::with_capacity(self.n);
        for i in self.clients() {
            c.clear();
            c.extend(
                self.clients()
                    .filter(|&j| j != i && (self.homogeneous || compatible(i, j)))
                    .map(|j| (prox(i, j).min(prox(j, i)), j)),
            );
            let kk = k.min(c.len());
            if kk == 0 {
                continue;
            }
            c.select_nth_unstable_by(kk - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            c.truncate(kk);
            c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            out[i as usize] = c.iter().map(|x| x.1).collect();
        }
        out
    }

    /// Complete segment of a route of type `t` through `clients`.
    pub fn route_seg(&self, t: usize, clients: &[u32]) -> Seg {
        let vt = &self.types[t];
        let mut s = vt.start_seg;
        for &c in clients {
            s = Seg::concat(self, &s, &self.node_seg[c as usize]);
        }
        Seg::concat(self, &s, &vt.end_seg)
    }
}
