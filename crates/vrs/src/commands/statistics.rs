//! `vrs statistics rebuild [--municipality CODE]`: recomputes statistics from the records, whatever
//! is stored (the server's job keeps them current on its own; this is for after a restore, or to
//! check). Audited in each municipality's chain. Prints each municipality's doses and targets.
//!
//! `vrs statistics opendata [--config FILE]`: publishes the open data release now, from the stored
//! statistics, with the licence and level the configuration names (as `vrs serve` would at its
//! daily hour). Prints each file with its size.

use vrs_core::statistics::rebuild;
use vrs_core::Actor;
use vrs_store::StatScope;

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Statistics {
    /// Recompute statistics from the records.
    Rebuild(RebuildArgs),
    /// Publish the open data release now.
    Opendata(OpendataArgs),
}

#[derive(clap::Args, Debug)]
pub struct OpendataArgs {
    /// The server's configuration file (licence, municipality level)
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct RebuildArgs {
    /// Only this municipality (6 digits); every municipality when absent
    #[arg(long)]
    municipality: Option<String>,
    /// The day targets and ages are counted on (default: today in Japan)
    #[arg(long)]
    as_of: Option<String>,
}

pub async fn run(context: &Context, statistics: &Statistics) -> Result<(), CliError> {
    let args = match statistics {
        Statistics::Rebuild(args) => args,
        Statistics::Opendata(args) => return opendata(context, args).await,
    };
    let only = args
        .municipality
        .as_deref()
        .map(|m| municipality_arg("--municipality", m))
        .transpose()?;
    let today = match &args.as_of {
        Some(d) => {
            vrs_domain::parse_date(d).map_err(|e| CliError::Input(format!("--as-of: {e}")))?
        }
        None => vrs_core::japan_today(),
    };
    let store = context.store().await?;
    let done = rebuild(store.as_ref(), &Actor::command_line(), only, today).await?;
    for m in done {
        let figures = store
            .municipality_figures(StatScope::Municipality(m))
            .await?;
        let (targets, doses) = figures.first().map_or((0, 0), |f| (f.targets, f.doses));
        println!(
            "{m}\t{}\ttargets {targets}\tdoses {doses}",
            m.info().full_name()
        );
    }
    Ok(())
}

async fn opendata(context: &Context, args: &OpendataArgs) -> Result<(), CliError> {
    let settings = vrs_server::Settings::load(args.config.as_deref())
        .map_err(|e| CliError::Input(e.to_string()))?;
    let store = context.store().await?;
    let files = vrs_core::statistics::opendata::publish(
        store.as_ref(),
        &settings.opendata(),
        chrono::Utc::now(),
    )
    .await?;
    for f in files {
        println!("{}\t{} bytes\t{}", f.name, f.size, f.etag);
    }
    Ok(())
}
