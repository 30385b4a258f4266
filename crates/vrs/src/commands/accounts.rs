//! `vrs accounts create USER_ID --role ROLE [--municipality CODE] [--prefecture NN] [--name TEXT]`:
//! issues an account from the server's command line — the first national operator of a new
//! deployment, or a service account (a site tablet, a kiosk) — and prints its one-time password.
//! The account must change it at its first sign-in. Audited in the chain of the account's area.
//!
//! `vrs accounts unlock USER_ID`: ends the wait an account is in after failed sign-ins (the
//! operator's **ロック中のアカウント** page does the same); audited as `account.unlock`.

use vrs_core::access::Role;
use vrs_crypto::password;
use vrs_domain::{AuditAction, MunicipalityCode, PrefectureCode, UserId};
use vrs_store::{Account, AuditEntry, AuditScope};

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Accounts {
    /// Issue an account and print its one-time password.
    Create(CreateArgs),
    /// End an account's wait after failed sign-ins, at once.
    Unlock {
        /// The account's user ID
        user_id: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The user ID (letters, digits, '-', '_', '.'; 3 to 64 characters)
    user_id: String,
    /// national_operator, prefecture_viewer, municipal_admin, municipal_staff, site_tablet or
    /// certificate_service
    #[arg(long)]
    role: String,
    /// The municipality of a municipal role or a site tablet (6 digits)
    #[arg(long)]
    municipality: Option<String>,
    /// The prefecture of a prefecture viewer (01–47)
    #[arg(long)]
    prefecture: Option<String>,
    /// The name shown in the header; for a site tablet, the vaccination site's name (one tablet
    /// account per site; the user ID when not given)
    #[arg(long)]
    name: Option<String>,
}

pub async fn run(context: &Context, accounts: &Accounts) -> Result<(), CliError> {
    let args = match accounts {
        Accounts::Create(args) => args,
        Accounts::Unlock { user_id } => return unlock(context, &user_id_arg(user_id)?).await,
    };
    let id = user_id_arg(&args.user_id)?;
    let role = Role::parse(&args.role).map_err(|e| CliError::Input(format!("--role: {e}")))?;
    let municipality: Option<MunicipalityCode> = args
        .municipality
        .as_deref()
        .map(|m| municipality_arg("--municipality", m))
        .transpose()?;
    let prefecture: Option<PrefectureCode> = args
        .prefecture
        .as_deref()
        .map(|p| {
            PrefectureCode::parse(p).map_err(|e| CliError::Input(format!("--prefecture: {e}")))
        })
        .transpose()?;
    match (role, municipality, prefecture) {
        (Role::MunicipalAdmin | Role::MunicipalStaff | Role::SiteTablet, None, _) => {
            return Err(CliError::Input(format!(
                "--municipality is required for the role {}",
                args.role
            )))
        }
        (Role::PrefectureViewer, _, None) => {
            return Err(CliError::Input(
                "--prefecture is required for the role prefecture_viewer".into(),
            ))
        }
        _ => {}
    }
    let store = context.store().await?;
    let display_name = args.name.clone().unwrap_or_else(|| id.to_string());
    if let (Role::SiteTablet, Some(m)) = (role, municipality) {
        vrs_core::accounts::ensure_one_account_per_site(store.as_ref(), m, &display_name, None)
            .await
            .map_err(|e| match e {
                vrs_core::accounts::ApplicationError::Store(e) => CliError::from(e),
                other => CliError::Input(format!("--name: {other}")),
            })?;
    }
    let secret = password::initial_password();
    let account = Account {
        user_id: id.clone(),
        role,
        municipality,
        prefecture,
        display_name,
        password_hash: password::hash_password(&secret)
            .map_err(|e| CliError::Failure(e.to_string()))?,
        must_change_password: true,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "vrs accounts create".into(),
        created_at: chrono::Utc::now(),
    };
    let scope = match (municipality, prefecture) {
        (Some(m), _) => AuditScope::Area(m),
        (None, Some(p)) => AuditScope::Area(p.info().code),
        _ => AuditScope::National,
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let audit = AuditEntry::now(
        &format!("cli:{user}"),
        "operator_cli",
        "local",
        AuditAction::AccountIssue.as_str(),
        id.as_str(),
    );
    store.create_account(&account, scope, &audit).await?;
    println!("{id}\t{secret}");
    eprintln!(
        "Issued {id} ({}); the password must be changed at the first sign-in.",
        args.role
    );
    Ok(())
}

async fn unlock(context: &Context, user_id: &UserId) -> Result<(), CliError> {
    let store = context.store().await?;
    let actor = vrs_core::Actor::command_line();
    match vrs_core::accounts::unlock(store.as_ref(), &actor, user_id).await {
        Ok(account) => {
            println!(
                "unlocked {} (after {} failed sign-ins in a row)",
                account.user_id, account.failed_logins
            );
            Ok(())
        }
        Err(vrs_store::StoreError::NotFound) => Err(CliError::Input(format!(
            "no account has the user ID {:?} (アカウントがありません)",
            user_id.as_str()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A user ID given on the command line, blanks around it ignored; refused with the rule it must
/// keep.
pub(crate) fn user_id_arg(text: &str) -> Result<UserId, CliError> {
    let text = text.trim();
    UserId::parse(text).map_err(|_| {
        CliError::Input(format!(
            "user ID {text:?}: use {} to {} letters, digits, '-', '_' or '.'",
            UserId::LENGTH.start(),
            UserId::LENGTH.end()
        ))
    })
}
