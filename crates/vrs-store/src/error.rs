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
    /// The database cannot be reached now: no primary answers, a connection was lost, a failover
    /// is under way. Nothing was stored that a retry would store twice (writes carry idempotency
    /// keys), so the same request can be sent again in a moment.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Other(e.to_string())
    }
}

/// When a PostgreSQL connection of this process last failed for want of the server (see
/// [`unavailable`]): the pools close every connection made before it instead of using it again.
static LAST_LOST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// When a connection to PostgreSQL last failed for want of the server, if one has.
pub(crate) fn connection_last_lost() -> Option<std::time::Instant> {
    *LAST_LOST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let unavailable = unavailable(&e);
        if unavailable {
            *LAST_LOST
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(std::time::Instant::now());
        }
        let detail = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => with_sources(&e),
        };
        if unavailable {
            StoreError::Unavailable(detail)
        } else {
            StoreError::Other(detail)
        }
    }
}

/// Whether `e` says the server is gone or cannot take writes now, rather than that the request was
/// wrong: the connection closed or broke (a server killed, a network cut), a timeout, or the
/// server's own word — a connection exception (class 08), a shutdown or restart in progress
/// (57P01–57P03), too many connections (53300), or a read-only transaction on a server that has
/// become a standby (25006).
pub(crate) fn unavailable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::READ_ONLY_SQL_TRANSACTION,
            ]
            .contains(code);
    }
    if e.is_closed() {
        return true;
    }
    // Failures to connect, to send or to read (refused, reset, timed out, no server that takes
    // writes) carry an I/O error; a value the driver could not convert carries none.
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if inner.is::<std::io::Error>() {
            return true;
        }
        source = inner.source();
    }
    e.to_string().contains("timeout")
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        // The server's own refusal (pg_hba.conf, authentication, …) says what to fix.
        let (detail, unavailable) = match &e {
            PoolError::Backend(pg) => match pg.as_db_error() {
                Some(db) => (
                    format!("{}: {}", db.code().code(), db.message()),
                    unavailable(pg),
                ),
                None => (with_sources(pg), unavailable(pg)),
            },
            // No connection free or made in time, or the pool closing with the process.
            PoolError::Timeout(_) | PoolError::Closed => (with_sources(&e), true),
            other => (with_sources(other), false),
        };
        let detail = format!("cannot reach PostgreSQL: {detail}");
        if unavailable {
            StoreError::Unavailable(detail)
        } else {
            StoreError::Other(detail)
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::StoreError;

    /// A port nothing listens on: a refused connection is the database being unavailable (503,
    /// retried), not an internal error.
    #[tokio::test]
    async fn a_refused_connection_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://vrs@127.0.0.1:{port}/vrs?connect_timeout=2");
        let refused = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .err()
            .unwrap();
        assert!(super::unavailable(&refused));
        match StoreError::from(refused) {
            StoreError::Unavailable(detail) => assert!(!detail.is_empty()),
            other => panic!("not unavailable: {other}"),
        }
        assert!(super::connection_last_lost().is_some());
    }

    /// Two hosts, neither of which takes writes (here: neither answers): unavailable as well.
    #[tokio::test]
    async fn no_host_that_takes_writes_is_unavailable() {
        let url = "postgres://vrs@127.0.0.1:1,127.0.0.1:2/vrs?target_session_attrs=read-write";
        let refused = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .err()
            .unwrap();
        assert!(matches!(
            StoreError::from(refused),
            StoreError::Unavailable(_)
        ));
    }
}
