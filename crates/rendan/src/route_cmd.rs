//! `rendan route ...`: solve, check and benchmark vehicle-routing instances with the
//! `rendan-route` engine. Thin: every rule lives in the library; this module parses arguments,
//! draws the live progress line on a terminal and prints.

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use rendan_route::io::{Distances, Format, json, read_problem_with, vrplib};
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

/// Distance conventions of text instances.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DistancesArg {
    /// Unrounded Euclidean distances.
    Exact,
    /// Every arc truncated to one decimal (DIMACS 2021; `bks_dimacs.csv`).
    Dimacs,
}

impl From<DistancesArg> for Distances {
    fn from(d: DistancesArg) -> Distances {
        match d {
            DistancesArg::Exact => Distances::Exact,
            DistancesArg::Dimacs => Distances::Dimacs,
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
        /// How arc lengths are computed from coordinates.
        #[arg(long, value_enum, default_value = "exact")]
        distances: DistancesArg,
        /// Solver parameter `NAME=VALUE` (expert tuning; see `rendan_route::solver::Params`).
        #[arg(long = "param")]
        params: Vec<String>,
        /// Write the solution here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a solution from scratch and print its cost; exits non-zero if infeasible.
    Check {
        /// Problem file.
        problem: PathBuf,
        /// Solution file: rendan's JSON, or a VRPLIB `.sol` file.
        solution: PathBuf,
        /// Input format of the problem.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// How arc lengths are computed from coordinates.
        #[arg(long, value_enum, default_value = "exact")]
        distances: DistancesArg,
    },
    /// Solve every instance of a folder, check each, compare with its best-known table.
    Bench {
        /// Folder with instances (or a `txt/` subfolder) and `bks.csv` / `bks_distance_only.csv`.
        dir: PathBuf,
        /// Time limit per instance in seconds.
        #[arg(long)]
        time_limit: f64,
        /// Optional iteration limit per instance (with it, results do not depend on the
        /// machine's load as long as the time limit is not reached first).
        #[arg(long)]
        iterations: Option<u64>,
        /// What to minimise.
        #[arg(long, value_enum, default_value = "vehicles-distance")]
        objective: ObjectiveArg,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How arc lengths are computed from coordinates (picks `bks_dimacs.csv` for dimacs).
        #[arg(long, value_enum, default_value = "exact")]
        distances: DistancesArg,
        /// Solver parameter `NAME=VALUE` (expert tuning; see `rendan_route::solver::Params`).
        #[arg(long = "param")]
        params: Vec<String>,
        /// Only instances whose name matches one of these patterns (`*` for any text).
        #[arg(long = "include")]
        include: Vec<String>,
        /// Append each result to this CSV as it comes; instances already in it are not run
        /// again, so an interrupted benchmark resumes where it stopped.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

/// Solver parameters from `NAME=VALUE` arguments over the defaults.
fn parse_params(args: &[String]) -> anyhow::Result<rendan_route::solver::Params> {
    let mut p = rendan_route::solver::Params::default();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            bail!("--param {a:?}: expected NAME=VALUE");
        };
        p.set(k.trim(), v.trim()).map_err(anyhow::Error::msg)?;
    }
    Ok(p)
}

/// A `--time-limit` in seconds as a duration: finite and not negative.
fn time_limit_of(seconds: f64) -> anyhow::Result<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        bail!("--time-limit must be a number of seconds, at least 0 (got {seconds})");
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("--time-limit {seconds} is too long"))
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
            distances,
            params,
            out,
        } => {
            let mut config = Config::new(Objective::from(objective), seed);
            config.params = parse_params(&params)?;
            let objective = Objective::from(objective);
            let problem = read_problem_with(&file, format.map(Format::from), distances.into())
                .with_context(|| format!("reading {}", file.display()))?;
            let started = Instant::now();
            let mut stop = Limits::new(Some(time_limit_of(time_limit)?), iterations);
            let live = std::io::stderr().is_terminal();
            let mut progress = |p: &Progress| {
                if live {
                    eprint!(
                        "\rbest cost {:.2}  vehicles {}  iteration {}  {:.1}s   ",
                        p.distance,
                        p.vehicles,
                        p.iteration,
                        started.elapsed().as_secs_f64()
                    );
                }
            };
            let sol = solve(&problem, &config, &mut stop, &mut progress)?;
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
            distances,
        } => {
            let p = read_problem_with(&problem, format.map(Format::from), distances.into())
                .with_context(|| format!("reading {}", problem.display()))?;
            let text = std::fs::read_to_string(&solution)
                .with_context(|| format!("reading {}", solution.display()))?;
            let routes = if solution.extension().is_some_and(|e| e == "sol") {
                vrplib::parse_solution(&text)
                    .with_context(|| format!("reading {}", solution.display()))?
                    .routes
            } else {
                json::parse_solution(&text)
                    .with_context(|| format!("reading {}", solution.display()))?
                    .plans()
            };
            let r = check(&p, &routes);
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
            iterations,
            objective,
            seed,
            distances,
            params,
            include,
            csv,
        } => {
            let opts = bench::RunOptions {
                objective: Objective::from(objective),
                seed,
                time_limit: time_limit_of(time_limit)?,
                iterations,
                distances: distances.into(),
                params: parse_params(&params)?,
            };
            let table = bench::bks_table(&dir, opts.objective, opts.distances)?;
            let mut rows: Vec<bench::Row> = Vec::new();
            if let Some(path) = &csv {
                if let Ok(text) = std::fs::read_to_string(path) {
                    rows.extend(text.lines().skip(1).filter_map(bench::Row::parse_csv));
                } else {
                    std::fs::write(path, format!("{}\n", bench::Row::CSV_HEADER))
                        .with_context(|| format!("writing {}", path.display()))?;
                }
            }
            let files: Vec<PathBuf> = bench::instance_files(&dir)
                .with_context(|| format!("listing {}", dir.display()))?
                .into_iter()
                .filter(|f| {
                    let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                    include.is_empty() || include.iter().any(|p| bench::glob(p, stem))
                })
                .collect();
            let total = files.len();
            for (k, f) in files.iter().enumerate() {
                let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                if rows.iter().any(|r| r.instance == stem) {
                    continue;
                }
                let row = bench::run_one(f, &opts, &table)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                eprintln!(
                    "[{}/{total}] {} vehicles {} cost {:.2} {} gap {:+.2}% iterations {}",
                    k + 1,
                    row.instance,
                    row.vehicles,
                    row.cost,
                    if row.feasible { "ok" } else { "INFEASIBLE" },
                    row.gap().unwrap_or(f64::NAN),
                    row.iterations
                );
                if let Some(path) = &csv {
                    use std::io::Write as _;
                    let mut out = std::fs::OpenOptions::new()
                        .append(true)
                        .open(path)
                        .with_context(|| format!("appending to {}", path.display()))?;
                    writeln!(out, "{}", row.csv())?;
                }
                rows.push(row);
            }
            rows.retain(|r| {
                files
                    .iter()
                    .any(|f| f.file_stem().and_then(|s| s.to_str()) == Some(r.instance.as_str()))
            });
            rows.sort_by(|a, b| a.instance.cmp(&b.instance));
            print!("{}", bench::table(&rows, opts.objective));
            std::io::stdout().flush()?;
        }
    }
    Ok(())
}
