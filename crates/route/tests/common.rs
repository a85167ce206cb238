//! Shared builders for the route engine's tests: small random instances in the Solomon shape.

use rendan_route::model::{Job, Location, Problem, TimeWindow, Vehicle};

/// A random-ish instance from a seed: `n` clients on a 100×100 grid, demands 1..=20, capacity
/// `cap`, windows of width `width` (≥ 10) placed so that each client is reachable alone.
pub fn instance(seed: u64, n: usize, cap: f64, width: f64, vehicles: usize) -> Problem {
    let mut z = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |m: u64| {
        z = z
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (z >> 33) % m
    };
    let horizon = 1000.0;
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    let mut jobs = Vec::new();
    for k in 0..n {
        let loc = Location {
            x: next(101) as f64,
            y: next(101) as f64,
        };
        let far = ((loc.x - 50.0).powi(2) + (loc.y - 50.0).powi(2)).sqrt();
        let latest_start = horizon - 2.0 * far - 10.0 - width;
        let start = far.ceil() + next(latest_start.max(1.0) as u64) as f64;
        locations.push(loc);
        jobs.push(Job {
            id: k as u64 + 1,
            location: k + 1,
            demand: vec![1.0 + next(20) as f64],
            windows: vec![TimeWindow {
                start,
                end: start + width,
            }],
            service: 10.0,
            skills: Vec::new(),
        });
    }
    let vehicles = (0..vehicles)
        .map(|v| Vehicle {
            id: v as u64 + 1,
            start: 0,
            end: 0,
            capacity: vec![cap],
            shift: TimeWindow {
                start: 0.0,
                end: horizon,
            },
            max_duration: None,
            skills: Vec::new(),
            fixed_cost: 0.0,
        })
        .collect();
    Problem::new(format!("rand{seed}"), locations, jobs, vehicles, None).expect("valid instance")
}
