//! rendan's vehicle-routing engine.
//!
//! Main types: [`model::Problem`] (jobs, vehicles, travel matrix; validated on construction),
//! [`solver::solve`] (hybrid genetic search with an injected [`solver::Stop`] criterion and a
//! progress callback), [`check::check`] (independent verification of any solution) and
//! [`mod@bench`] (run a folder of instances against its best-known table). Readers for Solomon,
//! VRPLIB and JSON live in [`io`]. The crate is pure computation: it knows nothing of HTTP, SQL or
//! MQTT and depends on no other workspace crate.

pub mod bench;
pub mod check;
pub mod error;
pub mod io;
pub mod model;
pub mod solver;

pub use check::{Report, check};
pub use error::{ModelError, ReadError, SolveError};
pub use model::Problem;
pub use solver::{Config, Limits, Objective, Solution, Stop, solve};
