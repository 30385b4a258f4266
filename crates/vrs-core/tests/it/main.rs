//! The services over real databases: each case on a fresh SQLite and a fresh PostgreSQL database.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit_anchor;
mod backup;
mod backup_stream;
mod certificates;
mod check_doses;
mod doses;
mod duplicates;
mod import_targets;
mod inquiry;
mod lifecycle;
mod sessions;
mod statistics;
mod statistics_rollups;
mod support;
