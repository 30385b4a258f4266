//! What every command needs: where the database and master key are, and the error type that maps
//! to exit codes.

use std::path::PathBuf;
use std::sync::Arc;

use vrs_crypto::{CryptoError, MasterKey};
use vrs_store::{Store, StoreError};

/// The global options, resolved.
pub struct Context {
    pub database: String,
    pub key_file: PathBuf,
}

/// A command's failure: bad input (exit 2) or anything else (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Failure(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Failure(_) => 1,
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        match e {
            // A conflict is with a value the operator gave (a user ID already taken, …).
            StoreError::Config(_) | StoreError::Conflict(_) => CliError::Input(e.to_string()),
            other => CliError::Failure(other.to_string()),
        }
    }
}

impl From<CryptoError> for CliError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::KeyFormat | CryptoError::KeyFilePermissions { .. } => {
                CliError::Input(e.to_string())
            }
            other => CliError::Failure(other.to_string()),
        }
    }
}

impl Context {
    /// The master key from `VRS_MASTER_KEY` or the key file; with `create`, a missing key file is
    /// created. Returns whether a new key was created.
    pub fn master_key(&self, create: bool) -> Result<(MasterKey, bool), CliError> {
        if let Ok(hex) = std::env::var("VRS_MASTER_KEY") {
            return Ok((MasterKey::from_hex(&hex)?, false));
        }
        if create && !self.key_file.exists() {
            return Ok((MasterKey::create_file(&self.key_file)?, true));
        }
        if !self.key_file.exists() {
            return Err(CliError::Failure(format!(
                "no master key at {} (run `vrs init`, or set VRS_KEY_FILE or VRS_MASTER_KEY)",
                self.key_file.display()
            )));
        }
        Ok((MasterKey::load_file(&self.key_file)?, false))
    }

    /// Opens the initialised database.
    pub async fn store(&self) -> Result<Arc<dyn Store>, CliError> {
        let (key, _) = self.master_key(false)?;
        Ok(vrs_store::open(&self.database, key, false).await?)
    }
}

/// Parses a municipality code given as an argument.
pub fn municipality_arg(flag: &str, value: &str) -> Result<vrs_domain::MunicipalityCode, CliError> {
    vrs_domain::MunicipalityCode::parse(value)
        .map_err(|e| CliError::Input(format!("{flag} {value:?}: {e}")))
}
