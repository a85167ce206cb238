//! rendan's JSON problem format and the JSON solution format.
//!
//! Problem (all times and quantities are numbers; optional fields may be left out):
//!
//! ```json
//! {
//!   "name": "demo",
//!   "locations": [[40, 50], [45, 68]],
//!   "matrix": {"distances": [[0, 18.7], [18.7, 0]], "durations": [[0, 20], [20, 0]]},
//!   "jobs": [{"id": 1, "location": 1, "delivery": [95, 0.6], "pickup": [80, 0.5],
//!             "windows": [[480, 600]], "service": 90, "skills": ["ac-certified"]}],
//!   "vehicles": [{"id": 1, "start": 0, "end": 0, "capacity": [1200, 18], "shift": [480, 1080],
//!                 "max_duration": 600, "skills": ["ac-certified"], "fixed_cost": 0,
//!                 "unit_cost": 1, "count": 3}]
//! }
//! ```
//!
//! `matrix` is optional (Euclidean over `locations` by default; `durations` default to
//! `distances`); `delivery` (also accepted as `demand`) is loaded at the vehicle's start,
//! `pickup` (default zero) is carried to its end; `windows` defaults to always open, `service`
//! to 0, `skills` to none, `end` to `start`, `shift` to unbounded, `fixed_cost` to 0, `unit_cost`
//! (cost per unit of distance) to 1. A vehicle entry with `count` N is a vehicle *type*: N
//! identical vehicles with ids `id`, `id+1`, ... (default 1).
//!
//! Solution: `{"instance", "objective", "vehicles", "distance", "cost", "feasible",
//! "elapsed_s", "routes": [{"vehicle": K, "jobs": [job ids in visit order]}]}`, K the 0-based
//! index of the vehicle among the problem's vehicles (types expanded in order). The reader also
//! takes the older `"routes": [[...]]`, route *k* driven by vehicle *k*.

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
    #[serde(alias = "demand")]
    delivery: Vec<f64>,
    #[serde(default)]
    pickup: Option<Vec<f64>>,
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
    #[serde(default = "one")]
    unit_cost: f64,
    #[serde(default)]
    count: Option<u64>,
}

fn one() -> f64 {
    1.0
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

/// Most vehicles a JSON problem may unfold to (every type's `count` together).
pub const MAX_FLEET: u64 = 100_000;

/// Parses a problem in rendan's JSON format; `distances` applies when it has no matrix.
pub fn parse_problem(text: &str, distances: super::Distances) -> Result<Problem, ReadError> {
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
        None => distances.matrix(&locations),
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
                pickup: j.pickup.unwrap_or_else(|| vec![0.0; j.delivery.len()]),
                delivery: j.delivery,
                windows,
                service: j.service,
                skills: j.skills,
            })
        })
        .collect::<Result<Vec<_>, crate::error::ModelError>>()?;
    // A short file may ask for any number of vehicles; the fleet it unfolds to is bounded.
    let fleet = doc
        .vehicles
        .iter()
        .fold(0u64, |n, v| n.saturating_add(v.count.unwrap_or(1)));
    if fleet > MAX_FLEET {
        return Err(ReadError::Line {
            line: 1,
            msg: format!("the vehicles add up to {fleet}, more than {MAX_FLEET}"),
        });
    }
    let mut vehicles = Vec::new();
    for v in doc.vehicles {
        let shift = match v.shift {
            None => TimeWindow::UNBOUNDED,
            Some(s) => TimeWindow::new(s[0], s[1])?,
        };
        let count = v.count.unwrap_or(1);
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
                unit_cost: v.unit_cost,
            });
        }
    }
    Ok(Problem::new(doc.name, locations, jobs, vehicles, matrix)?)
}

/// One route of a JSON solution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteDoc {
    /// 0-based index of the vehicle in the problem (VRPLIB: its row in the vehicle sections).
    pub vehicle: usize,
    /// Job ids in visit order.
    pub jobs: Vec<u64>,
}

/// A route as written: `{"vehicle": K, "jobs": [...]}`, or a bare list of job ids meaning
/// "driven by the vehicle at this route's position" (the format before vehicles were named).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
enum RouteIn {
    Named(RouteDoc),
    Positional(Vec<u64>),
}

