//! Passwords: the policy a new one must meet, and an account changing its own (the first-login
//! change included).

use vrs_crypto::password;
use vrs_domain::{AuditAction, UserId};
use vrs_store::{Account, AccountStore, StoreError};

use super::{audit_scope, entry};

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
pub fn check_password_policy(user_id: &UserId, new: &str) -> Result<(), PasswordPolicyError> {
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
    let user_id = user_id.as_str();
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
    store: &(impl AccountStore + ?Sized),
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
        account.user_id.as_str(),
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
