//! Local search: granular neighbourhoods explored with relocate, swap, 2-opt and 2-opt* moves,
//! moves into an empty vehicle of every type, whole-route changes of vehicle type and SWAP*,
//! first improvement, on penalised costs.
//!
//! The loop follows HGS-CVRP (Vidal, "Hybrid genetic search for the CVRP: open-source
//! implementation and SWAP* neighborhood", Computers & OR 140, 2022, §3.3): clients in random
//! order, each paired with its granular neighbours (Toth & Vigo's granular idea as used by Vidal
//! et al. 2013), a pair being re-examined only if one of its routes changed since the client was
//! last tested. The state persists between calls, so after a small ruin-and-recreate only the
//! pairs whose routes changed are evaluated again; a "promising" set (the clients the
//! perturbation touched, growing with every applied move, as in PyVRP 0.13+) limits which
//! clients are scanned at all.
//!
//! Every move is described as a [`Plan`]: the new content of one or two routes as a short list
//! of pieces of the current routes. Each route begins with its own start depot and ends with its
//! own end depot, so a piece taken from a route of another type never brings that type's
//! depots along. `evaluate` concatenates the pieces' precomputed prefix/suffix [`Seg`]ments
//! (O(1) per piece for prefix/suffix pieces), `apply` materialises the same pieces, so the
//! evaluated delta and the applied change cannot disagree (property-tested in
//! `tests/moves.rs`). Operators are `evaluate` + `apply`, as in PyVRP (Wouda, Lan & Kool,
//! "PyVRP: a high-performance VRP solver package", INFORMS J. Computing 2024).

use super::data::Data;
use super::rng::Rng;
use super::route::{Route, exact_cost};
use super::segment::{Penalties, Seg, route_cost};

/// A move must gain at least this much to be applied (avoids cycling on float noise).
/// Applied moves per client after which one descent stops (a guard; see [`LocalSearch::run`]).
const MAX_MOVES_PER_CLIENT: u64 = 50;
pub const MIN_GAIN: f64 = 1e-7;

/// Route index of an unrouted client.
pub const NONE: u32 = u32::MAX;

/// Consecutive visits `a..=b` of route `r`, forward or reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Visits `a..=b` of route `r` in order.
    Fwd(u16, u16, u16),
    /// Visits `a..=b` of route `r` in reverse order.
    Rev(u16, u16, u16),
}

/// The new content of up to two routes, as pieces of the current routes.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    routes: [u16; 2],
    nroutes: u8,
    len: [u8; 2],
    pieces: [[Piece; 5]; 2],
}

impl Default for Plan {
    fn default() -> Self {
        Self::new()
    }
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Self {
        Plan {
            routes: [0; 2],
            nroutes: 0,
            pieces: [[Piece::Fwd(0, 0, 0); 5]; 2],
            len: [0; 2],
        }
    }

    /// Sets the new content of route `r`; empty pieces (`a > b`) are dropped.
    #[inline]
    pub fn route(&mut self, r: usize, pieces: &[Piece]) -> &mut Self {
        let k = self.nroutes as usize;
        self.routes[k] = r as u16;
        let mut n = 0;
        for &p in pieces {
            let (a, b) = match p {
                Piece::Fwd(_, a, b) | Piece::Rev(_, a, b) => (a, b),
            };
            if a <= b {
                self.pieces[k][n] = p;
                n += 1;
            }
        }
        self.len[k] = n as u8;
        self.nroutes += 1;
        self
    }

    fn clear(&mut self) {
        self.nroutes = 0;
    }

    fn route_pieces(&self, k: usize) -> &[Piece] {
        &self.pieces[k][..self.len[k] as usize]
    }
}

/// Forward piece of route `r` from `a` to `b` (positions).
#[inline]
fn fwd(r: usize, a: usize, b: usize) -> Piece {
    Piece::Fwd(r as u16, a as u16, b as u16)
}

/// The move families. `Exchange { n, m, reverse }` swaps `n` consecutive clients starting at
/// u with `m` starting at v (`m = 0`: relocate them after v; `reverse`: insert u's block
/// reversed), i.e. HGS moves M1–M6; `TwoOpt` reverses the path after u up to v in one route
/// (M7); `TwoOptStar` exchanges the tails after u and after v of two routes (M9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Relocate (`m = 0`) or swap blocks of consecutive clients.
    Exchange {
        /// Block length at u.
        n: u8,
        /// Block length at v (0 = relocate after v).
        m: u8,
        /// Insert u's block reversed.
        reverse: bool,
    },
    /// Intra-route reversal between u's successor and v.
    TwoOpt,
    /// Inter-route tail exchange.
    TwoOptStar,
}

const fn ex(n: u8, m: u8, reverse: bool) -> Move {
    Move::Exchange { n, m, reverse }
}

/// The moves tried for each (u, v) pair, in this order.
pub const NODE_MOVES: [Move; 7] = [
    ex(1, 0, false),
    ex(2, 0, false),
    ex(2, 0, true),
    ex(1, 1, false),
    ex(2, 1, false),
    ex(2, 2, false),
    Move::TwoOptStar,
];

/// The moves tried with v the start depot of a route (u goes first in that route).
pub const DEPOT_MOVES: [Move; 4] = [
    ex(1, 0, false),
    ex(2, 0, false),
    ex(2, 0, true),
    Move::TwoOptStar,
];

