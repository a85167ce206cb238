//! Benchmark runner: solve every instance of a folder, check each solution with the independent
//! checker, compare with the folder's best-known table and summarise per instance class.
//!
//! Folder layout (as `shared/data/vrptw/solomon`): instances in `txt/` (or the folder itself),
//! `bks.csv` (vehicles, then distance) and `bks_distance_only.csv` beside them, both with the
//! columns `instance,vehicles,distance,...`. Gap = 100 · (distance − BKS distance) / BKS distance.

use crate::check::check;
use crate::error::ReadError;
use crate::io::{Format, read_problem};
use crate::solver::{Config, Limits, Objective, solve};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A best-known entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bks {
    /// Vehicles.
    pub vehicles: usize,
    /// Distance.
    pub distance: f64,
}

/// Reads a best-known CSV (`instance,vehicles,distance,...` with a header line).
pub fn read_bks(path: &Path) -> Result<BTreeMap<String, Bks>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if line.trim().is_empty() {
            continue;
        }
        if f.len() < 3 {
            return Err(ReadError::at(i + 1, "expected instance,vehicles,distance"));
        }
        let vehicles = crate::io::integer(f[1].trim(), i + 1, "vehicles")? as usize;
        let distance = crate::io::number(f[2].trim(), i + 1, "distance")?;
        out.insert(f[0].trim().to_string(), Bks { vehicles, distance });
    }
    Ok(out)
}

/// Solomon class of an instance name: `C1`, `C2`, `R1`, `R2`, `RC1`, `RC2` (or the name).
pub fn class_of(name: &str) -> String {
    let up = name.to_ascii_uppercase();
    let letters: String = up.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    match up[letters.len()..].chars().next() {
        Some(d) if d.is_ascii_digit() => format!("{letters}{d}"),
        _ => up,
    }
}

/// One benchmark result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Instance name (file stem).
    pub instance: String,
    /// Vehicles used.
    pub vehicles: usize,
    /// Distance (recomputed by the checker).
    pub distance: f64,
    /// The checker accepted the solution.
    pub feasible: bool,
    /// Best known, if listed.
    pub bks: Option<Bks>,
    /// Seconds spent.
    pub elapsed_s: f64,
    /// Genetic iterations run.
    pub iterations: u64,
}

impl Row {
    /// Gap to the best-known distance in percent.
    pub fn gap(&self) -> Option<f64> {
        self.bks
            .map(|b| 100.0 * (self.distance - b.distance) / b.distance)
    }
}

/// Instance files of a folder (its `txt/` subfolder if present), sorted by name.
pub fn instance_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let txt = dir.join("txt");
    let root = if txt.is_dir() { txt } else { dir.to_path_buf() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension()
                        .and_then(|e| e.to_str())
                        .map(|e| e.to_ascii_lowercase())
                        .as_deref(),
                    Some("txt" | "vrp" | "json")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The best-known table for an objective in `dir`, empty if the file is absent.
pub fn bks_for(dir: &Path, objective: Objective) -> Result<BTreeMap<String, Bks>, ReadError> {
    let file = match objective {
        Objective::VehiclesDistance => "bks.csv",
        Objective::Distance => "bks_distance_only.csv",
    };
    let p = dir.join(file);
    if p.is_file() {
        read_bks(&p)
    } else {
        Ok(BTreeMap::new())
    }
}

/// Solves and checks one instance file.
pub fn run_one(
    path: &Path,
    objective: Objective,
    seed: u64,
    time_limit: Duration,
    bks: &BTreeMap<String, Bks>,
) -> Result<Row, Box<dyn std::error::Error + Send + Sync>> {
    let problem = read_problem(path, Some(Format::from_path(path)))?;
    let started = Instant::now();
    let mut stop = Limits::new(Some(time_limit), None);
    let sol = solve(
        &problem,
        &Config::new(objective, seed),
        &mut stop,
        &mut |_| {},
    )?;
    let elapsed_s = started.elapsed().as_secs_f64();
    let report = check(&problem, &sol.job_ids(&problem));
    let instance = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string();
    let bks = bks
        .get(&instance)
        .or_else(|| bks.get(&instance.to_ascii_uppercase()))
        .copied();
    Ok(Row {
        instance,
        vehicles: report.vehicles,
        distance: report.distance,
        feasible: report.feasible,
        bks,
        elapsed_s,
        iterations: sol.iterations,
    })
}

/// Formats the results table, per-class averages, overall average and vehicle-count hits.
pub fn table(rows: &[Row], objective: Objective) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| instance | vehicles | distance | checked | BKS vehicles | BKS distance | gap % |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---:|");
    for r in rows {
        let (bv, bd, g) = match (r.bks, r.gap()) {
            (Some(b), Some(g)) => (
                b.vehicles.to_string(),
                format!("{:.2}", b.distance),
                format!("{g:+.2}"),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {bv} | {bd} | {g} |",
            r.instance,
            r.vehicles,
            r.distance,
            if r.feasible { "ok" } else { "INFEASIBLE" }
        );
    }
    let mut classes: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        classes.entry(class_of(&r.instance)).or_default().push(r);
    }
    let _ = writeln!(s, "\n| class | instances | vehicles (sum) | mean gap % |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let mean = |rs: &[&Row]| {
        let g: Vec<f64> = rs.iter().filter_map(|r| r.gap()).collect();
        if g.is_empty() {
            f64::NAN
        } else {
            g.iter().sum::<f64>() / g.len() as f64
        }
    };
    for (c, rs) in &classes {
        let v: usize = rs.iter().map(|r| r.vehicles).sum();
        let _ = writeln!(s, "| {c} | {} | {v} | {:+.2} |", rs.len(), mean(rs));
    }
    let all: Vec<&Row> = rows.iter().collect();
    let v: usize = rows.iter().map(|r| r.vehicles).sum();
    let _ = writeln!(s, "| all | {} | {v} | {:+.2} |", rows.len(), mean(&all));
    let bad = rows.iter().filter(|r| !r.feasible).count();
    let _ = writeln!(
        s,
        "\nchecker: {} of {} solutions feasible",
        rows.len() - bad,
        rows.len()
    );
    if objective == Objective::VehiclesDistance {
        let with = rows.iter().filter(|r| r.bks.is_some()).count();
        let hits = rows
            .iter()
            .filter(|r| r.feasible && r.bks.is_some_and(|b| r.vehicles <= b.vehicles))
            .count();
        let same: Vec<&Row> = rows
            .iter()
            .filter(|r| r.feasible && r.bks.is_some_and(|b| r.vehicles == b.vehicles))
            .collect();
        let bks_total: usize = rows.iter().filter_map(|r| r.bks.map(|b| b.vehicles)).sum();
        let _ = writeln!(
            s,
            "vehicle count at most BKS: {hits}/{with}; vehicles {v} vs BKS {bks_total}; mean gap on instances at the BKS vehicle count: {:+.2}%",
            mean(&same)
        );
    }
    s
}
