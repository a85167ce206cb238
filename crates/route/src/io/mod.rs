//! Readers and writers: Solomon text, VRPLIB, rendan's JSON problem format and the JSON solution.
//!
//! Every reader takes the whole text and returns a validated [`Problem`] or a [`ReadError`]
//! carrying the 1-based line number of the first fault. Readers never panic, whatever the input:
//! the fuzz targets in `fuzz/` exercise exactly these functions.

pub mod json;
pub mod solomon;
pub mod vrplib;

use crate::error::ReadError;
use crate::model::Problem;
use std::path::Path;

/// Input formats the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Solomon's original text format.
    Solomon,
    /// VRPLIB (CVRP and VRPTW sections).
    Vrplib,
    /// rendan's JSON problem format (see [`json`]).
    Json,
}

impl std::str::FromStr for Format {
    type Err = ReadError;
    fn from_str(s: &str) -> Result<Self, ReadError> {
        match s.to_ascii_lowercase().as_str() {
            "solomon" | "txt" => Ok(Format::Solomon),
            "vrplib" | "vrp" => Ok(Format::Vrplib),
            "json" => Ok(Format::Json),
            _ => Err(ReadError::Format(s.to_string())),
        }
    }
}

impl Format {
    /// Guesses the format from a file extension (`.txt`, `.vrp`, `.json`); Solomon otherwise.
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "vrp" => Format::Vrplib,
            Some(e) if e == "json" => Format::Json,
            _ => Format::Solomon,
        }
    }
}

/// How a reader turns coordinates into arc lengths (JSON problems may carry their own matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Distances {
    /// Unrounded Euclidean distances (the Solomon tables' and PyVRP's "exact" convention).
    #[default]
    Exact,
    /// Euclidean distances truncated to one decimal per arc (DIMACS 2021 VRPTW challenge; the
    /// convention of the Gehring–Homberger distance tables in `bks_dimacs.csv`).
    Dimacs,
}

impl Distances {
    /// The matrix over `locations` for this convention (`None`: the model's Euclidean default).
    pub fn matrix(self, locations: &[crate::model::Location]) -> Option<crate::model::Matrix> {
        match self {
            Distances::Exact => None,
            Distances::Dimacs => Some(crate::model::Matrix::euclidean_dimacs(locations)),
        }
    }
}

impl std::str::FromStr for Distances {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exact" => Ok(Distances::Exact),
            "dimacs" => Ok(Distances::Dimacs),
            _ => Err(format!(
                "unknown distance convention {s:?} (exact or dimacs)"
            )),
        }
    }
}

/// Parses a problem from text in the given format, with unrounded Euclidean distances.
pub fn parse(text: &str, format: Format) -> Result<Problem, ReadError> {
    parse_with(text, format, Distances::Exact)
}

/// Parses a problem from text in the given format and distance convention (the convention
/// does not apply to a JSON problem with an explicit matrix).
pub fn parse_with(text: &str, format: Format, distances: Distances) -> Result<Problem, ReadError> {
    match format {
        Format::Solomon => solomon::parse(text, distances),
        Format::Vrplib => vrplib::parse(text, distances),
        Format::Json => json::parse_problem(text, distances),
    }
}

/// Reads a problem file; the format is guessed from the extension when `format` is `None`.
pub fn read_problem(path: &Path, format: Option<Format>) -> Result<Problem, ReadError> {
    read_problem_with(path, format, Distances::Exact)
}

/// [`read_problem`] with a distance convention.
pub fn read_problem_with(
    path: &Path,
    format: Option<Format>,
    distances: Distances,
) -> Result<Problem, ReadError> {
    let text = read_text(path)?;
    parse_with(
        &text,
        format.unwrap_or_else(|| Format::from_path(path)),
        distances,
    )
}

/// Reads a whole text file, naming it in the error.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Parses a number token, naming the field in the error.
pub(crate) fn number(tok: &str, line: usize, field: &str) -> Result<f64, ReadError> {
    match tok.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ReadError::at(
            line,
            format!("{field}: {tok:?} is not a number"),
        )),
    }
}

/// Parses a non-negative integer token.
pub(crate) fn integer(tok: &str, line: usize, field: &str) -> Result<u64, ReadError> {
    tok.parse::<u64>().map_err(|_| {
        ReadError::at(
            line,
            format!("{field}: {tok:?} is not a non-negative integer"),
        )
    })
}
