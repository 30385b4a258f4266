//! File formats of the Vaccination Record System: the targets CSV read from resident-registry
//! systems (UTF-8 or CP932) and synthetic targets written in the same format.

pub mod synthetic;
pub mod targets;

pub use synthetic::{write_targets, Synthetic};
pub use targets::{Column, Encoding, EncodingChoice, FieldError, RawRow, ReadError, TargetReader};
