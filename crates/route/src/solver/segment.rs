//! Route segments with constant-time concatenation of distance, load, duration and time warp.
//!
//! This is the time-warp evaluation of Vidal, Crainic, Gendreau & Prins, "A hybrid genetic
//! algorithm with adaptive diversity management for a large class of vehicle routing problems
//! with time-windows", Computers & OR 40 (2013), §4: a segment σ keeps its duration D(σ)
//! (travel, service and waiting), its time warp TW(σ), and the earliest E(σ) and latest L(σ)
//! start times of its first visit that achieve them. Concatenating two segments needs only the
//! travel time between them, so a move's effect on a route is known in O(1) from precomputed
//! prefix and suffix segments. Time warp (arriving "late" and travelling back in time) is the
//! penalised measure of time-window infeasibility; excess over the maximum route duration is
//! added to it.
//!
//! Loads follow the simultaneous pickup-and-delivery concatenation of Vidal, Crainic, Gendreau
//! & Prins, "A unified solution framework for multi-attribute vehicle routing problems", EJOR
//! 234 (2014), §4.2: a segment keeps what it delivers, what it picks up and the largest load on
//! board while it is driven when it starts loaded with exactly its own deliveries; then
//! `peak(σ1 ⊕ σ2) = max(peak(σ1) + delivery(σ2), pickup(σ1) + peak(σ2))`. Skills required by
//! a segment's clients are a bit set, so whether a vehicle may drive a segment is one test.

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
    /// Delivered per dimension (loaded at the route's start).
    pub delivery: [f64; MAX_DIMS],
    /// Picked up per dimension (carried to the route's end).
    pub pickup: [f64; MAX_DIMS],
    /// Largest load on board per dimension.
    pub peak: [f64; MAX_DIMS],
    /// Skills the segment's clients require, one bit per skill.
    pub skills: u64,
}

impl Seg {
    /// A segment of one visit with no travel inside it.
    pub fn visit(node: u32, window: (f64, f64), service: f64) -> Seg {
        Seg {
            first: node,
            last: node,
            clients: 0,
            dist: 0.0,
            dur: service,
            tw: 0.0,
            e: window.0,
            l: window.1,
            delivery: [0.0; MAX_DIMS],
            pickup: [0.0; MAX_DIMS],
            peak: [0.0; MAX_DIMS],
            skills: 0,
        }
    }

    /// σ1 ⊕ σ2 (Vidal et al. 2013, eq. 4–8; loads after Vidal et al. 2014).
    #[inline]
    pub fn concat(d: &Data, a: &Seg, b: &Seg) -> Seg {
        let t = d.time(a.last, b.first);
        let delta = a.dur - a.tw + t;
        let wait = (b.e - delta - a.l).max(0.0);
        let warp = (a.e + delta - b.l).max(0.0);
        let mut delivery = [0.0; MAX_DIMS];
        let mut pickup = [0.0; MAX_DIMS];
        let mut peak = [0.0; MAX_DIMS];
        for k in 0..d.dims {
            delivery[k] = a.delivery[k] + b.delivery[k];
            pickup[k] = a.pickup[k] + b.pickup[k];
            peak[k] = (a.peak[k] + b.delivery[k]).max(a.pickup[k] + b.peak[k]);
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
            delivery,
            pickup,
            peak,
            skills: a.skills | b.skills,
        }
    }
}

/// Weights of the penalised infeasibility terms, adapted during the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Penalties {
    /// Cost per unit of load above capacity, per dimension.
    pub load: [f64; MAX_DIMS],
    /// Cost per unit of time warp.
    pub tw: f64,
}

impl Penalties {
    /// Every weight multiplied by `f`.
    pub fn scaled(&self, f: f64) -> Penalties {
        Penalties {
            load: self.load.map(|w| w * f),
            tw: self.tw * f,
        }
    }
}

/// The parts of a complete route's cost: what the objective counts and what is penalised.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RouteCost {
    /// Distance times the vehicle's unit cost, plus its fixed cost (0 for an empty route).
    pub objective: f64,
    /// Load excess per dimension.
    pub excess: [f64; MAX_DIMS],
    /// Time warp including excess duration.
    pub warp: f64,
    /// The vehicle may not drive it (a skill is missing).
    pub forbidden: bool,
}

impl RouteCost {
    /// Objective plus weighted infeasibility; infinite when forbidden.
    #[inline]
    pub fn penalised(&self, p: &Penalties) -> f64 {
        if self.forbidden {
            return f64::INFINITY;
        }
        let mut c = self.objective + p.tw * self.warp;
        for (x, w) in self.excess.iter().zip(&p.load) {
            c += w * x;
        }
        c
    }

    /// No load excess and no time warp (and allowed).
    #[inline]
    pub fn feasible(&self) -> bool {
        !self.forbidden && self.warp <= 1e-9 && self.excess.iter().all(|x| *x <= 1e-9)
    }
}

/// Cost parts of the complete route `s` (start depot .. end depot) driven by a vehicle of type
/// `t`.
#[inline]
pub fn route_cost(d: &Data, t: usize, s: &Seg) -> RouteCost {
    if s.clients == 0 {
        return RouteCost::default();
    }
    let vt = &d.types[t];
    let mut excess = [0.0; MAX_DIMS];
    for (k, x) in excess.iter_mut().enumerate().take(d.dims) {
        *x = (s.peak[k] - vt.capacity[k]).max(0.0);
    }
    RouteCost {
        objective: vt.fixed + vt.unit * s.dist,
        excess,
        // D counts warped time too: the clock time on the road is D − TW (as in PyVRP).
        warp: s.tw + (s.dur - s.tw - vt.max_duration).max(0.0),
        forbidden: s.skills & !vt.skills != 0,
    }
}
