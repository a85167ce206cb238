//! `rendan route ...`: solve, check and benchmark vehicle-routing instances with the
//! `rendan-route` engine. Thin: every rule lives in the library; this module parses arguments,
//! draws the live progress line on a terminal and prints.

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use rendan_route::io::{Format, json, read_problem};
use rendan_route::solver::{Config, Limits, Objective, Progress, solve};
use rendan_route::{bench, check};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Input formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Solomon text format.
    Solomon,
    /// VRPLIB.
    Vrplib,
    /// rendan's JSON problem format.
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Solomon => Format::Solomon,
            FormatArg::Vrplib => Format::Vrplib,
            FormatArg::Json => Format::Json,
        }
    }
}

/// Objectives.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Fewest vehicles first, then distance.
    VehiclesDistance,
    /// Distance only.
    Distance,
}

impl From<ObjectiveArg> for Objective {
    fn from(o: ObjectiveArg) -> Objective {
        match o {
            ObjectiveArg::VehiclesDistance => Objective::VehiclesDistance,
            ObjectiveArg::Distance => Objective::Distance,
        }
    }
}

/// `rendan route` subcommands.
#[derive(Debug, Subcommand)]
pub enum RouteCmd {
    /// Solve one instance and write the JSON solution.
    Solve {
        /// Problem file.
        file: PathBuf,
        /// Input format (guessed from the extension by default: .vrp, .json, else Solomon).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// What to minimise.
        #[arg(long, value_enum, default_value = "vehicles-distance")]
        objective: ObjectiveArg,
        /// Time limit in seconds.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
        /// Optional iteration limit (with it, a run is reproducible bit for bit).
        #[arg(long)]
        iterations: Option<u64>,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the solution here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a solution from scratch and print its cost; exits non-zero if infeasible.
    Check {
        /// Problem file.
        problem: PathBuf,
        /// JSON solution file.
        solution: PathBuf,
        /// Input format of the problem.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
    /// Solve every instance of a folder, check each, compare with its best-known table.
    Bench {
        /// Folder with instances (or a `txt/` subfolder) and `bks.csv` / `bks_distance_only.csv`.
        dir: PathBuf,
        /// Time limit per instance in seconds.
        #[arg(long)]
        time_limit: f64,
        /// What to minimise.
        #[arg(long, value_enum, default_value = "vehicles-distance")]
        objective: ObjectiveArg,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Runs a `rendan route` subcommand.
pub fn run(cmd: RouteCmd) -> anyhow::Result<()> {
    match cmd {
        RouteCmd::Solve {
            file,
            format,
            objective,
            time_limit,
            iterations,
            seed,
            out,
        } => {
            let objective = Objective::from(objective);
            let problem = read_problem(&file, format.map(Format::from))
                .with_context(|| format!("reading {}", file.display()))?;
            let started = Instant::now();
            let mut stop = Limits::new(
                Some(Duration::from_secs_f64(time_limit.max(0.0))),
                iterations,
            );
            let live = std::io::stderr().is_terminal();
            let mut progress = |p: &Progress| {
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
            match out {
                Some(path) => std::fs::write(&path, text + "\n")
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        RouteCmd::Check {
            problem,
            solution,
            format,
        } => {
            let p = read_problem(&problem, format.map(Format::from))
                .with_context(|| format!("reading {}", problem.display()))?;
            let text = std::fs::read_to_string(&solution)
                .with_context(|| format!("reading {}", solution.display()))?;
            let doc = json::parse_solution(&text)
                .with_context(|| format!("reading {}", solution.display()))?;
            let r = check(&p, &doc.routes);
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
                bail!("{} violation(s)", r.violations.len());
            }
        }
        RouteCmd::Bench {
            dir,
            time_limit,
            objective,
            seed,
        } => {
            let objective = Objective::from(objective);
            let limit = Duration::from_secs_f64(time_limit.max(0.0));
            let bks = bench::bks_for(&dir, objective)?;
            let mut rows = Vec::new();
            for f in
                bench::instance_files(&dir).with_context(|| format!("listing {}", dir.display()))?
            {
                let row = bench::run_one(&f, objective, seed, limit, &bks)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
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
    }
    Ok(())
}
