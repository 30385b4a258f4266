//! The storage backends: the conformance suite on both, and PostgreSQL over TLS.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod postgres_tls;
