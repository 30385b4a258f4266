//! Machine clients: accounts that authenticate with a signed assertion instead of a password
//! (OAuth 2.0 client credentials with `private_key_jwt`), the bearer tokens they were given, and
//! the assertion IDs already used. National data: not scoped by municipality, like accounts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vrs_domain::UserId;

use crate::{AuditEntry, AuditScope, StoreError};

/// A registered machine client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineClient {
    /// The account it acts as.
    pub user_id: UserId,
    /// Its public keys, as the JWK Set (JSON) it was registered with.
    pub jwks: String,
    /// The scopes it may ask for, space-separated.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
}

/// A bearer token given to a client; only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    /// The scopes granted, space-separated.
    pub scopes: String,
    pub expires_at: DateTime<Utc>,
}

/// The store of machine clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Registers a client (or replaces its keys and scopes), with its audit entry. The account must
    /// exist; replacing ends every token it holds.
    async fn put_client(
        &self,
        client: &MachineClient,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// One client by user ID.
    async fn client(&self, user_id: &UserId) -> Result<MachineClient, StoreError>;

    /// Every registered client, by user ID.
    async fn clients(&self) -> Result<Vec<MachineClient>, StoreError>;

    /// Removes a client and every token it holds, with its audit entry.
    async fn delete_client(
        &self,
        user_id: &UserId,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records that the client used assertion `jti` (valid until `expires_at`); `Conflict` when it
    /// was used before.
    async fn use_assertion(
        &self,
        user_id: &UserId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores a new token, with the audit entry of its grant.
    async fn create_access_token(
        &self,
        token: &AccessToken,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// One token by the hash of its value.
    async fn access_token(&self, token_hash: &[u8]) -> Result<AccessToken, StoreError>;

    /// Deletes tokens and assertion IDs that expired before `now`; returns how many.
    async fn delete_expired_client_records(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
