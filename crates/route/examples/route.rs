//! Development driver with the same behaviour and output as `rendan route ...`:
//!
//! ```text
//! route solve FILE [--format solomon|vrplib|json] [--objective vehicles-distance|distance]
//!                  [--time-limit S] [--iterations N] [--seed N] [--out FILE]
//! route check PROBLEM SOLUTION [--format F]
//! route bench DIR --time-limit S [--objective O] [--seed N]
//! ```

use rendan_route::bench;
use rendan_route::io::{Format, json, read_problem};
use rendan_route::solver::{Config, Limits, Objective, solve};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn opt(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().cloned().unwrap_or_default();
    let objective: Objective = opt(&args, "--objective")
        .unwrap_or_else(|| "vehicles-distance".into())
        .parse()
        .map_err(|e: String| e)?;
    let seed: u64 = opt(&args, "--seed")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1);
    let time: Option<f64> = opt(&args, "--time-limit").map(|s| s.parse()).transpose()?;
    let iterations: Option<u64> = opt(&args, "--iterations").map(|s| s.parse()).transpose()?;
    let format: Option<Format> = opt(&args, "--format").map(|s| s.parse()).transpose()?;
    match cmd.as_str() {
        "solve" => {
            let file = PathBuf::from(args.get(1).ok_or("missing FILE")?);
            let problem = read_problem(&file, format)?;
            let started = Instant::now();
            let time = if time.is_none() && iterations.is_none() {
                Some(10.0)
            } else {
                time
            };
            let mut stop = Limits::new(time.map(Duration::from_secs_f64), iterations);
            let live = std::io::stderr().is_terminal();
            let mut progress = |p: &rendan_route::solver::Progress| {
                if live {
                    eprint!(
                        "\rbest {:.2}  vehicles {}  iteration {}  {:.1}s   ",
                        p.distance,
                        p.vehicles,
                        p.iteration,
                        started.elapsed().as_secs_f64()
                    );
                }
            };
            let sol = solve(
                &problem,
                &Config::new(objective, seed),
                &mut stop,
                &mut progress,
            )?;
            if live {
                eprintln!();
            }
            let doc = json::SolutionDoc::from_solution(
                &problem,
                objective,
                &sol,
                started.elapsed().as_secs_f64(),
            );
            let text = json::write_solution(&doc);
            match opt(&args, "--out") {
                Some(out) => std::fs::write(out, text + "\n")?,
                None => println!("{text}"),
            }
        }
        "check" => {
            let pfile = PathBuf::from(args.get(1).ok_or("missing PROBLEM")?);
            let sfile = PathBuf::from(args.get(2).ok_or("missing SOLUTION")?);
            let problem = read_problem(&pfile, format)?;
            let doc = json::parse_solution(&std::fs::read_to_string(&sfile)?)?;
            let r = rendan_route::check(&problem, &doc.routes);
            println!(
                "{}: vehicles {} distance {:.4} cost {:.4}",
                if r.feasible { "feasible" } else { "INFEASIBLE" },
                r.vehicles,
                r.distance,
                r.cost
            );
            for v in &r.violations {
                println!("  {v:?}");
            }
            if !r.feasible {
                std::process::exit(2);
            }
        }
        "bench" => {
            let dir = PathBuf::from(args.get(1).ok_or("missing DIR")?);
            let limit = Duration::from_secs_f64(time.ok_or("--time-limit is required")?);
            let bks = bench::bks_for(&dir, objective)?;
            let mut rows = Vec::new();
            for f in bench::instance_files(&dir)? {
                let row = bench::run_one(&f, objective, seed, limit, &bks)?;
                eprintln!(
                    "{} {} {:.2} {} gap {:+.2}% iters {}",
                    row.instance,
                    row.vehicles,
                    row.distance,
                    if row.feasible { "ok" } else { "INFEASIBLE" },
                    row.gap().unwrap_or(f64::NAN),
                    row.iterations
                );
                rows.push(row);
            }
            print!("{}", bench::table(&rows, objective));
            std::io::stdout().flush()?;
        }
        _ => return Err("usage: route solve|check|bench ...".into()),
    }
    Ok(())
}
