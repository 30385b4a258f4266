//! The national operator's governance from the server's command line, audited in the national
//! chain as the command-line operator:
//!
//! - `vrs terms publish --kind KIND --title TEXT --file FILE` publishes the next version of a terms
//!   document (確認事項); `vrs terms list` shows every version.
//! - `vrs function stop NAME --reason TEXT` / `vrs function resume NAME --reason TEXT` switch a
//!   function (緊急時の措置); `vrs function list` shows their states. A stop takes effect at once on
//!   every server on the database.

use vrs_core::governance::{function_overview, publish_terms, switch_function, GovernanceError};
use vrs_core::Actor;
use vrs_domain::{Function, TermsKind};

use crate::context::{CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Terms {
    /// Publish the next version of a terms document.
    Publish(PublishArgs),
    /// List every published version.
    List,
}

#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    /// use, no_consent_inquiry or app_issuance
    #[arg(long)]
    kind: String,
    /// The title shown with the version
    #[arg(long)]
    title: String,
    /// A UTF-8 text file holding the terms
    #[arg(long)]
    file: std::path::PathBuf,
}

#[derive(clap::Subcommand, Debug)]
pub enum Functions {
    /// Stop a function at once on every server, saying why.
    Stop(SwitchArgs),
    /// Resume a stopped function, saying why.
    Resume(SwitchArgs),
    /// Show every function's state.
    List,
}

#[derive(clap::Args, Debug)]
pub struct SwitchArgs {
    /// inquiry, app_issuance, kiosk_issuance, tablet_registration or import
    name: String,
    /// Why (shown to every caller while stopped)
    #[arg(long)]
    reason: String,
}

fn kinds() -> String {
    TermsKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn functions() -> String {
    Function::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn governance_error(e: GovernanceError) -> CliError {
    match e {
        GovernanceError::Invalid(m) => CliError::Input(m.to_string()),
        GovernanceError::Store(e) => CliError::from(e),
        other => CliError::Failure(other.to_string()),
    }
}

pub async fn run_terms(context: &Context, terms: &Terms) -> Result<(), CliError> {
    match terms {
        Terms::Publish(args) => {
            let kind = TermsKind::parse(&args.kind).ok_or_else(|| {
                CliError::Input(format!(
                    "--kind: unknown terms {:?} (use {})",
                    args.kind,
                    kinds()
                ))
            })?;
            let body = std::fs::read_to_string(&args.file)
                .map_err(|e| CliError::Input(format!("{}: {e}", args.file.display())))?;
            let store = context.store().await?;
            let v = publish_terms(
                store.as_ref(),
                &Actor::command_line(),
                kind,
                &args.title,
                &body,
            )
            .await
            .map_err(governance_error)?;
            println!("{}\tversion {}\t{}", v.kind, v.version, v.title);
        }
        Terms::List => {
            let store = context.store().await?;
            for v in store.terms_versions(None).await? {
                println!(
                    "{}\tversion {}\t{}\t{}\t{}",
                    v.kind,
                    v.version,
                    v.published_at.to_rfc3339(),
                    v.published_by,
                    v.title
                );
            }
        }
    }
    Ok(())
}

pub async fn run_functions(context: &Context, command: &Functions) -> Result<(), CliError> {
    let (args, stop) = match command {
        Functions::Stop(args) => (args, true),
        Functions::Resume(args) => (args, false),
        Functions::List => {
            let store = context.store().await?;
            for (f, state) in function_overview(store.as_ref()).await? {
                match state {
                    Some(s) if s.stopped => println!(
                        "{f}\tstopped\t{}\t{}\t{}",
                        s.changed_at.to_rfc3339(),
                        s.changed_by,
                        s.reason
                    ),
                    _ => println!("{f}\trunning"),
                }
            }
            return Ok(());
        }
    };
    let function = Function::parse(&args.name).ok_or_else(|| {
        CliError::Input(format!(
            "unknown function {:?} (use {})",
            args.name,
            functions()
        ))
    })?;
    let store = context.store().await?;
    switch_function(
        store.as_ref(),
        &Actor::command_line(),
        function,
        stop,
        &args.reason,
    )
    .await
    .map_err(governance_error)?;
    println!("{function}\t{}", if stop { "stopped" } else { "running" });
    Ok(())
}
