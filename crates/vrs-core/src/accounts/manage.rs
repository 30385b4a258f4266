//! A municipality's administrator and the municipality's own accounts: the list, stopping an
//! account (its sessions end at once) or letting it in again, and a new initial password that must
//! be changed at the next sign-in. Only accounts of the administrator's own municipality, never
//! the administrator's own account; each change is written to the municipality's audit chain with
//! its reason.

use std::borrow::Cow;

use vrs_crypto::password;
use vrs_domain::{AuditAction, MunicipalityCode, UserFacing, UserId};
use vrs_store::{Account, AccountStore, AuditScope, StoreError};

use crate::Actor;

/// Why a change to an account was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// No account of this user ID in the municipality (another municipality's is not said apart).
    #[error("no account of this municipality has this user ID")]
    NotFound,
    #[error("an administrator does not stop or reset their own account")]
    Yourself,
    #[error("a reason is required")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UserFacing for ManageError {
    fn code(&self) -> &'static str {
        match self {
            ManageError::NotFound => "not_found",
            ManageError::Yourself => "own_account",
            ManageError::NoReason => "reason_required",
            ManageError::Store(_) => "store",
        }
    }

    fn status(&self) -> u16 {
        match self {
            ManageError::NotFound => 404,
            ManageError::Yourself | ManageError::NoReason => 422,
            ManageError::Store(_) => 500,
        }
    }

    fn message_ja(&self) -> Cow<'_, str> {
        match self {
            ManageError::NotFound => "この自治体に、そのユーザIDのアカウントはありません。".into(),
            ManageError::Yourself => {
                "自分のアカウントは停止・再設定できません（パスワードはパスワード変更から変えられます）。"
                    .into()
            }
            ManageError::NoReason => "理由を入力してください。".into(),
            ManageError::Store(_) => "内部エラーが発生しました。".into(),
        }
    }

    fn message_en(&self) -> Cow<'_, str> {
        self.to_string().into()
    }
}

/// The municipality's accounts, by user ID.
pub async fn accounts_of(
    store: &(impl AccountStore + ?Sized),
    own: MunicipalityCode,
) -> Result<Vec<Account>, StoreError> {
    let mut all = store.accounts().await?;
    all.retain(|a| a.municipality == Some(own));
    Ok(all)
}

/// The account `user_id` of the municipality, unless it is the actor's own: what a change may act
/// on (asked before a confirmation is shown, so another municipality's account is not named).
pub async fn own_account(
    store: &(impl AccountStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    user_id: &UserId,
) -> Result<Account, ManageError> {
    let account = match store.account(user_id).await {
        Ok(a) if a.municipality == Some(own) => a,
        Ok(_) | Err(StoreError::NotFound) => return Err(ManageError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if account.user_id == actor.user {
        return Err(ManageError::Yourself);
    }
    Ok(account)
}

/// Stops the account (`disable`) or lets it sign in again, with the reason in the audit entry.
pub async fn set_disabled(
    store: &(impl AccountStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    user_id: &UserId,
    disable: bool,
    reason: &str,
) -> Result<Account, ManageError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ManageError::NoReason);
    }
    let account = own_account(store, actor, own, user_id).await?;
    let action = if disable {
        AuditAction::AccountDisable
    } else {
        AuditAction::AccountEnable
    };
    let entry = actor
        .audit(action, account.user_id.as_str())
        .with_detail(reason);
    store
        .set_account_disabled(&account.user_id, disable, AuditScope::Area(own), &entry)
        .await?;
    tracing::info!(user = %account.user_id, by = %actor.user, disable, "account access changed");
    Ok(account)
}

/// Gives the account a new initial password (to be changed at the next sign-in; its sessions end)
/// and returns it, to be shown once to the administrator.
pub async fn reset_password(
    store: &(impl AccountStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    user_id: &UserId,
    reason: &str,
) -> Result<String, ManageError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ManageError::NoReason);
    }
    let account = own_account(store, actor, own, user_id).await?;
    let initial = password::initial_password();
    let hash = password::hash_password(&initial).map_err(|e| StoreError::Other(e.to_string()))?;
    let entry = actor
        .audit(AuditAction::AccountPasswordReset, account.user_id.as_str())
        .with_detail(reason);
    store
        .set_password(&account.user_id, &hash, true, AuditScope::Area(own), &entry)
        .await?;
    tracing::info!(user = %account.user_id, by = %actor.user, "password reset");
    Ok(initial)
}
