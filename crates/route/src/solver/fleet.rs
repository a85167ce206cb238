//! Route elimination for the vehicles-distance objective, after Nagata & Bräysy, "A powerful
//! route minimization heuristic for the vehicle routing problem with time windows", Operations
//! Research Letters 37 (2009): remove one route, put its clients in an ejection pool, and
//! reinsert them one by one; a client that fits nowhere is inserted anyway and up to two clients
//! are ejected from its route so that the route becomes feasible again, choosing the ejection
//! with the smallest sum of "how often was this client hard to insert" counters; random feasible
//! relocations perturb the solution between steps. Feasibility of each candidate is checked in
//! O(1) by concatenating time-warp segments (Vidal et al. 2013). It works on a fleet of one
//! vehicle type (the literature's vehicles-then-distance setting).

use super::data::Data;
use super::rng::Rng;
use super::segment::{Seg, route_cost};

/// Feasibility tolerance on time warp (matches the solver's).
const TOL: f64 = 1e-9;

/// The one vehicle type route elimination works with.
const TYPE: usize = 0;

fn feasible(d: &Data, s: &Seg) -> bool {
    route_cost(d, TYPE, s).feasible()
}

/// Prefix segments `depot, r[0..k]` for k = 0..=len and suffix segments `r[k..], depot`.
fn prefix_suffix(d: &Data, r: &[u32], fwd: &mut Vec<Seg>, bwd: &mut Vec<Seg>) {
    fwd.clear();
    bwd.clear();
    let mut s = d.types[TYPE].start_seg;
    fwd.push(s);
    for &c in r {
        s = Seg::concat(d, &s, &d.node_seg[c as usize]);
        fwd.push(s);
    }
    let mut s = d.types[TYPE].end_seg;
    bwd.resize(r.len() + 1, s);
    for k in (0..r.len()).rev() {
        s = Seg::concat(d, &d.node_seg[r[k] as usize], &s);
        bwd[k] = s;
    }
}

/// Tries to remove one route from the feasible `routes` within `steps` insertion attempts.
/// Returns the feasible solution with one route less, or `None`.
pub fn eliminate_route(
    d: &Data,
    routes: &[Vec<u32>],
    steps: usize,
    rng: &mut Rng,
) -> Option<Vec<Vec<u32>>> {
    let mut routes: Vec<Vec<u32>> = routes.iter().filter(|r| !r.is_empty()).cloned().collect();
    if routes.len() <= 1 {
        return None;
    }
    let victim = rng.below(routes.len());
    let mut pool: std::collections::VecDeque<u32> = routes.swap_remove(victim).into();
    let mut hardness = vec![1u32; d.nodes];
    let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
    for _ in 0..steps {
        let Some(c) = pool.pop_front() else {
            return Some(routes);
        };
        let cs = d.node_seg[c as usize];
        // 1. Cheapest feasible insertion.
        let mut best: Option<(f64, usize, usize)> = None;
        for (ri, r) in routes.iter().enumerate() {
            prefix_suffix(d, r, &mut fwd, &mut bwd);
            for k in 0..=r.len() {
                let s = Seg::concat(d, &Seg::concat(d, &fwd[k], &cs), &bwd[k]);
                if feasible(d, &s) {
                    let delta = s.dist - fwd[r.len()].dist;
                    if best.is_none_or(|b| delta < b.0) {
                        best = Some((delta, ri, k));
                    }
                }
            }
        }
        if let Some((_, ri, k)) = best {
            routes[ri].insert(k, c);
            continue;
        }
        // 2. Insert anyway and eject at most two others, minimising their hardness sum.
        hardness[c as usize] += 1;
        let mut choice: Option<(u32, usize, usize, [Option<usize>; 2])> = None; // (psum, route, pos, ejected)
        let mut seq = Vec::new();
        for (ri, r) in routes.iter().enumerate() {
            for k in 0..=r.len() {
                seq.clear();
                seq.extend_from_slice(&r[..k]);
                seq.push(c);
                seq.extend_from_slice(&r[k..]);
                prefix_suffix(d, &seq, &mut fwd, &mut bwd);
                let bound = choice.map_or(u32::MAX, |x| x.0);
                if let Some((p, e)) = best_ejection(d, &seq, k, &fwd, &bwd, &hardness, bound, rng)
                    && choice.is_none_or(|x| p < x.0)
                {
                    choice = Some((p, ri, k, e));
                }
            }
        }
        let Some((_, ri, k, ej)) = choice else {
            pool.push_back(c);
            continue;
        };
        let r = &mut routes[ri];
        r.insert(k, c);
        let mut idx: Vec<usize> = ej.iter().flatten().copied().collect();
        idx.sort_unstable_by(|a, b| b.cmp(a));
        for j in idx {
            pool.push_back(r.remove(j));
        }
        routes.retain(|r| !r.is_empty());
        perturb(d, &mut routes, rng, 20);
    }
    if pool.is_empty() { Some(routes) } else { None }
}

