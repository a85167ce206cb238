//! A second first solution: clients ordered by angle around their depot ("sweep"), the order
//! cut into routes by a shortest-path split over vehicle types.
//!
//! Greedy insertion opens the vehicle whose first client is cheapest to serve alone, which on a
//! heterogeneous fleet is the smallest one even when a few large vehicles are far cheaper in
//! all; the local search cannot undo that, since merging two routes onto a larger vehicle is
//! many moves at once. The split sees whole routes: the cost of serving tour positions i..j with
//! a vehicle of type t, for every i, j and t, and picks the cheapest cut and mix by dynamic
//! programming (Prins, "Two memetic algorithms for heterogeneous fleet vehicle routing
//! problems", Engineering Applications of Artificial Intelligence 22, 2009; the split of an
//! unlimited fleet there is a shortest path in an acyclic graph). Fleet limits are met
//! afterwards: routes beyond a type's limit are dissolved and their clients left to the
//! caller's insertion.

use super::data::Data;
use super::ils::Routes;
use super::rng::Rng;
use super::segment::{Penalties, Seg, route_cost};

/// Routes cut from a sweep order starting at a random angle, and the clients that could not be
/// placed within the fleet limits `limit` (per type).
pub fn sweep_split(d: &Data, pen: &Penalties, limit: &[u32], rng: &mut Rng) -> (Routes, Vec<u32>) {
    // Each client joins the group of the nearest start depot among the types that may serve it.
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); d.depots];
    let mut unplaced = Vec::new();
    for c in d.clients() {
        let best = (0..d.types.len())
            .filter(|&t| d.may_serve(t, c))
            .map(|t| d.types[t].start)
            .min_by(|&a, &b| d.dist(a, c).total_cmp(&d.dist(b, c)));
        match best {
            Some(g) => groups[g as usize].push(c),
            None => unplaced.push(c),
        }
    }
    let offset = rng.unit() * std::f64::consts::TAU;
    for (g, tour) in groups.iter_mut().enumerate() {
        let of = |c: u32| angle(d, g, d.xy[c as usize], offset);
        tour.sort_by(|&a, &b| of(a).total_cmp(&of(b)));
    }
    cut_all(d, pen, groups, limit, unplaced)
}

/// The routes of a solution, ordered by the angle of their centre around their depot and
/// concatenated into one tour per depot, cut again: the cut that keeps every route is among
/// the candidates, so on an unlimited fleet the result costs no more than the input, and it may
/// merge neighbouring routes onto a larger vehicle or move a route to a cheaper type, which no
/// local move does.
pub fn resplit(
    d: &Data,
    pen: &Penalties,
    routes: &Routes,
    limit: &[u32],
    rng: &mut Rng,
) -> (Routes, Vec<u32>) {
    let offset = rng.unit() * std::f64::consts::TAU;
    let mut by_depot: Vec<Vec<(f64, &[u32])>> = vec![Vec::new(); d.depots];
    for (t, clients) in routes {
        if clients.is_empty() {
            continue;
        }
        let g = d.types[*t as usize].start as usize;
        let (mut x, mut y) = (0.0, 0.0);
        for &c in clients {
            x += d.xy[c as usize].0;
            y += d.xy[c as usize].1;
        }
        let k = clients.len() as f64;
        by_depot[g].push((angle(d, g, (x / k, y / k), offset), clients));
    }
    let groups = by_depot
        .into_iter()
        .map(|mut rs| {
            rs.sort_by(|a, b| a.0.total_cmp(&b.0));
            rs.into_iter().flat_map(|r| r.1.iter().copied()).collect()
        })
        .collect();
    cut_all(d, pen, groups, limit, Vec::new())
}

/// Angle of point `(x, y)` around depot node `g`, measured from `offset`.
fn angle(d: &Data, g: usize, (x, y): (f64, f64), offset: f64) -> f64 {
    let (gx, gy) = d.xy[g];
    ((y - gy).atan2(x - gx) - offset).rem_euclid(std::f64::consts::TAU)
}

/// Cuts each depot's tour with the types starting there and keeps within the fleet limits.
fn cut_all(
    d: &Data,
    pen: &Penalties,
    groups: Vec<Vec<u32>>,
    limit: &[u32],
    mut unplaced: Vec<u32>,
) -> (Routes, Vec<u32>) {
    let mut routes: Routes = Vec::new();
    for (g, tour) in groups.into_iter().enumerate() {
        if tour.is_empty() {
            continue;
        }
        let types: Vec<usize> = (0..d.types.len())
            .filter(|&t| d.types[t].start as usize == g)
            .collect();
        let types = if types.is_empty() {
            (0..d.types.len()).collect()
        } else {
            types
        };
        match split(d, pen, &tour, &types) {
            Some(cut) => routes.extend(cut),
            None => unplaced.extend(tour),
        }
    }
    // Keep each type's longest routes within its limit; the rest go back to the caller.
    routes.sort_by_key(|r| std::cmp::Reverse(r.1.len()));
    let mut used = vec![0u32; d.types.len()];
    let mut kept = Vec::with_capacity(routes.len());
    for (t, clients) in routes {
        if used[t as usize] < limit[t as usize] {
            used[t as usize] += 1;
            kept.push((t, clients));
        } else {
            unplaced.extend(clients);
        }
    }
    (kept, unplaced)
}

/// The cheapest cut of `tour` into routes of `types` under penalised costs; `None` when some
/// client can be served by none of them.
fn split(d: &Data, pen: &Penalties, tour: &[u32], types: &[usize]) -> Option<Routes> {
    let m = tour.len();
    let mut best = vec![f64::INFINITY; m + 1];
    let mut pred = vec![(0usize, 0usize); m + 1];
    best[0] = 0.0;
    for i in 0..m {
        if !best[i].is_finite() {
            continue;
        }
        for &t in types {
            let vt = &d.types[t];
            let mut seg: Seg = vt.start_seg;
            for j in i..m {
                seg = Seg::concat(d, &seg, &d.node_seg[tour[j] as usize]);
                if seg.skills & !vt.skills != 0 {
                    break;
                }
                let full = Seg::concat(d, &seg, &vt.end_seg);
                let rc = route_cost(d, t, &full);
                // A longer route only adds load: once over capacity, stop (but a client too
                // large for every vehicle still gets a route of its own).
                if j > i && rc.excess.iter().any(|&x| x > 1e-9) {
                    break;
                }
                let c = best[i] + rc.penalised(pen);
                if c < best[j + 1] {
                    best[j + 1] = c;
                    pred[j + 1] = (i, t);
                }
            }
        }
    }
    if !best[m].is_finite() {
        return None;
    }
    let mut out = Vec::new();
    let mut j = m;
    while j > 0 {
        let (i, t) = pred[j];
        out.push((t as u32, tour[i..j].to_vec()));
        j = i;
    }
    out.reverse();
    Some(out)
}
