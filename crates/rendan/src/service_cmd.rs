//! `rendan service report`: a month's service standards per region (or depot, crew,
//! category) as Markdown, CSV or HTML with SVG charts.

use crate::Place;
use crate::platform;
use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use rendan_domain::service::{GroupBy, month};
use std::path::PathBuf;

/// Output formats of the report.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// Markdown tables.
    Md,
    /// One CSV row per group.
    Csv,
    /// A self-contained HTML page with SVG charts.
    Html,
}

/// How the report groups its figures.
#[derive(Clone, Copy, ValueEnum)]
pub enum Group {
    /// Per region, against its targets.
    Region,
    /// Per depot.
    Depot,
    /// Per crew.
    Crew,
    /// Per product category.
    Category,
}

#[derive(Subcommand)]
pub enum ServiceCmd {
    /// A month's service standards: on time, first-visit installation, promise kept, lead time.
    Report {
        /// The month, YYYY-MM (local dates at each depot).
        #[arg(long)]
        month: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
        /// Grouping (targets are per region).
        #[arg(long, value_enum, default_value = "region")]
        group_by: Group,
        /// Write here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
}

/// Runs a `rendan service` command.
pub async fn run(cmd: ServiceCmd) -> Result<()> {
    let ServiceCmd::Report {
        month: asked,
        format,
        group_by,
        out,
        place,
    } = cmd;
    let (from, to) = month(&asked, "--month")?;
    let group_by = match group_by {
        Group::Region => GroupBy::Region,
        Group::Depot => GroupBy::Depot,
        Group::Crew => GroupBy::Crew,
        Group::Category => GroupBy::Category,
    };
    let platform = platform::open(&place).await?;
    let report = platform
        .cases()
        .service_levels(None, from, to, group_by)
        .await?;
    let text = match format {
        Format::Md => rendan_service_report::markdown(&report),
        Format::Csv => rendan_service_report::csv(&report),
        Format::Html => rendan_service_report::html(&report),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}
