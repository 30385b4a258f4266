//! Backups and restores of a municipality's area or of the whole deployment, and the key escrow.
//!
//! A backup is a consistent snapshot (one read transaction) sealed per area under the area's backup
//! key (`vrs_crypto::backup`), written as it is read in chunks ([`stream`]) so that its memory does
//! not grow with the area. A restore opens each area with a backup key from a key vault (the
//! configured deployment's, or the target's after `vrs keys import`) and writes all areas in one
//! transaction into a target where they are empty, checking every row and every audit chain as it
//! passes and each area's counts and chain heads against its sealed manifest at its end; anything
//! wrong (a damaged, cut or reordered file) rolls the whole transaction back. It then recounts and
//! re-verifies the chains in the target. Files of formats 1 and 2 (whole sections) still restore,
//! checked in memory before writing.
pub mod check;
pub mod escrow;
pub mod format;
pub mod shred;
pub mod stream;

use std::io::{Read, Write};

use chrono::Utc;
use vrs_crypto::backup::stream::{FileReader, STREAM_MAGIC, WHOLE_MAGIC};
use vrs_crypto::backup::{BackupFile, FileError};
use vrs_domain::{AuditAction, MunicipalityCode};
use vrs_store::{
    AreaRestore, AreaRows, AuditScope, AuditStore, BackupKey, BackupStore, GovernanceStore, Store,
    StoreError,
};

use crate::audit::verify_chain;
use crate::backup::check::check_section;
use crate::backup::format::{
    decode_area, rows_in_format, AreaManifest, LinesSource, Manifest, SectionWriter, Whole,
    FIRST_STREAMED_FORMAT, FORMAT, LAST_WHOLE_FORMAT, OLDEST_FORMAT,
};
use crate::backup::stream::{Header, Reading, StreamSink, StreamedArea};
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
    #[error("the backup file was refused and nothing was restored: {0}")]
    Refused(String),
    #[error("area {area}: {reason}")]
    Content { area: String, reason: String },
    #[error("area {area}: after the restore, {reason}")]
    Verify { area: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A written backup: what it holds, its size and digest, and the writer it went to.
pub struct Backup<W> {
    pub manifest: Manifest,
    pub size: u64,
    pub sha256: [u8; 32],
    pub out: W,
}

/// Takes a backup while the system runs, writing it into `out` as it is read; audited in the
/// municipality's chain (or the national one).
pub async fn backup<W: Write + Send + 'static>(
    store: &dyn Store,
    scope: BackupScope,
    actor: &Actor,
    out: W,
) -> Result<Backup<W>, BackupError> {
    backup_in_chunks(store, scope, actor, out, stream::CHUNK_SIZE).await
}

/// A backup whose chunks hold about `chunk_size` bytes of rows each (many small chunks, for
/// checking what a reader does with them).
pub async fn backup_in_chunks<W: Write + Send + 'static>(
    store: &dyn Store,
    scope: BackupScope,
    actor: &Actor,
    out: W,
    chunk_size: usize,
) -> Result<Backup<W>, BackupError> {
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
    let mut keys = Vec::with_capacity(areas.len());
    for area in &areas {
        keys.push(
            store
                .backup_key(*area, true)
                .await?
                .ok_or(StoreError::NotFound)?,
        );
    }
    let header = Header {
        format: FORMAT,
        kind: match scope {
            BackupScope::Municipality(_) => "municipality".into(),
            BackupScope::Deployment => "deployment".into(),
        },
        created_at: Utc::now(),
        created_by: actor.user.clone(),
        backend: store.backend().to_owned(),
        areas: areas.iter().map(|a| a.code().to_owned()).collect(),
    };
    let sink = StreamSink::new(out, &header, keys, chunk_size)?;
    store.snapshot(&areas, Box::new(sink.clone())).await?;
    let (manifest, out, size, sha256) = sink.finish(&header)?;
    let rows: u64 = manifest.areas.iter().map(AreaManifest::total_rows).sum();
    let (chain, target) = match scope {
        BackupScope::Municipality(code) => (AuditScope::Area(code), code.to_string()),
        BackupScope::Deployment => (AuditScope::National, "deployment".to_owned()),
    };
    let entry = actor
        .audit(AuditAction::BackupTake, &target)
        .with_detail(format!(
            "{} areas, {rows} rows, {size} bytes, sha256 {}",
            manifest.areas.len(),
            hex::encode(sha256)
        ));
    store.append_audit(chain, &entry).await?;
    Ok(Backup {
        manifest,
        size,
        sha256,
        out,
    })
}

