//! Accounts, applications for accounts, and sessions as storage keeps them. Accounts belong to the
//! deployment (the national operator issues them), so these methods are not scoped by municipality;
//! the services above decide who may call them. Roles are stored as the access module's codes.

use chrono::{DateTime, Utc};
use vrs_domain::{MunicipalityCode, PrefectureCode};

/// An account as stored. The password is only its Argon2id hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_id: String,
    pub role: String,
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

/// A municipality's application for a staff account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub municipality: MunicipalityCode,
    pub applicant: String,
    pub display_name: String,
    pub role: String,
    pub status: ApplicationStatus,
    pub applied_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub issued_user_id: Option<String>,
}

/// A signed-in session. The browser holds the token; storage holds only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    /// `lgwan` or `internet`, decided from the address the session was opened from.
    pub terminal: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}
