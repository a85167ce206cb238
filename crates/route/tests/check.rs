//! The checker against small cases computed by hand.

use rendan_route::check::{Violation, check};
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
        demand: vec![demand],
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
        })
        .collect();
    Problem::new("hand".into(), locations, jobs, vehicles, None).unwrap()
}

#[test]
fn feasible_route_costs_twenty() {
    // 0→1: 5, arrive 5, serve 5..6; 1→2: 5, arrive 11, wait to 20, serve 20..21; 2→0: 10, back 31.
    let r = check(&problem(10.0, 40.0, None), &[vec![1, 2]]);
    assert!(r.feasible, "{:?}", r.violations);
    assert_eq!(r.vehicles, 1);
    assert!((r.distance - 20.0).abs() < 1e-12);
}

#[test]
fn late_return_is_reported() {
    let r = check(&problem(10.0, 30.0, None), &[vec![1, 2]]);
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
    let r = check(&problem(6.0, 40.0, None), &[vec![1, 2]]);
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
    let r = check(&problem(10.0, 40.0, None), &[vec![2, 1]]);
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
    assert!(check(&problem(10.0, 40.0, Some(26.0)), &[vec![1, 2]]).feasible);
    let r = check(&problem(10.0, 40.0, Some(25.0)), &[vec![1, 2]]);
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
fn missing_duplicate_unknown_and_too_many_routes() {
    let p = problem(10.0, 40.0, None);
    assert_eq!(
        check(&p, &[vec![1]]).violations,
        vec![Violation::Missing(2)]
    );
    assert_eq!(
        check(&p, &[vec![1, 2], vec![1]]).violations,
        vec![Violation::Duplicate(1)]
    );
    assert!(
        check(&p, &[vec![1, 2, 9]])
            .violations
            .contains(&Violation::UnknownJob(9))
    );
    let r = check(&p, &[vec![1], vec![], vec![2]]);
    assert!(r.violations.contains(&Violation::TooManyRoutes {
        routes: 3,
        vehicles: 2
    }));
    // Two separate routes: 5+5 and 10+10.
    let r = check(&p, &[vec![1], vec![2]]);
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
    assert!(check(&p, &[vec![1, 2]]).feasible);
    // Only [0,3]: arriving at 5 is late.
    p.jobs[0].windows = vec![TimeWindow {
        start: 0.0,
        end: 3.0,
    }];
    assert_eq!(
        check(&p, &[vec![1, 2]]).violations[0],
        Violation::Late {
            route: 0,
            job: 1,
            arrival: 5.0
        }
    );
    let mut p = problem(10.0, 40.0, None);
    p.jobs[1].skills = vec!["install".into()];
    assert_eq!(
        check(&p, &[vec![1, 2]]).violations,
        vec![Violation::Skill { route: 0, job: 2 }]
    );
    p.vehicles[0].skills = vec!["install".into()];
    assert!(check(&p, &[vec![1, 2]]).feasible);
}
