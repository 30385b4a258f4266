//! Backups and restores of a municipality's area or of the whole deployment, and the key escrow.
//!
//! A backup is a consistent snapshot (one read transaction) sealed per area under the area's backup
//! key (`vrs_crypto::backup`). A restore opens each section with a backup key from a key vault (the
//! configured deployment's, or the target's after `vrs keys import`), checks every row, the counts
//! and every audit chain against the manifest before writing, writes all areas in one transaction
//! into a target where they are empty, then recounts and re-verifies the chains there.
pub mod escrow;
pub mod format;
pub mod shred;

use chrono::Utc;
use vrs_crypto::backup::{BackupFile, Section};
use vrs_domain::{AuditAction, MunicipalityCode};
use vrs_store::{AreaRestore, AreaRows, AuditScope, BackupKey, Store, StoreError};

use crate::audit::verify_chain;
use crate::backup::format::{
    check_section, decode_area, rows_in_format, AreaManifest, LinesSource, Manifest, SectionWriter,
    FORMAT, OLDEST_FORMAT,
};
use crate::Actor;

pub use crate::backup::escrow::{export_escrow, import_escrow, parse_escrow, Escrow, EscrowImport};

/// What to back up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupScope {
    Municipality(MunicipalityCode),
    /// Every opened municipality and the deployment's own tables.
    Deployment,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    File(#[from] vrs_crypto::backup::FileError),
    #[error("the backup file's manifest is not readable: {0}")]
    Manifest(String),
    #[error("area {area}: the key vault holds no backup key for it (the area was destroyed, or this deployment never held its key; bring the key escrow file with `vrs keys import`)")]
    NoKey { area: String },
    #[error("area {area}: the section failed authentication: the file was altered, truncated or sealed for another key")]
    Tampered { area: String },
    #[error("area {area}: {reason}")]
    Content { area: String, reason: String },
    #[error("area {area}: after the restore, {reason}")]
    Verify { area: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A written backup: its bytes and what it holds.
pub struct Backup {
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

/// Takes a backup while the system runs; audited in the municipality's chain (or the national one).
pub async fn backup(
    store: &dyn Store,
    scope: BackupScope,
    actor: &Actor,
) -> Result<Backup, BackupError> {
    let areas = match scope {
        BackupScope::Municipality(code) => vec![AuditScope::Area(code)],
        BackupScope::Deployment => std::iter::once(AuditScope::National)
            .chain(
                store
                    .municipalities()
                    .await?
                    .into_iter()
                    .map(AuditScope::Area),
            )
            .collect(),
    };
    let writer = SectionWriter::new(true);
    let keys = store.snapshot(&areas, Box::new(writer.clone())).await?;
    let written = writer.take();
    let manifest = Manifest {
        format: FORMAT,
        kind: match scope {
            BackupScope::Municipality(_) => "municipality".into(),
            BackupScope::Deployment => "deployment".into(),
        },
        created_at: Utc::now(),
        created_by: actor.user.clone(),
        backend: store.backend().to_owned(),
        areas: written.iter().map(|a| a.manifest.clone()).collect(),
    };
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Manifest(e.to_string()))?;
    // One area at a time, each plaintext sealed in place.
    let mut sections = Vec::with_capacity(written.len());
    for (area, key) in written.into_iter().zip(keys) {
        let code = area.area.code().to_owned();
        let sealed = Section::seal(&key, &code, &manifest_bytes, area.plaintext)
            .map_err(|e| BackupError::Manifest(e.to_string()))?;
        sections.push(sealed);
    }
    let bytes = BackupFile {
        manifest: manifest_bytes,
        sections,
    }
    .to_bytes();
    let rows: u64 = manifest.areas.iter().map(AreaManifest::total_rows).sum();
    let (chain, target) = match scope {
        BackupScope::Municipality(code) => (AuditScope::Area(code), code.to_string()),
        BackupScope::Deployment => (AuditScope::National, "deployment".to_owned()),
    };
    let entry = actor
        .audit(AuditAction::BackupTake, &target)
        .with_detail(format!(
            "{} areas, {rows} rows, {} bytes, sha256 {}",
            manifest.areas.len(),
            bytes.len(),
            hex::encode(vrs_crypto::sha256(&bytes))
        ));
    store.append_audit(chain, &entry).await?;
    Ok(Backup { bytes, manifest })
}

/// Reads the manifest of a backup file without opening any section (not yet authenticated).
pub fn inspect(bytes: &[u8]) -> Result<Manifest, BackupError> {
    let file = BackupFile::parse(bytes)?;
    parse_manifest(&file)
}

fn parse_manifest(file: &BackupFile) -> Result<Manifest, BackupError> {
    let manifest: Manifest =
        serde_json::from_slice(&file.manifest).map_err(|e| BackupError::Manifest(e.to_string()))?;
    if !(OLDEST_FORMAT..=FORMAT).contains(&manifest.format) {
        return Err(BackupError::Manifest(format!(
            "format {} is not supported (this version reads {OLDEST_FORMAT} to {FORMAT})",
            manifest.format
        )));
    }
    let listed: Vec<&str> = manifest.areas.iter().map(|a| a.area.as_str()).collect();
    let present: Vec<&str> = file.sections.iter().map(|s| s.area.as_str()).collect();
    if listed != present {
        return Err(BackupError::Manifest(format!(
            "the manifest lists areas {listed:?} but the file holds {present:?}"
        )));
    }
    Ok(manifest)
}

/// Where the backup keys that open a file come from.
#[derive(Clone, Copy)]
pub enum KeySource<'a> {
    /// A deployment's key vault.
    Vault(&'a dyn Store),
    /// A key escrow file, opened with the master key of `with` (a fresh deployment after a loss).
    Escrow {
        escrow: &'a Escrow,
        with: &'a dyn Store,
    },
}

impl KeySource<'_> {
    async fn key(&self, area: AuditScope) -> Result<Option<BackupKey>, BackupError> {
        match self {
            KeySource::Vault(store) => Ok(store.backup_key(area, false).await?),
            KeySource::Escrow { escrow, with } => escrow
                .keys
                .get(area.code())
                .map(|wrapped| {
                    let wrapped = hex::decode(wrapped).map_err(|_| BackupError::Content {
                        area: area.code().to_owned(),
                        reason: "the key escrow's entry is not hexadecimal".into(),
                    })?;
                    Ok(with.open_vault_entry(area, &wrapped)?)
                })
                .transpose(),
        }
    }
}

/// One opened area of a backup file: checked against the manifest, its rows still encoded.
#[derive(Debug)]
pub struct OpenedArea {
    pub area: AuditScope,
    pub key: BackupKey,
    /// The format the file was written in.
    pub format: u32,
    plaintext: Vec<u8>,
}

impl OpenedArea {
    /// Every row in memory (for checks and inspection).
    pub fn rows(&self) -> Result<AreaRows, String> {
        decode_area(self.area, self.format, self.plaintext.clone())
    }

    fn into_restore(self) -> Result<AreaRestore, BackupError> {
        let area = self.area;
        let (source, keys) =
            LinesSource::new(area, self.format, self.plaintext).map_err(|reason| {
                BackupError::Content {
                    area: area.code().to_owned(),
                    reason,
                }
            })?;
        Ok(AreaRestore {
            area,
            key: self.key,
            keys,
            source: Box::new(source),
        })
    }
}

/// Opens every section with the backup keys of `keys` and checks it against the manifest (row by
/// row: every value against the schema, the counts, every audit chain from genesis to its head).
pub async fn open(
    keys: KeySource<'_>,
    bytes: &[u8],
) -> Result<(Manifest, Vec<OpenedArea>), BackupError> {
    let file = BackupFile::parse(bytes)?;
    let manifest = parse_manifest(&file)?;
    let BackupFile {
        manifest: manifest_bytes,
        sections,
    } = file;
    let mut areas = Vec::with_capacity(sections.len());
    // Each sealed section is dropped once opened.
    for (section, expected) in sections.into_iter().zip(&manifest.areas) {
        let code = section.area.clone();
        let scope = AuditScope::parse(&code).map_err(|_| BackupError::Content {
            area: code.clone(),
            reason: "not an area code".into(),
        })?;
        let key = keys
            .key(scope)
            .await?
            .ok_or_else(|| BackupError::NoKey { area: code.clone() })?;
        let plaintext = section
            .open(&key, &manifest_bytes)
            .map_err(|_| BackupError::Tampered { area: code.clone() })?;
        let plaintext = check_section(scope, manifest.format, plaintext, expected)
            .map_err(|reason| BackupError::Content { area: code, reason })?;
        areas.push(OpenedArea {
            area: scope,
            key,
            format: manifest.format,
            plaintext,
        });
    }
    Ok((manifest, areas))
}

/// What a restore wrote.
#[derive(Clone, Debug)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub rows: u64,
    pub chains_verified: usize,
    /// Terms versions the restored areas had agreed to that the target did not hold and now does
    /// (`kind version`), carried in the backup.
    pub terms_added: Vec<String>,
}