/// Which layout a file is in, from its first bytes.
enum Layout {
    /// Formats 1 and 2: one whole sealed section per area.
    Whole,
    /// Format 3: sealed chunks.
    Streamed,
}

fn layout(magic: &[u8]) -> Result<Layout, BackupError> {
    if magic.len() < STREAM_MAGIC.len() {
        let known = [WHOLE_MAGIC, STREAM_MAGIC];
        return Err(
            if !magic.is_empty() && known.iter().any(|m| m.starts_with(magic)) {
                FileError::Truncated("the header").into()
            } else {
                FileError::NotBackup.into()
            },
        );
    }
    if magic == WHOLE_MAGIC {
        Ok(Layout::Whole)
    } else if magic == STREAM_MAGIC {
        Ok(Layout::Streamed)
    } else if magic.starts_with(b"VRSBACKUP") {
        Err(unsupported(String::from_utf8_lossy(&magic[9..]).trim()))
    } else {
        Err(FileError::NotBackup.into())
    }
}

/// A file of a format this version does not read, named in Japanese and English.
fn unsupported(format: &str) -> BackupError {
    BackupError::Manifest(format!(
        "このバックアップファイルは形式 {format} で、このバージョンが読める形式は {OLDEST_FORMAT}〜{FORMAT} です / \
         the backup file is of format {format}; this version reads formats {OLDEST_FORMAT} to {FORMAT}"
    ))
}

fn read_header(file: &FileReader<impl Read>) -> Result<Header, BackupError> {
    let header: Header = serde_json::from_slice(file.header())
        .map_err(|e| BackupError::Manifest(format!("the header is not readable: {e}")))?;
    if !(FIRST_STREAMED_FORMAT..=FORMAT).contains(&header.format) {
        return Err(unsupported(&header.format.to_string()));
    }
    Ok(header)
}

fn parse_manifest(file: &BackupFile) -> Result<Manifest, BackupError> {
    let manifest: Manifest =
        serde_json::from_slice(&file.manifest).map_err(|e| BackupError::Manifest(e.to_string()))?;
    if !(OLDEST_FORMAT..=LAST_WHOLE_FORMAT).contains(&manifest.format) {
        return Err(unsupported(&manifest.format.to_string()));
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
        let source =
            LinesSource::new(area, self.format, Whole::new(self.plaintext)).map_err(|reason| {
                BackupError::Content {
                    area: area.code().to_owned(),
                    reason,
                }
            })?;
        Ok(AreaRestore {
            area,
            key: self.key,
            source: Box::new(source),
        })
    }
}

async fn area_key(
    keys: &KeySource<'_>,
    code: &str,
) -> Result<(AuditScope, BackupKey), BackupError> {
    let scope = AuditScope::parse(code).map_err(|_| BackupError::Content {
        area: code.to_owned(),
        reason: "not an area code".into(),
    })?;
    let key = keys.key(scope).await?.ok_or_else(|| BackupError::NoKey {
        area: code.to_owned(),
    })?;
    Ok((scope, key))
}

/// Opens every area with the backup keys of `keys` and checks it against the manifest (row by
/// row: every value against the schema, the counts, every audit chain from genesis to its head),
/// holding the file and every area's rows in memory (for checks and inspection; restores stream).
pub async fn open(
    keys: KeySource<'_>,
    bytes: &[u8],
) -> Result<(Manifest, Vec<OpenedArea>), BackupError> {
    let magic = &bytes[..bytes.len().min(STREAM_MAGIC.len())];
    match layout(magic)? {
        Layout::Whole => open_whole(keys, bytes).await,
        Layout::Streamed => open_streamed(keys, bytes).await,
    }
}

