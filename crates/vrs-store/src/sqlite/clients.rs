//! Machine clients on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use vrs_domain::UserId;

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::clients::{AccessToken, ClientStore, MachineClient};
use crate::ConflictKind;
use crate::{AuditEntry, AuditScope, StoreError};

fn client_from(r: &rusqlite::Row) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn client_of(row: (String, String, String, String)) -> Result<MachineClient, StoreError> {
    let (user_id, jwks, scopes, created) = row;
    Ok(MachineClient {
        user_id: UserId::from_stored(user_id),
        jwks,
        scopes,
        created_at: time(&created)?,
    })
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn put_client(
        &self,
        client: &MachineClient,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (c, audit) = (client.clone(), audit.clone());
        self.write(move |tx, _| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM accounts WHERE user_id = ?1", [c.user_id.as_str()], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            tx.execute("DELETE FROM oauth_tokens WHERE user_id = ?1", [c.user_id.as_str()])?;
            tx.execute(
                "INSERT INTO oauth_clients (user_id, jwks, scopes, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (user_id) DO UPDATE SET jwks = excluded.jwks, scopes = excluded.scopes, \
                 created_at = excluded.created_at",
                params![c.user_id.as_str(), c.jwks, c.scopes, timestamp_text(&c.created_at)],
            )?;
            append_audit_tx(tx, audit_scope, &audit).map(|_| ())
        })
        .await
    }

    async fn client(&self, user_id: &UserId) -> Result<MachineClient, StoreError> {
        let user_id = user_id.as_str().to_owned();
        self.read_point(move |conn, _| {
            let row = conn
                .prepare_cached(
                    "SELECT user_id, jwks, scopes, created_at FROM oauth_clients WHERE user_id = ?1",
                )?
                .query_row([&user_id], client_from)
                .optional()?;
            client_of(row.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn clients(&self) -> Result<Vec<MachineClient>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare(
                "SELECT user_id, jwks, scopes, created_at FROM oauth_clients ORDER BY user_id",
            )?;
            let rows = stmt.query_map([], client_from)?;
            rows.map(|r| client_of(r?)).collect()
        })
        .await
    }

    async fn delete_client(
        &self,
        user_id: &UserId,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (user_id, audit) = (user_id.as_str().to_owned(), audit.clone());
        self.write(move |tx, _| {
            tx.execute("DELETE FROM oauth_tokens WHERE user_id = ?1", [&user_id])?;
            if tx.execute("DELETE FROM oauth_clients WHERE user_id = ?1", [&user_id])? == 0 {
                return Err(StoreError::NotFound);
            }
            append_audit_tx(tx, audit_scope, &audit).map(|_| ())
        })
        .await
    }

    async fn use_assertion(
        &self,
        user_id: &UserId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (user_id, jti) = (user_id.as_str().to_owned(), jti.to_owned());
        self.write(move |tx, _| {
            let added = tx.execute(
                "INSERT INTO oauth_assertions (user_id, jti, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
                params![user_id, jti, timestamp_text(&expires_at)],
            )?;
            if added == 0 {
                return Err(StoreError::Conflict(ConflictKind::AssertionReplayed));
            }
            Ok(())
        })
        .await
    }

    async fn create_access_token(
        &self,
        token: &AccessToken,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (t, audit) = (token.clone(), audit.clone());
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO oauth_tokens (token_hash, user_id, scopes, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![t.token_hash, t.user_id.as_str(), t.scopes, timestamp_text(&t.expires_at)],
            )?;
            append_audit_tx(tx, audit_scope, &audit).map(|_| ())
        })
        .await
    }

    async fn access_token(&self, token_hash: &[u8]) -> Result<AccessToken, StoreError> {
        let token_hash = token_hash.to_vec();
        self.read_point(move |conn, _| {
            let row: Option<(Vec<u8>, String, String, String)> = conn
                .prepare_cached(
                    "SELECT token_hash, user_id, scopes, expires_at FROM oauth_tokens WHERE token_hash = ?1",
                )?
                .query_row([&token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let (token_hash, user_id, scopes, expires) = row.ok_or(StoreError::NotFound)?;
            Ok(AccessToken {
                token_hash,
                user_id: UserId::from_stored(user_id),
                scopes,
                expires_at: time(&expires)?,
            })
        })
        .await
    }

    async fn delete_expired_client_records(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = timestamp_text(&now);
        self.write(move |tx, _| {
            let tokens = tx.execute("DELETE FROM oauth_tokens WHERE expires_at < ?1", [&now])?;
            let used = tx.execute("DELETE FROM oauth_assertions WHERE expires_at < ?1", [&now])?;
            Ok((tokens + used) as u64)
        })
        .await
    }
}
