//! Integration tests of the network watch: agents and monitor on loopback, reports, HTTP API.

mod api;
mod deps;
mod drills;
mod e2e;
mod helpers;
mod reports;
mod restart;
mod webhooks;
