//! The checker against small cases computed by hand.

use rendan_route::check::{RoutePlan, Violation, by_position, check};
use rendan_route::model::{Job, Location, Problem, TimeWindow, Vehicle};

/// Depot (0,0); job 1 at (3,4), 5 from the depot; job 2 at (6,8), 5 from job 1, 10 from the depot.
fn problem(cap: f64, shift_end: f64, max_duration: Option<f64>) -> Problem {
    let locations = vec![
        Location { x: 0.0, y: 0.0 },
        Location { x: 3.0, y: 4.0 },
        Location { x: 6.0, y: 8.0 },
    ];
    let job = |id: u64, loc: usize, demand: f64, a: f64, b: f64| Job {
        id,
        location: loc,
        delivery: vec![demand],
        pickup: vec![0.0],
        windows: vec![TimeWindow { start: a, end: b }],
        service: 1.0,
        skills: vec![],
    };
    let jobs = vec![job(1, 1, 3.0, 0.0, 10.0), job(2, 2, 4.0, 20.0, 30.0)];
    let vehicles = (1..=2)
        .map(|id| Vehicle {
            id,
            start: 0,
            end: 0,
            capacity: vec![cap],
            shift: TimeWindow {
                start: 0.0,
                end: shift_end,
            },
            max_duration,
            skills: vec![],
            fixed_cost: 0.0,
            unit_cost: 1.0,
        })
        .collect();
    Problem::new("hand".into(), locations, jobs, vehicles, None).unwrap()
}

#[test]
fn feasible_route_costs_twenty() {
    // 0→1: 5, arrive 5, serve 5..6; 1→2: 5, arrive 11, wait to 20, serve 20..21; 2→0: 10, back 31.
    let r = check(&problem(10.0, 40.0, None), &by_position(&[vec![1, 2]]));
    assert!(r.feasible, "{:?}", r.violations);
    assert_eq!(r.vehicles, 1);
    assert!((r.distance - 20.0).abs() < 1e-12);
}

#[test]
fn late_return_is_reported() {
    let r = check(&problem(10.0, 30.0, None), &by_position(&[vec![1, 2]]));
    assert_eq!(
        r.violations,
        vec![Violation::LateReturn {
            route: 0,
            arrival: 31.0,
            end: 30.0
        }]
    );
}

#[test]
fn capacity_is_reported() {
    let r = check(&problem(6.0, 40.0, None), &by_position(&[vec![1, 2]]));
    assert_eq!(
        r.violations,
        vec![Violation::Capacity {
            route: 0,
            dim: 0,
            load: 7.0,
            capacity: 6.0
        }]
    );
}

#[test]
fn late_arrival_is_reported() {
    // Visiting 2 first: arrive 10, serve 20..21, go to 1: arrive 26 > 10.
    let r = check(&problem(10.0, 40.0, None), &by_position(&[vec![2, 1]]));
    assert_eq!(
        r.violations,
        vec![Violation::Late {
            route: 0,
            job: 1,
            arrival: 26.0
        }]
    );
    assert!((r.distance - 20.0).abs() < 1e-12);
}

#[test]
fn max_duration_uses_the_latest_departure() {
    // Leaving at 5 (job 1 served at its latest, 10) still returns at 31: duration 26.
    assert!(
        check(
            &problem(10.0, 40.0, Some(26.0)),
            &by_position(&[vec![1, 2]])
        )
        .feasible
    );
    let r = check(
        &problem(10.0, 40.0, Some(25.0)),
        &by_position(&[vec![1, 2]]),
    );
    assert_eq!(
        r.violations,
        vec![Violation::Duration {
            route: 0,
            duration: 26.0,
            max: 25.0
        }]
    );
}

#[test]
fn missing_duplicate_unknown_and_vehicle_errors() {
    let p = problem(10.0, 40.0, None);
    assert_eq!(
        check(&p, &by_position(&[vec![1]])).violations,
        vec![Violation::Missing(2)]
    );
    assert_eq!(
        check(&p, &by_position(&[vec![1, 2], vec![1]])).violations,
        vec![Violation::Duplicate(1)]
    );
    assert!(
        check(&p, &by_position(&[vec![1, 2, 9]]))
            .violations
            .contains(&Violation::UnknownJob(9))
    );
    let r = check(&p, &by_position(&[vec![1], vec![], vec![2]]));
    assert!(r.violations.contains(&Violation::UnknownVehicle(2)));
    let twice = [
        RoutePlan {
            vehicle: 1,
            jobs: vec![1],
        },
        RoutePlan {
            vehicle: 1,
            jobs: vec![2],
        },
    ];
    assert_eq!(
        check(&p, &twice).violations,
        vec![Violation::VehicleTwice(1)]
    );
    // Two separate routes: 5+5 and 10+10.
    let r = check(&p, &by_position(&[vec![1], vec![2]]));
    assert!(r.feasible);
    assert!((r.distance - 30.0).abs() < 1e-12);
}

