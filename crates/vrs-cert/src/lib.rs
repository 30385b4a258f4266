//! Vaccination certificates: the codes a certificate carries and the document it is printed on —
//! SMART Health Cards (`shc`) as Japan's app issued them, the EU Digital COVID Certificate (`dcc`),
//! the ICAO VDS-NC seal of overseas certificates (`vds_nc`), the bilingual PDF (`pdf`) and the
//! offline verifier of all three (`verify`). Everything here is pure encoding, signing and
//! verification — no storage, no HTTP.

mod compress;
pub mod dcc;
pub mod pdf;
pub mod shc;
pub mod vds_nc;
pub mod verify;
