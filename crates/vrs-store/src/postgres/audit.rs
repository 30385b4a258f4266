//! The audit chains on PostgreSQL: appended under the lock of the chain's head row, one
//! hash-linked log per municipality (and one for the deployment), searched and read back in order.

use async_trait::async_trait;

use super::{append_audit_tx, audit_record, PostgresStore, AUDIT_SELECT};
use crate::audit::{AuditEntry, AuditRecord, AuditScope};
use crate::{rows, AuditFilter, AuditStore, StoreError};

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let record = append_audit_tx(&tx, scope, entry).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        let client = self.pool.get().await?;
        let head = client
            .query_opt(
                "SELECT seq, hash FROM audit_heads WHERE municipality_code = $1 AND seq > 0",
                &[&scope.code()],
            )
            .await?;
        head.map(|r| Ok((r.get(0), rows::hash32(&r.get::<_, Vec<u8>>(1))?)))
            .transpose()
    }

    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT DISTINCT municipality_code FROM audit_log UNION \
                 SELECT municipality_code FROM audit_heads ORDER BY 1",
                &[],
            )
            .await?;
        found
            .iter()
            .map(|r| AuditScope::from_stored(r.get(0)))
            .collect()
    }

    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!("{AUDIT_SELECT} WHERE municipality_code = $1 AND seq >= $2 ORDER BY seq LIMIT $3"),
                &[&scope.code(), &from, &i64::from(limit)],
            )
            .await?;
        found.iter().map(|r| audit_record(scope, r)).collect()
    }

    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!(
                    "{AUDIT_SELECT} WHERE municipality_code = $1 AND ($2::timestamptz IS NULL OR at >= $2) \
                     AND ($3::timestamptz IS NULL OR at < $3) AND ($4::text IS NULL OR actor = $4) \
                     AND ($5::text IS NULL OR action = $5) AND ($7::bigint IS NULL OR seq < $7) \
                     ORDER BY seq DESC LIMIT $6"
                ),
                &[
                    &scope.code(),
                    &filter.from,
                    &filter.to,
                    &filter.actor,
                    &filter.action,
                    &i64::from(filter.limit),
                    &filter.before_seq,
                ],
            )
            .await?;
        found.iter().map(|r| audit_record(scope, r)).collect()
    }
}
