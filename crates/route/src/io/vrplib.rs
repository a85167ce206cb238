//! VRPLIB format in PyVRP's dialect: `KEY : VALUE` specifications followed by sections.
//!
//! Node sections (one row per node, `id value...`): `NODE_COORD_SECTION`, `DEMAND_SECTION`
//! (one column per capacity dimension), `TIME_WINDOW_SECTION`, `SERVICE_TIME_SECTION`,
//! `EDGE_WEIGHT_SECTION` (FULL_MATRIX) and `DEPOT_SECTION` (one or more depots, ended by `-1`
//! or by the next section). Vehicle sections (one row per vehicle, `row value...`):
//! `VEHICLES_DEPOT_SECTION` (start and end depot), `CAPACITY_SECTION`,
//! `VEHICLES_FIXED_COST_SECTION`, `VEHICLES_UNIT_DISTANCE_COST_SECTION`,
//! `VEHICLES_MAX_DURATION_SECTION`; scalar keys `VEHICLES`, `CAPACITY`, `VEHICLES_MAX_DURATION`
//! and `SERVICE_TIME` give every vehicle or node the same value. This covers the multi-depot
//! VRPTW (Vidal et al. 2013) and heterogeneous-fleet (Pessoa et al. 2018) sets as PyVRP ships
//! them. A vehicle's shift is its depot's time window.
//!
//! Job ids are the 1-based node rows of the file (depots are left out of routes); vehicle `k`
//! (0-based) is row `k + 1` of the vehicle sections. `EUC_2D` is read as *unrounded* Euclidean
//! distance unless the DIMACS convention is asked for. [`parse_solution`] reads the `.sol`
//! files that come with the instances.

use super::{Distances, integer, number};
use crate::check::RoutePlan;
use crate::error::ReadError;
use crate::model::{Job, Location, Matrix, Problem, TimeWindow, Vehicle};
use std::collections::{BTreeMap, HashMap};

/// Most vehicles a file may declare.
const MAX_VEHICLES: usize = 100_000;

#[derive(Default)]
struct Node {
    coord: Option<(f64, f64)>,
    demand: Option<Vec<f64>>,
    window: Option<(f64, f64)>,
    service: Option<f64>,
}

/// Rows of one vehicle section: row (0-based) → (values, line).
type VehicleRows = BTreeMap<usize, (Vec<f64>, usize)>;

const NODE_SECTIONS: [&str; 6] = [
    "NODE_COORD_SECTION",
    "DEMAND_SECTION",
    "TIME_WINDOW_SECTION",
    "SERVICE_TIME_SECTION",
    "DEPOT_SECTION",
    "EDGE_WEIGHT_SECTION",
];
const VEHICLE_SECTIONS: [&str; 5] = [
    "VEHICLES_DEPOT_SECTION",
    "CAPACITY_SECTION",
    "VEHICLES_FIXED_COST_SECTION",
    "VEHICLES_UNIT_DISTANCE_COST_SECTION",
    "VEHICLES_MAX_DURATION_SECTION",
];

