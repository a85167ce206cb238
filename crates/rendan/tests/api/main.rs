//! Integration tests of the whole platform over HTTP: one test binary, modules per feature.

mod access;
mod durability;
mod helpers;
mod idempotency;
mod load;
mod malformed;
mod orders;
