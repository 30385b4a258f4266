//! `vrs init`: creates the master key file (mode 0600) when absent, the database and its schema,
//! and records the key's check value. Running it again changes nothing.

use crate::context::{CliError, Context};

pub async fn run(context: &Context) -> Result<(), CliError> {
    let (key, created) = context.master_key(true)?;
    let store = vrs_store::open(&context.database, key, true).await?;
    if created {
        println!("created master key {}", context.key_file.display());
    }
    println!(
        "database ready: {} ({}, {} municipalities active)",
        context.database,
        store.backend(),
        store.municipalities().await?.len()
    );
    Ok(())
}
