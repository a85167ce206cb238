//! Criterion benchmarks of the local search's inner loop and of live booking: evaluating one
//! move (relocate, swap, 2-opt*) on a realistic state, a whole local-search descent from a
//! fixed start, and every feasible insertion of one more visit into a 300-stop depot-day.
//! Uses Solomon R101 from `shared/data` when present, else a generated 100-client instance.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use rendan_route::check::RoutePlan;
use rendan_route::model::{Job, Location, Problem, TimeWindow, Vehicle};
use rendan_route::solver::data::Data;
use rendan_route::solver::insertion::Insertions;
use rendan_route::solver::rng::Rng;
use rendan_route::solver::search::{LocalSearch, Move, Plan};
use rendan_route::solver::segment::Penalties;
use rendan_route::solver::{Config, Limits, Objective, solve};

fn problem() -> Problem {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/vrptw/solomon/txt/R101.txt");
    if let Ok(p) = rendan_route::io::read_problem(&path, None) {
        return p;
    }
    let mut rng = Rng::new(1);
    let mut locations = vec![Location { x: 35.0, y: 35.0 }];
    let jobs = (0..100)
        .map(|k| {
            locations.push(Location {
                x: rng.below(71) as f64,
                y: rng.below(71) as f64,
            });
            let a = rng.below(150) as f64;
            Job {
                id: k + 1,
                location: k as usize + 1,
                delivery: vec![1.0 + rng.below(40) as f64],
                pickup: vec![0.0],
                windows: vec![TimeWindow {
                    start: a,
                    end: a + 10.0,
                }],
                service: 10.0,
                skills: vec![],
            }
        })
        .collect();
    let vehicles = (0..25)
        .map(|k| Vehicle {
            id: k + 1,
            start: 0,
            end: 0,
            capacity: vec![200.0],
            shift: TimeWindow {
                start: 0.0,
                end: 230.0,
            },
            max_duration: None,
            skills: vec![],
            fixed_cost: 0.0,
            unit_cost: 1.0,
        })
        .collect();
    Problem::new("gen".into(), locations, jobs, vehicles, None).expect("valid")
}

/// A depot-day: `stops` deliveries with installation in a city of 40×40 km (minutes of driving
/// as distance), two-hour windows from 08:00 to 18:00, 15–60 minutes on site, kg and m³ loads,
/// half of them taking an old appliance back, a third needing a certified installer; 40 crews
/// with two truck sizes and 08:00–18:00 shifts, two thirds of them certified.
fn depot_day(stops: usize) -> Problem {
    let mut rng = Rng::new(42);
    let mut locations = vec![Location { x: 20.0, y: 20.0 }];
    let jobs: Vec<Job> = (0..stops)
        .map(|k| {
            locations.push(Location {
                x: rng.unit() * 40.0,
                y: rng.unit() * 40.0,
            });
            let slot = 480.0 + 120.0 * rng.below(5) as f64;
            let haul = rng.below(2) == 0;
            let kg = 40.0 + rng.below(80) as f64;
            let m3 = 0.3 + rng.unit();
            Job {
                id: k as u64 + 1,
                location: k + 1,
                delivery: vec![kg, m3],
                pickup: if haul { vec![kg, m3] } else { vec![0.0, 0.0] },
                windows: vec![TimeWindow {
                    start: slot,
                    end: slot + 120.0,
                }],
                service: 15.0 + rng.below(45) as f64,
                skills: if rng.below(3) == 0 {
                    vec!["ac-certified".into()]
                } else {
                    vec![]
                },
            }
        })
        .collect();
    let vehicles = (0..40)
        .map(|k| Vehicle {
            id: k + 1,
            start: 0,
            end: 0,
            capacity: if k % 2 == 0 {
                vec![1200.0, 14.0]
            } else {
                vec![2000.0, 22.0]
            },
            shift: TimeWindow {
                start: 480.0,
                end: 1080.0,
            },
            max_duration: None,
            skills: if k % 3 == 0 {
                vec![]
            } else {
                vec!["ac-certified".into()]
            },
            fixed_cost: 0.0,
            unit_cost: 1.0,
        })
        .collect();
    Problem::new("depot-day".into(), locations, jobs, vehicles, None).expect("valid")
}

fn bench(c: &mut Criterion) {
    let p = problem();
    let d = Data::new(&p, 0.0, 20).expect("data");
    let mut rng = Rng::new(7);
    let mut tour: Vec<u32> = d.clients().collect();
    rng.shuffle(&mut tour);
    let start: Vec<(u32, Vec<u32>)> = tour
        .chunks(d.n.div_ceil(18))
        .map(|c| (0, c.to_vec()))
        .collect();
    let pen = Penalties {
        load: [10.0; 3],
        tw: 10.0,
    };
    let mut ls = LocalSearch::new(&d);
    ls.set_penalties(pen);
    ls.load(&start);
    ls.run(&mut rng);
    // Pairs (u, v) from the granular neighbourhoods of a local optimum.
    let pairs: Vec<(u32, u32)> = d
        .clients()
        .flat_map(|u| d.neighbours[u as usize].iter().map(move |&v| (u, v)))
        .collect();
    for (name, mv) in [
        (
            "relocate",
            Move::Exchange {
                n: 1,
                m: 0,
                reverse: false,
            },
        ),
        (
            "swap",
            Move::Exchange {
                n: 1,
                m: 1,
                reverse: false,
            },
        ),
        ("two_opt_star", Move::TwoOptStar),
    ] {
        let plans: Vec<Plan> = pairs
            .iter()
            .filter_map(|&(u, v)| {
                let (ru, iu) = ls.position(u);
                let (rv, iv) = ls.position(v);
                ls.plan(mv, ru, iu, rv, iv)
            })
            .collect();
        c.bench_function(&format!("evaluate/{name} ({} plans)", plans.len()), |b| {
            b.iter(|| plans.iter().map(|p| ls.evaluate(black_box(p))).sum::<f64>())
        });
    }
    c.bench_function("local_search/descent from a random split", |b| {
        b.iter(|| {
            let mut s = LocalSearch::new(&d);
            s.set_penalties(pen);
            s.load(&start);
            s.run(&mut Rng::new(3));
            black_box(s.cost())
        })
    });

    // Live booking: a planned 300-stop day and one more visit (job 301, outside the plan).
    let day = depot_day(301);
    let mut planned = day.clone();
    planned.jobs.truncate(300);
    // The time limit only guards against a hang; 3,000 iterations take a few seconds.
    let mut stop = Limits::new(Some(std::time::Duration::from_secs(120)), Some(3000));
    let sol = solve(
        &planned,
        &Config::new(Objective::Distance, 1),
        &mut stop,
        &mut |_| {},
    )
    .expect("solvable");
    assert!(sol.feasible, "the benchmark's day must be feasible");
    let plan: Vec<RoutePlan> = sol.plans(&planned);
    let ins = Insertions::new(&day, &plan).expect("a feasible plan");
    let found = ins.of(300).len();
    c.bench_function(
        &format!("insertion/one visit into a 300-stop day ({found} feasible places)"),
        |b| b.iter(|| black_box(ins.of(black_box(300)))),
    );
    // What a slot query pays once per day before asking: the solver's view of the day (its
    // matrices and neighbourhoods) and every route's prefix and suffix segments.
    c.bench_function("insertion/prepare a 300-stop day", |b| {
        b.iter(|| black_box(Insertions::new(black_box(&day), black_box(&plan)).is_ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