/// Restores a backup into `target`, with the backup keys of `keys` (the target's vault, the
/// configured deployment's when restoring elsewhere, or a key escrow file); the backup keys join the
/// target's vault. Audited in the target's national chain.
pub async fn restore(
    keys: KeySource<'_>,
    target: &dyn Store,
    bytes: &[u8],
    actor: &Actor,
) -> Result<RestoreReport, BackupError> {
    let (manifest, areas) = open(keys, bytes).await?;
    let scopes: Vec<AuditScope> = areas.iter().map(|a| a.area).collect();
    let restores = areas
        .into_iter()
        .map(OpenedArea::into_restore)
        .collect::<Result<Vec<_>, _>>()?;
    let terms_before = terms_held(target).await?;
    target.restore_areas(restores).await?;
    let terms_added: Vec<String> = terms_held(target)
        .await?
        .into_iter()
        .filter(|t| !terms_before.contains(t))
        .collect();
    // Read back: the counts and chain heads in the database, then every chain recomputed there.
    let counter = SectionWriter::new(false);
    target.snapshot(&scopes, Box::new(counter.clone())).await?;
    let mut chains_verified = 0;
    for (found, expected) in counter.take().iter().zip(&manifest.areas) {
        let area = expected.area.clone();
        let found_rows = rows_in_format(found.area, manifest.format, &found.manifest.rows);
        if found_rows != expected.rows || found.manifest.chain_heads != expected.chain_heads {
            return Err(BackupError::Verify {
                area,
                reason: format!(
                    "the database holds {:?}, the backup {:?}",
                    found.manifest.rows, expected.rows
                ),
            });
        }
        for chain in expected.chain_heads.keys() {
            let chain = AuditScope::parse(chain)?;
            let check = verify_chain(target, chain).await?;
            if let Some(b) = check.broken {
                return Err(BackupError::Verify {
                    area,
                    reason: format!(
                        "audit chain {chain} breaks at entry {}: {}",
                        b.seq, b.reason
                    ),
                });
            }
            chains_verified += 1;
        }
    }
    let rows: u64 = manifest.areas.iter().map(AreaManifest::total_rows).sum();
    let entry = actor
        .audit(AuditAction::BackupRestore, &manifest.kind)
        .with_detail(format!(
            "areas {}; {rows} rows; {chains_verified} chains verified; terms added [{}]; taken {} by {}; sha256 {}",
            manifest
                .areas
                .iter()
                .map(|a| a.area.as_str())
                .collect::<Vec<_>>()
                .join(","),
            terms_added.join(", "),
            manifest.created_at.to_rfc3339(),
            manifest.created_by,
            hex::encode(vrs_crypto::sha256(bytes))
        ));
    target.append_audit(AuditScope::National, &entry).await?;
    Ok(RestoreReport {
        manifest,
        rows,
        chains_verified,
        terms_added,
    })
}

/// The terms versions a deployment holds, as `kind version`.
async fn terms_held(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    Ok(store
        .terms_versions(None)
        .await?
        .iter()
        .map(|t| format!("{} {}", t.kind.as_str(), t.version))
        .collect())
}
