//! Integration tests of the network watch: agents and monitor on loopback, reports (its HTTP
//! API is tested with the platform's, in `crates/rendan/tests/api/network.rs`).

mod deps;
mod drills;
mod e2e;
mod helpers;
mod reports;
mod simulated;
mod webhooks;
