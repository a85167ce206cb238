//! VRPLIB format (CVRP and VRPTW): `KEY : VALUE` specifications followed by
//! `NODE_COORD_SECTION`, `DEMAND_SECTION`, optional `TIME_WINDOW_SECTION`,
//! `SERVICE_TIME_SECTION` and `EDGE_WEIGHT_SECTION` (FULL_MATRIX), and `DEPOT_SECTION`.
//!
//! Job ids are the node numbers of the file (the depot's node is left out of routes).
//! `EUC_2D` is read as *unrounded* Euclidean distance, the Solomon convention of this engine;
//! one depot is supported.

use super::{integer, number};
use crate::error::ReadError;
use crate::model::{Job, Location, Matrix, Problem, TimeWindow, Vehicle};
use std::collections::HashMap;

#[derive(Default)]
struct Node {
    coord: Option<(f64, f64)>,
    demand: Option<f64>,
    window: Option<(f64, f64, usize)>,
    service: Option<f64>,
}

/// Parses a VRPLIB instance.
pub fn parse(text: &str) -> Result<Problem, ReadError> {
    let last_line = text.lines().count() + 1;
    let mut spec: HashMap<String, (String, usize)> = HashMap::new();
    let mut section: Option<String> = None;
    let mut dimension: Option<usize> = None;
    let mut nodes: Vec<Node> = Vec::new();
    let mut depots: Vec<usize> = Vec::new();
    let mut depot_done = false;
    let mut weights: Vec<f64> = Vec::new();
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
        match sec {
            "NODE_COORD_SECTION" => {
                want(3)?;
                let k = node_index(ln)?;
                nodes[k].coord = Some((number(t[1], ln, "x")?, number(t[2], ln, "y")?));
            }
            "DEMAND_SECTION" => {
                want(2)?;
                let k = node_index(ln)?;
                let d = number(t[1], ln, "demand")?;
                if d < 0.0 {
                    return Err(ReadError::at(ln, format!("demand {d} is negative")));
                }
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
                nodes[k].window = Some((a, b, ln));
            }
            "SERVICE_TIME_SECTION" => {
                want(2)?;
                let k = node_index(ln)?;
                let s = number(t[1], ln, "service time")?;
                if s < 0.0 {
                    return Err(ReadError::at(ln, format!("service time {s} is negative")));
                }
                nodes[k].service = Some(s);
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
                        depots.push(id - 1);
                    }
                }
            }
            "EDGE_WEIGHT_SECTION" => {
                for tok in &t {
                    weights.push(number(tok, ln, "edge weight")?);
                }
            }
            other => return Err(ReadError::at(ln, format!("unknown section {other}"))),
        }
    }
    if !saw_eof && nodes.is_empty() {
        return Err(ReadError::Truncated {
            line: last_line,
            expected: "sections".into(),
        });
    }
    let dim = dimension.ok_or_else(|| ReadError::Truncated {
        line: last_line,
        expected: "DIMENSION".into(),
    })?;
    let get = |k: &str| spec.get(k).map(|(v, l)| (v.as_str(), *l));
    let (cap_s, cap_l) = get("CAPACITY").ok_or_else(|| ReadError::Truncated {
        line: last_line,
        expected: "CAPACITY".into(),
    })?;
    let capacity = number(cap_s, cap_l, "CAPACITY")?;
    if capacity < 0.0 {
        return Err(ReadError::at(
            cap_l,
            format!("capacity {capacity} is negative"),
        ));
    }
    let Some(&depot) = depots.first() else {
        return Err(ReadError::Truncated {
            line: last_line,
            expected: "a DEPOT_SECTION naming the depot (missing depot)".into(),
        });
    };
    if depots.len() > 1 {
        return Err(ReadError::at(
            spec.get("DIMENSION").map(|x| x.1).unwrap_or(1),
            "several depots are not supported by the VRPLIB reader",
        ));
    }
    let service_all = match get("SERVICE_TIME") {
        Some((s, l)) => number(s, l, "SERVICE_TIME")?,
        None => 0.0,
    };
    let ewt = get("EDGE_WEIGHT_TYPE").map(|(s, l)| (s.to_ascii_uppercase(), l));
    let explicit = matches!(&ewt, Some((s, _)) if s == "EXPLICIT");
    let mut locations = Vec::with_capacity(dim);
    for (k, n) in nodes.iter().enumerate() {
        match n.coord {
            Some((x, y)) => locations.push(Location { x, y }),
            None if explicit => locations.push(Location { x: 0.0, y: 0.0 }),
            None => {
                return Err(ReadError::Truncated {
                    line: last_line,
                    expected: format!("coordinates of node {}", k + 1),
                });
            }
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
            return Err(ReadError::Truncated {
                line: last_line,
                expected: format!("{} edge weights, found {}", dim * dim, weights.len()),
            });
        }
        if weights.iter().any(|w| *w < 0.0) {
            return Err(ReadError::at(l, "negative edge weight"));
        }
        Some(Matrix::explicit(dim, weights.clone(), weights)?)
    } else {
        match &ewt {
            None => None,
            Some((s, _)) if s == "EUC_2D" || s == "EXACT_2D" => None,
            Some((s, l)) => {
                return Err(ReadError::at(
                    *l,
                    format!("EDGE_WEIGHT_TYPE {s} not supported"),
                ));
            }
        }
    };
    let shift = match nodes[depot].window {
        Some((a, b, _)) => TimeWindow { start: a, end: b },
        None => TimeWindow::UNBOUNDED,
    };
    let mut jobs = Vec::with_capacity(dim.saturating_sub(1));
    for (k, n) in nodes.iter().enumerate() {
        if k == depot {
            continue;
        }
        let demand = n.demand.ok_or_else(|| ReadError::Truncated {
            line: last_line,
            expected: format!("demand of node {}", k + 1),
        })?;
        let w = n
            .window
            .map(|(a, b, _)| TimeWindow { start: a, end: b })
            .unwrap_or(TimeWindow::UNBOUNDED);
        jobs.push(Job {
            id: (k + 1) as u64,
            location: k,
            demand: vec![demand],
            windows: vec![w],
            service: n.service.unwrap_or(service_all),
            skills: Vec::new(),
        });
    }
    let count = match get("VEHICLES") {
        Some((s, l)) => {
            let c = integer(s, l, "VEHICLES")?;
            if c == 0 || c > 100_000 {
                return Err(ReadError::at(
                    l,
                    format!("VEHICLES {c} must be between 1 and 100000"),
                ));
            }
            c
        }
        None => jobs.len().max(1) as u64,
    };
    let vehicles = (0..count)
        .map(|k| Vehicle {
            id: k + 1,
            start: depot,
            end: depot,
            capacity: vec![capacity],
            shift,
            max_duration: None,
            skills: Vec::new(),
            fixed_cost: 0.0,
        })
        .collect();
    let name = get("NAME").map(|(s, _)| s.to_string()).unwrap_or_default();
    Ok(Problem::new(name, locations, jobs, vehicles, matrix)?)
}
