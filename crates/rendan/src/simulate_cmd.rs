//! `rendan simulate`: a month of operations on a fresh data directory, then its service
//! standards, the ledger audit and the plans' checks.

use crate::Place;
use crate::platform;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use rendan_simulate::{Settings, SimClock};
use rendan_usecases::UseCases;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `rendan simulate` arguments.
#[derive(Args)]
pub struct SimulateArgs {
    /// Local days at every depot.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Orders placed per day over all channels and depots.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    orders_per_day: u32,
    /// Seed of every random draw: the same seed gives the same month.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first local day (a Monday makes the weeks line up).
    #[arg(long, default_value = "2027-03-01")]
    start: Date,
    /// Longest the nightly optimisation of one depot-day may run, in milliseconds (a month
    /// holds some 500 depot-days; a day of 20 to 30 visits settles well within this).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    optimise_ms: u64,
    /// A fresh directory for the simulation's database (created; refused when it holds one);
    /// a new directory under the system's temporary directory when absent.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Topology TOML; the built-in 16-node network when absent.
    #[arg(long, env = "RENDAN_CONFIG")]
    config: Option<PathBuf>,
}

/// Runs the simulation and prints what it found; fails when a plan broke a rule or the
/// ledger does not balance.
pub async fn run(args: SimulateArgs) -> Result<()> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "rendan-simulate-{}-{}",
            args.seed,
            std::process::id()
        )),
    };
    if data_dir.join("rendan.db").exists() {
        bail!(
            "{} already holds a database; simulate needs a fresh directory",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let place = Place {
        data_dir: data_dir.clone(),
        config: args.config,
        database: None,
    };
    let platform = platform::open(&place).await?;
    let clock = SimClock::new(jiff::Timestamp::now());
    let cases = UseCases::with_clock(
        platform.store.clone(),
        platform.file.topology.clone(),
        platform.file.promise,
        clock.boxed(),
    );
    let settings = Settings {
        days: args.days,
        orders_per_day: args.orders_per_day,
        seed: args.seed,
        start: args.start,
        optimise_limit: std::time::Duration::from_millis(args.optimise_ms),
    };
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("simulating {bar:40} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let summary = rendan_simulate::run(&cases, &clock, settings, |done, all| {
        bar.set_length(all);
        bar.set_position(done);
        bar.set_message(format!("hour {done}/{all}, {}", clock.now()));
    })
    .await?;
    bar.finish_and_clear();
    let t = summary.totals();
    println!(
        "simulated {} days from {} (seed {}, {} orders a day) in {:.1} s; data in {}",
        args.days,
        args.start,
        args.seed,
        args.orders_per_day,
        started.elapsed().as_secs_f64(),
        data_dir.display()
    );
    println!(
        "orders placed {}, refused {}; visits booked {} (re-bookings included); production orders completed {}",
        t.placed, t.refused, t.booked, t.produced
    );
    println!(
        "plans published {} with {} violations by the route checker; visits installed {}, failed {}",
        t.plans, t.plan_violations, t.installed, t.failed
    );
    println!(
        "stop events posted {} ({} duplicates, {} held back to the next evening)",
        t.events, t.duplicates, t.delayed
    );
    let statuses: Vec<String> = summary
        .statuses
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!("orders by status: {}", statuses.join(", "));
    println!(
        "ledger: replayed {} movements, compared {} balances, {} discrepancies; {} production orders misplaced",
        summary.ledger.0,
        summary.ledger.1,
        summary.ledger_discrepancies,
        summary.misplaced_production
    );
    println!();
    print!("{}", rendan_service_report::markdown(&summary.report));
    if t.plan_violations > 0 || summary.ledger_discrepancies > 0 || summary.misplaced_production > 0
    {
        bail!("the simulation broke a rule (see above)");
    }
    Ok(())
}
