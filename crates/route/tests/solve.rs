//! The solver on small random instances: every solution passes the independent checker, and a
//! run with an iteration limit is a pure function of problem and seed.

mod common;

use proptest::prelude::*;
use rendan_route::solver::{Config, Limits, Objective, solve};

fn run(
    p: &rendan_route::Problem,
    objective: Objective,
    seed: u64,
    iters: u64,
) -> rendan_route::Solution {
    let mut stop = Limits::new(None, Some(iters));
    solve(p, &Config::new(objective, seed), &mut stop, &mut |_| {}).expect("solvable")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_solution_passes_the_checker(seed in 0u64..1_000_000, n in 1usize..30, wide in any::<bool>(),
                                         hier in any::<bool>()) {
        // One vehicle per client guarantees feasibility (each client is reachable alone).
        let p = common::instance(seed, n, 60.0, if wide { 400.0 } else { 40.0 }, n);
        let obj = if hier { Objective::VehiclesDistance } else { Objective::Distance };
        let s = run(&p, obj, seed, 300);
        let r = rendan_route::check(&p, &s.job_ids(&p));
        prop_assert!(r.feasible, "violations: {:?}", r.violations);
        prop_assert!(s.feasible);
        prop_assert!((r.distance - s.distance).abs() < 1e-6 * r.distance.max(1.0));
        prop_assert_eq!(r.vehicles, s.vehicles);
    }
}

#[test]
fn same_seed_same_solution() {
    let p = common::instance(7, 40, 80.0, 100.0, 40);
    let a = run(&p, Objective::Distance, 3, 150);
    let b = run(&p, Objective::Distance, 3, 150);
    assert_eq!(a, b);
}

#[test]
fn solomon_c101_reaches_the_optimum_quickly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/vrptw/solomon/txt/C101.txt");
    // The instances live in the workplace's shared/ folder beside the repository. A developer
    // without it may skip this test; CI (CI=true) has it, and must not skip.
    let p = match rendan_route::io::read_problem(&path, None) {
        Ok(p) => p,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {}: {e}", path.display());
            return;
        }
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let s = run(&p, Objective::VehiclesDistance, 1, 200);
    let r = rendan_route::check(&p, &s.job_ids(&p));
    assert!(r.feasible);
    assert_eq!(r.vehicles, 10);
    assert!((r.distance - 828.94).abs() < 0.01, "{}", r.distance);
}

#[test]
fn refuses_unservable_and_unsupported_problems() {
    use rendan_route::error::{ModelError, SolveError};
    let cfg = Config::new(Objective::Distance, 1);
    let mut p = common::instance(3, 5, 60.0, 100.0, 3);
    p.jobs[2].demand = vec![70.0];
    let mut stop = Limits::new(None, Some(10));
    match solve(&p, &cfg, &mut stop, &mut |_| {}) {
        Err(SolveError::Model(ModelError::Unservable { job, reason })) => {
            assert_eq!(job, 3);
            assert!(reason.contains("capacity"), "{reason}");
        }
        other => panic!("expected Unservable, got {other:?}"),
    }
    let mut p = common::instance(3, 5, 60.0, 100.0, 3);
    p.vehicles[1].capacity = vec![80.0];
    let mut stop = Limits::new(None, Some(10));
    assert!(matches!(
        solve(&p, &cfg, &mut stop, &mut |_| {}),
        Err(SolveError::Unsupported(_))
    ));
}
