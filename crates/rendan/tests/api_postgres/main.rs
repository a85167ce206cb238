//! The conformance suite of `tests/api` (the same source files) on PostgreSQL, each test on a
//! database of its own, plus what only a shared database can do: several `rendan serve`
//! processes on one database. Needs PostgreSQL at `RENDAN_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); skipped with a message when it is
//! unreachable, failed instead under `CI=true`.

#[path = "../api/access.rs"]
mod access;
#[path = "../api/capacity.rs"]
mod capacity;
#[path = "../api/database.rs"]
mod database;
#[path = "../api/delivery.rs"]
mod delivery;
#[path = "../api/durability.rs"]
mod durability;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/idempotency.rs"]
mod idempotency;
#[path = "../api/load.rs"]
mod load;
#[path = "../api/malformed.rs"]
mod malformed;
#[path = "../api/orders.rs"]
mod orders;
#[path = "../api/processes.rs"]
mod processes;
#[path = "../api/stops.rs"]
mod stops;
#[path = "../api/store.rs"]
mod store;
#[path = "../api/webhooks.rs"]
mod webhooks;

/// The backend this binary's suite runs on.
const BACKEND: database::Backend = database::Backend::Postgres;
