//! Integration tests of the whole platform over HTTP and of the store beneath it, on SQLite:
//! one test binary, modules per feature. `tests/api_postgres` compiles the same modules for
//! PostgreSQL, so both backends pass one conformance suite from one source.

mod access;
mod capacity;
mod database;
mod delivery;
mod durability;
mod helpers;
mod idempotency;
mod load;
mod malformed;
mod network;
mod orders;
mod stops;
mod store;
mod webhooks;

/// The backend this binary's suite runs on.
const BACKEND: database::Backend = database::Backend::Sqlite;
