//! Benchmark runner: solve every instance of a folder, check each solution independently and
//! compare its cost with the best known.
//!
//! Any family works: Solomon and Gehring–Homberger text files (a `txt/` subfolder is used when
//! present), VRPLIB files (multi-depot VRPTW, heterogeneous fleet) and JSON problems. The
//! best-known cost of an instance comes from, in this order: a `.sol` file beside it (VRPLIB
//! convention), re-scored by [`crate::check`] so that the reference and the result are measured
//! by the same rules; else the folder's table for the objective and distance convention —
//! `bks.csv` (vehicles, then distance), `bks_distance_only.csv` (distance, unrounded) or
//! `bks_dimacs.csv` (distance, DIMACS rounding) — with the columns `instance,vehicles,distance,...`.
//! Gap = 100 · (cost − BKS cost) / BKS cost. Results can be appended to a CSV file as they come,
//! and a run started again with the same file skips the instances already in it.

use crate::check::check;
use crate::error::ReadError;
use crate::io::{Distances, Format, read_problem_with, read_text, vrplib};
use crate::model::Problem;
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
    /// Cost (distance for the literature's VRPTW tables).
    pub cost: f64,
}

/// Reads a best-known CSV (`instance,vehicles,distance,...` with a header line).
pub fn read_bks(path: &Path) -> Result<BTreeMap<String, Bks>, ReadError> {
    let text = read_text(path)?;
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
        let cost = crate::io::number(f[2].trim(), i + 1, "distance")?;
        out.insert(f[0].trim().to_string(), Bks { vehicles, cost });
    }
    Ok(out)
}

/// The group an instance is averaged in: the text after `-` (HFVRP variants: `FSMFD`, `HD`,
/// ...), the name without its last `_k` (Gehring–Homberger: `C1_10`), letters around a number
/// (a numbered set with a variant letter, as MDVRPTW's `PR11A`: `PR…A`), else the letters and
/// first digit (Solomon classes: `C1`, `RC2`).
pub fn class_of(name: &str) -> String {
    let up = name.to_ascii_uppercase();
    if let Some((_, variant)) = up.split_once('-') {
        return variant.to_string();
    }
    if let Some((head, _)) = up.rsplit_once('_') {
        return head.to_string();
    }
    let letters: String = up.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let rest = &up[letters.len()..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let suffix = &rest[digits..];
    if digits > 0 && !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphabetic()) {
        return format!("{letters}…{suffix}");
    }
    match rest.chars().next() {
        Some(d) if d.is_ascii_digit() => format!("{letters}{d}"),
        _ => up,
    }
}

/// One benchmark result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Instance name (file stem).
    pub instance: String,
    /// Number of jobs.
    pub jobs: usize,
    /// Vehicles used.
    pub vehicles: usize,
    /// Distance (recomputed by the checker).
    pub distance: f64,
    /// Cost: fixed costs plus unit cost × distance (recomputed by the checker).
    pub cost: f64,
    /// The checker accepted the solution.
    pub feasible: bool,
    /// Best known, if listed.
    pub bks: Option<Bks>,
    /// Seconds spent.
    pub elapsed_s: f64,
    /// Search iterations run.
    pub iterations: u64,
}

impl Row {
    /// Gap to the best-known cost in percent.
    pub fn gap(&self) -> Option<f64> {
        self.bks.map(|b| 100.0 * (self.cost - b.cost) / b.cost)
    }

    /// The CSV header matching [`Row::csv`].
    pub const CSV_HEADER: &'static str = "instance,jobs,vehicles,distance,cost,feasible,bks_vehicles,bks_cost,gap_pct,elapsed_s,iterations";

    /// One CSV line.
    pub fn csv(&self) -> String {
        let (bv, bc, g) = match (self.bks, self.gap()) {
            (Some(b), Some(g)) => (
                b.vehicles.to_string(),
                format!("{:.4}", b.cost),
                format!("{g:.4}"),
            ),
            _ => (String::new(), String::new(), String::new()),
        };
        format!(
            "{},{},{},{:.4},{:.4},{},{bv},{bc},{g},{:.3},{}",
            self.instance,
            self.jobs,
            self.vehicles,
            self.distance,
            self.cost,
            self.feasible,
            self.elapsed_s,
            self.iterations
        )
    }

