//! The storage layer's closed error enum. Messages name tables, columns and rows by key, never by
//! personal data.

use vrs_crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the idempotency key has already been used")]
    Replayed,
    #[error("{0}")]
    Config(String),
    #[error("the database has not been initialised; run `vrs init` first")]
    NotInitialised,
    #[error("the master key does not match this database (wrong key file or VRS_MASTER_KEY)")]
    WrongMasterKey,
    #[error("stored data failed its integrity check ({what}): {source}")]
    Integrity {
        what: String,
        #[source]
        source: CryptoError,
    },
    #[error("stored data is malformed ({0})")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Other(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => StoreError::Other(format!("{}: {}", db.code().code(), db.message())),
            None => StoreError::Other(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Other(format!("cannot reach PostgreSQL: {e}"))
    }
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(e: tokio::task::JoinError) -> Self {
        StoreError::Other(format!("storage task failed: {e}"))
    }
}
