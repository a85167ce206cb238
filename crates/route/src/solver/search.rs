//! Local search: granular neighbourhoods explored with relocate, swap, 2-opt and 2-opt* moves,
//! first improvement, on penalised costs.
//!
//! The loop follows HGS-CVRP (Vidal, "Hybrid genetic search for the CVRP: open-source
//! implementation and SWAP* neighborhood", Computers & OR 140, 2022, §3.3): clients in random
//! order, each paired with its granular neighbours (Toth & Vigo's granular tabu idea as used by
//! Vidal et al. 2013), a pair being re-examined only if one of its routes changed since the
//! client was last tested. Every move is described as a [`Plan`]: the new content of one or two
//! routes as a short list of pieces of the current routes. `evaluate` concatenates the pieces'
//! precomputed prefix/suffix [`Seg`]ments (O(1) per piece for prefix/suffix pieces), `apply`
//! materialises the same pieces, so the evaluated delta and the applied change cannot disagree
//! (property-tested in `tests/moves.rs`). Operators are `evaluate` + `apply`, as in PyVRP
//! (Wouda, Lan & Kool, "PyVRP: a high-performance VRP solver package", INFORMS J. Computing 2024).

use super::data::Data;
use super::rng::Rng;
use super::segment::{Penalties, Seg, route_cost};

/// A move must gain at least this much to be applied (avoids cycling on float noise).
pub const MIN_GAIN: f64 = 1e-7;

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

    #[inline]
    fn route(&mut self, r: u16, pieces: &[Piece]) -> &mut Self {
        let k = self.nroutes as usize;
        self.routes[k] = r;
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

/// The moves tried for each (u, v) pair, in this order.
pub const NODE_MOVES: [Move; 7] = [
    Move::Exchange {
        n: 1,
        m: 0,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 0,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 0,
        reverse: true,
    },
    Move::Exchange {
        n: 1,
        m: 1,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 1,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 2,
        reverse: false,
    },
    Move::TwoOptStar,
];

const DEPOT_MOVES: [Move; 4] = [
    Move::Exchange {
        n: 1,
        m: 0,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 0,
        reverse: false,
    },
    Move::Exchange {
        n: 2,
        m: 0,
        reverse: true,
    },
    Move::TwoOptStar,
];

#[derive(Debug, Clone)]
struct Route {
    visits: Vec<u32>,
    fwd: Vec<Seg>,
    bwd: Vec<Seg>,
    cost: f64,
    /// Penalty part of `cost` (load excess and time warp terms).
    penalty: f64,
    modified: u64,
}

/// Local search state over a fixed number of routes (the fleet limit; some may be empty).
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
    /// Whether to use SWAP*.
    pub swap_star: bool,
    stamp: u64,
    buf: [Vec<u32>; 2],
}

impl<'a> LocalSearch<'a> {
    /// An empty search over `d`.
    pub fn new(d: &'a Data) -> Self {
        LocalSearch {
            d,
            pen: Penalties { load: 1.0, tw: 1.0 },
            routes: Vec::new(),
            route_of: vec![0; d.nodes],
            pos_of: vec![0; d.nodes],
            order: (1..=d.n as u32).collect(),
            when_tested: vec![0; d.nodes],
            swap_tested: Vec::new(),
            swap_star: true,
            stamp: 1,
            buf: [Vec::new(), Vec::new()],
        }
    }

    /// Loads a solution (client nodes per route) into `slots` routes (`slots >= routes.len()`).
    pub fn load(&mut self, routes: &[Vec<u32>], slots: usize) {
        let slots = slots.max(routes.len()).max(1);
        self.routes.resize_with(slots, || Route {
            visits: Vec::new(),
            fwd: Vec::new(),
            bwd: Vec::new(),
            cost: 0.0,
            penalty: 0.0,
            modified: 0,
        });
        self.routes.truncate(slots);
        let end = self.d.n as u32 + 1;
        for r in 0..slots {
            let v = &mut self.routes[r].visits;
            v.clear();
            v.push(0);
            if let Some(c) = routes.get(r) {
                v.extend_from_slice(c);
            }
            v.push(end);
            self.update(r);
            self.routes[r].modified = 0;
        }
        self.stamp = 1;
        self.when_tested.iter_mut().for_each(|w| *w = 0);
        self.swap_tested.clear();
        self.swap_tested.resize(slots, 0);
    }

