//! Signing in: the user ID and password a person types at a terminal, the waits that follow
//! failed logins in a row, the national operator's unlock, and how a user ID no account has is
//! recorded.

use chrono::{DateTime, Duration, Utc};
use vrs_crypto::password;
use vrs_domain::{AuditAction, UserId};
use vrs_store::{
    Account, AccountStore, AuditScope, AuditStore, BackupStore, SessionRecord, StoreError,
};

use super::{audit_scope, entry};

/// How logins and sessions are limited.
#[derive(Clone, Copy, Debug)]
pub struct LoginPolicy {
    pub lock_after: u32,
    pub lock_for: Duration,
    pub idle: Duration,
    pub absolute: Duration,
}

/// How long the next try must wait after `failures` failed logins in a row: nothing before
/// `lock_after`, then a minute, doubling with each further failure, at most `lock_for`.
pub fn backoff(policy: &LoginPolicy, failures: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(policy.lock_after)?;
    let wait = Duration::minutes(1) * 2i32.pow(beyond.min(20));
    Some(wait.min(policy.lock_for).max(Duration::seconds(1)))
}

/// Checks a password against its Argon2id hash on the blocking pool, at most as many at once as
/// the machine has cores: the async workers stay free whatever the number of sign-ins.
async fn password_matches(password_text: &str, hash: &str) -> bool {
    use std::sync::{Arc, OnceLock};
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(tokio::sync::Semaphore::new(cores))
    });
    let Ok(_slot) = slots.acquire().await else {
        return false;
    };
    let (text, hash) = (
        zeroize::Zeroizing::new(password_text.to_owned()),
        hash.to_owned(),
    );
    tokio::task::spawn_blocking(move || password::verify_password(&text, &hash))
        .await
        .unwrap_or(false)
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            lock_after: 5,
            lock_for: Duration::minutes(15),
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// How an unknown user ID typed at sign-in is recorded: `unknown:` and the first 16 hex digits of
/// its keyed pseudonym (the same text gives the same pseudonym, so repeated tries show), then its
/// length in characters — `unknown:3f9a…c2/len=17`. Only someone holding the master key can test a
/// guess against it.
pub fn unknown_user_id(store: &(impl BackupStore + ?Sized), typed: &str) -> String {
    let pseudonym = store.pseudonym("login user id", typed.as_bytes());
    format!(
        "unknown:{}/len={}",
        hex::encode(&pseudonym[..8]),
        typed.chars().count()
    )
}

/// Why a login was refused. The messages shown to the user do not say which of user ID and password
/// was wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the user ID or the password is wrong")]
    BadCredentials,
    /// No account has the user ID (answered like a wrong password).
    #[error("the user ID or the password is wrong")]
    UnknownUser,
    /// After repeated failures the account's next try must wait until then; the password was not
    /// checked and the try not counted.
    #[error("too many failed logins: try again after {until}")]
    Throttled { until: DateTime<Utc> },
    /// Answered like a wrong password: the answer never tells that an account exists.
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session.
#[derive(Debug)]
pub struct LoggedIn {
    /// The cookie value; only its hash is stored.
    pub token: String,
    pub session: SessionRecord,
    pub account: Account,
}

/// Checks the user ID and password typed at a terminal and opens a session. `typed` is the text
/// of the user ID field as it came (the form trims it): text that is no user ID names no account,
/// so it is refused exactly as a user ID no account has — the same answer, the same time spent,
/// the same audit entry.
pub async fn login(
    store: &(impl AccountStore + AuditStore + BackupStore + ?Sized),
    policy: &LoginPolicy,
    typed: &str,
    password_text: &str,
    terminal: &str,
) -> Result<LoggedIn, LoginError> {
    let now = Utc::now();
    let found = match UserId::parse(typed) {
        Ok(user_id) => store.account(&user_id).await,
        Err(_) => Err(StoreError::NotFound),
    };
    let account = match found {
        Ok(a) => a,
        Err(StoreError::NotFound) => {
            // Spend the time a real check takes, so timing does not tell which user IDs exist.
            let _ = password_matches(password_text, dummy_hash()).await;
            // The text typed is a stranger's (perhaps a password in the wrong field): the
            // append-only chain gets its keyed pseudonym and length, never the text.
            let stranger = unknown_user_id(store, typed);
            store
                .append_audit(
                    AuditScope::National,
                    &entry(
                        &stranger,
                        "unknown",
                        terminal,
                        AuditAction::Login,
                        "unknown_user",
                    ),
                )
                .await?;
            return Err(LoginError::UnknownUser);
        }
        Err(e) => return Err(e.into()),
    };
    let scope = audit_scope(&account);
    let audit = |outcome: &str| {
        entry(
            account.user_id.as_str(),
            account.role.as_str(),
            terminal,
            AuditAction::Login,
            outcome,
        )
    };
    if account.disabled {
        store.append_audit(scope, &audit("disabled")).await?;
        return Err(LoginError::Disabled);
    }
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        store.append_audit(scope, &audit("throttled")).await?;
        return Err(LoginError::Throttled { until });
    }
    if !password_matches(password_text, &account.password_hash).await {
        let failures = account.failed_logins.saturating_add(1);
        let wait = backoff(policy, failures);
        let after = store
            .login_failed(
                &account.user_id,
                policy.lock_after,
                now + wait.unwrap_or_else(Duration::zero),
            )
            .await?;
        store.append_audit(scope, &audit("bad_password")).await?;
        if let Some(until) = after.locked_until.filter(|u| *u > now) {
            store
                .append_audit(
                    scope,
                    &entry(
                        account.user_id.as_str(),
                        account.role.as_str(),
                        terminal,
                        AuditAction::AccountLock,
                        "locked",
                    )
                    .with_detail(format!(
                        "{} failed logins in a row; next try after {}",
                        after.failed_logins,
                        until.to_rfc3339()
                    )),
                )
                .await?;
            tracing::warn!(user = %account.user_id, %until, "failed logins in a row: the next try must wait");
            return Err(LoginError::Throttled { until });
        }
        return Err(LoginError::BadCredentials);
    }
    store.login_succeeded(&account.user_id).await?;
    let (token, hash) = password::new_token();
    let (csrf, _) = password::new_token();
    let session = SessionRecord {
        token_hash: hash.to_vec(),
        user_id: account.user_id.clone(),
        terminal: terminal.to_owned(),
        csrf_token: csrf,
        created_at: now,
        last_seen_at: now,
    };
    store.create_session(&session).await?;
    store.append_audit(scope, &audit("ok")).await?;
    Ok(LoggedIn {
        token,
        session,
        account,
    })
}

/// The national operator ends an account's wait after failed logins (and restarts its count), at
/// once; audited as `account.unlock` in the account's chain. `NotFound` for an unknown user ID.
pub async fn unlock(
    store: &(impl AccountStore + AuditStore + ?Sized),
    actor: &crate::Actor,
    user_id: &UserId,
) -> Result<Account, StoreError> {
    let account = store.account(user_id).await?;
    store.login_succeeded(&account.user_id).await?;
    store
        .append_audit(
            audit_scope(&account),
            &actor
                .audit(AuditAction::AccountUnlock, account.user_id.as_str())
                .with_detail(format!(
                    "after {} failed logins in a row",
                    account.failed_logins
                )),
        )
        .await?;
    tracing::info!(user = %account.user_id, by = %actor.user, "account unlocked");
    Ok(account)
}

/// An Argon2id hash of a random password, verified against when the user ID is unknown.
pub(super) fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash_password(&password::initial_password()).unwrap_or_default())
}
