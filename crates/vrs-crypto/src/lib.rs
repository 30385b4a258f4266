//! Cryptography of the Vaccination Record System.
//!
//! The deployment holds one master key outside the database ([`MasterKey`]). Each municipality has
//! its own data key ([`DataKey`]), created on first use and stored in the database only wrapped by the
//! master key. From a data key come the two things storage needs: AES-256-GCM field encryption with
//! the municipality, column and row bound in as associated data, and a keyed blind index (HMAC-SHA-256)
//! so a person can be found by My Number without storing it in the clear ([`FieldCipher`]).
//! Destroying a municipality's wrapped data key makes every copy of its rows unreadable; backups
//! ([`backup`]) are sealed under per-area backup keys that never leave the deployment's key vault.
//!
//! The audit log's hash chain ([`chain`]) lives here too, so every hash the system relies on is
//! computed in one place.

pub mod backup;
pub mod chain;
mod error;
pub mod es256;
mod field;
pub mod jose;
mod master;
pub mod password;
pub mod pki;
pub mod x509;

pub use error::CryptoError;
pub use field::{DataKey, FieldCipher};
pub use master::MasterKey;

/// SHA-256 of bytes given in pieces (a file written in parts).
pub struct Sha256(ring::digest::Context);

impl Default for Sha256 {
    fn default() -> Self {
        Self(ring::digest::Context::new(&ring::digest::SHA256))
    }
}

impl Sha256 {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// SHA-256 of `bytes` (request fingerprints, file digests).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}