/// Local search state: the routes in use plus at most a few empty ones per vehicle type.
#[derive(Debug, Clone)]
pub struct LocalSearch<'a> {
    d: &'a Data,
    /// Current penalty weights.
    pub pen: Penalties,
    routes: Vec<Route>,
    route_of: Vec<u32>,
    pos_of: Vec<u32>,
    order: Vec<u32>,
    when_tested: Vec<u64>,
    /// Per route: stamp of its last SWAP* test.
    swap_tested: Vec<u64>,
    /// Per route: stamp of its last whole-route (type change) test.
    route_tested: Vec<u64>,
    promising: Vec<bool>,
    /// Scan every client, not only the promising ones.
    pub exhaustive: bool,
    /// Per type: routes of that type that are empty.
    empty: Vec<Vec<u32>>,
    /// Per type: non-empty routes.
    used: Vec<u32>,
    /// Per type: vehicles available.
    limit: Vec<u32>,
    /// Most non-empty routes in all (a fleet limit for vehicle minimisation).
    pub max_routes: usize,
    nonempty: usize,
    /// Whether to use SWAP*.
    pub swap_star: bool,
    stamp: u64,
    type_order: Vec<u32>,
    buf: [Vec<u32>; 2],
    /// Routes changed since [`Self::track`] (each once).
    changed: Vec<u32>,
    changed_flag: Vec<bool>,
}

impl<'a> LocalSearch<'a> {
    /// An empty search over `d`.
    pub fn new(d: &'a Data) -> Self {
        LocalSearch {
            d,
            pen: Penalties {
                load: [1.0; super::data::MAX_DIMS],
                tw: 1.0,
            },
            routes: Vec::new(),
            route_of: vec![NONE; d.nodes],
            pos_of: vec![0; d.nodes],
            order: d.clients().collect(),
            when_tested: vec![0; d.nodes],
            swap_tested: Vec::new(),
            route_tested: Vec::new(),
            promising: vec![false; d.nodes],
            exhaustive: true,
            empty: vec![Vec::new(); d.types.len()],
            used: vec![0; d.types.len()],
            limit: d
                .types
                .iter()
                .map(|t| t.vehicles.len().min(d.n.max(1)) as u32)
                .collect(),
            max_routes: usize::MAX,
            nonempty: 0,
            swap_star: true,
            stamp: 1,
            type_order: (0..d.types.len() as u32).collect(),
            buf: [Vec::new(), Vec::new()],
            changed: Vec::new(),
            changed_flag: Vec::new(),
        }
    }

