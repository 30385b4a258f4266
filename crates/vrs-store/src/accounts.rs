//! Accounts, applications for accounts, and sessions as storage keeps them. Accounts belong to the
//! deployment (the national operator issues them), so these methods are not scoped by municipality;
//! the services above decide who may call them. Roles are stored as the access module's codes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vrs_domain::{MunicipalityCode, PrefectureCode, Role, UserId};

use crate::{AuditEntry, AuditScope, FunctionState, StoreError};

/// An account as stored. The password is only its Argon2id hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_id: UserId,
    pub role: Role,
    pub municipality: Option<MunicipalityCode>,
    pub prefecture: Option<PrefectureCode>,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub issued_by: String,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// Whether a lock is in force at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// Where an application for an account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    pub(crate) fn from_stored(s: &str) -> Result<Self, crate::StoreError> {
        match s {
            "pending" => Ok(ApplicationStatus::Pending),
            "approved" => Ok(ApplicationStatus::Approved),
            "rejected" => Ok(ApplicationStatus::Rejected),
            other => Err(crate::StoreError::Corrupt(format!(
                "application status {other:?}"
            ))),
        }
    }
}

/// The role of a stored code; an unknown code is a corrupt row.
pub(crate) fn stored_role(code: &str) -> Result<Role, StoreError> {
    Role::parse(code).map_err(|_| StoreError::Corrupt(format!("role {code:?}")))
}

/// A municipality's application for a staff account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub municipality: MunicipalityCode,
    pub applicant: UserId,
    pub display_name: String,
    pub role: Role,
    pub status: ApplicationStatus,
    pub applied_at: DateTime<Utc>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub issued_user_id: Option<UserId>,
}

/// A signed-in session. The browser holds the token; storage holds only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    /// `lgwan` or `internet`, decided from the address the session was opened from.
    pub terminal: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// What a signed-in request reads before anything else, in one read: its session, the session's
/// account, and the national functions stopped at that moment (see [`crate::GovernanceStore`]), so
/// that a request which must check a switch does not read it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedSession {
    pub session: SessionRecord,
    pub account: Account,
    /// Every function stopped when the session was read, in the order of their codes.
    pub stopped: Vec<FunctionState>,
}

/// Staff accounts, applications for them, sign-in failures and sessions.
/// A session joined with its account (`sessions s JOIN accounts a`): the account's twelve columns
/// in the backends' order, then the session's own five.
pub(crate) const SESSION_AND_ACCOUNT_COLUMNS: &str =
    "a.user_id, a.role, a.municipality_code, a.prefecture_code, a.display_name, a.password_hash, \
     a.must_change_password, a.failed_logins, a.locked_until, a.disabled, a.issued_by, \
     a.created_at, s.token_hash, s.terminal, s.csrf_token, s.created_at, s.last_seen_at";

#[async_trait]
pub trait AccountStore: crate::Scoped + Send + Sync {
    /// Stores a new account and appends `audit` to `audit_scope`'s chain in the same transaction.
    /// An existing user ID is a [`StoreError::Conflict`].
    async fn create_account(
        &self,
        account: &Account,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// One account by user ID.
    async fn account(&self, user_id: &UserId) -> Result<Account, StoreError>;

    /// Every account, by user ID.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Counts a failed login; at `lock_after` consecutive failures the account is locked until
    /// `lock_until`. Returns the account as it now stands.
    async fn login_failed(
        &self,
        user_id: &UserId,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Account, StoreError>;

    /// Clears the failure count after a successful login.
    async fn login_succeeded(&self, user_id: &UserId) -> Result<(), StoreError>;

    /// Replaces the password hash (and whether it must be changed at the next login), with its
    /// audit entry; every session of the account ends.
    async fn set_password(
        &self,
        user_id: &UserId,
        password_hash: &str,
        must_change: bool,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Stops an account (`disabled`: it cannot sign in, and every session of it ends) or lets it
    /// sign in again, with its audit entry. `NotFound` for an unknown user ID.
    async fn set_account_disabled(
        &self,
        user_id: &UserId,
        disabled: bool,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records a municipality's application for a staff account; returns its number.
    async fn apply_for_account(
        &self,
        scope: MunicipalityCode,
        applicant: &UserId,
        display_name: &str,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    /// Applications, newest first; only those with `status` when given.
    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError>;

    /// Decides a pending application: with `issued` the account is created in the same transaction
    /// (approval), without it the application is rejected. A decided application is a conflict.
    async fn decide_application(
        &self,
        id: i64,
        decided_by: &UserId,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Stores a new session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// One session by the hash of its token.
    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError>;

    /// One session by the hash of its token with its account and the functions stopped now, read
    /// together (every signed-in request reads them).
    async fn signed_session(&self, token_hash: &[u8]) -> Result<SignedSession, StoreError>;

    /// Marks a session as used now.
    async fn touch_session(
        &self,
        token_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;

    /// Ends a session.
    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    /// Deletes every session last used before `idle_before` or opened before `opened_before`
    /// (expired ones nobody came back to); returns how many.
    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}
