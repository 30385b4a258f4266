//! Certificates against the public conformance vectors and real renderers: EU DCC, SMART Health
//! Cards, VDS-NC, revocation and the printed PDF.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dcc_conformance;
mod pdf;
mod revocation;
mod shc_conformance;
