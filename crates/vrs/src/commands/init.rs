//! `vrs init`: creates the master key file (mode 0600) when absent, the database and its schema,
//! and records the key's check value; with `--citus`, then distributes the schema over the Citus
//! cluster whose coordinator the URL names (docs/operations.md). Running it again changes nothing.

use crate::context::{CliError, Context};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Distribute the schema over a Citus cluster (the URL names its coordinator): every table of a
    /// municipality's area by municipality_code, the deployment-wide tables as reference tables.
    #[arg(long)]
    pub citus: bool,
}

pub async fn run(context: &Context, args: &Args) -> Result<(), CliError> {
    let (key, created) = context.master_key(true)?;
    let store = vrs_store::open(&context.database, key, true).await?;
    if created {
        println!("created master key {}", context.key_file.display());
    }
    if args.citus {
        let done = vrs_store::distribute_citus(&context.database).await?;
        println!(
            "citus: {} tables distributed by municipality_code, {} reference tables, {} already placed",
            done.distributed.len(),
            done.reference.len(),
            done.already
        );
    }
    println!(
        "database ready: {} ({}, {} municipalities active)",
        context.database,
        store.backend(),
        store.municipalities().await?.len()
    );
    Ok(())
}