    /// The solver data.
    pub fn data(&self) -> &'a Data {
        self.d
    }

    /// Loads a solution (type, client nodes) per route; clients not listed stay unrouted.
    pub fn load(&mut self, solution: &[(u32, Vec<u32>)]) {
        self.routes.clear();
        self.route_of.iter_mut().for_each(|r| *r = NONE);
        self.empty.iter_mut().for_each(Vec::clear);
        self.used.iter_mut().for_each(|u| *u = 0);
        self.nonempty = 0;
        self.swap_tested.clear();
        self.route_tested.clear();
        self.changed.clear();
        self.changed_flag.clear();
        self.stamp += 1;
        for (t, clients) in solution {
            if clients.is_empty() {
                continue;
            }
            let r = self.new_route(*t);
            self.set_route(r, clients);
        }
        self.when_tested.iter_mut().for_each(|w| *w = 0);
    }

    /// Creates an empty route of type `t` and returns its index.
    fn new_route(&mut self, t: u32) -> usize {
        let r = self.routes.len();
        let mut route = Route::empty(self.d, t);
        route.modified = self.stamp;
        self.routes.push(route);
        self.swap_tested.push(0);
        self.route_tested.push(0);
        self.changed_flag.push(false);
        self.empty[t as usize].push(r as u32);
        r
    }

    /// An empty route of type `t` if the fleet allows one more route of that type.
    pub fn empty_route(&mut self, t: u32) -> Option<usize> {
        if self.used[t as usize] >= self.limit[t as usize] || self.nonempty >= self.max_routes {
            return None;
        }
        match self.empty[t as usize].last() {
            Some(&r) => Some(r as usize),
            None => Some(self.new_route(t)),
        }
    }

    /// Replaces route `r`'s clients, keeping positions, counts and the change log right.
    pub fn set_route(&mut self, r: usize, clients: &[u32]) {
        let was_empty = self.routes[r].is_empty();
        // Clients dropped from the route are unrouted until something places them again.
        for k in 1..self.routes[r].last() {
            let c = self.routes[r].visits[k] as usize;
            if self.route_of[c] == r as u32 {
                self.route_of[c] = NONE;
            }
        }
        {
            let rt = &mut self.routes[r];
            let (s, e) = (rt.visits[0], rt.visits[rt.last()]);
            rt.visits.clear();
            rt.visits.push(s);
            rt.visits.extend_from_slice(clients);
            rt.visits.push(e);
        }
        self.refresh(r, was_empty);
    }

    /// Recomputes route `r` after its visits changed.
    fn refresh(&mut self, r: usize, was_empty: bool) {
        self.stamp += 1;
        let rt = &mut self.routes[r];
        rt.update(self.d, &self.pen);
        rt.modified = self.stamp;
        for k in 1..rt.visits.len() - 1 {
            let c = rt.visits[k] as usize;
            self.route_of[c] = r as u32;
            self.pos_of[c] = k as u32;
        }
        let now_empty = rt.is_empty();
        let t = rt.vtype as usize;
        if was_empty && !now_empty {
            self.used[t] += 1;
            self.nonempty += 1;
            if let Some(k) = self.empty[t].iter().position(|&x| x as usize == r) {
                self.empty[t].swap_remove(k);
            }
        } else if !was_empty && now_empty {
            self.used[t] -= 1;
            self.nonempty -= 1;
            self.empty[t].push(r as u32);
        }
        if !self.changed_flag[r] {
            self.changed_flag[r] = true;
            self.changed.push(r as u32);
        }
    }

    /// Starts a new change log (see [`Self::changed`]).
    pub fn track(&mut self) {
        for &r in &self.changed {
            self.changed_flag[r as usize] = false;
        }
        self.changed.clear();
    }

    /// Routes changed since the last [`Self::track`].
    pub fn changed(&self) -> &[u32] {
        &self.changed
    }

    /// Clients of route `r`.
    pub fn route_clients(&self, r: usize) -> &[u32] {
        self.routes[r].clients()
    }

    /// Vehicle type of route `r`.
    pub fn route_type(&self, r: usize) -> u32 {
        self.routes[r].vtype
    }

    /// Number of route objects (some may be empty).
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Non-empty routes.
    pub fn used_routes(&self) -> usize {
        self.nonempty
    }

    /// Route and position of client `c` (route [`NONE`] when unrouted).
    #[inline]
    pub fn position(&self, c: u32) -> (usize, usize) {
        (
            self.route_of[c as usize] as usize,
            self.pos_of[c as usize] as usize,
        )
    }

    /// Whether client `c` is in a route.
    #[inline]
    pub fn is_routed(&self, c: u32) -> bool {
        self.route_of[c as usize] != NONE
    }

    /// Marks client `c` for scanning by the next non-exhaustive run.
    #[inline]
    pub fn mark(&mut self, c: u32) {
        if self.d.is_client(c) {
            self.promising[c as usize] = true;
        }
    }

    /// Marks `c` and its route neighbours.
    fn mark_around(&mut self, r: usize, i: usize) {
        let v = &self.routes[r].visits;
        let (a, b, c) = (v[i.saturating_sub(1)], v[i], v[(i + 1).min(v.len() - 1)]);
        self.mark(a);
        self.mark(b);
        self.mark(c);
    }

    /// Forgets the promising set.
    pub fn clear_marks(&mut self) {
        self.promising.iter_mut().for_each(|p| *p = false);
    }

    /// Sets new penalty weights; every route is re-priced and counts as changed for the next
    /// scan, since moves that did not pay may pay now.
    pub fn set_penalties(&mut self, pen: Penalties) {
        self.pen = pen;
        self.stamp += 1;
        for rt in &mut self.routes {
            rt.reprice(&pen);
            rt.modified = self.stamp;
        }
    }

    /// How many routes of each type the fleet allows.
    pub fn limits(&self) -> &[u32] {
        &self.limit
    }

    /// Sum of the routes' penalised costs.
    pub fn cost(&self) -> f64 {
        self.routes.iter().map(|r| r.pen).sum()
    }

    /// Objective (unpenalised), load excess summed over dimensions, time warp, feasibility.
    pub fn summary(&self) -> (f64, f64, f64, bool) {
        let mut out = (0.0, 0.0, 0.0, true);
        for r in &self.routes {
            if !r.is_empty() {
                out.0 += r.cost.objective;
                out.1 += r.cost.excess.iter().sum::<f64>();
                out.2 += r.cost.warp;
                out.3 &= r.cost.feasible();
            }
        }
        // A loaded solution may use more vehicles of a type than there are.
        out.3 &= self.used.iter().zip(&self.limit).all(|(u, l)| u <= l);
        out
    }

    /// Non-empty routes as (type, clients).
    pub fn solution(&self) -> Vec<(u32, Vec<u32>)> {
        self.routes
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| (r.vtype, r.clients().to_vec()))
            .collect()
    }

    fn piece_seg(&self, p: Piece) -> Seg {
        let d = self.d;
        match p {
            Piece::Fwd(r, a, b) => {
                let rt = &self.routes[r as usize];
                let (a, b) = (a as usize, b as usize);
                let last = rt.last();
                if a == 0 {
                    rt.fwd[b]
                } else if b == last {
                    rt.bwd[a]
                } else if b + 1 == last {
                    rt.open[a]
                } else {
                    let mut s = d.node_seg[rt.visits[a] as usize];
                    for k in a + 1..=b {
                        s = Seg::concat(d, &s, &d.node_seg[rt.visits[k] as usize]);
                    }
                    s
                }
            }
            Piece::Rev(r, a, b) => {
                let rt = &self.routes[r as usize];
                let (a, b) = (a as usize, b as usize);
                let mut s = d.node_seg[rt.visits[b] as usize];
                for k in (a..b).rev() {
                    s = Seg::concat(d, &s, &d.node_seg[rt.visits[k] as usize]);
                }
                s
            }
        }
    }

    /// Routes `a` and `b` end at the same depot with the same closing window, so a tail of one
    /// may keep its end depot in the other.
    #[inline]
    fn same_end(&self, a: usize, b: usize) -> bool {
        let (ta, tb) = (self.routes[a].vtype, self.routes[b].vtype);
        ta == tb || {
            let (x, y) = (&self.d.types[ta as usize], &self.d.types[tb as usize]);
            x.end_seg == y.end_seg
        }
    }

    /// Builds the plan of `mv` for u at position `iu` of route `ru` and v at `iv` of `rv`.
    pub fn plan(&self, mv: Move, ru: usize, iu: usize, rv: usize, iv: usize) -> Option<Plan> {
        let mut p = Plan::new();
        self.plan_into(&mut p, mv, ru, iu, rv, iv).then_some(p)
    }

    /// [`Self::plan`] into a reused plan; false if the move does not apply.
    #[inline]
    pub fn plan_into(
        &self,
        out: &mut Plan,
        mv: Move,
        ru: usize,
        iu: usize,
        rv: usize,
        iv: usize,
    ) -> bool {
        out.clear();
        let lu = self.routes[ru].last();
        let lv = self.routes[rv].last();
        let (r1, r2) = (ru, rv);
        match mv {
            Move::Exchange { n, m, reverse } => {
                let (n, m) = (n as usize, m as usize);
                let ue = iu + n - 1;
                if iu == 0 || ue >= lu {
                    return false;
                }
                let up = if reverse {
                    Piece::Rev(r1 as u16, iu as u16, ue as u16)
                } else {
                    fwd(r1, iu, ue)
                };
                if m == 0 {
                    if iv >= lv {
                        return false;
                    }
                    if ru != rv {
                        out.route(r1, &[fwd(r1, 0, iu - 1), fwd(r1, ue + 1, lu)]);
                        out.route(r2, &[fwd(r2, 0, iv), up, fwd(r2, iv + 1, lv)]);
                    } else if iv + 1 == iu && !reverse {
                        return false;
                    } else if iv < iu {
                        out.route(
                            r1,
                            &[
                                fwd(r1, 0, iv),
                                up,
                                fwd(r1, iv + 1, iu - 1),
                                fwd(r1, ue + 1, lu),
                            ],
                        );
                    } else if iv > ue {
                        out.route(
                            r1,
                            &[
                                fwd(r1, 0, iu - 1),
                                fwd(r1, ue + 1, iv),
                                up,
                                fwd(r1, iv + 1, lu),
                            ],
                        );
                    } else {
                        return false;
                    }
                    return true;
                }
                let ve = iv + m - 1;
                if iv == 0 || ve >= lv {
                    return false;
                }
                let vp = fwd(r2, iv, ve);
                if ru != rv {
                    out.route(r1, &[fwd(r1, 0, iu - 1), vp, fwd(r1, ue + 1, lu)]);
                    out.route(r2, &[fwd(r2, 0, iv - 1), up, fwd(r2, ve + 1, lv)]);
                } else if ve < iu {
                    out.route(
                        r1,
                        &[
                            fwd(r1, 0, iv - 1),
                            up,
                            fwd(r1, ve + 1, iu - 1),
                            vp,
                            fwd(r1, ue + 1, lu),
                        ],
                    );
                } else if ue < iv {
                    out.route(
                        r1,
                        &[
                            fwd(r1, 0, iu - 1),
                            vp,
                            fwd(r1, ue + 1, iv - 1),
                            up,
                            fwd(r1, ve + 1, lu),
                        ],
                    );
                } else {
                    return false;
                }
                true
            }
            Move::TwoOpt => {
                if ru != rv || iv <= iu + 1 || iv >= lu {
                    return false;
                }
                out.route(
                    r1,
                    &[
                        fwd(r1, 0, iu),
                        Piece::Rev(r1 as u16, iu as u16 + 1, iv as u16),
                        fwd(r1, iv + 1, lu),
                    ],
                );
                true
            }
            Move::TwoOptStar => {
                if ru == rv || iu >= lu || iv >= lv {
                    return false;
                }
                if self.same_end(ru, rv) {
                    out.route(r1, &[fwd(r1, 0, iu), fwd(r2, iv + 1, lv)]);
                    out.route(r2, &[fwd(r2, 0, iv), fwd(r1, iu + 1, lu)]);
                } else {
                    // Tails travel without their end depot: each route keeps its own.
                    out.route(
                        r1,
                        &[fwd(r1, 0, iu), fwd(r2, iv + 1, lv - 1), fwd(r1, lu, lu)],
                    );
                    out.route(
                        r2,
                        &[fwd(r2, 0, iv), fwd(r1, iu + 1, lu - 1), fwd(r2, lv, lv)],
                    );
                }
                true
            }
        }
    }

    /// First node, last node, distance and client count of a piece, in O(1) (O(length) for a
    /// reversed piece of an asymmetric matrix).
    #[inline]
    fn piece_summary(&self, p: Piece) -> (u32, u32, f64, u32) {
        let (r, a, b, rev) = match p {
            Piece::Fwd(r, a, b) => (r as usize, a as usize, b as usize, false),
            Piece::Rev(r, a, b) => (r as usize, a as usize, b as usize, true),
        };
        let rt = &self.routes[r];
        let last = rt.last();
        let clients = (b - a + 1) as u32 - u32::from(a == 0) - u32::from(b == last);
        let fwd_dist = rt.fwd[b].dist - rt.fwd[a].dist;
        if !rev {
            return (rt.visits[a], rt.visits[b], fwd_dist, clients);
        }
        let dist = if self.d.symmetric {
            fwd_dist
        } else {
            (a..b)
                .map(|k| self.d.dist(rt.visits[k + 1], rt.visits[k]))
                .sum()
        };
        (rt.visits[b], rt.visits[a], dist, clients)
    }

    /// Change of the penalised cost if `plan` were applied, exact when it is an improvement
    /// (below `-MIN_GAIN`); otherwise possibly only a non-negative-gain bound, since moves whose
    /// objective change alone gains nothing are cut short.
    #[inline]
    pub fn evaluate(&self, plan: &Plan) -> f64 {
        self.delta(plan, true)
    }

    /// Exact change of the penalised cost if `plan` were applied.
    pub fn exact_delta(&self, plan: &Plan) -> f64 {
        self.delta(plan, false)
    }

    #[inline]
    fn delta(&self, plan: &Plan, prune: bool) -> f64 {
        let d = self.d;
        let mut old = 0.0;
        let mut lower = 0.0;
        let mut multi = false;
        for k in 0..plan.nroutes as usize {
            let target = &self.routes[plan.routes[k] as usize];
            old += target.pen;
            let vt = &d.types[target.vtype as usize];
            let mut dist = 0.0;
            let mut clients = 0;
            let mut prev = 0;
            for (i, &p) in plan.route_pieces(k).iter().enumerate() {
                let (first, last, pd, pc) = self.piece_summary(p);
                let src = match p {
                    Piece::Fwd(r, ..) | Piece::Rev(r, ..) => r as usize,
                };
                multi |= self.routes[src].multi;
                dist += pd;
                if i > 0 {
                    dist += d.dist(prev, first);
                }
                prev = last;
                clients += pc;
            }
            if clients > 0 {
                lower += vt.fixed + vt.unit * dist;
            }
        }
        // Penalties are non-negative: if the objective alone does not gain, nothing can.
        if prune && lower >= old - MIN_GAIN {
            return lower - old;
        }
        let mut new = 0.0;
        for k in 0..plan.nroutes as usize {
            let t = self.routes[plan.routes[k] as usize].vtype as usize;
            let pieces = plan.route_pieces(k);
            if multi {
                // Routes through a client with several windows are evaluated exactly; the
                // others as always, so that a route's cost depends only on its visits.
                let clients = self.materialise(pieces);
                if clients.iter().any(|&c| !d.windows[c as usize].is_empty()) {
                    new += exact_cost(d, t, &clients).penalised(&self.pen);
                    continue;
                }
            }
            let mut s = self.piece_seg(pieces[0]);
            for &p in &pieces[1..] {
                s = Seg::concat(d, &s, &self.piece_seg(p));
            }
            new += route_cost(d, t, &s).penalised(&self.pen);
        }
        new - old
    }

    /// The clients a route would visit with these pieces (depots left out).
    fn materialise(&self, pieces: &[Piece]) -> Vec<u32> {
        let mut out = Vec::new();
        self.extend_pieces(&mut out, pieces);
        out.retain(|&c| self.d.is_client(c));
        out
    }

    fn extend_pieces(&self, buf: &mut Vec<u32>, pieces: &[Piece]) {
        for &p in pieces {
            match p {
                Piece::Fwd(r, a, b) => {
                    buf.extend_from_slice(&self.routes[r as usize].visits[a as usize..=b as usize])
                }
                Piece::Rev(r, a, b) => buf.extend(
                    self.routes[r as usize].visits[a as usize..=b as usize]
                        .iter()
                        .rev(),
                ),
            }
        }
    }

    /// Applies `plan`.
    pub fn apply(&mut self, plan: &Plan) {
        let mut bufs = std::mem::take(&mut self.buf);
        for (k, buf) in bufs.iter_mut().enumerate().take(plan.nroutes as usize) {
            buf.clear();
            self.extend_pieces(buf, plan.route_pieces(k));
        }
        for (k, buf) in bufs.iter_mut().enumerate().take(plan.nroutes as usize) {
            let r = plan.routes[k] as usize;
            let was_empty = self.routes[r].is_empty();
            std::mem::swap(&mut self.routes[r].visits, buf);
            self.refresh(r, was_empty);
        }
        self.buf = bufs;
    }

    /// Cheap filter (as in HGS-CVRP, here with each route's cost per unit of distance): the
    /// change of the objective computed from the few arcs involved must beat the routes' current
    /// penalties, or no improvement is possible. True when the full evaluation is worth doing.
    #[inline]
    fn worth_evaluating(&self, mv: Move, ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        let d = self.d;
        let (a, b) = (&self.routes[ru], &self.routes[rv]);
        if a.multi || b.multi {
            return true;
        }
        let same = ru == rv;
        let (va, vb) = (&a.visits, &b.visits);
        let (lu, lv) = (va.len() - 1, vb.len() - 1);
        let budget = if same {
            a.pen - a.cost.objective - MIN_GAIN
        } else {
            (a.pen - a.cost.objective) + (b.pen - b.cost.objective) - MIN_GAIN
        };
        let (ua, ub) = (
            d.types[a.vtype as usize].unit,
            d.types[b.vtype as usize].unit,
        );
        let delta = match mv {
            Move::Exchange { n, m, reverse } => {
                let (n, m) = (n as usize, m as usize);
                let ue = iu + n - 1;
                if iu == 0 || ue >= lu || iv >= lv {
                    return false;
                }
                if reverse && !d.symmetric {
                    return true;
                }
                let (pu, uf, ul, x) = (va[iu - 1], va[iu], va[ue], va[ue + 1]);
                let block_u = a.fwd[ue].dist - a.fwd[iu].dist;
                // The block's ends as they arrive in the other route.
                let (bf, bl) = if reverse { (ul, uf) } else { (uf, ul) };
                if m == 0 {
                    if same && (iv + 1 >= iu && iv <= ue) {
                        return true; // overlapping or a no-op: left to the plan
                    }
                    if !same && (lu - 1 == n || lv == 1) {
                        return true; // a route empties or opens: fixed costs change
                    }
                    let (v, y) = (vb[iv], vb[iv + 1]);
                    ua * (d.dist(pu, x) - d.dist(pu, uf) - d.dist(ul, x) - block_u)
                        + ub * (d.dist(v, bf) + d.dist(bl, y) - d.dist(v, y) + block_u)
                } else {
                    let ve = iv + m - 1;
                    if iv == 0 || ve >= lv {
                        return false;
                    }
                    if same && (iv <= ue + 1 && iu <= ve + 1) {
                        return true; // adjacent or overlapping blocks
                    }
                    let (pv, vf, vl, y) = (vb[iv - 1], vb[iv], vb[ve], vb[ve + 1]);
                    let block_v = b.fwd[ve].dist - b.fwd[iv].dist;
                    ua * (d.dist(pu, vf) + d.dist(vl, x) - d.dist(pu, uf) - d.dist(ul, x) + block_v
                        - block_u)
                        + ub * (d.dist(pv, bf) + d.dist(bl, y) - d.dist(pv, vf) - d.dist(vl, y)
                            + block_u
                            - block_v)
                }
            }
            Move::TwoOptStar if !same => {
                if iu >= lu || iv >= lv {
                    return false;
                }
                // New client counts (an emptied route changes fixed costs) or other depots.
                if iu + (lv - iv - 1) == 0 || iv + (lu - iu - 1) == 0 || !self.same_end(ru, rv) {
                    return true;
                }
                let (u, x, v, y) = (va[iu], va[iu + 1], vb[iv], vb[iv + 1]);
                let tail_u = a.fwd[lu].dist - a.fwd[iu + 1].dist;
                let tail_v = b.fwd[lv].dist - b.fwd[iv + 1].dist;
                ua * (d.dist(u, y) - d.dist(u, x) + tail_v - tail_u)
                    + ub * (d.dist(v, x) - d.dist(v, y) + tail_u - tail_v)
            }
            Move::TwoOpt if d.symmetric => {
                if iv <= iu + 1 || iv >= lu {
                    return false;
                }
                let (u, x, v, y) = (va[iu], va[iu + 1], va[iv], va[iv + 1]);
                ua * (d.dist(u, v) + d.dist(x, y) - d.dist(u, x) - d.dist(v, y))
            }
            _ => return true,
        };
        delta < budget
    }

    /// Tries `moves` for (u at `iu` of `ru`, v at `iv` of `rv`); applies the first improving
    /// one and marks the clients around it.
    fn try_moves(&mut self, moves: &[Move], ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        let mut p = Plan::new();
        for &mv in moves {
            let mv = if ru == rv && mv == Move::TwoOptStar {
                Move::TwoOpt
            } else {
                mv
            };
            if !self.worth_evaluating(mv, ru, iu, rv, iv) {
                continue;
            }
            if self.plan_into(&mut p, mv, ru, iu, rv, iv) && self.evaluate(&p) < -MIN_GAIN {
                self.mark_around(ru, iu);
                if iv > 0 {
                    self.mark_around(rv, iv);
                } else {
                    let first = self.routes[rv].visits[1];
                    self.mark(first);
                }
                self.apply(&p);
                return true;
            }
        }
        false
    }

    /// Runs the local search to a local optimum: over every client when `exhaustive`, else
    /// over the promising ones (the set grows with each applied move).
    pub fn run(&mut self, rng: &mut Rng) {
        rng.shuffle(&mut self.order);
        rng.shuffle(&mut self.type_order);
        let d = self.d;
        // Every applied move lowers the penalised cost by more than MIN_GAIN, so the descent
        // ends; the cap makes sure of it even if rounding ever let two moves undo each other.
        let cap = MAX_MOVES_PER_CLIENT * (d.n as u64 + 1);
        let mut applied: u64 = 0;
        loop {
            let mut improved = false;
            for oi in 0..self.order.len() {
                if applied > cap {
                    return;
                }
                let u = self.order[oi];
                if !self.exhaustive && !self.promising[u as usize] {
                    continue;
                }
                if !self.is_routed(u) {
                    continue;
                }
                let last = self.when_tested[u as usize];
                self.when_tested[u as usize] = self.stamp;
                for &v in &d.neighbours[u as usize] {
                    if !self.is_routed(v) {
                        continue;
                    }
                    let (ru, iu) = self.position(u);
                    let (rv, iv) = self.position(v);
                    if self.routes[ru].modified.max(self.routes[rv].modified) <= last {
                        continue;
                    }
                    if self.try_moves(&NODE_MOVES, ru, iu, rv, iv) {
                        improved = true;
                        applied += 1;
                        continue;
                    }
                    if iv == 1 {
                        // v opens its route: also try u right after the depot.
                        let (ru, iu) = self.position(u);
                        if self.try_moves(&DEPOT_MOVES, ru, iu, rv, 0) {
                            improved = true;
                            applied += 1;
                        }
                    }
                }
                let (ru, iu) = self.position(u);
                if self.routes[ru].modified > last && self.move_to_empty(ru, iu) {
                    improved = true;
                    applied += 1;
                }
            }
            if !improved && d.types.len() > 1 && self.route_pass() {
                improved = true;
                applied += 1;
            }
            if !improved && self.swap_star && self.swap_star_pass() {
                improved = true;
                applied += 1;
            }
            if !improved {
                break;
            }
        }
    }

    /// Moves starting at u into an empty route of some type (opening a vehicle).
    fn move_to_empty(&mut self, ru: usize, iu: usize) -> bool {
        for k in 0..self.type_order.len() {
            let t = self.type_order[k];
            let Some(er) = self.empty_route(t) else {
                continue;
            };
            if er == ru {
                continue;
            }
            if self.try_moves(&DEPOT_MOVES, ru, iu, er, 0) {
                return true;
            }
        }
        false
    }

    /// The whole-route move of route `r` into route `into` of another type: when `into` is
    /// empty, `r`'s clients change vehicle; otherwise the two routes exchange vehicles.
    pub fn route_plan(&self, r: usize, into: usize) -> Option<Plan> {
        let (a, b) = (&self.routes[r], &self.routes[into]);
        if r == into || a.is_empty() || a.vtype == b.vtype {
            return None;
        }
        let (la, lb) = (a.last(), b.last());
        let mut p = Plan::new();
        p.route(
            into,
            &[fwd(into, 0, 0), fwd(r, 1, la - 1), fwd(into, lb, lb)],
        );
        p.route(r, &[fwd(r, 0, 0), fwd(into, 1, lb - 1), fwd(r, la, la)]);
        Some(p)
    }

    /// Whole-route moves: a route changes to an unused vehicle of another type, or two routes
    /// of different types exchange their vehicles. Tested for routes changed since their last
    /// test.
    fn route_pass(&mut self) -> bool {
        let mut improved = false;
        for r in 0..self.routes.len() {
            if self.routes[r].is_empty() || self.routes[r].modified <= self.route_tested[r] {
                continue;
            }
            self.route_tested[r] = self.stamp;
            let mut candidates: Vec<usize> = Vec::new();
            for k in 0..self.type_order.len() {
                let t = self.type_order[k];
                if t != self.routes[r].vtype
                    && let Some(er) = self.empty_route(t)
                {
                    candidates.push(er);
                }
            }
            candidates.extend((0..self.routes.len()).filter(|&x| {
                !self.routes[x].is_empty() && self.routes[x].vtype != self.routes[r].vtype
            }));
            for into in candidates {
                if let Some(p) = self.route_plan(r, into)
                    && self.evaluate(&p) < -MIN_GAIN
                {
                    self.apply(&p);
                    self.mark_ends(r);
                    self.mark_ends(into);
                    improved = true;
                    break;
                }
            }
        }
        improved
    }

    /// Marks the first and last clients of route `r`.
    fn mark_ends(&mut self, r: usize) {
        let v = &self.routes[r].visits;
        if v.len() > 2 {
            let (a, b) = (v[1], v[v.len() - 2]);
            self.mark(a);
            self.mark(b);
        }
    }

    /// Angular sector (start, extent) of a route's clients around its start depot, in 1/65536
    /// turns, grown greedily as HGS-CVRP's `CircleSector` does.
    fn sector(&self, r: usize) -> (i32, i32) {
        let d = self.d;
        let v = &self.routes[r].visits;
        let (ox, oy) = d.xy[v[0] as usize];
        let pos = |c: u32| {
            let (x, y) = d.xy[c as usize];
            let a = (y - oy).atan2(x - ox);
            (((a / std::f64::consts::TAU).rem_euclid(1.0) * 65536.0) as i32) & 0xffff
        };
        let mut start = pos(v[1]);
        let mut end = start;
        for &c in &v[2..v.len() - 1] {
            let p = pos(c);
            if (p - start).rem_euclid(65536) > (end - start).rem_euclid(65536) {
                let grow_end = (p - end).rem_euclid(65536);
                let grow_start = (start - p).rem_euclid(65536);
                if grow_end <= grow_start {
                    end = p;
                } else {
                    start = p;
                }
            }
        }
        (start, (end - start).rem_euclid(65536))
    }

    /// Bounding box of a route's clients.
    fn bbox(&self, r: usize) -> (f64, f64, f64, f64) {
        let d = self.d;
        self.routes[r].clients().iter().fold(
            (
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ),
            |(a, b, c, e), &n| {
                let (x, y) = d.xy[n as usize];
                (a.min(x), b.min(y), c.max(x), e.max(y))
            },
        )
    }

    /// SWAP* (Vidal 2022, §4): exchange u of one route with v of another, each reinserted at its
    /// best position in the other route rather than in the other's place. Route pairs are
    /// limited to overlapping circle sectors around a shared depot (bounding boxes otherwise);
    /// candidates are ranked by separately computed removal and top-3 insertion deltas on
    /// penalised costs; the best candidate per route pair is then evaluated exactly.
    fn swap_star_pass(&mut self) -> bool {
        let n = self.routes.len();
        let mut improved = false;
        let live: Vec<usize> = (0..n).filter(|&r| !self.routes[r].is_empty()).collect();
        let mut shape = vec![((0, 0), (0.0, 0.0, 0.0, 0.0)); n];
        for &r in &live {
            shape[r] = (self.sector(r), self.bbox(r));
        }
        for (a, &r1) in live.iter().enumerate() {
            for &r2 in &live[a + 1..] {
                let last = self.swap_tested[r1].min(self.swap_tested[r2]);
                if self.routes[r1].modified.max(self.routes[r2].modified) <= last {
                    continue;
                }
                if self.routes[r1].is_empty() || self.routes[r2].is_empty() {
                    continue;
                }
                let near = if self.routes[r1].visits[0] == self.routes[r2].visits[0] {
                    overlap(shape[r1].0, shape[r2].0)
                } else {
                    let (x, y) = (shape[r1].1, shape[r2].1);
                    x.0 <= y.2 && y.0 <= x.2 && x.1 <= y.3 && y.1 <= x.3
                };
                if near && self.swap_star(r1, r2) {
                    improved = true;
                }
            }
        }
        for r in 0..n {
            self.swap_tested[r] = self.stamp;
        }
        improved
    }

    /// Top-3 insertion positions (index after which to insert, delta) of each client of `from`
    /// into `into`, and the removal delta of each client of `from`.
    fn insertion_table(
        &self,
        from: usize,
        into: usize,
        top: &mut Vec<[(usize, f64); 3]>,
        rem: &mut Vec<f64>,
    ) {
        let d = self.d;
        let (rf, ri) = (&self.routes[from], &self.routes[into]);
        let (tf, ti) = (rf.vtype as usize, ri.vtype as usize);
        let unit = d.types[ti].unit;
        top.clear();
        rem.clear();
        for i in 1..rf.last() {
            let s = Seg::concat(d, &rf.fwd[i - 1], &rf.bwd[i + 1]);
            rem.push(route_cost(d, tf, &s).penalised(&self.pen) - rf.pen);
            let c = &d.node_seg[rf.visits[i] as usize];
            let mut best = [(usize::MAX, f64::INFINITY); 3];
            let cn = rf.visits[i];
            for p in 0..ri.last() {
                // Inserting never lowers load excess or time warp: distance bounds the delta.
                let (x, y) = (ri.visits[p], ri.visits[p + 1]);
                if unit * (d.dist(x, cn) + d.dist(cn, y) - d.dist(x, y)) >= best[2].1 {
                    continue;
                }
                let s = Seg::concat(d, &Seg::concat(d, &ri.fwd[p], c), &ri.bwd[p + 1]);
                let delta = route_cost(d, ti, &s).penalised(&self.pen) - ri.pen;
                if delta < best[2].1 {
                    best[2] = (p, delta);
                    if best[2].1 < best[1].1 {
                        best.swap(1, 2);
                        if best[1].1 < best[0].1 {
                            best.swap(0, 1);
                        }
                    }
                }
            }
            top.push(best);
        }
    }

    fn swap_star(&mut self, r1: usize, r2: usize) -> bool {
        if self.routes[r1].multi || self.routes[r2].multi {
            return false;
        }
        let d = self.d;
        let (mut top1, mut rem1, mut top2, mut rem2) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        self.insertion_table(r1, r2, &mut top1, &mut rem1);
        self.insertion_table(r2, r1, &mut top2, &mut rem2);
        let (a, b) = (&self.routes[r1], &self.routes[r2]);
        let (t1, t2) = (a.vtype as usize, b.vtype as usize);
        // Best approximate candidate: (delta, iu, q in r2, iv, q in r1), q = insert after index.
        let mut best = (-MIN_GAIN, 0, 0, 0, 0);
        for iu in 1..a.last() {
            let u = a.visits[iu];
            for iv in 1..b.last() {
                let v = b.visits[iv];
                // u into r2 without v: a top-3 position not touching v, or v's place.
                let place_u = {
                    let s = Seg::concat(
                        d,
                        &Seg::concat(d, &b.fwd[iv - 1], &d.node_seg[u as usize]),
                        &b.bwd[iv + 1],
                    );
                    route_cost(d, t2, &s).penalised(&self.pen) - b.pen
                };
                let mut ins_u = (iv - 1, place_u - rem2[iv - 1]);
                for &(p, delta) in &top1[iu - 1] {
                    if p != usize::MAX && p != iv && p + 1 != iv && delta < ins_u.1 {
                        ins_u = (p, delta);
                    }
                }
                let place_v = {
                    let s = Seg::concat(
                        d,
                        &Seg::concat(d, &a.fwd[iu - 1], &d.node_seg[v as usize]),
                        &a.bwd[iu + 1],
                    );
                    route_cost(d, t1, &s).penalised(&self.pen) - a.pen
                };
                let mut ins_v = (iu - 1, place_v - rem1[iu - 1]);
                for &(p, delta) in &top2[iv - 1] {
                    if p != usize::MAX && p != iu && p + 1 != iu && delta < ins_v.1 {
                        ins_v = (p, delta);
                    }
                }
                let total = rem1[iu - 1] + rem2[iv - 1] + ins_u.1 + ins_v.1;
                if total < best.0 {
                    best = (total, iu, ins_u.0, iv, ins_v.0);
                }
            }
        }
        if best.0 >= -MIN_GAIN || best.1 == 0 {
            return false;
        }
        let (_, iu, qu, iv, qv) = best;
        let mut plan = Plan::new();
        let (l1, l2) = (a.last(), b.last());
        // Route 1 loses u (index iu) and gains v after index qv (qv != iu).
        let vp = fwd(r2, iv, iv);
        let up = fwd(r1, iu, iu);
        if qv < iu {
            plan.route(
                r1,
                &[
                    fwd(r1, 0, qv),
                    vp,
                    fwd(r1, qv + 1, iu - 1),
                    fwd(r1, iu + 1, l1),
                ],
            );
        } else {
            plan.route(
                r1,
                &[
                    fwd(r1, 0, iu - 1),
                    fwd(r1, iu + 1, qv),
                    vp,
                    fwd(r1, qv + 1, l1),
                ],
            );
        }
        if qu < iv {
            plan.route(
                r2,
                &[
                    fwd(r2, 0, qu),
                    up,
                    fwd(r2, qu + 1, iv - 1),
                    fwd(r2, iv + 1, l2),
                ],
            );
        } else {
            plan.route(
                r2,
                &[
                    fwd(r2, 0, iv - 1),
                    fwd(r2, iv + 1, qu),
                    up,
                    fwd(r2, qu + 1, l2),
                ],
            );
        }
        if self.exact_delta(&plan) < -MIN_GAIN {
            self.mark_around(r1, iu);
            self.mark_around(r2, iv);
            self.apply(&plan);
            return true;
        }
        false
    }

    /// Removes client `c` from its route (it becomes unrouted) and marks its neighbours.
    pub fn remove(&mut self, c: u32) {
        let (r, i) = self.position(c);
        if r == NONE as usize {
            return;
        }
        self.mark_around(r, i);
        let was_empty = self.routes[r].is_empty();
        self.routes[r].visits.remove(i);
        self.route_of[c as usize] = NONE;
        self.refresh(r, was_empty);
    }

    /// Penalised cost of inserting client `c` after position `p` of route `r`.
    #[inline]
    pub fn insert_delta(&self, c: u32, r: usize, p: usize) -> f64 {
        let d = self.d;
        let rt = &self.routes[r];
        let t = rt.vtype as usize;
        if rt.multi || !d.windows[c as usize].is_empty() {
            let mut v = rt.clients().to_vec();
            v.insert(p, c);
            return exact_cost(d, t, &v).penalised(&self.pen) - rt.pen;
        }
        let s = Seg::concat(
            d,
            &Seg::concat(d, &rt.fwd[p], &d.node_seg[c as usize]),
            &rt.bwd[p + 1],
        );
        route_cost(d, t, &s).penalised(&self.pen) - rt.pen
    }

    /// Lower bound of [`Self::insert_delta`] from the objective alone.
    #[inline]
    pub fn insert_bound(&self, c: u32, r: usize, p: usize) -> f64 {
        let d = self.d;
        let rt = &self.routes[r];
        let vt = &d.types[rt.vtype as usize];
        let (x, y) = (rt.visits[p], rt.visits[p + 1]);
        let extra = vt.unit * (d.dist(x, c) + d.dist(c, y) - d.dist(x, y));
        // Opening an empty route also pays its fixed cost.
        if rt.is_empty() {
            extra + vt.fixed - rt.pen
        } else {
            extra + (rt.cost.objective - rt.pen).min(0.0)
        }
    }

    /// Inserts unrouted client `c` after position `p` of route `r` and marks around it.
    pub fn insert(&mut self, c: u32, r: usize, p: usize) {
        let was_empty = self.routes[r].is_empty();
        self.routes[r].visits.insert(p + 1, c);
        self.refresh(r, was_empty);
        self.mark_around(r, p + 1);
    }

    /// Visits (with depots) of route `r`.
    pub fn visits(&self, r: usize) -> &[u32] {
        &self.routes[r].visits
    }

    /// Penalised cost of route `r`.
    pub fn route_pen(&self, r: usize) -> f64 {
        self.routes[r].pen
    }

    /// Shuffled vehicle-type order of the current run.
    pub fn type_order(&self) -> &[u32] {
        &self.type_order
    }
}

fn overlap(a: (i32, i32), b: (i32, i32)) -> bool {
    (b.0 - a.0).rem_euclid(65536) <= a.1 || (a.0 - b.0).rem_euclid(65536) <= b.1
}
