//! Sessions: the cookie a signed-in person holds, valid until it is idle or old by the
//! [`LoginPolicy`], swept when it expires, and ended at sign-out.

use chrono::{DateTime, Duration, Utc};
use vrs_crypto::password;
use vrs_domain::{AuditAction, CouponNumber, MunicipalityCode};
use vrs_store::{
    Account, AccountStore, Areas, AuditStore, DoseStore, SessionAndHolder, SignedSession,
    StoreError,
};

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
    let hash = password::token_hash(token);
    let signed = match store.signed_session(&hash).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(SessionError::Missing),
        Err(e) => return Err(e.into()),
    };
    still_valid(store, policy, &hash, signed).await
}

/// [`session`] read together with the holder of a coupon of `scope` and their doses (see
/// [`DoseStore::session_and_holder`]), for a site's registration: one read instead of two. The
/// holder is checked against nothing here; the caller uses it only once the request is
/// authorised.
pub async fn session_and_holder(
    store: &(impl AccountStore + DoseStore + ?Sized),
    policy: &LoginPolicy,
    token: &str,
    scope: MunicipalityCode,
    coupon: &CouponNumber,
) -> Result<SessionAndHolder, SessionError> {
    let hash = password::token_hash(token);
    let read = match store.area(scope).session_and_holder(coupon, &hash).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(SessionError::Missing),
        Err(e) => return Err(e.into()),
    };
    Ok(SessionAndHolder {
        signed: still_valid(store, policy, &hash, read.signed).await?,
        holder: read.holder,
    })
}

/// The session as read, if it is neither idle nor old by `policy` and its account is not stopped
/// (else it is deleted); marks it used at most once a minute.
async fn still_valid(
    store: &(impl AccountStore + ?Sized),
    policy: &LoginPolicy,
    hash: &[u8],
    signed: SignedSession,
) -> Result<SignedSession, SessionError> {
    let now = Utc::now();
    let (record, account) = (&signed.session, &signed.account);
    if now - record.last_seen_at > policy.idle || now - record.created_at > policy.absolute {
        store.delete_session(hash).await?;
        return Err(SessionError::Expired);
    }
    if account.disabled {
        store.delete_session(hash).await?;
        return Err(SessionError::Missing);
    }
    // Writing on every request would cost a write per page; a minute's precision is enough.
    if now - record.last_seen_at > Duration::minutes(1) {
        store.touch_session(hash, now).await?;
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
