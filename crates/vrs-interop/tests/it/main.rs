//! The exchange formats: dose files, FHIR and HL7 v2 (checked with hl7apy where available).
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod doses;
mod hl7;
