//! Property: a move's evaluated delta equals the real change of penalised cost after `apply`,
//! and the pruned evaluation never hides an improving move.

mod common;

use proptest::prelude::*;
use rendan_route::solver::data::Data;
use rendan_route::solver::rng::Rng;
use rendan_route::solver::search::{LocalSearch, MIN_GAIN, Move};
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

/// Penalised cost recomputed from the routes alone.
fn scratch_cost(d: &Data, routes: &[Vec<u32>], pen: &Penalties) -> f64 {
    routes
        .iter()
        .map(|r| route_cost(d, &d.route_seg(r), pen))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn delta_equals_cost_change(seed in 0u64..1_000_000, n in 3usize..25, k in 1usize..5,
                                pl in 0.0f64..50.0, pt in 0.0f64..50.0, fixed in any::<bool>(),
                                picks in proptest::collection::vec((0usize..9, 0usize..100, 0usize..100), 30)) {
        let p = common::instance(seed, n, 50.0, 60.0, k + 1);
        let d = Data::new(&p, if fixed { 100.0 } else { 0.0 }, 10).expect("data");
        let mut rng = Rng::new(seed);
        let mut tour: Vec<u32> = (1..=n as u32).collect();
        rng.shuffle(&mut tour);
        let per = n.div_ceil(k);
        let routes: Vec<Vec<u32>> = tour.chunks(per).map(|c| c.to_vec()).collect();
        let pen = Penalties { load: pl, tw: pt };
        let mut ls = LocalSearch::new(&d);
        ls.set_penalties(pen);
        ls.load(&routes, k + 1);
        for (mi, a, b) in picks {
            let before = ls.cost();
            prop_assert!((before - scratch_cost(&d, &ls.routes(), &pen)).abs() < 1e-6);
            let u = (a % n) as u32 + 1;
            let (ru, iu) = ls.position(u);
            let cur = ls.routes();
            let rv = b % cur.len();
            let iv = (b / cur.len()) % (cur[rv].len() + 1);
            let Some(plan) = ls.plan(MOVES[mi], ru, iu, rv, iv) else { continue };
            let exact = ls.exact_delta(&plan);
            let pruned = ls.evaluate(&plan);
            if exact < -MIN_GAIN {
                prop_assert!((pruned - exact).abs() < 1e-6, "pruned {} exact {}", pruned, exact);
            } else {
                prop_assert!(pruned >= -MIN_GAIN);
            }
            ls.apply(&plan);
            let after = scratch_cost(&d, &ls.routes(), &pen);
            prop_assert!((after - (before + exact)).abs() < 1e-6, "{:?}: {} + {} != {}", MOVES[mi], before, exact, after);
            let mut all: Vec<u32> = ls.routes().concat();
            all.sort_unstable();
            prop_assert_eq!(all, (1..=n as u32).collect::<Vec<_>>());
        }
    }
}