    /// Recomputes route `r`'s prefix/suffix segments, cost and node positions.
    fn update(&mut self, r: usize) {
        let d = self.d;
        let rt = &mut self.routes[r];
        let len = rt.visits.len();
        rt.fwd.clear();
        rt.bwd.clear();
        rt.bwd.resize(len, d.node_seg[0]);
        let mut s = d.node_seg[rt.visits[0] as usize];
        rt.fwd.push(s);
        for k in 1..len {
            s = Seg::concat(d, &s, &d.node_seg[rt.visits[k] as usize]);
            rt.fwd.push(s);
        }
        let mut s = d.node_seg[rt.visits[len - 1] as usize];
        rt.bwd[len - 1] = s;
        for k in (0..len - 1).rev() {
            s = Seg::concat(d, &d.node_seg[rt.visits[k] as usize], &s);
            rt.bwd[k] = s;
        }
        rt.cost = route_cost(d, &rt.fwd[len - 1], &self.pen);
        rt.penalty = Self::penalty_part(d, rt);
        rt.modified = self.stamp;
        for k in 1..len - 1 {
            let c = rt.visits[k] as usize;
            self.route_of[c] = r as u32;
            self.pos_of[c] = k as u32;
        }
    }

    fn penalty_part(d: &Data, rt: &Route) -> f64 {
        let s = &rt.fwd[rt.fwd.len() - 1];
        if s.clients == 0 {
            0.0
        } else {
            rt.cost - s.dist - d.route_fixed
        }
    }

    /// Cheap filter for inter-route moves (as in HGS-CVRP): the change of distance computed from
    /// the few arcs involved must beat the routes' current penalties, or no improvement is
    /// possible. Returns true when the full evaluation is worth doing.
    #[inline]
    fn promising(&self, mv: Move, ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        let d = self.d;
        let (a, b) = (&self.routes[ru], &self.routes[rv]);
        let (va, vb) = (&a.visits, &b.visits);
        let (lu, lv) = (va.len() - 1, vb.len() - 1);
        let budget = a.penalty + b.penalty - MIN_GAIN;
        let delta = match mv {
            Move::Exchange {
                n,
                m,
                reverse: false,
            } => {
                let (n, m) = (n as usize, m as usize);
                let ue = iu + n - 1;
                if iu == 0 || ue >= lu || iv >= lv {
                    return false;
                }
                let (pu, uf, ul, x) = (va[iu - 1], va[iu], va[ue], va[ue + 1]);
                if m == 0 {
                    if lu - 1 == n || lv == 1 {
                        return true; // a route empties or opens: fixed costs change
                    }
                    let (v, y) = (vb[iv], vb[iv + 1]);
                    d.dist(pu, x) - d.dist(pu, uf) - d.dist(ul, x) + d.dist(v, uf) + d.dist(ul, y)
                        - d.dist(v, y)
                } else {
                    let ve = iv + m - 1;
                    if iv == 0 || ve >= lv {
                        return false;
                    }
                    let (pv, vf, vl, y) = (vb[iv - 1], vb[iv], vb[ve], vb[ve + 1]);
                    d.dist(pu, vf) + d.dist(vl, x) - d.dist(pu, uf) - d.dist(ul, x)
                        + d.dist(pv, uf)
                        + d.dist(ul, y)
                        - d.dist(pv, vf)
                        - d.dist(vl, y)
                }
            }
            Move::TwoOptStar => {
                if iu >= lu || iv >= lv {
                    return false;
                }
                // New client counts; an emptied route changes fixed costs.
                if iu + (lv - iv - 1) == 0 || iv + (lu - iu - 1) == 0 {
                    return true;
                }
                let (u, x, v, y) = (va[iu], va[iu + 1], vb[iv], vb[iv + 1]);
                d.dist(u, y) + d.dist(v, x) - d.dist(u, x) - d.dist(v, y)
            }
            _ => return true,
        };
        delta < budget
    }

