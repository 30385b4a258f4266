//! The server over HTTP: each case with a server on port 0 over a fresh database, a real client,
//! and a real browser where the case is about the page.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod api;
mod backup;
mod browser;
mod camera;
mod certificates;
mod doses;
mod duplicates;
mod error_pages;
mod fhir;
mod forms;
mod hl7;
mod inquiry;
mod isolation;
mod japanese;
mod lifecycle;
mod screens;
mod statistics;
mod support;
mod transport;
mod upload_progress;
