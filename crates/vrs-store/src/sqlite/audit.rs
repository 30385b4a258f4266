//! The audit chains on SQLite: appended in the caller's transaction, one hash-linked log per
//! municipality (and one for the deployment), searched and read back in order.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::audit_records;
use super::{append_audit_tx, SqliteStore};
use crate::audit::{timestamp_text, AuditEntry, AuditRecord, AuditScope};
use crate::{rows, AuditFilter, AuditStore, StoreError};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError> {
        let entry = entry.clone();
        self.write(move |tx, _| append_audit_tx(tx, scope, &entry))
            .await
    }

    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        self.read(move |conn, _| {
            let head: Option<(i64, Vec<u8>)> = conn
                .query_row(
                    "SELECT seq, hash FROM audit_heads WHERE municipality_code = ?1",
                    [scope.code()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            head.map(|(seq, hash)| Ok((seq, rows::hash32(&hash)?)))
                .transpose()
        })
        .await
    }

    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT municipality_code FROM audit_log UNION \
                 SELECT municipality_code FROM audit_heads ORDER BY 1",
            )?;
            let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
            codes.map(|c| AuditScope::from_stored(&c?)).collect()
        })
        .await
    }

    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(move |conn, _| {
            audit_records(
                conn,
                scope,
                "WHERE municipality_code = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
                params![scope.code(), from, limit],
            )
        })
        .await
    }

    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let f = filter.clone();
        self.read(move |conn, _| {
            audit_records(
                conn,
                scope,
                "WHERE municipality_code = ?1 AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3) \
                 AND (?4 IS NULL OR actor = ?4) AND (?5 IS NULL OR action = ?5) \
                 AND (?7 IS NULL OR seq < ?7) ORDER BY seq DESC LIMIT ?6",
                params![
                    scope.code(),
                    f.from.as_ref().map(timestamp_text),
                    f.to.as_ref().map(timestamp_text),
                    f.actor,
                    f.action,
                    f.limit,
                    f.before_seq
                ],
            )
        })
        .await
    }
}
