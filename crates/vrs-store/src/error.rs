//! The storage layer's closed error enum. Messages name tables, columns and rows by key, never by
//! personal data.

use vrs_crypto::CryptoError;

use crate::ConflictKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
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
        // The server's own refusal (pg_hba.conf, authentication, …) says what to fix.
        let detail = match &e {
            deadpool_postgres::PoolError::Backend(pg) => match pg.as_db_error() {
                Some(db) => format!("{}: {}", db.code().code(), db.message()),
                None => with_sources(pg),
            },
            other => with_sources(other),
        };
        StoreError::Other(format!("cannot reach PostgreSQL: {detail}"))
    }
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(e: tokio::task::JoinError) -> Self {
        StoreError::Other(format!("storage task failed: {e}"))
    }
}

/// An error and the errors beneath it (the TLS handshake's reason under "error performing TLS
/// handshake"), joined by colons.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}
