//! The `rendan` command: a thin layer that parses arguments and calls the libraries.

mod bench;
mod bench_slots;
mod demo;
mod import;
mod netwatch_cmd;
mod platform;
mod route_cmd;
mod service_cmd;
mod simulate_cmd;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// rendan: order-to-door operations for makers and sellers of large goods.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data and the topology come from (shared by most commands).
#[derive(Args, Clone)]
pub struct Place {
    /// Directory holding the database.
    #[arg(long, default_value = "./rendan-data", env = "RENDAN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Topology TOML (nodes, sites, catalogue); the built-in 16-node network when absent.
    #[arg(long, env = "RENDAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// PostgreSQL database (`postgres://USER@HOST/DB`) to keep the platform's data in, shared
    /// by any number of processes; without it, SQLite in the data directory.
    #[arg(long, env = "RENDAN_DATABASE_URL")]
    pub database: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: HTTP API, seeded with demo data on an empty database.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "RENDAN_LISTEN")]
        listen: SocketAddr,
        #[command(flatten)]
        place: Place,
        /// Do not seed demo stock into an empty database.
        #[arg(long)]
        no_demo: bool,
        /// Do not run the network monitor.
        #[arg(long)]
        no_netwatch: bool,
        /// How long a webhook receiver has to answer, in milliseconds.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
        webhook_timeout_ms: u64,
        /// The wait before a failed webhook delivery's first retry, in milliseconds (doubling
        /// after each failure, at most an hour, for a day).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        webhook_retry_ms: u64,
    },
    /// Answer the network monitor's probes at a node (TCP and UDP echo, HTTP health page).
    Agent(netwatch_cmd::AgentArgs),
    /// Run the network monitor and its API alone.
    Netwatch(netwatch_cmd::NetwatchArgs),
    /// Contractual SLA reports.
    Sla {
        #[command(subcommand)]
        cmd: netwatch_cmd::SlaCmd,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// Recompute every stock balance from the movement journal and compare.
    CheckLedger {
        #[command(flatten)]
        place: Place,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Vehicle routing: solve, check and benchmark instances.
    Route {
        #[command(subcommand)]
        cmd: route_cmd::RouteCmd,
    },
    /// Service standards measured from the crews' stop events.
    Service {
        #[command(subcommand)]
        cmd: service_cmd::ServiceCmd,
    },
    /// A month of operations on a fresh data directory: orders, production, bookings, plans,
    /// crews' events; then the service standards, the ledger audit and the plans' checks.
    Simulate(simulate_cmd::SimulateArgs),
    /// Benchmarks that need the whole platform.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Orders from CSV: channel,external_ref,name,phone,address,lat,lon,sku,qty (one row per
    /// line; consecutive rows with the same channel and external_ref form one order).
    Orders {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token and print it alone on stdout.
    Create {
        /// The principal it belongs to (created on first use); a new one when absent.
        #[arg(long)]
        principal: Option<String>,
        /// admin, planner, channel or crew.
        #[arg(long)]
        role: String,
        /// For planners: limit the token to one region.
        #[arg(long)]
        region: Option<String>,
        /// For crew tokens: the crew it speaks for.
        #[arg(long)]
        crew: Option<i64>,
        #[command(flatten)]
        place: Place,
    },
    /// Revoke a token: it stops authenticating; its principal keeps its orders.
    Revoke {
        /// The token's id (see `rendan token list`).
        id: i64,
        #[command(flatten)]
        place: Place,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Orders per second through HTTP versus the same transactions straight to the store.
    Orders(bench::OrdersArgs),
    /// The slot query at a busy depot (p50, p99 over HTTP) and the day's plan quality.
    Slots(bench_slots::SlotsArgs),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                listen,
                place,
                no_demo,
                no_netwatch,
                webhook_timeout_ms,
                webhook_retry_ms,
            } => {
                let webhooks = rendan_webhooks::Settings {
                    timeout: std::time::Duration::from_millis(webhook_timeout_ms),
                    backoff: jiff::SignedDuration::from_millis(webhook_retry_ms as i64),
                    ..Default::default()
                };
                platform::serve(listen, &place, !no_demo, !no_netwatch, webhooks).await
            }
            Command::Agent(args) => {
                netwatch_cmd::run_agent(&args, platform::shutdown_signal()).await
            }
            Command::Netwatch(args) => platform::netwatch(&args).await,
            Command::Sla { cmd } => netwatch_cmd::run_sla(&cmd).await,
            Command::Import {
                what: ImportCmd::Orders { file, place },
            } => import::orders(&file, &place).await,
            Command::CheckLedger { place } => platform::check_ledger(&place).await,
            Command::Token {
                cmd:
                    TokenCmd::Create {
                        principal,
                        role,
                        region,
                        crew,
                        place,
                    },
            } => {
                platform::create_token(principal.as_deref(), &role, region.as_deref(), crew, &place)
                    .await
            }
            Command::Token {
                cmd: TokenCmd::Revoke { id, place },
            } => platform::revoke_token(id, &place).await,
            Command::Token {
                cmd: TokenCmd::List { place },
            } => platform::list_tokens(&place).await,
            Command::Service { cmd } => service_cmd::run(cmd).await,
            Command::Simulate(args) => simulate_cmd::run(args).await,
            Command::Bench {
                what: BenchCmd::Orders(args),
            } => bench::orders(args).await,
            Command::Bench {
                what: BenchCmd::Slots(args),
            } => bench_slots::run(&args).await,
            // CPU-bound and single-threaded: keep it off the async workers.
            Command::Route { cmd } => {
                tokio::task::spawn_blocking(move || route_cmd::run(cmd)).await?
            }
        }
    })
}
