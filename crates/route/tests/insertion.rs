//! The live-booking insertion API against the independent checker: on random rich instances
//! (mixed fleet, several depots, pickups, skills, two-window jobs), every place it offers for a
//! job left out of a feasible plan is feasible by the checker with exactly the cost change it
//! names, and every place the checker accepts is offered.

mod common;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rendan_route::check::{RoutePlan, check};
use rendan_route::solver::insertion::Insertions;
use rendan_route::solver::{Config, Limits, Objective, solve};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(20_261_207),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(32))]
    #[test]
    fn insertions_are_exactly_the_places_the_checker_accepts(
        seed in 0u64..1_000_000, n in 2usize..20, types in 1usize..4, depots in 1usize..3,
        pickups in any::<bool>(), skills in any::<bool>(), two_windows in any::<bool>(),
    ) {
        let p = common::rich(seed, common::Rich { n, types, per_type: n, depots, pickups, skills, two_windows });
        let mut stop = Limits::new(None, Some(200));
        let s = solve(&p, &Config::new(Objective::Distance, seed), &mut stop, &mut |_| {})
            .expect("solvable");
        let k = (seed as usize) % p.jobs.len();
        let id = p.jobs[k].id;
        // The solver's plan without job k: still feasible but for k itself.
        let without: Vec<RoutePlan> = s
            .plans(&p)
            .into_iter()
            .map(|mut r| {
                r.jobs.retain(|&j| j != id);
                r
            })
            .filter(|r| !r.jobs.is_empty())
            .collect();
        let base = check(&p, &without).cost;
        let offered = Insertions::new(&p, &without).expect("a feasible plan").of(k);
        let mut feasible = 0;
        for v in 0..p.vehicles.len() {
            let route = without
                .iter()
                .find(|r| r.vehicle == v)
                .map(|r| r.jobs.clone())
                .unwrap_or_default();
            for pos in 0..=route.len() {
                let mut with: Vec<RoutePlan> =
                    without.iter().filter(|r| r.vehicle != v).cloned().collect();
                let mut jobs = route.clone();
                jobs.insert(pos, id);
                with.push(RoutePlan { vehicle: v, jobs });
                let r = check(&p, &with);
                let got = offered.iter().find(|o| o.vehicle == v && o.position == pos);
                match got {
                    Some(o) => {
                        prop_assert!(r.feasible, "offered ({v}, {pos}) breaks {:?}", r.violations);
                        prop_assert!(
                            (o.delta - (r.cost - base)).abs() < 1e-6 * r.cost.max(1.0),
                            "({v}, {pos}): delta {} but the checker's cost moves by {}",
                            o.delta,
                            r.cost - base
                        );
                        feasible += 1;
                    }
                    None => prop_assert!(!r.feasible, "({v}, {pos}) is feasible but not offered"),
                }
            }
        }
        prop_assert_eq!(feasible, offered.len());
        prop_assert!(offered.windows(2).all(|w| w[0].delta <= w[1].delta), "cheapest first");
    }
}
