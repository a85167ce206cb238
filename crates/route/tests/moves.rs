//! Property: a move's evaluated delta equals the real change of penalised cost after `apply`,
//! on rich instances (mixed fleet, several depots, pickups, skills, two-window jobs), for node
//! moves, tail exchanges between routes with different depots, whole-route changes of vehicle
//! and insertions; and the pruned evaluation never hides an improving move.

mod common;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rendan_route::solver::data::Data;
use rendan_route::solver::rng::Rng;
use rendan_route::solver::route::exact_cost;
use rendan_route::solver::search::{LocalSearch, MIN_GAIN, Move, Plan};
use rendan_route::solver::segment::{Penalties, route_cost};

const MOVES: [Move; 9] = [
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
        n: 3,
        m: 0,
        reverse: false,
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
    Move::TwoOpt,
    Move::TwoOptStar,
];

/// Penalised cost recomputed from the routes alone (exactly for routes with two-window jobs).
fn scratch_cost(d: &Data, routes: &[(u32, Vec<u32>)], pen: &Penalties) -> f64 {
    routes
        .iter()
        .map(|(t, r)| {
            let t = *t as usize;
            let cost = if r.iter().any(|&c| !d.windows[c as usize].is_empty()) {
                exact_cost(d, t, r)
            } else {
                route_cost(d, t, &d.route_seg(t, r))
            };
            cost.penalised(pen)
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        rng_seed: RngSeed::Fixed(20_261_122),
        ..ProptestConfig::default()
    })]
    #[test]
    fn delta_equals_cost_change(seed in 0u64..1_000_000, n in 3usize..25, types in 1usize..4,
                                depots in 1usize..4, pickups in any::<bool>(), skills in any::<bool>(),
                                two_windows in any::<bool>(), pl in 0.0f64..50.0, pt in 0.0f64..50.0,
                                picks in proptest::collection::vec((0usize..12, 0usize..100, 0usize..100), 30)) {
        let p = common::rich(seed, common::Rich { n, types, per_type: 3, depots, pickups, skills, two_windows });
        let d = Data::new(&p, 0.0, 10).expect("data");
        let mut rng = Rng::new(seed);
        // A random start: clients spread over random routes of types that have their skills.
        let mut start: Vec<(u32, Vec<u32>)> = (0..d.types.len() * 2)
            .map(|k| ((k % d.types.len()) as u32, Vec::new()))
            .collect();
        for c in d.clients() {
            let fits: Vec<usize> = (0..start.len())
                .filter(|&r| d.may_serve(start[r].0 as usize, c))
                .collect();
            let r = fits[rng.below(fits.len())];
            start[r].1.push(c);
        }
        let pen = Penalties { load: [pl, pl * 3.0, 0.0], tw: pt };
        let mut ls = LocalSearch::new(&d);
        ls.set_penalties(pen);
        ls.load(&start);
        for (mi, a, b) in picks {
            let before = ls.cost();
            prop_assert!((before - scratch_cost(&d, &ls.solution(), &pen)).abs() < 1e-6);
            let routes = ls.route_count();
            let plan: Option<Plan> = if mi < MOVES.len() {
                let u = d.clients().nth(a % n).expect("client");
                let (ru, iu) = ls.position(u);
                let rv = b % routes;
                let iv = (b / routes) % ls.visits(rv).len();
                ls.plan(MOVES[mi], ru, iu, rv, iv)
            } else if mi == MOVES.len() {
                // Into an empty vehicle of some type, or an exchange of vehicles.
                let r = a % routes;
                let into = match ls.empty_route((b % d.types.len()) as u32) {
                    Some(e) if b % 2 == 0 => e,
                    _ => b % ls.route_count(),
                };
                ls.route_plan(r, into)
            } else {
                // Remove a client and put it back at a random place: insert_delta must agree.
                let c = d.clients().nth(a % n).expect("client");
                ls.remove(c);
                let mut r = b % ls.route_count();
                let mut pos = (b / ls.route_count().max(1)) % (ls.visits(r).len() - 1);
                if !ls.insert_delta(c, r, pos).is_finite() {
                    // A route without the client's skill: put it where it may go.
                    (r, pos) = (0..ls.route_count())
                        .flat_map(|r| (0..ls.visits(r).len() - 1).map(move |q| (r, q)))
                        .find(|&(r, q)| ls.insert_delta(c, r, q).is_finite())
                        .expect("some route has the skill");
                }
                let expected = ls.cost() + ls.insert_delta(c, r, pos);
                let bound = ls.cost() + ls.insert_bound(c, r, pos);
                ls.insert(c, r, pos);
                prop_assert!((ls.cost() - expected).abs() < 1e-6, "insert: {} vs {}", ls.cost(), expected);
                prop_assert!(bound <= ls.cost() + 1e-6, "bound {} above {}", bound, ls.cost());
                continue;
            };
            let Some(plan) = plan else { continue };
            let exact = ls.exact_delta(&plan);
            let pruned = ls.evaluate(&plan);
            if exact < -MIN_GAIN {
                prop_assert!((pruned - exact).abs() < 1e-6, "pruned {} exact {}", pruned, exact);
            } else {
                prop_assert!(pruned >= -MIN_GAIN || exact.is_infinite());
            }
            if !exact.is_finite() {
                continue; // a vehicle without a required skill: never applied
            }
            ls.apply(&plan);
            let after = scratch_cost(&d, &ls.solution(), &pen);
            prop_assert!((after - (before + exact)).abs() < 1e-6, "{}: {} + {} != {}", mi, before, exact, after);
            let mut all: Vec<u32> = ls.solution().into_iter().flat_map(|r| r.1).collect();
            all.sort_unstable();
            prop_assert_eq!(all, d.clients().collect::<Vec<_>>());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 100,
        rng_seed: RngSeed::Fixed(20_261_122),
        ..ProptestConfig::default()
    })]
    /// The re-cut of a solution whose routes fit their vehicles keeps every client once and,
    /// on an unlimited fleet, never costs more: the cut that keeps each route is a candidate.
    #[test]
    fn resplit_never_costs_more(seed in 0u64..1_000_000, n in 1usize..25, types in 1usize..4,
                                depots in 1usize..4, pickups in any::<bool>(), skills in any::<bool>(),
                                two_windows in any::<bool>(), pt in 0.0f64..50.0) {
        let p = common::rich(seed, common::Rich { n, types, per_type: 3, depots, pickups, skills, two_windows });
        let d = Data::new(&p, 0.0, 10).expect("data");
        let mut rng = Rng::new(seed);
        let pen = Penalties { load: [100.0, 300.0, 0.0], tw: pt };
        // Clients joined to random routes of a type that may serve them while the load fits.
        let mut routes: Vec<(u32, Vec<u32>)> = Vec::new();
        for c in d.clients() {
            let fits: Vec<usize> = (0..d.types.len()).filter(|&t| d.may_serve(t, c)).collect();
            let t = fits[rng.below(fits.len())];
            let same: Vec<usize> = (0..routes.len()).filter(|&r| routes[r].0 as usize == t).collect();
            let joined = !same.is_empty() && {
                let r = same[rng.below(same.len())];
                let mut trial = routes[r].1.clone();
                trial.push(c);
                let cost = route_cost(&d, t, &d.route_seg(t, &trial));
                let fits = !cost.forbidden && cost.excess.iter().all(|&x| x <= 1e-9);
                if fits {
                    routes[r].1 = trial;
                }
                fits
            };
            if !joined {
                routes.push((t as u32, vec![c]));
            }
        }
        let unlimited = vec![u32::MAX; d.types.len()];
        let (cut, rest) = rendan_route::solver::split::resplit(&d, &pen, &routes, &unlimited, &mut rng);
        prop_assert!(rest.is_empty());
        let mut seen: Vec<u32> = cut.iter().flat_map(|r| r.1.iter().copied()).collect();
        seen.sort_unstable();
        prop_assert_eq!(seen, d.clients().collect::<Vec<_>>());
        // Segment costs (the split's view) of both; routes through two-window clients are
        // priced on their windows' envelope by both alike.
        let seg_cost = |rs: &[(u32, Vec<u32>)]| -> f64 {
            rs.iter()
                .map(|(t, r)| route_cost(&d, *t as usize, &d.route_seg(*t as usize, r)).penalised(&pen))
                .sum()
        };
        prop_assert!(seg_cost(&cut) <= seg_cost(&routes) + 1e-6,
                     "re-cut {} > input {}", seg_cost(&cut), seg_cost(&routes));
    }
}
