//! One route of the search: its vehicle type, its visits between the type's depots, and the
//! prefix and suffix segments that make every move's evaluation O(1).
//!
//! Routes that contain a client with several time windows are evaluated exactly by a forward
//! simulation ([`exact_cost`]) instead of through segments, whose single `[E, L]` window cannot
//! express the gaps between windows. Such routes are flagged `multi`; the search evaluates
//! moves touching them by materialising the new visits.

use super::data::Data;
use super::segment::{Penalties, RouteCost, Seg, route_cost};

/// A route bound to a vehicle type.
#[derive(Debug, Clone)]
pub struct Route {
    /// Vehicle type.
    pub vtype: u32,
    /// Start depot, clients in order, end depot.
    pub visits: Vec<u32>,
    /// `fwd[k]`: segment of `visits[0..=k]`.
    pub fwd: Vec<Seg>,
    /// `bwd[k]`: segment of `visits[k..]`.
    pub bwd: Vec<Seg>,
    /// `open[k]` for a client position k: segment of the clients `visits[k..last]`, without the
    /// end depot (lets another type's depot close it in O(1)).
    pub open: Vec<Seg>,
    /// Cost parts.
    pub cost: RouteCost,
    /// Penalised cost under the current penalties.
    pub pen: f64,
    /// Search stamp of the last change.
    pub modified: u64,
    /// Contains a client with several time windows.
    pub multi: bool,
}

impl Route {
    /// An empty route of type `t`.
    pub fn empty(d: &Data, t: u32) -> Route {
        let vt = &d.types[t as usize];
        Route {
            vtype: t,
            visits: vec![vt.start, vt.end],
            fwd: vec![vt.start_seg, Seg::concat(d, &vt.start_seg, &vt.end_seg)],
            bwd: vec![Seg::concat(d, &vt.start_seg, &vt.end_seg), vt.end_seg],
            open: vec![vt.end_seg, vt.end_seg],
            cost: RouteCost::default(),
            pen: 0.0,
            modified: 0,
            multi: false,
        }
    }

    /// Index of the end depot.
    #[inline]
    pub fn last(&self) -> usize {
        self.visits.len() - 1
    }

    /// Number of clients.
    #[inline]
    pub fn len(&self) -> usize {
        self.visits.len() - 2
    }

    /// No client.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.visits.len() == 2
    }

    /// Client nodes in visit order.
    pub fn clients(&self) -> &[u32] {
        &self.visits[1..self.visits.len() - 1]
    }

    /// Recomputes segments and cost after `visits` changed.
    pub fn update(&mut self, d: &Data, pen: &Penalties) {
        let vt = &d.types[self.vtype as usize];
        let len = self.visits.len();
        self.fwd.clear();
        let mut s = vt.start_seg;
        self.fwd.push(s);
        for k in 1..len - 1 {
            s = Seg::concat(d, &s, &d.node_seg[self.visits[k] as usize]);
            self.fwd.push(s);
        }
        self.fwd.push(Seg::concat(d, &s, &vt.end_seg));
        self.bwd.clear();
        self.bwd.resize(len, vt.end_seg);
        self.open.clear();
        self.open.resize(len, vt.end_seg);
        let mut b = vt.end_seg;
        let mut o: Option<Seg> = None;
        for k in (1..len - 1).rev() {
            let c = &d.node_seg[self.visits[k] as usize];
            b = Seg::concat(d, c, &b);
            self.bwd[k] = b;
            let oo = match &o {
                Some(x) => Seg::concat(d, c, x),
                None => *c,
            };
            self.open[k] = oo;
            o = Some(oo);
        }
        self.bwd[0] = Seg::concat(d, &vt.start_seg, &b);
        self.multi = d.has_multi
            && self
                .clients()
                .iter()
                .any(|&c| !d.windows[c as usize].is_empty());
        self.cost = if self.multi {
            exact_cost(d, self.vtype as usize, self.clients())
        } else {
            route_cost(d, self.vtype as usize, &self.fwd[len - 1])
        };
        self.pen = self.cost.penalised(pen);
    }

    /// Recomputes only the penalised cost (after a change of penalties).
    pub fn reprice(&mut self, pen: &Penalties) {
        self.pen = self.cost.penalised(pen);
    }
}

/// Cost parts of a route of type `t` through `clients`, by forward simulation with every
/// client's own windows: service starts in the earliest window still open on arrival (waiting
/// for it if need be); arriving after the last window warps back to its end. The duration is
/// the shortest achievable for this order (departure delayed by a backward pass), as the
/// checker computes it.
pub fn exact_cost(d: &Data, t: usize, clients: &[u32]) -> RouteCost {
    if clients.is_empty() {
        return RouteCost::default();
    }
    let vt = &d.types[t];
    let mut seg = vt.start_seg;
    let mut warp = 0.0;
    let mut t_now = vt.start_seg.e;
    let mut at = vt.start;
    let mut starts = Vec::with_capacity(clients.len());
    let mut ends = Vec::with_capacity(clients.len());
    for &c in clients {
        seg = Seg::concat(d, &seg, &d.node_seg[c as usize]);
        let arrival = t_now + d.time(at, c);
        let s = &d.node_seg[c as usize];
        let (start, end, late) = if d.windows[c as usize].is_empty() {
            choose_window(&[(s.e, s.l)], arrival)
        } else {
            choose_window(&d.windows[c as usize], arrival)
        };
        warp += late;
        starts.push(start);
        ends.push(end);
        t_now = start + d.node_seg[c as usize].dur;
        at = c;
    }
    seg = Seg::concat(d, &seg, &vt.end_seg);
    let back = t_now + d.time(at, vt.end);
    warp += (back - vt.end_seg.l).max(0.0);
    // Latest departure that keeps every start: a backward pass from the return.
    let mut latest = back - d.time(at, vt.end);
    for k in (0..clients.len()).rev() {
        let s = latest.min(ends[k]).max(starts[k]);
        latest = if k > 0 {
            s - d.time(clients[k - 1], clients[k]) - d.node_seg[clients[k - 1] as usize].dur
        } else {
            s - d.time(vt.start, clients[0])
        };
    }
    let leave = latest.max(vt.start_seg.e);
    let duration = back - leave;
    let mut cost = route_cost(d, t, &seg);
    cost.warp = warp + (duration - vt.max_duration).max(0.0);
    cost
}

/// Service start, the end of the window used, and the warp, for an arrival at a client with
/// the sorted windows `ws`.
fn choose_window(ws: &[(f64, f64)], arrival: f64) -> (f64, f64, f64) {
    match ws.iter().find(|w| arrival <= w.1) {
        Some(w) => (arrival.max(w.0), w.1, 0.0),
        None => {
            let last = ws.last().map_or(arrival, |w| w.1);
            (last, last, arrival - last)
        }
    }
}
