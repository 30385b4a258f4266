//! The `vrs` command end to end: the built binary run as an operator would, over real databases,
//! servers, network namespaces and kill -9.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backup;
mod cli;
mod durability;
mod emergency_stop;
mod failover;
mod network_separation;
mod support;