    /// Parses a line written by [`Row::csv`].
    pub fn parse_csv(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 11 {
            return None;
        }
        let bks = match (f[6].parse::<usize>(), f[7].parse::<f64>()) {
            (Ok(vehicles), Ok(cost)) => Some(Bks { vehicles, cost }),
            _ => None,
        };
        Some(Row {
            instance: f[0].to_string(),
            jobs: f[1].parse().ok()?,
            vehicles: f[2].parse().ok()?,
            distance: f[3].parse().ok()?,
            cost: f[4].parse().ok()?,
            feasible: f[5].parse().ok()?,
            bks,
            elapsed_s: f[9].parse().ok()?,
            iterations: f[10].parse().ok()?,
        })
    }
}

/// Instance files of a folder (its `txt/` subfolder if present, searched recursively), sorted
/// by name.
pub fn instance_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let txt = dir.join("txt");
    let root = if txt.is_dir() { txt } else { dir.to_path_buf() };
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension()
                    .and_then(|e| e.to_str())
                    .map(|e| e.to_ascii_lowercase())
                    .as_deref(),
                Some("txt" | "vrp" | "json")
            ) {
                files.push(p);
            }
        }
    }
    files.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()).then(a.cmp(b)));
    Ok(files)
}

/// Matches `name` against a pattern where `*` stands for any text (case-insensitive).
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let mut rest = n.as_str();
    for (k, part) in parts.iter().enumerate() {
        if k == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if k == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The best-known table for an objective and distance convention in `dir`, empty if absent.
pub fn bks_table(
    dir: &Path,
    objective: Objective,
    distances: Distances,
) -> Result<BTreeMap<String, Bks>, ReadError> {
    let file = match (objective, distances) {
        (Objective::VehiclesDistance, _) => "bks.csv",
        (Objective::Distance, Distances::Exact) => "bks_distance_only.csv",
        (Objective::Distance, Distances::Dimacs) => "bks_dimacs.csv",
    };
    let p = dir.join(file);
    if p.is_file() {
        read_bks(&p)
    } else {
        Ok(BTreeMap::new())
    }
}

/// The best-known solution beside an instance file (`NAME.sol`), re-scored by the checker.
/// Fails if the file exists but its routes are infeasible or disagree with its `Cost` line.
pub fn bks_from_sol(problem: &Problem, path: &Path) -> Result<Option<Bks>, ReadError> {
    let sol = path.with_extension("sol");
    if !sol.is_file() {
        return Ok(None);
    }
    let file = vrplib::parse_solution(&read_text(&sol)?)?;
    let report = check(problem, &file.routes);
    if !report.feasible {
        return Err(ReadError::at(
            1,
            format!(
                "{}: the best-known solution breaks {:?}",
                sol.display(),
                report.violations.first()
            ),
        ));
    }
    Ok(Some(Bks {
        vehicles: report.vehicles,
        cost: report.cost,
    }))
}

/// Options of a benchmark run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// What to minimise.
    pub objective: Objective,
    /// Seed.
    pub seed: u64,
    /// Time limit per instance.
    pub time_limit: Duration,
    /// Optional iteration limit per instance (with it, a run is a pure function of instance
    /// and seed, whatever the machine's load).
    pub iterations: Option<u64>,
    /// Distance convention of text instances.
    pub distances: Distances,
    /// Solver parameters.
    pub params: crate::solver::Params,
}

