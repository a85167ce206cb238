//! Shared builders for the route engine's tests: small random instances in the Solomon shape,
//! and rich ones (mixed fleet, several depots, two load dimensions, pickups, skills, shifts,
//! several windows per job).

#![allow(dead_code)]

use rendan_route::model::{Job, Location, Problem, TimeWindow, Vehicle};

/// A deterministic stream of numbers from a seed.
pub struct Stream(u64);

impl Stream {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Stream(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    /// A number in `0..m`.
    pub fn below(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % m.max(1)
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// A random-ish instance from a seed: `n` clients on a 100×100 grid, demands 1..=20, capacity
/// `cap`, windows of width `width` (≥ 10) placed so that each client is reachable alone.
pub fn instance(seed: u64, n: usize, cap: f64, width: f64, vehicles: usize) -> Problem {
    let mut s = Stream::new(seed);
    let horizon = 1000.0;
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    let mut jobs = Vec::new();
    for k in 0..n {
        let loc = Location {
            x: s.below(101) as f64,
            y: s.below(101) as f64,
        };
        let far = ((loc.x - 50.0).powi(2) + (loc.y - 50.0).powi(2)).sqrt();
        let latest_start = horizon - 2.0 * far - 10.0 - width;
        let start = far.ceil() + s.below(latest_start.max(1.0) as u64) as f64;
        locations.push(loc);
        jobs.push(Job {
            id: k as u64 + 1,
            location: k + 1,
            delivery: vec![1.0 + s.below(20) as f64],
            pickup: vec![0.0],
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
            unit_cost: 1.0,
        })
        .collect();
    Problem::new(format!("rand{seed}"), locations, jobs, vehicles, None).expect("valid instance")
}

/// What a rich instance may contain.
#[derive(Debug, Clone, Copy)]
pub struct Rich {
    /// Clients.
    pub n: usize,
    /// Vehicle types (1..=4).
    pub types: usize,
    /// Vehicles per type.
    pub per_type: usize,
    /// Depots (1..=3).
    pub depots: usize,
    /// Jobs may pick goods up.
    pub pickups: bool,
    /// Jobs may need skills.
    pub skills: bool,
    /// Jobs may have two windows.
    pub two_windows: bool,
}

/// A rich instance: mixed fleet over several depots (a vehicle may end at another depot), two
/// load dimensions (kg, m³), pickups, skills, shifts, maximum durations, fixed and unit costs,
/// jobs with one or two windows. Every job can be served alone by some vehicle, so with
/// `per_type >= n` a feasible solution always exists.
pub fn rich(seed: u64, r: Rich) -> Problem {
    let mut s = Stream::new(seed ^ 0x5eed);
    let horizon = 600.0;
    let mut locations: Vec<Location> = (0..r.depots)
        .map(|k| Location {
            x: 20.0 + 30.0 * k as f64,
            y: 50.0 + 10.0 * (k % 2) as f64,
        })
        .collect();
    let skill_names = ["ac-certified", "gas-certified", "wall-mount"];
    let mut vehicles = Vec::new();
    let mut id = 1;
    for t in 0..r.types {
        let start = t % r.depots;
        let end = if s.chance(30) {
            s.below(r.depots as u64) as usize
        } else {
            start
        };
        let shift_start = s.below(60) as f64;
        let skills: Vec<String> = if r.skills {
            skill_names
                .iter()
                .filter(|_| s.chance(60))
                .map(|x| x.to_string())
                .collect()
        } else {
            Vec::new()
        };
        let cap = vec![40.0 + s.below(60) as f64, 4.0 + s.below(6) as f64];
        let max_duration = if s.chance(40) {
            Some(250.0 + s.below(200) as f64)
        } else {
            None
        };
        let fixed_cost = s.below(3) as f64 * 20.0;
        let unit_cost = 0.5 + s.below(4) as f64 * 0.5;
        for _ in 0..r.per_type {
            vehicles.push(Vehicle {
                id,
                start,
                end,
                capacity: cap.clone(),
                shift: TimeWindow {
                    start: shift_start,
                    end: horizon,
                },
                max_duration,
                skills: skills.clone(),
                fixed_cost,
                unit_cost,
            });
            id += 1;
        }
    }
    let mut jobs = Vec::new();
    let mut k = 0;
    while jobs.len() < r.n {
        k += 1;
        let loc = Location {
            x: s.below(101) as f64,
            y: s.below(101) as f64,
        };
        let service = 5.0 + s.below(20) as f64;
        let a = s.below(300) as f64 + 50.0;
        let width = 30.0 + s.below(150) as f64;
        let mut windows = vec![TimeWindow {
            start: a,
            end: a + width,
        }];
        if r.two_windows && s.chance(30) {
            let b = a + width + 20.0 + s.below(100) as f64;
            windows.push(TimeWindow {
                start: b,
                end: b + 40.0,
            });
        }
        let delivery = vec![s.below(25) as f64, s.below(30) as f64 / 10.0];
        let pickup = if r.pickups && s.chance(50) {
            vec![s.below(25) as f64, s.below(30) as f64 / 10.0]
        } else {
            vec![0.0, 0.0]
        };
        let skills: Vec<String> = if r.skills && s.chance(30) {
            vec![skill_names[s.below(3) as usize].to_string()]
        } else {
            Vec::new()
        };
        locations.push(loc);
        let job = Job {
            id: k,
            location: locations.len() - 1,
            delivery,
            pickup,
            windows,
            service,
            skills,
        };
        let probe = Problem::new(
            "probe".into(),
            locations.clone(),
            vec![job.clone()],
            vehicles.clone(),
            None,
        )
        .expect("valid");
        if probe.unservable_jobs().is_empty() {
            jobs.push(job);
        } else {
            locations.pop();
        }
        assert!(k < 10_000, "cannot generate servable jobs");
    }
    Problem::new(format!("rich{seed}"), locations, jobs, vehicles, None).expect("valid instance")
}
