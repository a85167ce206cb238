//! A stand-in for the `rendan` binary's network-watch commands, compiled from the very same
//! `crates/rendan/src/netwatch_cmd.rs`, for manual runs while the binary is elsewhere in progress.
//!
//! ```text
//! cargo run -p rendan-netwatch-sqlite --example rendan_netwatch -- agent --listen 127.0.0.1:7401 ...
//! cargo run -p rendan-netwatch-sqlite --example rendan_netwatch -- netwatch --data-dir /tmp/nw --slice 1s --interval 1s
//! cargo run -p rendan-netwatch-sqlite --example rendan_netwatch -- sla report --month 2026-11 --data-dir /tmp/nw
//! ```
//! Unlike `rendan netwatch`, this example serves the API WITHOUT authentication: loopback only.

#[path = "../../rendan/src/netwatch_cmd.rs"]
mod netwatch_cmd;

use clap::{Parser, Subcommand};
use netwatch_cmd::{AgentArgs, NetwatchArgs, SlaCmd};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Answer probes.
    Agent(AgentArgs),
    /// Monitor and API (no auth in this example).
    Netwatch(NetwatchArgs),
    /// Reports.
    Sla {
        #[command(subcommand)]
        cmd: SlaCmd,
    },
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Agent(a) => netwatch_cmd::run_agent(&a, ctrl_c()).await,
        Cmd::Sla { cmd } => netwatch_cmd::run_sla(&cmd).await,
        Cmd::Netwatch(a) => {
            if !a.listen.ip().is_loopback() {
                anyhow::bail!("this example has no authentication: listen on loopback only");
            }
            let svc = netwatch_cmd::run_netwatch(&a).await?;
            let app = axum::Router::new().nest("/api/v1", svc.router);
            let listener = tokio::net::TcpListener::bind(a.listen).await?;
            eprintln!("listening on http://{}", listener.local_addr()?);
            axum::serve(listener, app)
                .with_graceful_shutdown(ctrl_c())
                .await?;
            svc.monitor.shutdown().await;
            Ok(())
        }
    }
}