/// Parses a VRPLIB instance.
pub fn parse(text: &str, distances: Distances) -> Result<Problem, ReadError> {
    let last_line = text.lines().count() + 1;
    let truncated = |expected: String| ReadError::Truncated {
        line: last_line,
        expected,
    };
    let mut spec: HashMap<String, (String, usize)> = HashMap::new();
    let mut section: Option<String> = None;
    let mut dimension: Option<usize> = None;
    let mut nodes: Vec<Node> = Vec::new();
    let mut depots: Vec<(usize, usize)> = Vec::new();
    let mut depot_done = false;
    let mut weights: Vec<f64> = Vec::new();
    let mut vsec: HashMap<&'static str, VehicleRows> = HashMap::new();
    let mut saw_eof = false;

    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        if l == "EOF" {
            saw_eof = true;
            break;
        }
        let first = l.split_whitespace().next().unwrap_or("");
        if first.ends_with("_SECTION") {
            let dim = dimension.ok_or_else(|| ReadError::at(ln, "section before DIMENSION"))?;
            if nodes.is_empty() {
                nodes = (0..dim).map(|_| Node::default()).collect();
            }
            if !NODE_SECTIONS.contains(&first) && !VEHICLE_SECTIONS.contains(&first) {
                return Err(ReadError::at(ln, format!("unknown section {first}")));
            }
            section = Some(first.to_string());
            continue;
        }
        if section.is_none()
            || (l.contains(':')
                && first
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic()))
        {
            let Some((k, v)) = l.split_once(':') else {
                return Err(ReadError::at(
                    ln,
                    format!("expected `KEY : VALUE`, found {l:?}"),
                ));
            };
            let k = k.trim().to_ascii_uppercase();
            let v = v.trim().to_string();
            if k == "DIMENSION" {
                let d = integer(&v, ln, "DIMENSION")? as usize;
                if d == 0 || d > crate::model::MAX_LOCATIONS {
                    return Err(ReadError::at(ln, format!("DIMENSION {d} out of range")));
                }
                dimension = Some(d);
            }
            spec.insert(k, (v, ln));
            section = None;
            continue;
        }
        let sec = section.as_deref().unwrap_or("");
        let t: Vec<&str> = l.split_whitespace().collect();
        let nlen = nodes.len();
        let node_index = |ln: usize| -> Result<usize, ReadError> {
            let id = integer(t[0], ln, "node")? as usize;
            if id == 0 || id > nlen {
                return Err(ReadError::at(
                    ln,
                    format!("node {id} is outside 1..={nlen}"),
                ));
            }
            Ok(id - 1)
        };
        let want = |n: usize| -> Result<(), ReadError> {
            if t.len() != n {
                return Err(ReadError::at(
                    ln,
                    format!("{sec}: expected {n} fields, found {}", t.len()),
                ));
            }
            Ok(())
        };
        let non_negative = |tok: &str, field: &str| -> Result<f64, ReadError> {
            let v = number(tok, ln, field)?;
            if v < 0.0 {
                return Err(ReadError::at(ln, format!("{field} {v} is negative")));
            }
            Ok(v)
        };
        match sec {
            "NODE_COORD_SECTION" => {
                want(3)?;
                let k = node_index(ln)?;
                nodes[k].coord = Some((number(t[1], ln, "x")?, number(t[2], ln, "y")?));
            }
            "DEMAND_SECTION" => {
                if t.len() < 2 {
                    return Err(ReadError::at(
                        ln,
                        format!("{sec}: expected a node and its demand"),
                    ));
                }
                let k = node_index(ln)?;
                let d = t[1..]
                    .iter()
                    .map(|tok| non_negative(tok, "demand"))
                    .collect::<Result<Vec<f64>, _>>()?;
                nodes[k].demand = Some(d);
            }
            "TIME_WINDOW_SECTION" => {
                want(3)?;
                let k = node_index(ln)?;
                let (a, b) = (
                    number(t[1], ln, "window start")?,
                    number(t[2], ln, "window end")?,
                );
                if b < a {
                    return Err(ReadError::at(
                        ln,
                        format!("window end {b} is before its start {a}"),
                    ));
                }
                nodes[k].window = Some((a, b));
            }
            "SERVICE_TIME_SECTION" => {
                want(2)?;
                let k = node_index(ln)?;
                nodes[k].service = Some(non_negative(t[1], "service time")?);
            }
            "DEPOT_SECTION" => {
                for tok in &t {
                    if *tok == "-1" {
                        depot_done = true;
                    } else if !depot_done {
                        let id = integer(tok, ln, "depot")? as usize;
                        if id == 0 || id > nodes.len() {
                            return Err(ReadError::at(
                                ln,
                                format!("depot {id} is outside 1..={}", nodes.len()),
                            ));
                        }
                        if depots.iter().any(|&(d, _)| d == id - 1) {
                            return Err(ReadError::at(ln, format!("depot {id} listed twice")));
                        }
                        depots.push((id - 1, ln));
                    }
                }
            }
            "EDGE_WEIGHT_SECTION" => {
                for tok in &t {
                    weights.push(number(tok, ln, "edge weight")?);
                }
            }
            _ => {
                let Some(&name) = VEHICLE_SECTIONS.iter().find(|s| **s == sec) else {
                    return Err(ReadError::at(ln, format!("unknown section {sec}")));
                };
                if t.len() < 2 {
                    return Err(ReadError::at(
                        ln,
                        format!("{sec}: expected a vehicle row and its value"),
                    ));
                }
                let row = integer(t[0], ln, "vehicle")? as usize;
                if row == 0 || row > MAX_VEHICLES {
                    return Err(ReadError::at(
                        ln,
                        format!("vehicle {row} is outside 1..={MAX_VEHICLES}"),
                    ));
                }
                let values = t[1..]
                    .iter()
                    .map(|tok| non_negative(tok, sec))
                    .collect::<Result<Vec<f64>, _>>()?;
                let rows = vsec.entry(name).or_default();
                if rows.insert(row - 1, (values, ln)).is_some() {
                    return Err(ReadError::at(
                        ln,
                        format!("{sec}: vehicle {row} listed twice"),
                    ));
                }
            }
        }
    }
    if !saw_eof && nodes.is_empty() {
        return Err(truncated("sections".into()));
    }
    let dim = dimension.ok_or_else(|| truncated("DIMENSION".into()))?;
    let get = |k: &str| spec.get(k).map(|(v, l)| (v.as_str(), *l));
    if depots.is_empty() {
        return Err(truncated(
            "a DEPOT_SECTION naming the depot (missing depot)".into(),
        ));
    }

    // Capacity dimensions: the demand columns (1 when there is no demand at all).
    let dims = nodes
        .iter()
        .find_map(|n| n.demand.as_ref().map(Vec::len))
        .unwrap_or(1);

    // The fleet: its size, then each vehicle's attributes from its rows or the scalar keys.
    let declared = match get("VEHICLES") {
        Some((s, l)) => {
            let c = integer(s, l, "VEHICLES")? as usize;
            if c == 0 || c > MAX_VEHICLES {
                return Err(ReadError::at(
                    l,
                    format!("VEHICLES {c} must be between 1 and {MAX_VEHICLES}"),
                ));
            }
            Some(c)
        }
        None => None,
    };
    let from_rows = vsec
        .values()
        .filter_map(|rows| rows.keys().next_back().map(|k| k + 1))
        .max();
    let fleet = match (declared, from_rows) {
        (Some(c), Some(r)) if r > c => {
            let line = vsec
                .values()
                .filter_map(|rows| rows.get(&(r - 1)).map(|x| x.1))
                .min()
                .unwrap_or(last_line);
            return Err(ReadError::at(
                line,
                format!("vehicle {r} is beyond VEHICLES {c}"),
            ));
        }
        (Some(c), _) => c,
        (None, Some(r)) => r,
        // Without a fleet size, one vehicle per client can never bind.
        (None, None) => dim.saturating_sub(depots.len()).max(1),
    };
    // A vehicle section, when present, must give every vehicle a value.
    let per_vehicle = |name: &str, k: usize| -> Result<Option<&[f64]>, ReadError> {
        match vsec.get(name) {
            None => Ok(None),
            Some(rows) => match rows.get(&k) {
                Some((v, _)) => Ok(Some(v.as_slice())),
                None => Err(truncated(format!("{name} row for vehicle {}", k + 1))),
            },
        }
    };
    let scalar = |key: &str| -> Result<Option<f64>, ReadError> {
        match get(key) {
            None => Ok(None),
            Some((s, l)) => {
                let v = number(s, l, key)?;
                if v < 0.0 {
                    return Err(ReadError::at(l, format!("{key} {v} is negative")));
                }
                Ok(Some(v))
            }
        }
    };
    let capacity_all = scalar("CAPACITY")?;
    let max_duration_all = scalar("VEHICLES_MAX_DURATION")?;
    let service_all = scalar("SERVICE_TIME")?.unwrap_or(0.0);

    let ewt = get("EDGE_WEIGHT_TYPE").map(|(s, l)| (s.to_ascii_uppercase(), l));
    let explicit = matches!(&ewt, Some((s, _)) if s == "EXPLICIT");
    let mut locations = Vec::with_capacity(dim);
    for (k, n) in nodes.iter().enumerate() {
        match n.coord {
            Some((x, y)) => locations.push(Location { x, y }),
            None if explicit => locations.push(Location { x: 0.0, y: 0.0 }),
            None => return Err(truncated(format!("coordinates of node {}", k + 1))),
        }
    }
    let matrix = if explicit {
        let (fmt, l) = get("EDGE_WEIGHT_FORMAT").unwrap_or(("FULL_MATRIX", last_line));
        if !fmt.eq_ignore_ascii_case("FULL_MATRIX") {
            return Err(ReadError::at(
                l,
                format!("EDGE_WEIGHT_FORMAT {fmt} not supported (only FULL_MATRIX)"),
            ));
        }
        if weights.len() != dim * dim {
            return Err(truncated(format!(
                "{} edge weights, found {}",
                dim * dim,
                weights.len()
            )));
        }
        if weights.iter().any(|w| *w < 0.0) {
            return Err(ReadError::at(l, "negative edge weight"));
        }
        Some(Matrix::explicit(dim, weights.clone(), weights)?)
    } else {
        match &ewt {
            None => distances.matrix(&locations),
            Some((s, _)) if s == "EUC_2D" || s == "EXACT_2D" => distances.matrix(&locations),
            Some((s, l)) => {
                return Err(ReadError::at(
                    *l,
                    format!("EDGE_WEIGHT_TYPE {s} not supported"),
                ));
            }
        }
    };

    let mut vehicles = Vec::with_capacity(fleet);
    for k in 0..fleet {
        let depot = match per_vehicle("VEHICLES_DEPOT_SECTION", k)? {
            None => depots[0].0,
            Some(v) => {
                let id = v[0] as usize;
                if v.len() != 1 || v[0].fract() != 0.0 || !depots.iter().any(|&(d, _)| d + 1 == id)
                {
                    let line = vsec["VEHICLES_DEPOT_SECTION"][&k].1;
                    return Err(ReadError::at(
                        line,
                        format!("vehicle {}'s depot {} is not in DEPOT_SECTION", k + 1, v[0]),
                    ));
                }
                id - 1
            }
        };
        let capacity = match per_vehicle("CAPACITY_SECTION", k)? {
            Some(v) => v.to_vec(),
            None => match capacity_all {
                Some(c) => vec![c; dims],
                None => return Err(truncated("CAPACITY or CAPACITY_SECTION".into())),
            },
        };
        if capacity.len() != dims {
            let line = vsec
                .get("CAPACITY_SECTION")
                .and_then(|r| r.get(&k))
                .map(|x| x.1)
                .unwrap_or(last_line);
            return Err(ReadError::at(
                line,
                format!(
                    "vehicle {} has {} capacity values, demands have {dims}",
                    k + 1,
                    capacity.len()
                ),
            ));
        }
        let one = |name: &str| -> Result<Option<f64>, ReadError> {
            Ok(per_vehicle(name, k)?.map(|v| v[0]))
        };
        let shift = match nodes[depot].window {
            Some((a, b)) => TimeWindow { start: a, end: b },
            None => TimeWindow::UNBOUNDED,
        };
        vehicles.push(Vehicle {
            id: k as u64 + 1,
            start: depot,
            end: depot,
            capacity,
            shift,
            max_duration: one("VEHICLES_MAX_DURATION_SECTION")?.or(max_duration_all),
            skills: Vec::new(),
            // PyVRP's dialect stores costs as integers scaled by 100; its tables divide back.
            fixed_cost: one("VEHICLES_FIXED_COST_SECTION")?.map_or(0.0, |c| c / 100.0),
            unit_cost: one("VEHICLES_UNIT_DISTANCE_COST_SECTION")?.map_or(1.0, |c| c / 100.0),
        });
    }

    let mut jobs = Vec::with_capacity(dim.saturating_sub(depots.len()));
    for (k, n) in nodes.iter().enumerate() {
        if depots.iter().any(|&(d, _)| d == k) {
            continue;
        }
        let demand = n
            .demand
            .clone()
            .ok_or_else(|| truncated(format!("demand of node {}", k + 1)))?;
        if demand.len() != dims {
            return Err(truncated(format!(
                "{dims} demand values for node {}, found {}",
                k + 1,
                demand.len()
            )));
        }
        let w = n
            .window
            .map(|(a, b)| TimeWindow { start: a, end: b })
            .unwrap_or(TimeWindow::UNBOUNDED);
        jobs.push(Job {
            id: (k + 1) as u64,
            location: k,
            pickup: vec![0.0; dims],
            delivery: demand,
            windows: vec![w],
            service: n.service.unwrap_or(service_all),
            skills: Vec::new(),
        });
    }
    let name = get("NAME").map(|(s, _)| s.to_string()).unwrap_or_default();
    Ok(Problem::new(name, locations, jobs, vehicles, matrix)?)
}

