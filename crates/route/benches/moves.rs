//! Criterion baseline of the local search's inner loop: evaluating one move (relocate, swap,
//! 2-opt*) on a realistic state, and a whole local-search descent from a fixed start.
//! Uses Solomon R101 from `shared/data` when present, else a generated 100-client instance.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use rendan_route::model::{Job, Location, Problem, TimeWindow, Vehicle};
use rendan_route::solver::data::Data;
use rendan_route::solver::rng::Rng;
use rendan_route::solver::search::{LocalSearch, Move, Plan};
use rendan_route::solver::segment::Penalties;

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
                demand: vec![1.0 + rng.below(40) as f64],
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
        })
        .collect();
    Problem::new("gen".into(), locations, jobs, vehicles, None).expect("valid")
}

fn bench(c: &mut Criterion) {
    let p = problem();
    let d = Data::new(&p, 0.0, 20).expect("data");
    let mut rng = Rng::new(7);
    let mut tour: Vec<u32> = (1..=d.n as u32).collect();
    rng.shuffle(&mut tour);
    let start: Vec<Vec<u32>> = tour.chunks(d.n.div_ceil(18)).map(|c| c.to_vec()).collect();
    let mut ls = LocalSearch::new(&d);
    ls.set_penalties(Penalties {
        load: 10.0,
        tw: 10.0,
    });
    ls.load(&start, 25);
    ls.run(&mut rng);
    // Pairs (u, v) from the granular neighbourhoods of a local optimum.
    let pairs: Vec<(u32, u32)> = (1..=d.n as u32)
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
            s.set_penalties(Penalties {
                load: 10.0,
                tw: 10.0,
            });
            s.load(&start, 25);
            s.run(&mut Rng::new(3));
            black_box(s.cost())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
