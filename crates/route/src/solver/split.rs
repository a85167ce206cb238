//! Split: the optimal segmentation of a giant tour into routes (Prins 2004; Vidal 2016 "Split
//! algorithm in O(n) for the capacitated vehicle routing problem" describes the family), here the
//! simple Bellman version on penalised costs, with time warp evaluated by segment concatenation
//! (Vidal et al. 2013) and a fleet-bounded variant used when the unbounded one needs too many
//! routes.

use super::data::Data;
use super::segment::{Penalties, Seg, route_cost};

/// Routes longer than this factor times the capacity (any dimension) are not considered.
const LOAD_SLACK: f64 = 1.5;

/// Cuts `tour` (client nodes) into at most `fleet` routes minimising the penalised cost.
pub fn split(d: &Data, tour: &[u32], pen: &Penalties, fleet: usize) -> Vec<Vec<u32>> {
    let n = tour.len();
    if n == 0 {
        return Vec::new();
    }
    let end = d.node_seg[d.n + 1];
    let too_heavy =
        |s: &Seg| (0..d.dims).any(|k| s.load[k] > LOAD_SLACK * d.capacity[k] && s.clients > 1);
    // Cost of route tour[i..=j] for every j reachable from i.
    let route = |i: usize, f: &mut dyn FnMut(usize, f64)| {
        let mut s = d.node_seg[0];
        for (j, &c) in tour.iter().enumerate().skip(i) {
            s = Seg::concat(d, &s, &d.node_seg[c as usize]);
            if too_heavy(&s) {
                break;
            }
            f(j, route_cost(d, &Seg::concat(d, &s, &end), pen));
        }
    };
    let mut best = vec![f64::INFINITY; n + 1];
    let mut pred = vec![0usize; n + 1];
    best[0] = 0.0;
    for i in 0..n {
        if best[i].is_finite() {
            let base = best[i];
            route(i, &mut |j, c| {
                if base + c < best[j + 1] {
                    best[j + 1] = base + c;
                    pred[j + 1] = i;
                }
            });
        }
    }
    let mut cuts = Vec::new();
    let mut j = n;
    while j > 0 {
        cuts.push((pred[j], j));
        j = pred[j];
    }
    if best[n].is_finite() && cuts.len() <= fleet {
        return cuts
            .iter()
            .rev()
            .map(|&(a, b)| tour[a..b].to_vec())
            .collect();
    }
    // Fleet-bounded: layers k = 1..=fleet routes (O(fleet · n · route length)).
    let mut prev = vec![f64::INFINITY; n + 1];
    prev[0] = 0.0;
    let mut preds: Vec<Vec<usize>> = Vec::new();
    let mut best_k = None;
    for k in 0..fleet {
        let mut cur = vec![f64::INFINITY; n + 1];
        let mut p = vec![0usize; n + 1];
        for (i, &base) in prev.iter().enumerate().take(n) {
            if base.is_finite() {
                route(i, &mut |j, c| {
                    if base + c < cur[j + 1] {
                        cur[j + 1] = base + c;
                        p[j + 1] = i;
                    }
                });
            }
        }
        preds.push(p);
        if cur[n].is_finite() && best_k.is_none_or(|(_, c)| cur[n] < c) {
            best_k = Some((k, cur[n]));
        }
        prev = cur;
    }
    match best_k {
        Some((k, _)) => {
            let mut out = Vec::new();
            let mut j = n;
            for layer in (0..=k).rev() {
                let i = preds[layer][j];
                out.push(tour[i..j].to_vec());
                j = i;
            }
            out.reverse();
            out
        }
        None => {
            // Even the load slack cannot fit: spread the tour evenly over the fleet.
            let per = n.div_ceil(fleet.max(1));
            tour.chunks(per.max(1)).map(|c| c.to_vec()).collect()
        }
    }
}
