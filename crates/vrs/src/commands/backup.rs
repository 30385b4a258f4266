//! Backups, restores and deletions, from the server's command line (the operator):
//!
//! - `vrs backup --municipality CODE --out FILE` (one area) or `vrs backup --all --out FILE`;
//! - `vrs restore FILE [--into URL] [--keys ESCROW]` (into the configured database, or another one:
//!   SQLite ⇄ PostgreSQL), with the backup keys of the configured deployment's key vault or of a
//!   key escrow file;
//! - `vrs area consent …` / `vrs area shred …`: destroying a municipality's area on its consent.
//!
//! Deleting one person is the municipality's own act, on the person's page (promise 22 of
//! docs/pia.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use vrs_core::backup::escrow;
use vrs_core::backup::shred::{self, ShredError};
use vrs_core::backup::{self, BackupError, BackupScope, KeySource};
use vrs_core::Actor;
use vrs_domain::MunicipalityCode;

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The municipality (自治体コード) whose area to back up
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    municipality: Option<String>,
    /// Back up the whole deployment (every area and the deployment's own tables)
    #[arg(long)]
    all: bool,
    /// The file to write (must not exist yet)
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup file
    file: PathBuf,
    /// Restore into this database instead of the configured one (sqlite://PATH or postgres://…)
    #[arg(long)]
    into: Option<String>,
    /// Open the file with the backup keys of this key escrow file instead of the configured
    /// deployment's key vault (disaster recovery on a fresh deployment with the same master key)
    #[arg(long)]
    keys: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Area {
    /// Record a municipality's consent to the destruction of its area.
    Consent {
        #[arg(long)]
        municipality: String,
        /// The municipality's administrator who gave it
        #[arg(long)]
        by: String,
        /// The reference of the municipality's written decision
        #[arg(long)]
        reference: String,
    },
    /// Destroy a municipality's area and its keys (irreversible; needs its recorded consent).
    Shred {
        #[arg(long)]
        municipality: String,
        /// The municipality code again, to confirm
        #[arg(long)]
        confirm: String,
    },
}

pub(crate) fn municipality(text: &str) -> Result<MunicipalityCode, CliError> {
    municipality_arg("--municipality", text)
}

pub(crate) fn backup_error(e: BackupError) -> CliError {
    match e {
        BackupError::Store(e) => CliError::from(e),
        BackupError::Verify { .. } => CliError::Failure(e.to_string()),
        other => CliError::Input(other.to_string()),
    }
}

fn shred_error(e: ShredError) -> CliError {
    match e {
        ShredError::Store(e) => CliError::from(e),
        other => CliError::Input(other.to_string()),
    }
}

/// Creates a new file readable only by its owner, refusing to replace one.
fn create_new(path: &Path) -> Result<std::fs::File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| CliError::Input(format!("--out {}: {e}", path.display())))
}

/// Writes `bytes` to a new file readable only by its owner, refusing to replace one.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut file = create_new(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::Failure(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

pub async fn run_backup(context: &Context, args: &BackupArgs) -> Result<(), CliError> {
    let scope = match &args.municipality {
        Some(code) => BackupScope::Municipality(municipality(code)?),
        None => BackupScope::Deployment,
    };
    if args.out.exists() {
        return Err(CliError::Input(format!(
            "--out {}: the file exists; a backup never replaces a file",
            args.out.display()
        )));
    }
    let store = context.store().await?;
    // Written as the snapshot is read; a failed backup leaves no file behind.
    let file = std::io::BufWriter::with_capacity(1 << 20, create_new(&args.out)?);
    let written = backup::backup(store.as_ref(), scope, &Actor::command_line(), file)
        .await
        .map_err(backup_error)
        .and_then(|taken| {
            let cannot = |e: std::io::Error| {
                CliError::Failure(format!("cannot write {}: {e}", args.out.display()))
            };
            let file = taken.out.into_inner().map_err(|e| cannot(e.into_error()))?;
            file.sync_all().map_err(cannot)?;
            Ok((taken.manifest, taken.size))
        });
    let (manifest, size) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&args.out);
            return Err(e);
        }
    };
    for area in &manifest.areas {
        println!(
            "{}: {} rows, {} data keys, {} audit chains",
            area.area,
            area.total_rows(),
            area.data_keys,
            area.chain_heads.len()
        );
    }
    println!("wrote {} ({size} bytes)", args.out.display());
    Ok(())
}

