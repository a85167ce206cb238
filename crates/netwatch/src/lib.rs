//! rendan's network watch: probing the company's nodes, cutting time into judged slices,
//! opening and closing incidents, excluding maintenance, and proving each contractual month.
//!
//! The pure core is [`slice`] (fixed, epoch-aligned slices and their [`slice::SliceState`]),
//! [`judge`] (vantage-point verdicts to a state, by quorum), [`maintenance`] (one-off and weekly
//! windows in a stated zone), [`month`] and [`contract`] (months in the contract's zone),
//! [`availability`] (the arithmetic of the report) and [`incident`] (K/M hysteresis). Around it:
//! [`probe`] and [`round`] measure, [`agent`] answers probes at each node, [`monitor`] schedules
//! rounds and writes slices through the [`store::NetwatchStore`] trait, [`webhook`] notifies,
//! [`report`] renders the SLA month, and [`http`] exposes all of it as an axum router.
//! The monitor also emits `rendan_netwatch_*` counters and a TCP round-trip histogram through the
//! `metrics` facade; they are no-ops unless the binary installs a recorder.

#![warn(missing_docs)]

pub mod agent;
pub mod availability;
pub mod config;
pub mod contract;
pub mod incident;
pub mod judge;
pub mod maintenance;
pub mod monitor;
pub mod month;
pub mod peer;
pub mod probe;
pub mod report;
pub mod retention;
pub mod rollup;
pub mod round;
pub mod slice;
pub mod stop;
pub mod store;
pub mod webhook;
pub mod windows;

pub use config::NetwatchConfig;
pub use monitor::{MonitorHandle, Netwatch, start, start_with};
pub use slice::{SliceLen, SliceState};
pub use store::{MemoryStore, NetwatchStore};
