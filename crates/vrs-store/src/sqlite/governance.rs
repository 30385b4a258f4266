//! Terms, agreements and function switches on SQLite. Every change goes through the writer with its
//! audit entry; every read asks the database (nothing is cached, so another process's switch is seen
//! on the next read).

use async_trait::async_trait;
use rusqlite::{params, Connection};
use vrs_domain::{MunicipalityCode, TermsKind};

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::governance::{Agreement, FunctionState, TermsVersion};
use crate::{rows, AuditEntry, AuditScope, GovernanceStore, StoreError};

fn is_published(conn: &Connection, kind: TermsKind, version: u32) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM terms_versions WHERE kind = ?1 AND version = ?2)",
        params![kind.as_str(), version],
        |r| r.get(0),
    )?)
}

#[async_trait]
impl GovernanceStore for SqliteStore {
    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError> {
        let mut terms = TermsVersion {
            kind,
            version: 0,
            title: title.to_owned(),
            body: body.to_owned(),
            published_by: published_by.to_owned(),
            published_at: audit.at,
        };
        let audit = audit.clone();
        self.write(move |tx, _| {
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM terms_versions WHERE kind = ?1",
                [kind.as_str()],
                |r| r.get(0),
            )?;
            terms.version = rows::terms_version(next)?;
            tx.execute(
                "INSERT INTO terms_versions (kind, version, title, body, published_by, published_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    kind.as_str(),
                    terms.version,
                    terms.title,
                    terms.body,
                    terms.published_by,
                    timestamp_text(&terms.published_at)
                ],
            )?;
            append_audit_tx(tx, AuditScope::National, &audit)?;
            Ok(terms)
        })
        .await
    }

    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, version, title, body, published_by, published_at FROM terms_versions \
                 WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, version",
            )?;
            let found = stmt.query_map([kind.map(TermsKind::as_str)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            found
                .map(|row| {
                    let (kind, version, title, body, published_by, at) = row?;
                    Ok(TermsVersion {
                        kind: rows::terms_kind(&kind)?,
                        version: rows::terms_version(version)?,
                        title,
                        body,
                        published_by,
                        published_at: time(&at)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let agreed_by = agreed_by.to_owned();
        let audit = audit.clone();
        self.write(move |tx, _| {
            if !is_published(tx, kind, version)? {
                return Err(StoreError::NotFound);
            }
            let inserted = tx.execute(
                "INSERT INTO terms_agreements (municipality_code, kind, version, agreed_by, agreed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    scope.as_str(),
                    kind.as_str(),
                    version,
                    agreed_by,
                    timestamp_text(&audit.at)
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(true)
        })
        .await
    }

    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, version, agreed_by, agreed_at FROM terms_agreements \
                 WHERE municipality_code = ?1 ORDER BY kind, version",
            )?;
            let found = stmt.query_map([scope.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            found
                .map(|row| {
                    let (kind, version, agreed_by, at) = row?;
                    Ok(Agreement {
                        municipality: scope,
                        kind: rows::terms_kind(&kind)?,
                        version: rows::terms_version(version)?,
                        agreed_by,
                        agreed_at: time(&at)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (state, audit) = (state.clone(), audit.clone());
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO function_states (function, stopped, reason, changed_by, changed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (function) DO UPDATE SET \
                 stopped = excluded.stopped, reason = excluded.reason, \
                 changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                params![
                    state.function.as_str(),
                    state.stopped,
                    state.reason,
                    state.changed_by,
                    timestamp_text(&state.changed_at)
                ],
            )?;
            append_audit_tx(tx, AuditScope::National, &audit)?;
            Ok(())
        })
        .await
    }

    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError> {
        self.read_point(|conn, _| function_states_in(conn, false))
            .await
    }
}

/// The functions' states as stored, in the order of their codes; `stopped_only` leaves out those
/// running (a signed-in request reads only those, with its session).
pub(super) fn function_states_in(
    conn: &Connection,
    stopped_only: bool,
) -> Result<Vec<FunctionState>, StoreError> {
    let mut stmt = conn.prepare_cached(if stopped_only {
        "SELECT function, stopped, reason, changed_by, changed_at FROM function_states \
         WHERE stopped ORDER BY function"
    } else {
        "SELECT function, stopped, reason, changed_by, changed_at FROM function_states \
         ORDER BY function"
    })?;
    let found = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    found
        .map(|row| {
            let (function, stopped, reason, changed_by, at) = row?;
            Ok(FunctionState {
                function: rows::function(&function)?,
                stopped,
                reason,
                changed_by,
                changed_at: time(&at)?,
            })
        })
        .collect()
}