#[test]
fn several_windows_and_skills() {
    // Job 1 with windows [0,3] and [8,10]: arriving at 5 waits for the second window.
    let mut p = problem(10.0, 40.0, None);
    p.jobs[0].windows = vec![
        TimeWindow {
            start: 0.0,
            end: 3.0,
        },
        TimeWindow {
            start: 8.0,
            end: 10.0,
        },
    ];
    assert!(check(&p, &by_position(&[vec![1, 2]])).feasible);
    // Only [0,3]: arriving at 5 is late.
    p.jobs[0].windows = vec![TimeWindow {
        start: 0.0,
        end: 3.0,
    }];
    assert_eq!(
        check(&p, &by_position(&[vec![1, 2]])).violations[0],
        Violation::Late {
            route: 0,
            job: 1,
            arrival: 5.0
        }
    );
    let mut p = problem(10.0, 40.0, None);
    p.jobs[1].skills = vec!["install".into()];
    assert_eq!(
        check(&p, &by_position(&[vec![1, 2]])).violations,
        vec![Violation::Skill { route: 0, job: 2 }]
    );
    p.vehicles[0].skills = vec!["install".into()];
    assert!(check(&p, &by_position(&[vec![1, 2]])).feasible);
}

#[test]
fn pickups_ride_to_the_end_and_load_is_checked_at_every_point() {
    // Job 1 delivers 3 and picks up 6; job 2 delivers 4. Leaving: 7 on board; after job 1:
    // 4 + 6 = 10; after job 2: 6. Peak 10.
    let mut p = problem(10.0, 40.0, None);
    p.jobs[0].pickup = vec![6.0];
    assert!(check(&p, &by_position(&[vec![1, 2]])).feasible);
    p.vehicles[0].capacity = vec![9.0];
    assert_eq!(
        check(&p, &by_position(&[vec![1, 2]])).violations,
        vec![Violation::Capacity {
            route: 0,
            dim: 0,
            load: 10.0,
            capacity: 9.0
        }]
    );
    // The other order peaks at 7 when leaving: 3 on board after job 2, 6 after job 1.
    assert!(
        check(&p, &by_position(&[vec![2, 1]]))
            .violations
            .iter()
            .all(|v| !matches!(v, Violation::Capacity { .. }))
    );
}

#[test]
fn cost_counts_fixed_and_unit_costs_of_each_vehicle() {
    let mut p = problem(10.0, 40.0, None);
    p.vehicles[0].fixed_cost = 100.0;
    p.vehicles[0].unit_cost = 2.0;
    p.vehicles[1].fixed_cost = 7.0;
    p.vehicles[1].unit_cost = 0.5;
    // Vehicle 0 drives 10 (job 1 and back), vehicle 1 drives 20 (job 2 and back).
    let r = check(&p, &by_position(&[vec![1], vec![2]]));
    assert!(r.feasible);
    assert!((r.distance - 30.0).abs() < 1e-12);
    assert!((r.cost - (100.0 + 2.0 * 10.0 + 7.0 + 0.5 * 20.0)).abs() < 1e-12);
    // An unused vehicle costs nothing.
    let r = check(&p, &by_position(&[vec![], vec![1, 2]]));
    assert!((r.cost - (7.0 + 0.5 * 20.0)).abs() < 1e-12);
}

#[test]
fn vehicles_end_at_their_own_depot() {
    // Vehicle 1 ends at job 2's location (a second depot): 0→1→2 is 10, then 0 back.
    let mut p = problem(10.0, 40.0, None);
    p.vehicles[1].end = 2;
    let plan = [RoutePlan {
        vehicle: 1,
        jobs: vec![1],
    }];
    let r = check(&p, &plan);
    assert!((r.distance - 10.0).abs() < 1e-12, "{}", r.distance);
}