async fn open_streamed(
    keys: KeySource<'_>,
    bytes: &[u8],
) -> Result<(Manifest, Vec<OpenedArea>), BackupError> {
    let (magic, rest) = bytes.split_at(STREAM_MAGIC.len());
    let mut file = FileReader::new(rest, magic)?;
    let header = read_header(&file)?;
    let mut areas = Vec::new();
    let mut manifests = Vec::new();
    for code in &header.areas {
        let (scope, key) = area_key(&keys, code).await?;
        file.begin_area(&key, code).map_err(opened)?;
        let mut plaintext = Vec::new();
        let last = loop {
            match file.next_chunk().map_err(opened)? {
                vrs_crypto::backup::stream::Chunk::Data(c) => plaintext.extend_from_slice(&c),
                vrs_crypto::backup::stream::Chunk::Final(last) => break last,
            }
        };
        let content = |reason: String| BackupError::Content {
            area: code.clone(),
            reason,
        };
        let expected: AreaManifest = serde_json::from_slice(&last)
            .map_err(|e| content(format!("the sealed manifest is not readable: {e}")))?;
        if expected.area != *code {
            return Err(content(format!(
                "the final chunk is that of area {}",
                expected.area
            )));
        }
        let plaintext =
            check_section(scope, header.format, plaintext, &expected).map_err(content)?;
        manifests.push(expected);
        areas.push(OpenedArea {
            area: scope,
            key,
            format: header.format,
            plaintext,
        });
    }
    let (listed, _) = file.finish()?;
    let manifest = header.manifest(manifests);
    let listed: Manifest =
        serde_json::from_slice(&listed).map_err(|e| BackupError::Manifest(e.to_string()))?;
    if listed != manifest {
        return Err(BackupError::Manifest(
            "the file's manifest differs from what its sealed chunks say".into(),
        ));
    }
    Ok((manifest, areas))
}

/// A file error, with a chunk that failed authentication named as such.
fn opened(e: FileError) -> BackupError {
    match e {
        FileError::Tampered(area) => BackupError::Tampered { area },
        other => BackupError::File(other),
    }
}

async fn open_whole(
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

/// Restores a backup held in memory (see [`restore_from`]).
pub async fn restore(
    keys: KeySource<'_>,
    target: &dyn Store,
    bytes: &[u8],
    actor: &Actor,
) -> Result<RestoreReport, BackupError> {
    restore_from(keys, target, std::io::Cursor::new(bytes.to_vec()), actor).await
}

/// Restores a backup read from `input` into `target`, with the backup keys of `keys` (the
/// target's vault, the configured deployment's when restoring elsewhere, or a key escrow file);
/// the backup keys join the target's vault. Audited in the target's national chain.
pub async fn restore_from<R: Read + Send + 'static>(
    keys: KeySource<'_>,
    target: &(impl AuditStore + BackupStore + GovernanceStore + ?Sized),
    mut input: R,
    actor: &Actor,
) -> Result<RestoreReport, BackupError> {
    let mut magic = Vec::with_capacity(STREAM_MAGIC.len());
    (&mut input)
        .take(STREAM_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(|e| FileError::Io(e.to_string()))?;
    let terms_before = terms_held(target).await?;
    let (manifest, digest) = match layout(&magic)? {
        Layout::Whole => {
            let mut bytes = magic;
            input
                .read_to_end(&mut bytes)
                .map_err(|e| FileError::Io(e.to_string()))?;
            let (manifest, areas) = open_whole(keys, &bytes).await?;
            let restores = areas
                .into_iter()
                .map(OpenedArea::into_restore)
                .collect::<Result<Vec<_>, _>>()?;
            target.restore_areas(restores).await?;
            (manifest, vrs_crypto::sha256(&bytes))
        }
        Layout::Streamed => {
            let file = FileReader::new(input, &magic)?;
            let header = read_header(&file)?;
            let mut restores = Vec::with_capacity(header.areas.len());
            let mut opening = Vec::with_capacity(header.areas.len());
            for code in &header.areas {
                let (scope, key) = area_key(&keys, code).await?;
                let (_, again) = area_key(&keys, code).await?;
                opening.push((scope, key, again));
            }
            let shared = Reading::new(file, header);
            for (area, key, again) in opening {
                restores.push(AreaRestore {
                    area,
                    key,
                    source: Box::new(StreamedArea::new(shared.clone(), area, again)),
                });
            }
            let written = target.restore_areas(restores).await;
            let mut reading = stream::lock(&shared);
            if let Some(reason) = reading.failure.take() {
                return Err(BackupError::Refused(reason));
            }
            written?;
            reading.finished.take().ok_or_else(|| {
                BackupError::Manifest("the restore ended before the end of the file".into())
            })?
        }
    };
    let scopes: Vec<AuditScope> = manifest
        .areas
        .iter()
        .map(|a| AuditScope::parse(&a.area))
        .collect::<Result<_, _>>()?;
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
            hex::encode(digest)
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
async fn terms_held(store: &(impl GovernanceStore + ?Sized)) -> Result<Vec<String>, StoreError> {
    Ok(store
        .terms_versions(None)
        .await?
        .iter()
        .map(|t| format!("{} {}", t.kind.as_str(), t.version))
        .collect())
}
