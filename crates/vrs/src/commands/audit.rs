//! `vrs audit verify [--municipality CODE] [--anchor FILE]`: recomputes the audit hash chains.
//! Exit 0 when every chain is intact, 1 naming the first broken entry of each broken chain. With an
//! anchor, each chain must also still carry the anchored head: a chain rewritten and re-hashed by
//! hand since the anchor was made is caught.
//!
//! `vrs audit anchor [--out FILE]`: writes the anchor of every chain's head now — each head with a
//! MAC under a key derived from the master key — to keep apart from the database (a write-once
//! store, the auditor's archive).

use std::path::PathBuf;

use vrs_core::audit::{make_anchor, verify_chain_against, Anchor};

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Audit {
    /// Recompute the audit log's hash chains (and check them against an anchor).
    Verify(VerifyArgs),
    /// Write the signed heads of every audit chain (an anchor) to keep apart from the database.
    Anchor(AnchorArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Only this municipality (6 digits); every chain when absent
    #[arg(long)]
    municipality: Option<String>,
    /// An anchor written by `vrs audit anchor`: each chain must still carry its anchored head
    #[arg(long)]
    anchor: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct AnchorArgs {
    /// Where to write the anchor (standard output when absent)
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(context: &Context, audit: &Audit) -> Result<(), CliError> {
    match audit {
        Audit::Verify(args) => verify(context, args).await,
        Audit::Anchor(args) => anchor(context, args).await,
    }
}

async fn anchor(context: &Context, args: &AnchorArgs) -> Result<(), CliError> {
    let store = context.store().await?;
    let anchor = make_anchor(store.as_ref()).await?;
    let text =
        serde_json::to_string_pretty(&anchor).map_err(|e| CliError::Failure(e.to_string()))? + "\n";
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| CliError::Input(format!("--out {}: {e}", path.display())))?;
            eprintln!(
                "anchored {} chain(s) as of {} in {}",
                anchor.heads.len(),
                anchor.made_at.to_rfc3339(),
                path.display()
            );
        }
    }
    Ok(())
}

async fn verify(context: &Context, args: &VerifyArgs) -> Result<(), CliError> {
    let only = args
        .municipality
        .as_deref()
        .map(|m| municipality_arg("--municipality", m))
        .transpose()?;
    let store = context.store().await?;
    let anchor = match &args.anchor {
        None => None,
        Some(path) => {
            let bad = |e: String| CliError::Input(format!("--anchor {}: {e}", path.display()));
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            Some(Anchor::read(store.as_ref(), &text).map_err(|e| match e {
                vrs_core::audit::AnchorError::Mac(_) => {
                    CliError::Failure(format!("--anchor {}: {e}", path.display()))
                }
                other => bad(other.to_string()),
            })?)
        }
    };
    let mut chains = match only {
        Some(code) => vec![code.into()],
        None => store.audit_chains().await?,
    };
    let mut broken = 0;
    // A chain the anchor knows must still exist.
    if let Some(anchor) = &anchor {
        for head in &anchor.heads {
            let Ok(scope) = vrs_store::AuditScope::parse(&head.chain) else {
                continue;
            };
            let wanted = only.is_none_or(|code| head.chain == code.as_str());
            if wanted && !chains.contains(&scope) {
                chains.push(scope);
            }
        }
    }
    for scope in chains {
        let anchored = anchor.as_ref().and_then(|a| a.head_of(scope));
        let check = verify_chain_against(store.as_ref(), scope, anchored).await?;
        let (code, name) = (scope.code(), scope.name());
        match check.broken {
            None => match anchored {
                Some((seq, _)) => println!(
                    "{code} {name}: {} entries, intact (anchored at entry {seq})",
                    check.entries
                ),
                None => println!("{code} {name}: {} entries, intact", check.entries),
            },
            Some(b) => {
                broken += 1;
                println!("{code} {name}: BROKEN at entry {}: {}", b.seq, b.reason);
            }
        }
    }
    if broken > 0 {
        Err(CliError::Failure(format!("{broken} audit chain(s) broken")))
    } else {
        Ok(())
    }
}
