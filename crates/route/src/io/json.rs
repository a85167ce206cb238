//! rendan's JSON problem format and the JSON solution format.
//!
//! Problem (all times and quantities are numbers; optional fields may be left out):
//!
//! ```json
//! {
//!   "name": "demo",
//!   "locations": [[40, 50], [45, 68]],
//!   "matrix": {"distances": [[0, 18.7], [18.7, 0]], "durations": [[0, 20], [20, 0]]},
//!   "jobs": [{"id": 1, "location": 1, "demand": [10, 0.5], "windows": [[912, 967]],
//!             "service": 90, "skills": ["install"]}],
//!   "vehicles": [{"id": 1, "start": 0, "end": 0, "capacity": [200, 3], "shift": [0, 1236],
//!                 "max_duration": 480, "skills": ["install"], "fixed_cost": 0, "count": 25}]
//! }
//! ```
//!
//! `matrix` is optional (Euclidean over `locations` by default; `durations` default to
//! `distances`); `windows` defaults to always open, `service` to 0, `skills` to none, `end` to
//! `start`, `shift` to unbounded, `count` (copies of this vehicle, ids `id`, `id+1`, ...) to 1.
//!
//! Solution: `{"instance", "objective", "vehicles", "distance", "feasible", "elapsed_s",
//! "routes": [[job ids in visit order]]}`; route *k* is driven by the problem's vehicle *k*.

use crate::error::ReadError;
use crate::model::{Job, Location, Matrix, Problem, TimeWindow, Vehicle};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemDoc {
    #[serde(default)]
    name: String,
    locations: Vec<[f64; 2]>,
    #[serde(default)]
    matrix: Option<MatrixDoc>,
    jobs: Vec<JobDoc>,
    vehicles: Vec<VehicleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixDoc {
    distances: Vec<Vec<f64>>,
    #[serde(default)]
    durations: Option<Vec<Vec<f64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobDoc {
    id: u64,
    location: usize,
    demand: Vec<f64>,
    #[serde(default)]
    windows: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    service: f64,
    #[serde(default)]
    skills: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VehicleDoc {
    id: u64,
    start: usize,
    #[serde(default)]
    end: Option<usize>,
    capacity: Vec<f64>,
    #[serde(default)]
    shift: Option<[f64; 2]>,
    #[serde(default)]
    max_duration: Option<f64>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    fixed_cost: f64,
    #[serde(default)]
    count: Option<u64>,
}

fn flatten(rows: &[Vec<f64>], n: usize) -> Result<Vec<f64>, crate::error::ModelError> {
    if rows.len() != n || rows.iter().any(|r| r.len() != n) {
        return Err(crate::error::ModelError::MatrixSize {
            expected: n * n,
            dist: rows.iter().map(Vec::len).sum(),
            time: rows.iter().map(Vec::len).sum(),
        });
    }
    Ok(rows.iter().flatten().copied().collect())
}

/// Parses a problem in rendan's JSON format.
pub fn parse_problem(text: &str) -> Result<Problem, ReadError> {
    let doc: ProblemDoc = serde_json::from_str(text)?;
    let locations: Vec<Location> = doc
        .locations
        .iter()
        .map(|p| Location { x: p[0], y: p[1] })
        .collect();
    if locations
        .iter()
        .any(|l| !l.x.is_finite() || !l.y.is_finite())
    {
        return Err(crate::error::ModelError::MatrixValue.into());
    }
    let n = locations.len();
    let matrix = match &doc.matrix {
        None => None,
        Some(m) => {
            let d = flatten(&m.distances, n)?;
            let t = match &m.durations {
                Some(t) => flatten(t, n)?,
                None => d.clone(),
            };
            Some(Matrix::explicit(n, d, t)?)
        }
    };
    let jobs = doc
        .jobs
        .into_iter()
        .map(|j| {
            let windows = match j.windows {
                None => vec![TimeWindow::UNBOUNDED],
                Some(ws) => ws
                    .iter()
                    .map(|w| TimeWindow::new(w[0], w[1]))
                    .collect::<Result<_, _>>()?,
            };
            Ok(Job {
                id: j.id,
                location: j.location,
                demand: j.demand,
                windows,
                service: j.service,
                skills: j.skills,
            })
        })
        .collect::<Result<Vec<_>, crate::error::ModelError>>()?;
    let mut vehicles = Vec::new();
    for v in doc.vehicles {
        let shift = match v.shift {
            None => TimeWindow::UNBOUNDED,
            Some(s) => TimeWindow::new(s[0], s[1])?,
        };
        let count = v.count.unwrap_or(1).min(100_000);
        for k in 0..count {
            vehicles.push(Vehicle {
                id: v.id.saturating_add(k),
                start: v.start,
                end: v.end.unwrap_or(v.start),
                capacity: v.capacity.clone(),
                shift,
                max_duration: v.max_duration,
                skills: v.skills.clone(),
                fixed_cost: v.fixed_cost,
            });
        }
    }
    Ok(Problem::new(doc.name, locations, jobs, vehicles, matrix)?)
}

/// The JSON solution written by `rendan route solve` and read by `rendan route check`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolutionDoc {
    /// Instance name.
    pub instance: String,
    /// Objective used (`vehicles-distance` or `distance`).
    pub objective: String,
    /// Number of non-empty routes.
    pub vehicles: usize,
    /// Total distance.
    pub distance: f64,
    /// Whether the solver found it feasible (the checker has the last word).
    pub feasible: bool,
    /// Wall-clock seconds spent.
    pub elapsed_s: f64,
    /// Job ids per route in visit order; route k is driven by vehicle k.
    pub routes: Vec<Vec<u64>>,
}

/// Parses a JSON solution.
pub fn parse_solution(text: &str) -> Result<SolutionDoc, ReadError> {
    Ok(serde_json::from_str(text)?)
}

/// Serialises a JSON solution (pretty-printed).
pub fn write_solution(doc: &SolutionDoc) -> String {
    // Serialising plain data with finite-or-not floats cannot fail except on NaN keys: none here.
    serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

impl SolutionDoc {
    /// The document for a solver result.
    pub fn from_solution(
        p: &Problem,
        objective: crate::solver::Objective,
        s: &crate::solver::Solution,
        elapsed_s: f64,
    ) -> Self {
        SolutionDoc {
            instance: p.name.clone(),
            objective: objective.name().to_string(),
            vehicles: s.vehicles,
            distance: s.distance,
            feasible: s.feasible,
            elapsed_s,
            routes: s.job_ids(p),
        }
    }
}
