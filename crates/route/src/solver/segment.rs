//! Route segments with constant-time concatenation of distance, load, duration and time warp.
//!
//! This is the time-warp evaluation of Vidal, Crainic, Gendreau & Prins, "A hybrid genetic
//! algorithm with adaptive diversity management for a large class of vehicle routing problems
//! with time-windows", Computers & OR 40 (2013), §4: a segment σ keeps its duration D(σ)
//! (travel, service and waiting), its time warp TW(σ), and the earliest E(σ) and latest L(σ)
//! start times of its first visit that achieve them. Concatenating two segments needs only the
//! travel time between them, so a move's effect on a route is known in O(1) from precomputed
//! prefix and suffix segments. Time warp (arriving "late" and travelling back in time) is the
//! penalised measure of time-window infeasibility. Max route duration is added as extra warp.

use super::data::{Data, MAX_DIMS};

/// A sequence of consecutive visits summarised for O(1) concatenation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seg {
    /// First node.
    pub first: u32,
    /// Last node.
    pub last: u32,
    /// Number of client visits in the segment.
    pub clients: u32,
    /// Travelled distance inside the segment.
    pub dist: f64,
    /// Duration D: travel, service and waiting.
    pub dur: f64,
    /// Time warp TW.
    pub tw: f64,
    /// Earliest start E.
    pub e: f64,
    /// Latest start L (without adding warp).
    pub l: f64,
    /// Load per dimension.
    pub load: [f64; MAX_DIMS],
}

impl Seg {
    /// The segment made of node `i` alone.
    #[inline]
    pub fn node(d: &Data, i: u32) -> Seg {
        d.node_seg[i as usize]
    }

    /// σ1 ⊕ σ2 (Vidal et al. 2013, eq. 4–8).
    #[inline]
    pub fn concat(d: &Data, a: &Seg, b: &Seg) -> Seg {
        let t = d.time(a.last, b.first);
        let delta = a.dur - a.tw + t;
        let wait = (b.e - delta - a.l).max(0.0);
        let warp = (a.e + delta - b.l).max(0.0);
        let mut load = [0.0; MAX_DIMS];
        for (l, (x, y)) in load.iter_mut().zip(a.load.iter().zip(&b.load)) {
            *l = x + y;
        }
        Seg {
            first: a.first,
            last: b.last,
            clients: a.clients + b.clients,
            dist: a.dist + b.dist + d.dist(a.last, b.first),
            dur: a.dur + b.dur + t + wait,
            tw: a.tw + b.tw + warp,
            e: (b.e - delta).max(a.e) - wait,
            l: (b.l - delta).min(a.l) + warp,
            load,
        }
    }

    /// Total time warp of a complete route, including excess over the max route duration.
    #[inline]
    pub fn route_warp(&self, d: &Data) -> f64 {
        self.tw + (self.dur - d.max_duration).max(0.0)
    }

    /// Total load excess of a complete route, summed over dimensions.
    #[inline]
    pub fn excess(&self, d: &Data) -> f64 {
        let mut x = 0.0;
        for k in 0..d.dims {
            x += (self.load[k] - d.capacity[k]).max(0.0);
        }
        x
    }
}

/// Weights of the penalised infeasibility terms, adapted during the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Penalties {
    /// Cost per unit of load above capacity.
    pub load: f64,
    /// Cost per unit of time warp.
    pub tw: f64,
}

/// Penalised cost of a complete route segment (start depot .. end depot); 0 if it is empty.
#[inline]
pub fn route_cost(d: &Data, s: &Seg, p: &Penalties) -> f64 {
    if s.clients == 0 {
        return 0.0;
    }
    s.dist + d.route_fixed + p.load * s.excess(d) + p.tw * s.route_warp(d)
}
