//! The one error type of this crate. Messages never carry key material or plaintext.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read the master key file {path}: {reason}")]
    KeyFileUnreadable { path: PathBuf, reason: String },
    #[error("cannot create the master key file {path}: {reason}")]
    KeyFileNotCreated { path: PathBuf, reason: String },
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    KeyFormat,
    #[error("the master key file {path} is readable by other users (mode {mode:o}); run `chmod 600` on it")]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    #[error("the master key does not match this database (wrong key file or VRS_MASTER_KEY)")]
    WrongMasterKey,
    #[error("a stored value failed authentication: it was altered, moved to another row, or belongs to another key")]
    Decrypt,
    #[error("a stored value was written with data key version {found}, but version {expected} is loaded")]
    KeyVersion { expected: u32, found: u32 },
    #[error("the system random number generator failed")]
    Random,
}
