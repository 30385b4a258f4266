//! The domain's values: identifiers, names and dates, property-tested; no value leaks in Debug,
//! no input panics.
//!
//! One test binary per crate, a module per concern: the binary links the whole workspace once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dates;
mod identifiers;
mod names;
mod no_leak;
mod no_panic;
