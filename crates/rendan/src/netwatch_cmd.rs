//! `rendan agent`, `rendan netwatch` and `rendan sla report`: the network watch's command-line
//! arguments and entry points, kept apart from `main.rs` so the binary stays a thin dispatcher.
//!
//! `rendan serve` calls [`start`] with the topology it already loaded; `rendan netwatch` calls
//! [`run_netwatch`]; both get the running monitor, whose `Netwatch` the platform's API serves
//! under `/api/v1/network/...`, and shut it down after the server.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use rendan_netwatch::agent::{self, AgentOptions};
use rendan_netwatch::month::Month;
use rendan_netwatch::report::{self, Format};
use rendan_netwatch::slice::parse_duration;
use rendan_netwatch::{MonitorHandle, NetwatchConfig, SliceLen};
use rendan_topology::TopologyFile;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `rendan agent`: answer probes at a node.
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Address for TCP echo, UDP echo and the HTTP health page (repeat to serve several
    /// stand-in nodes from one process).
    #[arg(long, required = true)]
    pub listen: Vec<SocketAddr>,
    /// Share of UDP probe packets to drop, 0 to 1 (loss injection for tests and drills).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub drop_udp: f64,
    /// Milliseconds to hold back every echo and HTTP answer (delay injection).
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// Also TCP-probe other nodes when the monitor asks (`GET /probe`): be a vantage point.
    /// The requests must name a node of the topology and be signed with its `[netwatch]
    /// probe_key`; anything else is refused and logged.
    #[arg(long)]
    pub probe_others: bool,
    /// Topology TOML (the nodes a vantage point may probe, and the key); the built-in one when
    /// absent.
    #[arg(long, env = "RENDAN_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share between 0 and 1, got {s:?}")),
    }
}

/// Runs the agents until `shutdown` resolves.
pub async fn run_agent(args: &AgentArgs, shutdown: impl Future<Output = ()>) -> Result<()> {
    let peers = if args.probe_others {
        let file = rendan_topology::load(args.config.as_deref())?;
        let cfg = NetwatchConfig::from_topology(&file).context("invalid [netwatch] settings")?;
        let key = cfg.probe_key.clone().context(
            "--probe-others answers only signed requests: set [netwatch] probe_key in the topology",
        )?;
        let nodes = cfg
            .targets
            .iter()
            .map(|t| (t.node.to_string(), t.addr.clone()))
            .collect();
        Some(rendan_netwatch::peer::Peers::new(key.into_bytes(), nodes))
    } else {
        None
    };
    let mut handles = Vec::new();
    for addr in &args.listen {
        let opts = AgentOptions {
            listen: *addr,
            drop_udp: args.drop_udp,
            delay: Duration::from_millis(args.delay),
            peers: peers.clone(),
        };
        let h = agent::spawn(opts).await?;
        eprintln!("agent listening on {} (tcp+udp+http)", h.addr());
        handles.push(h);
    }
    shutdown.await;
    for h in handles {
        h.shutdown().await;
    }
    Ok(())
}

/// `rendan netwatch`: the monitor and its API alone.
#[derive(Args, Debug, Clone)]
pub struct NetwatchArgs {
    /// Topology TOML with `[[node]]` and `[netwatch]`; the built-in 16-node network when absent.
    #[arg(long, env = "RENDAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for `netwatch.db`.
    #[arg(long, default_value = "./rendan-data", env = "RENDAN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// PostgreSQL database holding the platform's tokens; SQLite in the data directory when
    /// absent.
    #[arg(long, env = "RENDAN_DATABASE_URL")]
    pub database: Option<String>,
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Slice length (overrides `netwatch.slice`), e.g. `1s` or `1m`.
    #[arg(long, value_parser = parse_slice)]
    pub slice: Option<SliceLen>,
    /// Probe interval of every node (overrides the file), e.g. `1s` or `10s`.
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<Duration>,
}

fn parse_slice(s: &str) -> Result<SliceLen, String> {
    let d = parse_duration(s)?;
    SliceLen::from_duration(d).map_err(|e| e.to_string())
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_duration(s)?.try_into().map_err(|e| format!("{e}"))
}

/// Starts the monitor over `netwatch.db` in `data_dir` for an already loaded topology file.
pub async fn start(
    file: &TopologyFile,
    data_dir: &Path,
    slice: Option<SliceLen>,
    interval: Option<Duration>,
) -> Result<MonitorHandle> {
    let mut cfg = NetwatchConfig::from_topology(file).context("invalid [netwatch] settings")?;
    cfg.override_timing(slice, interval);
    Ok(rendan_netwatch_sqlite::start_monitor(cfg, data_dir).await?)
}

/// `rendan netwatch`: loads the topology named by `--config` and starts the monitor. The caller
/// serves its [`rendan_netwatch::Netwatch`] through the API on `args.listen` until a shutdown
/// signal, then calls `shutdown()`.
pub async fn run_netwatch(args: &NetwatchArgs) -> Result<MonitorHandle> {
    let file = rendan_topology::load(args.config.as_deref())?;
    start(&file, &args.data_dir, args.slice, args.interval).await
}

/// `rendan sla ...`.
#[derive(Subcommand, Debug, Clone)]
pub enum SlaCmd {
    /// The contractual month per node and region: availability against target, downtime,
    /// incidents, maintenance, unknown minutes and per-class loss / jitter / RTT.
    Report(SlaReportArgs),
}

/// Output format of `rendan sla report`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown tables.
    Md,
    /// CSV, one row per node and region.
    Csv,
    /// A standalone HTML page with an SVG chart of each node's month.
    Html,
}

/// `rendan sla report --month 2026-10`.
#[derive(Args, Debug, Clone)]
pub struct SlaReportArgs {
    /// The month, `YYYY-MM`, in the contract's time zone.
    #[arg(long, value_parser = parse_month)]
    pub month: Month,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Directory holding `netwatch.db`.
    #[arg(long, default_value = "./rendan-data", env = "RENDAN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Topology TOML; the built-in 16-node network when absent.
    #[arg(long, env = "RENDAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Contract name from `[[netwatch.contract]]`; the first (or default) one when absent.
    #[arg(long)]
    pub contract: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse::<Month>().map_err(|e| e.to_string())
}

/// Runs `rendan sla ...`.
pub async fn run_sla(cmd: &SlaCmd) -> Result<()> {
    match cmd {
        SlaCmd::Report(args) => run_sla_report(args).await,
    }
}

/// Renders the month's report to standard output or `--output`.
pub async fn run_sla_report(args: &SlaReportArgs) -> Result<()> {
    let file = rendan_topology::load(args.config.as_deref())?;
    let cfg = NetwatchConfig::from_topology(&file).context("invalid [netwatch] settings")?;
    if !args.data_dir.join(rendan_netwatch_sqlite::DB_FILE).exists() {
        bail!(
            "no network watch data in {} (run `rendan serve` or `rendan netwatch` first)",
            args.data_dir.display()
        );
    }
    let nw = rendan_netwatch_sqlite::open_netwatch(cfg, &args.data_dir).await?;
    let contract = match nw.config().contract(args.contract.as_deref()) {
        Some(c) => c.clone(),
        None => bail!(
            "unknown contract {:?}",
            args.contract.as_deref().unwrap_or_default()
        ),
    };
    let figures = report::month_figures(&nw, &contract, args.month, jiff::Timestamp::now()).await?;
    let format = match args.format {
        ReportFormat::Md => Format::Markdown,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Html => Format::Html,
    };
    let text = report::render(&figures, format);
    match &args.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}
