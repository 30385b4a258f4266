//! Vaccination certificates: the codes a certificate carries and the document it is printed on.
//! SMART Health Cards (`shc`) as Japan's app issued them; everything here is pure encoding,
//! signing and verification — no storage, no HTTP.

pub mod dcc;
pub mod pdf;
pub mod shc;
pub mod vds_nc;
pub mod verify;