pub async fn run_restore(context: &Context, args: &RestoreArgs) -> Result<(), CliError> {
    // Read as the restore goes, a chunk at a time.
    let file = std::fs::File::open(&args.file)
        .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
        .map_err(|e| CliError::Input(format!("{}: {e}", args.file.display())))?;
    let vault = context.store().await?;
    let target = match &args.into {
        Some(url) => {
            let (key, _) = context.master_key(false)?;
            vrs_store::open(url, key, true)
                .await
                .map_err(|e| CliError::Input(format!("--into {url}: {e}")))?
        }
        None => vault.clone(),
    };
    let escrow = match &args.keys {
        Some(path) => Some(backup::parse_escrow(&read(path)?).map_err(backup_error)?),
        None => None,
    };
    let keys = match &escrow {
        Some(escrow) => KeySource::Escrow {
            escrow,
            with: target.as_ref(),
        },
        None => KeySource::Vault(vault.as_ref()),
    };
    let report = backup::restore_from(keys, target.as_ref(), file, &Actor::command_line())
        .await
        .map_err(backup_error)?;
    println!(
        "restored {} areas ({} rows) taken {} by {}; {} audit chains verified",
        report.manifest.areas.len(),
        report.rows,
        report.manifest.created_at.to_rfc3339(),
        report.manifest.created_by,
        report.chains_verified
    );
    if !report.terms_added.is_empty() {
        println!(
            "terms versions the areas agreed to, added to the target from the backup: {}",
            report.terms_added.join(", ")
        );
    }
    // Disaster recovery brings the escrow: its signing keys come back too, so the certificates
    // issued before verify and new ones are signed with the same issuer keys.
    if let Some(escrow) = &escrow {
        let keys = escrow::signing_keys_of(escrow).map_err(backup_error)?;
        let imported = escrow::import_signing_keys(target.as_ref(), &keys, &Actor::command_line())
            .await
            .map_err(backup_error)?;
        println!(
            "signing keys from the key escrow: {} added, {} already held{}",
            imported.signing_keys_added,
            imported.signing_keys_held,
            if imported.signing_keys_retired.is_empty() {
                String::new()
            } else {
                format!(
                    ", stored retired (the target already signs with another key): {}",
                    imported.signing_keys_retired.join(", ")
                )
            }
        );
    }
    Ok(())
}

pub async fn run_area(context: &Context, area: &Area) -> Result<(), CliError> {
    let actor = Actor::command_line();
    match area {
        Area::Consent {
            municipality: code,
            by,
            reference,
        } => {
            let code = municipality(code)?;
            let store = context.store().await?;
            shred::consent(store.as_ref(), code, by, reference, &actor)
                .await
                .map_err(shred_error)?;
            println!(
                "recorded the consent of {code} ({}) given by {by}",
                code.info().name
            );
        }
        Area::Shred {
            municipality: code,
            confirm,
        } => {
            let code = municipality(code)?;
            if confirm.trim() != code.as_str() {
                return Err(CliError::Input(
                    "--confirm must repeat the municipality code".into(),
                ));
            }
            let store = context.store().await?;
            let record = shred::shred(store.as_ref(), code, &actor)
                .await
                .map_err(shred_error)?;
            println!(
                "destroyed the area of {code} ({}): {}",
                code.info().name,
                record.deleted
            );
            println!("export a new key escrow (`vrs keys export`) and destroy the older copies");
        }
    }
    Ok(())
}