    /// Recomputes every route's cost after a change of penalties.
    pub fn set_penalties(&mut self, pen: Penalties) {
        self.pen = pen;
        for rt in &mut self.routes {
            rt.cost = route_cost(self.d, &rt.fwd[rt.fwd.len() - 1], &pen);
            rt.penalty = Self::penalty_part(self.d, rt);
        }
    }

    /// Sum of the routes' penalised costs.
    pub fn cost(&self) -> f64 {
        self.routes.iter().map(|r| r.cost).sum()
    }

    /// Current routes as client nodes (empty routes included, in slot order).
    pub fn routes(&self) -> Vec<Vec<u32>> {
        self.routes
            .iter()
            .map(|r| r.visits[1..r.visits.len() - 1].to_vec())
            .collect()
    }

    /// Non-empty routes sorted by the polar angle of their barycentre, so that concatenating
    /// them gives a geometrically coherent giant tour for the crossover (as HGS-CVRP does).
    pub fn export(&self) -> Vec<Vec<u32>> {
        let d = self.d;
        let mut out: Vec<(f64, Vec<u32>)> = self
            .routes
            .iter()
            .filter(|r| r.visits.len() > 2)
            .map(|r| {
                let cl = &r.visits[1..r.visits.len() - 1];
                let (sx, sy) = cl.iter().fold((0.0, 0.0), |(x, y), &c| {
                    let a = d.angle[c as usize];
                    (x + a.cos(), y + a.sin())
                });
                (sy.atan2(sx), cl.to_vec())
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.into_iter().map(|x| x.1).collect()
    }

    fn piece_seg(&self, p: Piece) -> Seg {
        let d = self.d;
        match p {
            Piece::Fwd(r, a, b) => {
                let rt = &self.routes[r as usize];
                let (a, b) = (a as usize, b as usize);
                if a == 0 {
                    rt.fwd[b]
                } else if b == rt.visits.len() - 1 {
                    rt.bwd[a]
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
        let lu = self.routes[ru].visits.len() - 1; // index of u's end depot
        let lv = self.routes[rv].visits.len() - 1;
        let (r1, r2) = (ru as u16, rv as u16);
        let f = |r: u16, a: usize, b: usize| Piece::Fwd(r, a as u16, b as u16);
        match mv {
            Move::Exchange { n, m, reverse } => {
                let (n, m) = (n as usize, m as usize);
                let ue = iu + n - 1;
                if iu == 0 || ue >= lu {
                    return false;
                }
                let up = if reverse {
                    Piece::Rev(r1, iu as u16, ue as u16)
                } else {
                    f(r1, iu, ue)
                };
                if m == 0 {
                    if iv >= lv {
                        return false;
                    }
                    if ru != rv {
                        out.route(r1, &[f(r1, 0, iu - 1), f(r1, ue + 1, lu)]);
                        out.route(r2, &[f(r2, 0, iv), up, f(r2, iv + 1, lv)]);
                    } else if iv + 1 == iu && !reverse {
                        return false;
                    } else if iv < iu {
                        out.route(
                            r1,
                            &[f(r1, 0, iv), up, f(r1, iv + 1, iu - 1), f(r1, ue + 1, lu)],
                        );
                    } else if iv > ue {
                        out.route(
                            r1,
                            &[f(r1, 0, iu - 1), f(r1, ue + 1, iv), up, f(r1, iv + 1, lu)],
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
                let vp = f(r2, iv, ve);
                if ru != rv {
                    out.route(r1, &[f(r1, 0, iu - 1), vp, f(r1, ue + 1, lu)]);
                    out.route(r2, &[f(r2, 0, iv - 1), up, f(r2, ve + 1, lv)]);
                } else if ve < iu {
                    out.route(
                        r1,
                        &[
                            f(r1, 0, iv - 1),
                            up,
                            f(r1, ve + 1, iu - 1),
                            vp,
                            f(r1, ue + 1, lu),
                        ],
                    );
                } else if ue < iv {
                    out.route(
                        r1,
                        &[
                            f(r1, 0, iu - 1),
                            vp,
                            f(r1, ue + 1, iv - 1),
                            up,
                            f(r1, ve + 1, lu),
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
                        f(r1, 0, iu),
                        Piece::Rev(r1, iu as u16 + 1, iv as u16),
                        f(r1, iv + 1, lu),
                    ],
                );
                true
            }
            Move::TwoOptStar => {
                if ru == rv || iu >= lu || iv >= lv {
                    return false;
                }
                out.route(r1, &[f(r1, 0, iu), f(r2, iv + 1, lv)]);
                out.route(r2, &[f(r2, 0, iv), f(r1, iu + 1, lu)]);
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
        let last = rt.visits.len() - 1;
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
    /// distance change alone gains nothing are cut short.
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
        for k in 0..plan.nroutes as usize {
            old += self.routes[plan.routes[k] as usize].cost;
            let mut dist = 0.0;
            let mut clients = 0;
            let mut prev = 0;
            for (i, &p) in plan.pieces[k][..plan.len[k] as usize].iter().enumerate() {
                let (first, last, pd, pc) = self.piece_summary(p);
                dist += pd;
                if i > 0 {
                    dist += d.dist(prev, first);
                }
                prev = last;
                clients += pc;
            }
            if clients > 0 {
                lower += dist + d.route_fixed;
            }
        }
        // Penalties are non-negative: if distance alone does not gain, nothing can.
        if prune && lower >= old - MIN_GAIN {
            return lower - old;
        }
        let mut new = 0.0;
        for k in 0..plan.nroutes as usize {
            let pieces = &plan.pieces[k][..plan.len[k] as usize];
            let mut s = self.piece_seg(pieces[0]);
            for &p in &pieces[1..] {
                s = Seg::concat(d, &s, &self.piece_seg(p));
            }
            new += route_cost(d, &s, &self.pen);
        }
        new - old
    }

    /// Applies `plan`.
    pub fn apply(&mut self, plan: &Plan) {
        let mut bufs = std::mem::take(&mut self.buf);
        for (k, buf) in bufs.iter_mut().enumerate().take(plan.nroutes as usize) {
            buf.clear();
            for &p in &plan.pieces[k][..plan.len[k] as usize] {
                match p {
                    Piece::Fwd(r, a, b) => buf.extend_from_slice(
                        &self.routes[r as usize].visits[a as usize..=b as usize],
                    ),
                    Piece::Rev(r, a, b) => buf.extend(
                        self.routes[r as usize].visits[a as usize..=b as usize]
                            .iter()
                            .rev(),
                    ),
                }
            }
        }
        self.stamp += 1;
        for (k, buf) in bufs.iter_mut().enumerate().take(plan.nroutes as usize) {
            let r = plan.routes[k] as usize;
            std::mem::swap(&mut self.routes[r].visits, buf);
            self.update(r);
        }
        self.buf = bufs;
    }

    /// Position (route, index) of client node `c`.
    pub fn position(&self, c: u32) -> (usize, usize) {
        (
            self.route_of[c as usize] as usize,
            self.pos_of[c as usize] as usize,
        )
    }

    fn try_moves(&mut self, moves: &[Move], ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        for &mv in moves {
            let mv = if ru == rv && mv == Move::TwoOptStar {
                Move::TwoOpt
            } else {
                mv
            };
            if ru != rv && !self.promising(mv, ru, iu, rv, iv) {
                continue;
            }
            let mut p = Plan::new();
            if self.plan_into(&mut p, mv, ru, iu, rv, iv) && self.evaluate(&p) < -MIN_GAIN {
                self.apply(&p);
                return true;
            }
        }
        false
    }

    /// Runs the local search to a local optimum.
    pub fn run(&mut self, rng: &mut Rng) {
        rng.shuffle(&mut self.order);
        let d = self.d;
        let mut loop_id = 0;
        let mut improved = true;
        // At least two passes, as in HGS-CVRP: moves into empty routes are only tried from the second.
        while improved || loop_id < 2 {
            improved = false;
            for oi in 0..self.order.len() {
                let u = self.order[oi];
                let last = self.when_tested[u as usize];
                self.when_tested[u as usize] = self.stamp;
                for &v in &d.neighbours[u as usize] {
                    let (ru, iu) = self.position(u);
                    let (rv, iv) = self.position(v);
                    if loop_id > 0 && self.routes[ru].modified.max(self.routes[rv].modified) <= last
                    {
                        continue;
                    }
                    if self.try_moves(&NODE_MOVES, ru, iu, rv, iv) {
                        improved = true;
                        continue;
                    }
                    if iv == 1 {
                        // v opens its route: also try u right after the depot.
                        let (ru, iu) = self.position(u);
                        if self.try_moves(&DEPOT_MOVES, ru, iu, rv, 0) {
                            improved = true;
                        }
                    }
                }
                if loop_id > 0
                    && let Some(er) = self.routes.iter().position(|r| r.visits.len() == 2)
                {
                    let (ru, iu) = self.position(u);
                    if self.try_moves(&DEPOT_MOVES, ru, iu, er, 0) {
                        improved = true;
                    }
                }
            }
            // SWAP* once the node moves are exhausted (it costs O(|R1|·|R2|) per route pair).
            if !improved && self.swap_star && self.swap_star_pass() {
                improved = true;
            }
            loop_id += 1;
        }
    }

    /// Angular sector (start, extent) of a route's clients around the depot, in 1/65536 turns,
    /// grown greedily as HGS-CVRP's `CircleSector` does.
    fn sector(&self, r: usize) -> (i32, i32) {
        let v = &self.routes[r].visits;
        let pos = |c: u32| {
            (((self.d.angle[c as usize] / std::f64::consts::TAU).rem_euclid(1.0) * 65536.0) as i32)
                & 0xffff
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

    fn overlap(a: (i32, i32), b: (i32, i32)) -> bool {
        (b.0 - a.0).rem_euclid(65536) <= a.1 || (a.0 - b.0).rem_euclid(65536) <= b.1
    }

    /// SWAP* (Vidal 2022, §4): exchange u of one route with v of another, each reinserted at its
    /// best position in the other route rather than in the other's place. Candidates are ranked
    /// by separately computed removal and top-3 insertion deltas on penalised costs (PyVRP does
    /// the same for time windows); the best candidate per route pair is then evaluated exactly.
    fn swap_star_pass(&mut self) -> bool {
        let n = self.routes.len();
        let mut improved = false;
        let live: Vec<usize> = (0..n)
            .filter(|&r| self.routes[r].visits.len() > 2)
            .collect();
        let sectors: Vec<(i32, i32)> = (0..n)
            .map(|r| {
                if self.routes[r].visits.len() > 2 {
                    self.sector(r)
                } else {
                    (0, 0)
                }
            })
            .collect();
        for (a, &r1) in live.iter().enumerate() {
            for &r2 in &live[a + 1..] {
                let last = self.swap_tested[r1].min(self.swap_tested[r2]);
                if self.routes[r1].modified.max(self.routes[r2].modified) <= last {
                    continue;
                }
                if self.routes[r1].visits.len() <= 2 || self.routes[r2].visits.len() <= 2 {
                    continue;
                }
                if !Self::overlap(sectors[r1], sectors[r2]) {
                    continue;
                }
                if self.swap_star(r1, r2) {
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
        top.clear();
        rem.clear();
        for i in 1..rf.visits.len() - 1 {
            let s = Seg::concat(d, &rf.fwd[i - 1], &rf.bwd[i + 1]);
            rem.push(route_cost(d, &s, &self.pen) - rf.cost);
            let c = &d.node_seg[rf.visits[i] as usize];
            let mut best = [(usize::MAX, f64::INFINITY); 3];
            let cn = rf.visits[i];
            for p in 0..ri.visits.len() - 1 {
                // Inserting never lowers load excess or time warp: distance bounds the delta.
                let (x, y) = (ri.visits[p], ri.visits[p + 1]);
                if d.dist(x, cn) + d.dist(cn, y) - d.dist(x, y) >= best[2].1 {
                    continue;
                }
                let s = Seg::concat(d, &Seg::concat(d, &ri.fwd[p], c), &ri.bwd[p + 1]);
                let delta = route_cost(d, &s, &self.pen) - ri.cost;
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
        let d = self.d;
        let (mut top1, mut rem1, mut top2, mut rem2) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        self.insertion_table(r1, r2, &mut top1, &mut rem1);
        self.insertion_table(r2, r1, &mut top2, &mut rem2);
        let (a, b) = (&self.routes[r1], &self.routes[r2]);
        // Best approximate candidate: (delta, iu, q in r2, iv, q in r1), q = insert after index.
        let mut best = (-MIN_GAIN, 0, 0, 0, 0);
        for iu in 1..a.visits.len() - 1 {
            let u = a.visits[iu];
            for iv in 1..b.visits.len() - 1 {
                let v = b.visits[iv];
                // u into r2 without v: a top-3 position not touching v, or v's place.
                let place_u = {
                    let s = Seg::concat(
                        d,
                        &Seg::concat(d, &b.fwd[iv - 1], &d.node_seg[u as usize]),
                        &b.bwd[iv + 1],
                    );
                    route_cost(d, &s, &self.pen) - b.cost
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
                    route_cost(d, &s, &self.pen) - a.cost
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
        let (x1, x2) = (r1 as u16, r2 as u16);
        let f = |r: u16, a: usize, b: usize| Piece::Fwd(r, a as u16, b as u16);
        let (l1, l2) = (a.visits.len() - 1, b.visits.len() - 1);
        // Route 1 loses u (index iu) and gains v after index qv (qv != iu).
        let vp = f(x2, iv, iv);
        let up = f(x1, iu, iu);
        if qv < iu {
            plan.route(
                x1,
                &[f(x1, 0, qv), vp, f(x1, qv + 1, iu - 1), f(x1, iu + 1, l1)],
            );
        } else {
            plan.route(
                x1,
                &[f(x1, 0, iu - 1), f(x1, iu + 1, qv), vp, f(x1, qv + 1, l1)],
            );
        }
        if qu < iv {
            plan.route(
                x2,
                &[f(x2, 0, qu), up, f(x2, qu + 1, iv - 1), f(x2, iv + 1, l2)],
            );
        } else {
            plan.route(
                x2,
                &[f(x2, 0, iv - 1), f(x2, iv + 1, qu), up, f(x2, qu + 1, l2)],
            );
        }
        if self.exact_delta(&plan) < -MIN_GAIN {
            self.apply(&plan);
            return true;
        }
        false
    }

    /// Penalised-cost components of the current solution: (distance, load excess, time warp,
    /// non-empty routes).
    pub fn summary(&self) -> (f64, f64, f64, usize) {
        let d = self.d;
        let mut out = (0.0, 0.0, 0.0, 0);
        for r in &self.routes {
            if r.visits.len() > 2 {
                let s = &r.fwd[r.fwd.len() - 1];
                out.0 += s.dist;
                out.1 += s.excess(d);
                out.2 += s.route_warp(d);
                out.3 += 1;
            }
        }
        out
    }
}
