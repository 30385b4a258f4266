//! Sessions: the cookie a signed-in person holds, valid until it is idle or old by the
//! [`LoginPolicy`], swept when it expires, and ended at sign-out.

use chrono::{DateTime, Duration, Utc};
use vrs_crypto::password;
use vrs_domain::AuditAction;
use vrs_store::{Account, AccountStore, AuditStore, SignedSession, StoreError};

use super::{audit_scope, entry, LoginPolicy};

/// Why a session cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in")]
    Missing,
    #[error("the session has expired")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The session of a cookie token, its account and the functions stopped now, if the session is
/// still valid; marks it used.
pub async fn session(
    store: &(impl AccountStore + ?Sized),
    policy: &LoginPolicy,
    token: &str,
) -> Result<SignedSession, SessionError> {
    let now = Utc::now();
    let hash = password::token_hash(token);
    let signed = match store.signed_session(&hash).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(SessionError::Missing),
        Err(e) => return Err(e.into()),
    };
    let (record, account) = (&signed.session, &signed.account);
    if now - record.last_seen_at > policy.idle || now - record.created_at > policy.absolute {
        store.delete_session(&hash).await?;
        return Err(SessionError::Expired);
    }
    if account.disabled {
        store.delete_session(&hash).await?;
        return Err(SessionError::Missing);
    }
    // Writing on every request would cost a write per page; a minute's precision is enough.
    if now - record.last_seen_at > Duration::minutes(1) {
        store.touch_session(&hash, now).await?;
    }
    Ok(signed)
}

/// Deletes the sessions that have expired by `policy` at `now` (the housekeeping job runs it, so
/// a session nobody came back to does not stay in the table); returns how many.
pub async fn sweep_sessions(
    store: &(impl AccountStore + ?Sized),
    policy: &LoginPolicy,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    store
        .delete_expired_sessions(now - policy.idle, now - policy.absolute)
        .await
}

/// Ends the session of a cookie token.
pub async fn logout(
    store: &(impl AccountStore + AuditStore + ?Sized),
    token: &str,
    account: &Account,
    terminal: &str,
) -> Result<(), StoreError> {
    store.delete_session(&password::token_hash(token)).await?;
    store
        .append_audit(
            audit_scope(account),
            &entry(
                account.user_id.as_str(),
                account.role.as_str(),
                terminal,
                AuditAction::Logout,
                "ok",
            ),
        )
        .await
        .map(|_| ())
}
