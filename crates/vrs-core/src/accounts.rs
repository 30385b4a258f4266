//! Signing in and out, sessions, and passwords. Nobody registers themselves: accounts are issued by
//! the national operator on a municipality's application, with a one-time initial password that must
//! be changed at the first login. Failed logins are counted in the database, so every server node
//! sees the same count: after [`LoginPolicy::lock_after`] in a row the account's next try must wait
//! ([`backoff`]: a minute, doubling with each further failure, at most [`LoginPolicy::lock_for`]);
//! a try within the wait is refused unchecked and uncounted, a right password after it gets in, and
//! the national operator can end a wait ([`unlock`]). Passwords are checked on the blocking pool, a
//! few at a time, so a flood of sign-ins never stalls the workers that serve everyone else. Every
//! login, failed or not, every wait, unlock and password change is audited in the account's chain.

pub mod manage;

use chrono::{DateTime, Duration, Utc};
use vrs_crypto::password;
use vrs_domain::{AuditAction, MunicipalityCode};
use vrs_store::ConflictKind;
use vrs_store::{Account, AuditEntry, AuditScope, SessionRecord, Store, StoreError};

use crate::access::{decide, Action, Principal, Role, Target, Terminal};

/// The principal an account acts as from a terminal; an account with a role code this build does
/// not know acts as nobody.
pub fn principal(account: &Account, terminal: Terminal) -> Option<Principal> {
    Some(Principal {
        user: account.user_id.clone(),
        role: account.role,
        terminal,
        municipality: account.municipality,
        prefecture: account.prefecture,
        scopes: None,
    })
}

fn allowed(account: &Account, terminal: &str, action: Action, target: &Target) -> bool {
    principal(account, Terminal::from_code(terminal))
        .is_some_and(|p| decide(&p, action, target).is_allowed())
}

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

/// The audit chain an account's events belong to: its municipality's, its prefecture's, or the
/// national one.
pub fn audit_scope(account: &Account) -> AuditScope {
    match (account.municipality, account.prefecture) {
        (Some(m), _) => AuditScope::Area(m),
        (None, Some(p)) => AuditScope::Area(p.info().code),
        (None, None) => AuditScope::National,
    }
}

fn entry(
    account_or_id: &str,
    role: &str,
    terminal: &str,
    action: AuditAction,
    outcome: &str,
) -> AuditEntry {
    AuditEntry::now(
        account_or_id,
        role,
        terminal,
        action.as_str(),
        account_or_id,
    )
    .with_outcome(outcome)
}

/// How an unknown user ID typed at sign-in is recorded: `unknown:` and the first 16 hex digits of
/// its keyed pseudonym (the same text gives the same pseudonym, so repeated tries show), then its
/// length in characters — `unknown:3f9a…c2/len=17`. Only someone holding the master key can test a
/// guess against it.
pub fn unknown_user_id(store: &dyn Store, typed: &str) -> String {
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

/// Checks a user ID and password from a terminal and opens a session.
pub async fn login(
    store: &dyn Store,
    policy: &LoginPolicy,
    user_id: &str,
    password_text: &str,
    terminal: &str,
) -> Result<LoggedIn, LoginError> {
    let now = Utc::now();
    let account = match store.account(user_id).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => {
            // Spend the time a real check takes, so timing does not tell which user IDs exist.
            let _ = password_matches(password_text, dummy_hash()).await;
            // The text typed is a stranger's (perhaps a password in the wrong field): the
            // append-only chain gets its keyed pseudonym and length, never the text.
            let stranger = unknown_user_id(store, user_id);
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
            &account.user_id,
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
                        &account.user_id,
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
    store: &dyn Store,
    actor: &crate::Actor,
    user_id: &str,
) -> Result<Account, StoreError> {
    let account = store.account(user_id).await?;
    store.login_succeeded(&account.user_id).await?;
    store
        .append_audit(
            audit_scope(&account),
            &actor
                .audit(AuditAction::AccountUnlock, &account.user_id)
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
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash_password(&password::initial_password()).unwrap_or_default())
}

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

/// The session of a cookie token and its account, if still valid now; marks it used.
pub async fn session(
    store: &dyn Store,
    policy: &LoginPolicy,
    token: &str,
) -> Result<(SessionRecord, Account), SessionError> {
    let now = Utc::now();
    let hash = password::token_hash(token);
    let (record, account) = match store.session_and_account(&hash).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(SessionError::Missing),
        Err(e) => return Err(e.into()),
    };
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
    Ok((record, account))
}

/// Deletes the sessions that have expired by `policy` at `now` (the housekeeping job runs it, so
/// a session nobody came back to does not stay in the table); returns how many.
pub async fn sweep_sessions(
    store: &dyn Store,
    policy: &LoginPolicy,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    store
        .delete_expired_sessions(now - policy.idle, now - policy.absolute)
        .await
}

/// Ends the session of a cookie token.
pub async fn logout(
    store: &dyn Store,
    token: &str,
    account: &Account,
    terminal: &str,
) -> Result<(), StoreError> {
    store.delete_session(&password::token_hash(token)).await?;
    store
        .append_audit(
            audit_scope(account),
            &entry(
                &account.user_id,
                account.role.as_str(),
                terminal,
                AuditAction::Logout,
                "ok",
            ),
        )
        .await
        .map(|_| ())
}

/// Why a new password was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("the password must be at least 12 characters")]
    TooShort,
    #[error("the password must mix at least three of: lower-case letters, upper-case letters, digits, symbols")]
    TooSimple,
    #[error("the password must not contain the user ID")]
    ContainsUserId,
    #[error("the new password must differ from the current one")]
    Unchanged,
}