/// Solves and checks one instance file.
pub fn run_one(
    path: &Path,
    opts: &RunOptions,
    table: &BTreeMap<String, Bks>,
) -> Result<Row, Box<dyn std::error::Error + Send + Sync>> {
    let problem = read_problem_with(path, Some(Format::from_path(path)), opts.distances)?;
    let started = Instant::now();
    let mut stop = Limits::new(Some(opts.time_limit), opts.iterations);
    let mut config = Config::new(opts.objective, opts.seed);
    config.params = opts.params;
    let sol = solve(&problem, &config, &mut stop, &mut |_| {})?;
    let elapsed_s = started.elapsed().as_secs_f64();
    let report = check(&problem, &sol.plans(&problem));
    let instance = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string();
    let bks = match bks_from_sol(&problem, path)? {
        Some(b) => Some(b),
        None => table
            .get(&instance)
            .or_else(|| table.get(&instance.to_ascii_uppercase()))
            .copied(),
    };
    Ok(Row {
        instance,
        jobs: problem.jobs.len(),
        vehicles: report.vehicles,
        distance: report.distance,
        cost: report.cost,
        feasible: report.feasible,
        bks,
        elapsed_s,
        iterations: sol.iterations,
    })
}

/// The mean gap of the feasible solutions among `rs` (an infeasible one has no gap: it is
/// counted by the checker line instead).
fn mean(rs: &[&Row]) -> f64 {
    let g: Vec<f64> = rs
        .iter()
        .filter(|r| r.feasible)
        .filter_map(|r| r.gap())
        .collect();
    if g.is_empty() {
        f64::NAN
    } else {
        g.iter().sum::<f64>() / g.len() as f64
    }
}

/// Formats the results table, the means per class and per size, the overall mean and, for the
/// vehicles-then-distance objective, the vehicle-count hits.
pub fn table(rows: &[Row], objective: Objective) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| instance | jobs | vehicles | cost | checked | BKS vehicles | BKS cost | gap % |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---|---:|---:|---:|");
    for r in rows {
        let (bv, bd, g) = match (r.bks, r.gap()) {
            (Some(b), Some(g)) => (
                b.vehicles.to_string(),
                format!("{:.2}", b.cost),
                format!("{g:+.2}"),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {} | {bv} | {bd} | {g} |",
            r.instance,
            r.jobs,
            r.vehicles,
            r.cost,
            if r.feasible { "ok" } else { "INFEASIBLE" }
        );
    }
    let mut classes: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    let mut sizes: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        classes.entry(class_of(&r.instance)).or_default().push(r);
        sizes.entry(r.jobs).or_default().push(r);
    }
    let _ = writeln!(s, "\n| class | instances | vehicles (sum) | mean gap % |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for (c, rs) in &classes {
        let v: usize = rs.iter().map(|r| r.vehicles).sum();
        let _ = writeln!(s, "| {c} | {} | {v} | {:+.2} |", rs.len(), mean(rs));
    }
    if sizes.len() > 1 {
        let _ = writeln!(s, "\n| jobs | instances | mean gap % |");
        let _ = writeln!(s, "|---:|---:|---:|");
        for (n, rs) in &sizes {
            let _ = writeln!(s, "| {n} | {} | {:+.2} |", rs.len(), mean(rs));
        }
    }
    let all: Vec<&Row> = rows.iter().collect();
    let v: usize = rows.iter().map(|r| r.vehicles).sum();
    let _ = writeln!(s, "\n| all | {} | {v} | {:+.2} |", rows.len(), mean(&all));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_every_family() {
        assert_eq!(class_of("RC208"), "RC2");
        assert_eq!(class_of("C1_10_2"), "C1_10");
        assert_eq!(class_of("X101-FSMFD"), "FSMFD");
        assert_eq!(class_of("PR11A"), "PR…A");
        assert_eq!(class_of("pr24a"), "PR…A");
    }

    #[test]
    fn an_infeasible_solution_has_no_part_in_the_mean() {
        let row = |cost: f64, feasible: bool| Row {
            instance: "R101".into(),
            jobs: 100,
            vehicles: 10,
            distance: cost,
            cost,
            feasible,
            bks: Some(Bks {
                vehicles: 10,
                cost: 100.0,
            }),
            elapsed_s: 1.0,
            iterations: 1,
        };
        let rows = [row(101.0, true), row(50.0, false)];
        let refs: Vec<&Row> = rows.iter().collect();
        assert!((mean(&refs) - 1.0).abs() < 1e-9);
    }
}
