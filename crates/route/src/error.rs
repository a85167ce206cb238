//! Typed errors of the route engine: an invalid model, an unreadable file, an unsolvable request.

use thiserror::Error;

/// A problem that cannot exist: inconsistent sizes, negative quantities, impossible jobs.
#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    /// A window whose end precedes its start.
    #[error("time window end {end} is before its start {start}")]
    BadWindow {
        /// Start.
        start: f64,
        /// End.
        end: f64,
    },
    /// Matrix of the wrong size.
    #[error("travel matrix has {dist} distances and {time} durations, expected {expected}")]
    MatrixSize {
        /// Expected entries.
        expected: usize,
        /// Distances given.
        dist: usize,
        /// Durations given.
        time: usize,
    },
    /// Negative or non-finite matrix entry.
    #[error("travel matrix entries must be finite and non-negative")]
    MatrixValue,
    /// More locations than the engine accepts.
    #[error("{0} locations; at most {max} are supported", max = crate::model::MAX_LOCATIONS)]
    TooLarge(usize),
    /// No vehicle at all.
    #[error("the problem has no vehicle")]
    NoVehicle,
    /// Two jobs with the same id.
    #[error("job id {0} appears twice")]
    DuplicateJob(u64),
    /// A location index out of range.
    #[error("{what} refers to location {index}, which does not exist")]
    UnknownLocation {
        /// Who refers to it.
        what: String,
        /// The index.
        index: usize,
    },
    /// Wrong number of capacity dimensions.
    #[error("{what} has {got} capacity dimensions, the problem has {dims}")]
    Dimensions {
        /// Who.
        what: String,
        /// Its count.
        got: usize,
        /// The problem's count.
        dims: usize,
    },
    /// Negative quantity.
    #[error("{what} is negative or not a number")]
    Negative {
        /// What.
        what: String,
    },
    /// A job without time window.
    #[error("job {0} has no time window")]
    NoWindow(u64),
    /// Windows not sorted or overlapping.
    #[error("job {0}'s time windows overlap or are not sorted")]
    OverlappingWindows(u64),
    /// A job that no vehicle can serve.
    #[error("job {job} can be served by no vehicle: {reason}")]
    Unservable {
        /// The job id.
        job: u64,
        /// Why, for the first vehicle.
        reason: String,
    },
}

/// A file that could not be read into a problem or a solution.
#[derive(Debug, Error)]
pub enum ReadError {
    /// Syntax or value error at a line (1-based).
    #[error("line {line}: {msg}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// File ended early.
    #[error("line {line}: unexpected end of file, expected {expected}")]
    Truncated {
        /// Line after the last one.
        line: usize,
        /// What was expected.
        expected: String,
    },
    /// The data parsed but does not form a valid problem.
    #[error("invalid problem: {0}")]
    Model(#[from] ModelError),
    /// JSON syntax or shape error (serde_json reports line and column).
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The file could not be opened.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Format not recognised.
    #[error("unknown format {0:?} (expected solomon, vrplib or json)")]
    Format(String),
}

impl ReadError {
    /// Shorthand for a line error.
    pub(crate) fn at(line: usize, msg: impl Into<String>) -> Self {
        ReadError::Line {
            line,
            msg: msg.into(),
        }
    }
}

/// Why the solver refused a problem.
#[derive(Debug, Error, PartialEq)]
pub enum SolveError {
    /// Some job can be served by no vehicle.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The problem uses a feature the solver does not handle yet.
    #[error("not supported by the solver yet: {0}")]
    Unsupported(String),
}
