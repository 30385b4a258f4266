//! Machine clients on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use vrs_domain::UserId;

use super::{append_audit_tx, PostgresStore};
use crate::clients::{AccessToken, ClientStore, MachineClient};
use crate::ConflictKind;
use crate::{AuditEntry, AuditScope, StoreError};

fn client_of(r: &Row) -> MachineClient {
    MachineClient {
        user_id: UserId::from_stored(r.get::<_, String>(0)),
        jwks: r.get(1),
        scopes: r.get(2),
        created_at: r.get(3),
    }
}

#[async_trait]
impl ClientStore for PostgresStore {
    async fn put_client(
        &self,
        c: &MachineClient,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if tx
            .query_opt(
                "SELECT 1 FROM accounts WHERE user_id = $1",
                &[&c.user_id.as_str()],
            )
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "DELETE FROM oauth_tokens WHERE user_id = $1",
            &[&c.user_id.as_str()],
        )
        .await?;
        tx.execute(
            "INSERT INTO oauth_clients (user_id, jwks, scopes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET jwks = excluded.jwks, scopes = excluded.scopes, \
             created_at = excluded.created_at",
            &[&c.user_id.as_str(), &c.jwks, &c.scopes, &c.created_at],
        )
        .await?;
        append_audit_tx(&tx, audit_scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn client(&self, user_id: &UserId) -> Result<MachineClient, StoreError> {
        let user_id = user_id.as_str();
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT user_id, jwks, scopes, created_at FROM oauth_clients WHERE user_id = $1",
            )
            .await?;
        let row = client
            .query_opt(&stmt, &[&user_id])
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(client_of(&row))
    }

    async fn clients(&self) -> Result<Vec<MachineClient>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT user_id, jwks, scopes, created_at FROM oauth_clients ORDER BY user_id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(client_of).collect())
    }

    async fn delete_client(
        &self,
        user_id: &UserId,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let user_id = user_id.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM oauth_tokens WHERE user_id = $1", &[&user_id])
            .await?;
        if tx
            .execute("DELETE FROM oauth_clients WHERE user_id = $1", &[&user_id])
            .await?
            == 0
        {
            return Err(StoreError::NotFound);
        }
        append_audit_tx(&tx, audit_scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_assertion(
        &self,
        user_id: &UserId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let user_id = user_id.as_str();
        let client = self.pool.get().await?;
        let added = client
            .execute(
                "INSERT INTO oauth_assertions (user_id, jti, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&user_id, &jti, &expires_at],
            )
            .await?;
        if added == 0 {
            return Err(StoreError::Conflict(ConflictKind::AssertionReplayed));
        }
        Ok(())
    }

    async fn create_access_token(
        &self,
        t: &AccessToken,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO oauth_tokens (token_hash, user_id, scopes, expires_at) VALUES ($1, $2, $3, $4)",
            &[&t.token_hash, &t.user_id.as_str(), &t.scopes, &t.expires_at],
        )
        .await?;
        append_audit_tx(&tx, audit_scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn access_token(&self, token_hash: &[u8]) -> Result<AccessToken, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT token_hash, user_id, scopes, expires_at FROM oauth_tokens WHERE token_hash = $1",
            )
            .await?;
        let r = client
            .query_opt(&stmt, &[&token_hash])
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(AccessToken {
            token_hash: r.get(0),
            user_id: UserId::from_stored(r.get::<_, String>(1)),
            scopes: r.get(2),
            expires_at: r.get(3),
        })
    }

    async fn delete_expired_client_records(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let tokens = client
            .execute("DELETE FROM oauth_tokens WHERE expires_at < $1", &[&now])
            .await?;
        let used = client
            .execute(
                "DELETE FROM oauth_assertions WHERE expires_at < $1",
                &[&now],
            )
            .await?;
        Ok(tokens + used)
    }
}
