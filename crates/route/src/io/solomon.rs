//! Solomon's original VRPTW text format (name, `VEHICLE` block, `CUSTOMER` table of seven
//! integer columns, customer 0 being the depot).
//!
//! Job ids are the customer numbers; every vehicle starts and ends at the depot, its shift is the
//! depot's window and its capacity the file's `CAPACITY`.

use super::{Distances, integer, number};
use crate::error::ReadError;
use crate::model::{Job, Location, Problem, TimeWindow, Vehicle};

/// Parses a Solomon instance; `distances` says how arc lengths are computed.
pub fn parse(text: &str, distances: Distances) -> Result<Problem, ReadError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let last_line = text.lines().count() + 1;
    let truncated = |what: &str| ReadError::Truncated {
        line: last_line,
        expected: what.to_string(),
    };

    let (_, name) = lines
        .by_ref()
        .find(|(_, l)| !l.is_empty())
        .ok_or_else(|| truncated("instance name"))?;
    let name = name.to_string();
    let (vline, vehicle) = lines
        .by_ref()
        .find(|(_, l)| !l.is_empty())
        .ok_or_else(|| truncated("VEHICLE"))?;
    if !vehicle.to_ascii_uppercase().starts_with("VEHICLE") {
        return Err(ReadError::at(vline, "expected `VEHICLE`"));
    }
    // The header lines are fixed text; we check the keywords, not the spacing.
    let mut next_nonempty = |what: &str| {
        lines
            .by_ref()
            .find(|(_, l)| !l.is_empty())
            .ok_or_else(|| truncated(what))
    };
    let (hline, header) = next_nonempty("NUMBER CAPACITY header")?;
    if !header.to_ascii_uppercase().starts_with("NUMBER") {
        return Err(ReadError::at(
            hline,
            "expected the header `NUMBER CAPACITY`",
        ));
    }
    let (fline, fleet) = next_nonempty("vehicle number and capacity")?;
    let toks: Vec<&str> = fleet.split_whitespace().collect();
    if toks.len() != 2 {
        return Err(ReadError::at(
            fline,
            format!("expected 2 fields (number, capacity), found {}", toks.len()),
        ));
    }
    let count = integer(toks[0], fline, "vehicle number")?;
    let capacity = number(toks[1], fline, "capacity")?;
    if capacity < 0.0 {
        return Err(ReadError::at(
            fline,
            format!("capacity {capacity} is negative"),
        ));
    }
    if count == 0 || count > 100_000 {
        return Err(ReadError::at(
            fline,
            format!("vehicle number {count} must be between 1 and 100000"),
        ));
    }
    let (cline, cust) = next_nonempty("CUSTOMER")?;
    if !cust.to_ascii_uppercase().starts_with("CUSTOMER") {
        return Err(ReadError::at(cline, "expected `CUSTOMER`"));
    }
    next_nonempty("customer table header")?;

    let mut locations = Vec::new();
    let mut jobs = Vec::new();
    let mut depot: Option<(TimeWindow, usize)> = None;
    let mut ids = std::collections::HashSet::new();
    for (ln, l) in lines {
        if l.is_empty() {
            continue;
        }
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() != 7 {
            return Err(ReadError::at(
                ln,
                format!("expected 7 fields, found {}", t.len()),
            ));
        }
        let id = integer(t[0], ln, "customer number")?;
        let x = number(t[1], ln, "x coordinate")?;
        let y = number(t[2], ln, "y coordinate")?;
        let demand = number(t[3], ln, "demand")?;
        let ready = number(t[4], ln, "ready time")?;
        let due = number(t[5], ln, "due date")?;
        let service = number(t[6], ln, "service time")?;
        if demand < 0.0 {
            return Err(ReadError::at(ln, format!("demand {demand} is negative")));
        }
        if service < 0.0 {
            return Err(ReadError::at(
                ln,
                format!("service time {service} is negative"),
            ));
        }
        if due < ready {
            return Err(ReadError::at(
                ln,
                format!("due date {due} is before ready time {ready}"),
            ));
        }
        if !ids.insert(id) {
            return Err(ReadError::at(
                ln,
                format!("customer number {id} appears twice"),
            ));
        }
        if depot.is_none() {
            if id != 0 {
                return Err(ReadError::at(
                    ln,
                    format!("missing depot: the first row must be customer 0, found {id}"),
                ));
            }
            depot = Some((
                TimeWindow {
                    start: ready,
                    end: due,
                },
                locations.len(),
            ));
            locations.push(Location { x, y });
            continue;
        }
        jobs.push(Job {
            id,
            location: locations.len(),
            delivery: vec![demand],
            pickup: vec![0.0],
            windows: vec![TimeWindow {
                start: ready,
                end: due,
            }],
            service,
            skills: Vec::new(),
        });
        locations.push(Location { x, y });
    }
    let Some((shift, d)) = depot else {
        return Err(ReadError::Truncated {
            line: last_line,
            expected: "the depot row (customer 0)".into(),
        });
    };
    let vehicles = (0..count)
        .map(|k| Vehicle {
            id: k + 1,
            start: d,
            end: d,
            capacity: vec![capacity],
            shift,
            max_duration: None,
            skills: Vec::new(),
            fixed_cost: 0.0,
            unit_cost: 1.0,
        })
        .collect();
    let matrix = distances.matrix(&locations);
    Ok(Problem::new(name, locations, jobs, vehicles, matrix)?)
}