impl vrs_domain::UserFacing for PasswordPolicyError {
    fn code(&self) -> &'static str {
        match self {
            PasswordPolicyError::TooShort => "password_too_short",
            PasswordPolicyError::TooSimple => "password_too_simple",
            PasswordPolicyError::ContainsUserId => "password_contains_user_id",
            PasswordPolicyError::Unchanged => "password_unchanged",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            PasswordPolicyError::TooShort => "パスワードは12文字以上にしてください。",
            PasswordPolicyError::TooSimple => {
                "英小文字・英大文字・数字・記号のうち3種類以上を含めてください。"
            }
            PasswordPolicyError::ContainsUserId => "パスワードにユーザIDを含めないでください。",
            PasswordPolicyError::Unchanged => "現在のパスワードと違うものにしてください。",
        }
        .into()
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

/// The password policy: 12 characters or more, three of four character classes, not the user ID.
pub fn check_password_policy(user_id: &str, new: &str) -> Result<(), PasswordPolicyError> {
    if new.chars().count() < 12 {
        return Err(PasswordPolicyError::TooShort);
    }
    let classes = [
        new.chars().any(|c| c.is_ascii_lowercase()),
        new.chars().any(|c| c.is_ascii_uppercase()),
        new.chars().any(|c| c.is_ascii_digit()),
        new.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(PasswordPolicyError::TooSimple);
    }
    if !user_id.is_empty() && new.to_lowercase().contains(&user_id.to_lowercase()) {
        return Err(PasswordPolicyError::ContainsUserId);
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the current password is wrong")]
    WrongCurrent,
    #[error(transparent)]
    Policy(#[from] PasswordPolicyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Changes an account's password (the first-login change included). Every session of the account
/// ends; the caller opens a new one.
pub async fn change_password(
    store: &dyn Store,
    account: &Account,
    current: &str,
    new: &str,
    terminal: &str,
) -> Result<(), PasswordChangeError> {
    if !password::verify_password(current, &account.password_hash) {
        return Err(PasswordChangeError::WrongCurrent);
    }
    check_password_policy(&account.user_id, new)?;
    if current == new {
        return Err(PasswordPolicyError::Unchanged.into());
    }
    let hash = password::hash_password(new).map_err(|e| StoreError::Other(e.to_string()))?;
    let audit = entry(
        &account.user_id,
        account.role.as_str(),
        terminal,
        AuditAction::PasswordChange,
        "ok",
    );
    store
        .set_password(&account.user_id, &hash, false, audit_scope(account), &audit)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert_eq!(
            check_password_policy("saijo-0001", "Short1!"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_password_policy("saijo-0001", "alllowercaseletters"),
            Err(PasswordPolicyError::TooSimple)
        );
        assert_eq!(
            check_password_policy("saijo-0001", "Xsaijo-0001yZ9"),
            Err(PasswordPolicyError::ContainsUserId)
        );
        assert!(check_password_policy("saijo-0001", "Vaccine-Record-2026").is_ok());
        assert!(check_password_policy("saijo-0001", "ワクチン記録Record2026").is_ok());
    }

    #[test]
    fn dummy_hash_is_a_valid_argon2_hash() {
        assert!(!password::verify_password("anything", dummy_hash()));
        assert!(dummy_hash().starts_with("$argon2id$"));
    }
}

/// The roles a municipality may apply for.
pub const APPLICABLE_ROLES: [Role; 3] =
    [Role::MunicipalStaff, Role::MunicipalAdmin, Role::SiteTablet];

#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    #[error(
        "only a municipal administrator applies for accounts, and only for their own municipality"
    )]
    NotAdministrator,
    #[error("only the national operator decides applications")]
    NotOperator,
    #[error("a municipality may apply for staff, administrator or vaccination-site tablet accounts only")]
    Role,
    #[error("the name must be 1 to 50 characters")]
    Name,
    #[error("接種会場「{site}」には既にタブレットのアカウント（{holder}）があります。会場ごとに1つです (the vaccination site {site:?} already has a tablet account, {holder}: one account per site, so that a registration can be undone only by the site that made it)")]
    SiteTaken { site: String, holder: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A municipal administrator applies for an account in their own municipality.
pub async fn apply(
    store: &dyn Store,
    admin: &Account,
    display_name: &str,
    role: &str,
    terminal: &str,
) -> Result<i64, ApplicationError> {
    let Some(municipality) = admin.municipality else {
        return Err(ApplicationError::NotAdministrator);
    };
    if !allowed(
        admin,
        terminal,
        Action::ApplyForAccounts,
        &Target::Municipality(municipality),
    ) {
        return Err(ApplicationError::NotAdministrator);
    }
    let Some(role) = Role::parse(role)
        .ok()
        .filter(|r| APPLICABLE_ROLES.contains(r))
    else {
        return Err(ApplicationError::Role);
    };
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        return Err(ApplicationError::Name);
    }
    if role == Role::SiteTablet {
        ensure_one_account_per_site(store, municipality, name, None).await?;
    }
    let audit = entry(
        &admin.user_id,
        admin.role.as_str(),
        terminal,
        AuditAction::AccountApply,
        "ok",
    )
    .with_detail(format!("role={role}"));
    Ok(store
        .apply_for_account(municipality, &admin.user_id, name, role, &audit)
        .await?)
}

/// An account issued on approval: its user ID and one-time initial password, shown once to the
/// operator to hand to the municipality.
#[derive(Debug)]
pub struct Issued {
    pub user_id: String,
    pub initial_password: String,
}

/// The national operator approves an application: the account is issued with a one-time password
/// that must be changed at the first login.
pub async fn approve(
    store: &dyn Store,
    operator: &Account,
    id: i64,
    terminal: &str,
) -> Result<Issued, ApplicationError> {
    if !allowed(operator, terminal, Action::ApproveAccounts, &Target::Nation) {
        return Err(ApplicationError::NotOperator);
    }
    let application = store
        .applications(Some(vrs_store::ApplicationStatus::Pending))
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(StoreError::Conflict(ConflictKind::ApplicationNotPending(
            id,
        )))?;
    if application.role == Role::SiteTablet {
        ensure_one_account_per_site(
            store,
            application.municipality,
            &application.display_name,
            Some(id),
        )
        .await?;
    }
    let initial_password = password::initial_password();
    let hash =
        password::hash_password(&initial_password).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut attempt = 0;
    loop {
        let suffix: u32 = rand_suffix();
        let user_id = format!("{}-{suffix:04}", application.municipality);
        let account = Account {
            user_id: user_id.clone(),
            role: application.role,
            municipality: Some(application.municipality),
            prefecture: None,
            display_name: application.display_name.clone(),
            password_hash: hash.clone(),
            must_change_password: true,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            issued_by: operator.user_id.clone(),
            created_at: Utc::now(),
        };
        let audit = entry(
            &operator.user_id,
            operator.role.as_str(),
            terminal,
            AuditAction::AccountApprove,
            "ok",
        )
        .with_detail(format!("application={id} issued={user_id}"));
        match store
            .decide_application(id, &operator.user_id, Some(&account), &audit)
            .await
        {
            Ok(()) => {
                return Ok(Issued {
                    user_id,
                    initial_password,
                })
            }
            Err(StoreError::Conflict(ConflictKind::UserIdTaken(_))) if attempt < 5 => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The national operator rejects an application.
pub async fn reject(
    store: &dyn Store,
    operator: &Account,
    id: i64,
    terminal: &str,
) -> Result<(), ApplicationError> {
    if !allowed(operator, terminal, Action::ApproveAccounts, &Target::Nation) {
        return Err(ApplicationError::NotOperator);
    }
    let audit = entry(
        &operator.user_id,
        operator.role.as_str(),
        terminal,
        AuditAction::AccountReject,
        "ok",
    )
    .with_detail(format!("application={id}"));
    Ok(store
        .decide_application(id, &operator.user_id, None, &audit)
        .await?)
}

fn rand_suffix() -> u32 {
    use rand::Rng;
    rand::thread_rng().gen_range(0..10_000)
}

/// A site's name as compared: without any space (full- or half-width).
fn site_key(name: &str) -> String {
    name.split_whitespace().collect()
}

/// One tablet account per vaccination site. A site tablet's account *is* its site: the account's
/// name is the site's (接種会場名), the idempotency keys and the undo window are the account's, and
/// an undo is allowed only to the account that registered the dose. So a site gets one account, and
/// a second active account (or pending application) for the same site name in the municipality is
/// refused; `except` is the application being decided.
pub async fn ensure_one_account_per_site(
    store: &dyn Store,
    municipality: MunicipalityCode,
    site: &str,
    except: Option<i64>,
) -> Result<(), ApplicationError> {
    let key = site_key(site);
    let taken = |holder: String| ApplicationError::SiteTaken {
        site: site.trim().to_owned(),
        holder,
    };
    let tablet = Role::SiteTablet;
    if let Some(a) = store.accounts().await?.into_iter().find(|a| {
        a.role == tablet
            && a.municipality == Some(municipality)
            && !a.disabled
            && site_key(&a.display_name) == key
    }) {
        return Err(taken(a.user_id));
    }
    if let Some(a) = store
        .applications(Some(vrs_store::ApplicationStatus::Pending))
        .await?
        .into_iter()
        .find(|a| {
            a.role == tablet
                && a.municipality == municipality
                && Some(a.id) != except
                && site_key(&a.display_name) == key
        })
    {
        return Err(taken(format!("application {}", a.id)));
    }
    Ok(())
}
