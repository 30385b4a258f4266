//! Terms, agreements and function switches on PostgreSQL. Every change is written with its audit
//! entry in one transaction; every read asks the database (nothing is cached, so another node's
//! switch is seen on the next read).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use vrs_domain::{MunicipalityCode, TermsKind};

use super::{append_audit_tx, chained, insert_audit, lock_head, save_head, PostgresStore};
use crate::governance::{Agreement, FunctionState, TermsVersion};
use crate::{rows, AuditEntry, AuditScope, GovernanceStore, StoreError};

fn terms_from(r: &Row) -> Result<TermsVersion, StoreError> {
    Ok(TermsVersion {
        kind: rows::terms_kind(r.get(0))?,
        version: rows::terms_version(i64::from(r.get::<_, i32>(1)))?,
        title: r.get(2),
        body: r.get(3),
        published_by: r.get(4),
        published_at: r.get(5),
    })
}

#[async_trait]
impl GovernanceStore for PostgresStore {
    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The national head is locked first: concurrent publishers take the next version in turn.
        let head = lock_head(&tx, AuditScope::National).await?;
        let row = tx
            .query_one(
                "INSERT INTO terms_versions (kind, version, title, body, published_by, published_at) \
                 SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM terms_versions \
                 WHERE kind = $1 \
                 RETURNING kind, version, title, body, published_by, published_at",
                &[&kind.as_str(), &title, &body, &published_by, &audit.at],
            )
            .await?;
        let terms = terms_from(&row)?;
        let record = chained(AuditScope::National, head, audit);
        insert_audit(&tx, &record).await?;
        save_head(&tx, &record).await?;
        tx.commit().await?;
        Ok(terms)
    }

    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT kind, version, title, body, published_by, published_at FROM terms_versions \
                 WHERE $1::text IS NULL OR kind = $1 ORDER BY kind COLLATE \"C\", version",
                &[&kind.map(TermsKind::as_str)],
            )
            .await?;
        found.iter().map(terms_from).collect()
    }

    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let version = i32::try_from(version).map_err(|_| StoreError::NotFound)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let published = tx
            .query_opt(
                "SELECT 1 FROM terms_versions WHERE kind = $1 AND version = $2",
                &[&kind.as_str(), &version],
            )
            .await?
            .is_some();
        if !published {
            return Err(StoreError::NotFound);
        }
        let inserted = tx
            .execute(
                "INSERT INTO terms_agreements (municipality_code, kind, version, agreed_by, agreed_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&scope.as_str(), &kind.as_str(), &version, &agreed_by, &audit.at],
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT kind, version, agreed_by, agreed_at FROM terms_agreements \
                 WHERE municipality_code = $1 ORDER BY kind COLLATE \"C\", version",
                &[&scope.as_str()],
            )
            .await?;
        found
            .iter()
            .map(|r| {
                Ok(Agreement {
                    municipality: scope,
                    kind: rows::terms_kind(r.get(0))?,
                    version: rows::terms_version(i64::from(r.get::<_, i32>(1)))?,
                    agreed_by: r.get(2),
                    agreed_at: r.get(3),
                })
            })
            .collect()
    }

    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO function_states (function, stopped, reason, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (function) DO UPDATE SET \
             stopped = excluded.stopped, reason = excluded.reason, \
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
            &[
                &state.function.as_str(),
                &state.stopped,
                &state.reason,
                &state.changed_by,
                &state.changed_at,
            ],
        )
        .await?;
        append_audit_tx(&tx, AuditScope::National, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError> {
        let client = self.pool.get().await?;
        function_states_on(&client, false).await
    }
}

/// The functions' states as stored, in the order of their codes; `stopped_only` leaves out those
/// running (a signed-in request reads only those, with its session, when any is stopped). Prepared
/// once per connection: every import, inquiry and bearer client's registration reads it.
pub(super) async fn function_states_on(
    client: &deadpool_postgres::Client,
    stopped_only: bool,
) -> Result<Vec<FunctionState>, StoreError> {
    let stmt = client
        .prepare_cached(if stopped_only {
            "SELECT function, stopped, reason, changed_by, changed_at FROM function_states \
             WHERE stopped ORDER BY function COLLATE \"C\""
        } else {
            "SELECT function, stopped, reason, changed_by, changed_at FROM function_states \
             ORDER BY function COLLATE \"C\""
        })
        .await?;
    client
        .query(&stmt, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(FunctionState {
                function: rows::function(r.get(0))?,
                stopped: r.get(1),
                reason: r.get(2),
                changed_by: r.get(3),
                changed_at: r.get(4),
            })
        })
        .collect()
}
