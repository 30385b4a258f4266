//! `vrs audit verify [--municipality CODE]`: recomputes the audit hash chains. Exit 0 when every
//! chain is intact, 1 naming the first broken entry of each broken chain.

use vrs_core::audit::verify_chain;

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Audit {
    /// Recompute the audit log's hash chains.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Only this municipality (6 digits); every chain when absent
    #[arg(long)]
    municipality: Option<String>,
}

pub async fn run(context: &Context, audit: &Audit) -> Result<(), CliError> {
    let Audit::Verify(args) = audit;
    let only = args
        .municipality
        .as_deref()
        .map(|m| municipality_arg("--municipality", m))
        .transpose()?;
    let store = context.store().await?;
    let chains = match only {
        Some(code) => vec![code.into()],
        None => store.audit_chains().await?,
    };
    let mut broken = 0;
    for scope in chains {
        let check = verify_chain(store.as_ref(), scope).await?;
        let (code, name) = (scope.code(), scope.name());
        match check.broken {
            None => println!("{code} {name}: {} entries, intact", check.entries),
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
