//! Applications for accounts: a municipal administrator applies for an account in their own
//! municipality, and the national operator approves it (the account is issued with a one-time
//! password) or rejects it. A vaccination site gets one tablet account.

use chrono::Utc;
use vrs_crypto::password;
use vrs_domain::{AuditAction, MunicipalityCode, UserId};
use vrs_store::Areas;
use vrs_store::{Account, AccountStore, ConflictKind, StoreError};

use super::{allowed, entry};
use crate::access::{Action, Role, Target};

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
    store: &(impl AccountStore + ?Sized),
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
        admin.user_id.as_str(),
        admin.role.as_str(),
        terminal,
        AuditAction::AccountApply,
        "ok",
    )
    .with_detail(format!("role={role}"));
    Ok(store
        .area(municipality)
        .apply_for_account(&admin.user_id, name, role, &audit)
        .await?)
}

/// An account issued on approval: its user ID and one-time initial password, shown once to the
/// operator to hand to the municipality.
#[derive(Debug)]
pub struct Issued {
    pub user_id: UserId,
    pub initial_password: String,
}

/// The national operator approves an application: the account is issued with a one-time password
/// that must be changed at the first login.
pub async fn approve(
    store: &(impl AccountStore + ?Sized),
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
        let user_id = UserId::issued(application.municipality, rand_suffix());
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
            issued_by: operator.user_id.to_string(),
            created_at: Utc::now(),
        };
        let audit = entry(
            operator.user_id.as_str(),
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
    store: &(impl AccountStore + ?Sized),
    operator: &Account,
    id: i64,
    terminal: &str,
) -> Result<(), ApplicationError> {
    if !allowed(operator, terminal, Action::ApproveAccounts, &Target::Nation) {
        return Err(ApplicationError::NotOperator);
    }
    let audit = entry(
        operator.user_id.as_str(),
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

fn rand_suffix() -> u16 {
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
    store: &(impl AccountStore + ?Sized),
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
        return Err(taken(a.user_id.into_string()));
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