/// A solution file in the VRPLIB convention: `Route #k: c1 c2 ...` lines (route k driven by
/// vehicle k, clients as 0-based node rows, so a job id is the number plus one) and a
/// `Cost` line.
#[derive(Debug, Clone, PartialEq)]
pub struct SolutionFile {
    /// Routes in the checker's terms (empty routes left out).
    pub routes: Vec<RoutePlan>,
    /// The `Cost` line as written, if any.
    pub cost: Option<f64>,
}

/// Parses a VRPLIB `.sol` file.
pub fn parse_solution(text: &str) -> Result<SolutionFile, ReadError> {
    let mut routes = Vec::new();
    let mut cost = None;
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let Some((head, rest)) = l.split_once(':') else {
            return Err(ReadError::at(
                ln,
                format!("expected `Route #k:` or `Cost`, found {l:?}"),
            ));
        };
        let head = head.trim();
        if let Some(k) = head.strip_prefix("Route #") {
            let k = integer(k.trim(), ln, "route number")? as usize;
            if k == 0 || k > MAX_VEHICLES {
                return Err(ReadError::at(ln, format!("route number {k} out of range")));
            }
            let jobs = rest
                .split_whitespace()
                .map(|tok| integer(tok, ln, "client").map(|c| c + 1))
                .collect::<Result<Vec<u64>, _>>()?;
            if !jobs.is_empty() {
                routes.push(RoutePlan {
                    vehicle: k - 1,
                    jobs,
                });
            }
        } else if head.to_ascii_lowercase().starts_with("route") {
            return Err(ReadError::at(
                ln,
                format!("expected `Route #k:`, found {head:?}"),
            ));
        } else if head.eq_ignore_ascii_case("cost") {
            cost = Some(number(rest.trim(), ln, "cost")?);
        }
        // Other lines (solver name, time) carry nothing the checker needs.
    }
    Ok(SolutionFile { routes, cost })
}
