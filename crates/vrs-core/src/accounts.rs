//! Signing in and out, sessions, and passwords. Nobody registers themselves: accounts are issued by
//! the national operator on a municipality's application, with a one-time initial password that must
//! be changed at the first login. Failed logins are counted in the database, so every server node
//! sees the same count: after [`LoginPolicy::lock_after`] in a row the account's next try must wait
//! ([`backoff`]: a minute, doubling with each further failure, at most [`LoginPolicy::lock_for`]);
//! a try within the wait is refused unchecked and uncounted, a right password after it gets in, and
//! the national operator can end a wait ([`unlock`]). Passwords are checked on the blocking pool, a
//! few at a time, so a flood of sign-ins never stalls the workers that serve everyone else. Every
//! login, failed or not, every wait, unlock and password change is audited in the account's chain.
//!
//! Signing in is in [`login`](mod@login), sessions in [`sessions`], the password policy and its
//! change in [`passwords`], applications for accounts and their approval in [`applications`], and a
//! municipality's own accounts in [`manage`].

pub mod applications;
pub mod login;
pub mod manage;
pub mod passwords;
pub mod sessions;

#[cfg(test)]
mod tests;

use vrs_domain::AuditAction;
use vrs_store::{Account, AuditEntry, AuditScope};

use crate::access::{decide, Action, Principal, Target, Terminal};

pub use applications::{
    apply, approve, ensure_one_account_per_site, reject, ApplicationError, Issued, APPLICABLE_ROLES,
};
pub use login::{backoff, login, unknown_user_id, unlock, LoggedIn, LoginError, LoginPolicy};
pub use passwords::{
    change_password, check_password_policy, PasswordChangeError, PasswordPolicyError,
};
pub use sessions::{logout, session, session_and_holder, sweep_sessions, SessionError};

/// The principal an account acts as from a terminal; an account with a role code this build does
/// not know acts as nobody.
pub fn principal(account: &Account, terminal: Terminal) -> Option<Principal> {
    Some(Principal {
        user: account.user_id.to_string(),
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

/// The audit chain an account's events belong to: its municipality's, its prefecture's, or the
/// national one.
pub fn audit_scope(account: &Account) -> AuditScope {
    match (account.municipality, account.prefecture) {
        (Some(m), _) => AuditScope::Area(m),
        (None, Some(p)) => AuditScope::Area(p.info().code),
        (None, None) => AuditScope::National,
    }
}

/// An account's own audit entry: the account (or, for a stranger at sign-in, its pseudonym) is
/// both who acted and what was acted on.
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