/// Best ejection of one or two clients (never the inserted one at `keep`) that makes `seq`
/// feasible, with hardness sum below `bound`; ties broken at random.
#[allow(clippy::too_many_arguments)]
fn best_ejection(
    d: &Data,
    seq: &[u32],
    keep: usize,
    fwd: &[Seg],
    bwd: &[Seg],
    hard: &[u32],
    bound: u32,
    rng: &mut Rng,
) -> Option<(u32, [Option<usize>; 2])> {
    let n = seq.len();
    let mut best: Option<(u32, [Option<usize>; 2])> = None;
    let mut ties = 0usize;
    let mut offer =
        |p: u32, e: [Option<usize>; 2], best: &mut Option<(u32, [Option<usize>; 2])>| match best {
            Some((bp, _)) if p > *bp => {}
            Some((bp, _)) if p == *bp => {
                ties += 1;
                if rng.below(ties + 1) == 0 {
                    *best = Some((p, e));
                }
            }
            _ => {
                ties = 0;
                *best = Some((p, e));
            }
        };
    for j in 0..n {
        // Time warp before j cannot be repaired by removing j or later visits.
        if fwd[j].tw > TOL {
            break;
        }
        if j == keep {
            continue;
        }
        let pj = hard[seq[j] as usize];
        if pj >= bound || best.is_some_and(|b| pj > b.0) {
            continue;
        }
        let one = Seg::concat(d, &fwd[j], &bwd[j + 1]);
        if feasible(d, &one) {
            offer(pj, [Some(j), None], &mut best);
            continue;
        }
        // Two ejections j < k: fwd[j] ⊕ seq[j+1..k] ⊕ bwd[k+1], the middle grown incrementally.
        let mut mid: Option<Seg> = None;
        for k in j + 1..n {
            if k != keep {
                let pk = pj + hard[seq[k] as usize];
                if pk < bound && best.is_none_or(|b| pk <= b.0) {
                    let left = match &mid {
                        Some(m) => Seg::concat(d, &fwd[j], m),
                        None => fwd[j],
                    };
                    if left.tw > TOL {
                        break;
                    }
                    let s = Seg::concat(d, &left, &bwd[k + 1]);
                    if feasible(d, &s) {
                        offer(pk, [Some(j), Some(k)], &mut best);
                    }
                }
            }
            let ks = d.node_seg[seq[k] as usize];
            mid = Some(match &mid {
                Some(m) => Seg::concat(d, m, &ks),
                None => ks,
            });
        }
    }
    best
}

/// Random feasible relocations to diversify between ejection steps.
fn perturb(d: &Data, routes: &mut [Vec<u32>], rng: &mut Rng, tries: usize) {
    if routes.len() < 2 {
        return;
    }
    for _ in 0..tries {
        let ra = rng.below(routes.len());
        if routes[ra].len() < 2 {
            continue;
        }
        let ia = rng.below(routes[ra].len());
        let c = routes[ra][ia];
        let neigh = &d.neighbours[c as usize];
        if neigh.is_empty() {
            continue;
        }
        let v = neigh[rng.below(neigh.len())];
        let Some((rb, ib)) = routes
            .iter()
            .enumerate()
            .find_map(|(ri, r)| r.iter().position(|&x| x == v).map(|p| (ri, p)))
        else {
            continue;
        };
        if rb == ra {
            continue;
        }
        let mut a = routes[ra].clone();
        a.remove(ia);
        let mut b = routes[rb].clone();
        b.insert(ib + 1, c);
        if feasible(d, &d.route_seg(TYPE, &a)) && feasible(d, &d.route_seg(TYPE, &b)) {
            routes[ra] = a;
            routes[rb] = b;
        }
    }
}