/// The JSON solution written by `rendan route solve` and read by `rendan route check`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SolutionDoc {
    /// Instance name.
    pub instance: String,
    /// Objective used (`vehicles-distance` or `distance`).
    pub objective: String,
    /// Number of non-empty routes.
    pub vehicles: usize,
    /// Total distance.
    pub distance: f64,
    /// Σ over used vehicles of fixed cost + cost per unit of distance × route length.
    pub cost: f64,
    /// Whether the solver found it feasible (the checker has the last word).
    pub feasible: bool,
    /// Wall-clock seconds spent.
    pub elapsed_s: f64,
    /// Search iterations run.
    pub iterations: u64,
    /// The non-empty routes, each naming its vehicle.
    pub routes: Vec<RouteDoc>,
}

#[derive(Deserialize)]
struct SolutionIn {
    #[serde(default)]
    instance: String,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    vehicles: usize,
    #[serde(default)]
    distance: f64,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    feasible: bool,
    #[serde(default)]
    elapsed_s: f64,
    #[serde(default)]
    iterations: u64,
    routes: Vec<RouteIn>,
}

/// Parses a JSON solution; only `routes` is required.
pub fn parse_solution(text: &str) -> Result<SolutionDoc, ReadError> {
    let doc: SolutionIn = serde_json::from_str(text)?;
    let routes = doc
        .routes
        .into_iter()
        .enumerate()
        .map(|(k, r)| match r {
            RouteIn::Named(r) => r,
            RouteIn::Positional(jobs) => RouteDoc { vehicle: k, jobs },
        })
        .collect();
    Ok(SolutionDoc {
        instance: doc.instance,
        objective: doc.objective,
        vehicles: doc.vehicles,
        distance: doc.distance,
        cost: doc.cost.unwrap_or(doc.distance),
        feasible: doc.feasible,
        elapsed_s: doc.elapsed_s,
        iterations: doc.iterations,
        routes,
    })
}

/// Serialises a problem in rendan's JSON format, with its matrix (every vehicle listed one by
/// one, so a route's vehicle index is its row here). [`parse_problem`] reads it back to the
/// same problem.
pub fn write_problem(p: &Problem) -> String {
    let n = p.matrix.len();
    let rows = |f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
        (0..n).map(|a| (0..n).map(|b| f(a, b)).collect()).collect()
    };
    let window = |w: &TimeWindow| [w.start, finite(w.end)];
    let doc = serde_json::json!({
        "name": p.name,
        "locations": p.locations.iter().map(|l| [l.x, l.y]).collect::<Vec<_>>(),
        "matrix": {
            "distances": rows(&|a, b| p.matrix.dist(a, b)),
            "durations": rows(&|a, b| p.matrix.time(a, b)),
        },
        "jobs": p.jobs.iter().map(|j| serde_json::json!({
            "id": j.id,
            "location": j.location,
            "delivery": j.delivery,
            "pickup": j.pickup,
            "windows": j.windows.iter().map(window).collect::<Vec<_>>(),
            "service": j.service,
            "skills": j.skills,
        })).collect::<Vec<_>>(),
        "vehicles": p.vehicles.iter().map(|v| {
            let mut doc = serde_json::json!({
                "id": v.id,
                "start": v.start,
                "end": v.end,
                "capacity": v.capacity,
                "shift": window(&v.shift),
                "skills": v.skills,
                "fixed_cost": v.fixed_cost,
                "unit_cost": v.unit_cost,
            });
            if let Some(m) = v.max_duration {
                doc["max_duration"] = serde_json::json!(m);
            }
            doc
        }).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// JSON has no infinity: an unbounded end is written as the largest finite number.
fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::MAX }
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
            cost: s.cost,
            feasible: s.feasible,
            elapsed_s,
            iterations: s.iterations,
            routes: s
                .plans(p)
                .into_iter()
                .map(|r| RouteDoc {
                    vehicle: r.vehicle,
                    jobs: r.jobs,
                })
                .collect(),
        }
    }

    /// The routes in the checker's terms.
    pub fn plans(&self) -> Vec<crate::check::RoutePlan> {
        self.routes
            .iter()
            .map(|r| crate::check::RoutePlan {
                vehicle: r.vehicle,
                jobs: r.jobs.clone(),
            })
            .collect()
    }
}
