//! The content of a backup file: the manifest (plaintext, authenticated by every section) and each
//! area's section (sealed by `vrs_crypto::backup`), written and read one row at a time.
//!
//! A section is JSON Lines: a first line `{"area", "keys"}` (the data keys, wrapped by the area's
//! backup key), then for each table in schema order a line `{"table", "columns", "rows": N}`
//! followed by N lines, one row each: an array in the table's column order, byte strings in Base64,
//! times RFC 3339 with microseconds, dates ISO.

mod reader;

pub(crate) use reader::next_line_of;
pub use reader::{decode_area, Lines, LinesSource, Whole};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};

use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use vrs_store::{
    backup::tables_of, AreaRows, AuditScope, CarriedKey, Cell, SnapshotSink, StoreError, TableSpec,
};

/// The version of the format this code writes. Format 2 carries, in each municipality's section,
/// the deployment's terms versions its agreements refer to (`terms_versions`, before
/// `terms_agreements`), so that an area restores into another deployment; and, in the deployment's
/// section, the revocations kept after areas were destroyed (`revoked_tombstones`). Format 3 holds
/// the same lines as format 2, streamed in sealed chunks (`vrs_crypto::backup::stream`) with each
/// area's manifest in its final chunk, so that neither a backup nor a restore holds an area in memory.
/// Format 4 is format 3 with the residents' birth-date search index (`birth_index`); a format-3
/// file restores with that column empty, and the index is filled the first time the area is
/// searched by birth date. Format 5 adds the kanji name and birth date's search index
/// (`kanji_birth_index`); a file of an older format restores with that column empty, and the
/// index is filled the first time the area is scanned for duplicates.
pub const FORMAT: u32 = 5;

/// The oldest format written streamed (the streamed layout's files are of this format or newer).
pub const FIRST_STREAMED_FORMAT: u32 = 3;

/// The newest format written whole, one sealed section per area (`vrs_crypto::backup::BackupFile`).
pub const LAST_WHOLE_FORMAT: u32 = 2;

/// The oldest format this code still reads: a format-1 section lacks the carried tables, which
/// read as empty.
pub const OLDEST_FORMAT: u32 = 1;

/// Whether a table of `area` is absent from sections of `format` (added by a later format).
fn added_after(format: u32, spec: &TableSpec) -> bool {
    spec.since > format
}

/// Row counts as a file of `format` lists them: without the tables that format does not have.
pub fn rows_in_format(
    area: AuditScope,
    format: u32,
    rows: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    let mut rows = rows.clone();
    for spec in tables_of(area) {
        if added_after(format, spec) {
            rows.remove(spec.name);
        }
    }
    rows
}

/// What a backup holds, readable without any key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `municipality` or `deployment`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The backend the snapshot was read from.
    pub backend: String,
    pub areas: Vec<AreaManifest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaManifest {
    /// The 6-digit code (`000000` for the deployment's own tables).
    pub area: String,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    pub data_keys: u32,
    /// Each audit chain's newest entry: chain code → (seq, hash in hex).
    pub chain_heads: BTreeMap<String, (i64, String)>,
}

impl AreaManifest {
    pub fn of(rows: &AreaRows) -> Self {
        let mut heads = BTreeMap::new();
        for row in rows.rows("audit_heads") {
            if let [Cell::Text(code), Cell::Int(seq), Cell::Bytes(hash)] = row.as_slice() {
                if *seq > 0 {
                    heads.insert(code.trim().to_owned(), (*seq, hex::encode(hash)));
                }
            }
        }
        Self {
            area: rows.area.code().to_owned(),
            rows: rows
                .tables
                .iter()
                .map(|t| (t.table.to_owned(), t.rows.len() as u64))
                .collect(),
            data_keys: rows.keys.len() as u32,
            chain_heads: heads,
        }
    }

    /// Total rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct KeyJson {
    version: u32,
    wrapped: String,
}

/// A section's first line: the area and its data keys.
#[derive(Serialize, Deserialize)]
pub(crate) struct AreaLine {
    area: String,
    keys: Vec<KeyJson>,
}

impl AreaLine {
    pub(crate) fn of(area: AuditScope, keys: &[CarriedKey]) -> Self {
        Self {
            area: area.code().to_owned(),
            keys: keys
                .iter()
                .map(|k| KeyJson {
                    version: k.version,
                    wrapped: B64.encode(&k.wrapped),
                })
                .collect(),
        }
    }
}

/// The line before a table's rows.
#[derive(Serialize, Deserialize)]
pub(crate) struct TableLine {
    table: String,
    columns: Vec<String>,
    rows: u64,
}

impl TableLine {
    pub(crate) fn of(table: &TableSpec, rows: u64) -> Self {
        Self::of_format(table, rows, FORMAT)
    }

    /// The line as a file of `format` holds it (without the columns added by later formats).
    pub(crate) fn of_format(table: &TableSpec, rows: u64, format: u32) -> Self {
        Self {
            table: table.name.to_owned(),
            columns: table.columns[..table.columns_in_format(format)]
                .iter()
                .map(|(c, _)| (*c).to_owned())
                .collect(),
            rows,
        }
    }
}

/// A row as its line holds it.
pub(crate) struct CellsOut<'a>(pub(crate) &'a [Cell]);

impl Serialize for CellsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for cell in self.0 {
            match cell {
                Cell::Null => seq.serialize_element(&())?,
                Cell::Int(i) => seq.serialize_element(i)?,
                Cell::Text(t) => seq.serialize_element(t)?,
                Cell::Bytes(b) => seq.serialize_element(&B64.encode(b))?,
                Cell::Bool(b) => seq.serialize_element(b)?,
                Cell::Time(t) => {
                    seq.serialize_element(&t.to_rfc3339_opts(SecondsFormat::Micros, true))?
                }
                Cell::Date(d) => seq.serialize_element(&d.to_string())?,
            }
        }
        seq.end()
    }
}

/// One area being written: its section plaintext and what its manifest will say.
pub struct AreaOut {
    pub area: AuditScope,
    pub plaintext: Vec<u8>,
    pub manifest: AreaManifest,
    table: Option<&'static TableSpec>,
}

/// A snapshot sink that writes each area's section as rows arrive (or, without `encode`, only
/// counts them for a manifest). The caller keeps a handle and takes the areas when the snapshot ends.
#[derive(Clone)]
pub struct SectionWriter {
    areas: Arc<Mutex<Vec<AreaOut>>>,
    encode: bool,
    format: u32,
}

impl SectionWriter {
    pub fn new(encode: bool) -> Self {
        Self::of_format(encode, FORMAT)
    }

    /// A writer of sections as `format` held them: the columns a later format added are left out
    /// (how files of older formats are made for the tests that read them).
    pub fn of_format(encode: bool, format: u32) -> Self {
        Self {
            areas: Arc::new(Mutex::new(Vec::new())),
            encode,
            format,
        }
    }

    /// The areas written so far.
    pub fn take(&self) -> Vec<AreaOut> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AreaOut>> {
        self.areas.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn line(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| StoreError::Other(e.to_string()))?;
    out.push(b'\n');
    Ok(())
}

fn out_of_order() -> StoreError {
    StoreError::Other("a snapshot row came before its area or table".into())
}

impl SnapshotSink for SectionWriter {
    fn area(&mut self, area: AuditScope, keys: Vec<CarriedKey>) -> Result<(), StoreError> {
        let mut out = AreaOut {
            area,
            plaintext: Vec::new(),
            manifest: AreaManifest {
                area: area.code().to_owned(),
                rows: BTreeMap::new(),
                data_keys: keys.len() as u32,
                chain_heads: BTreeMap::new(),
            },
            table: None,
        };
        if self.encode {
            line(&mut out.plaintext, &AreaLine::of(area, &keys))?;
        }
        self.lock().push(out);
        Ok(())
    }

    fn table(&mut self, table: &'static TableSpec, rows: u64) -> Result<(), StoreError> {
        let encode = self.encode;
        let mut areas = self.lock();
        let out = areas.last_mut().ok_or_else(out_of_order)?;
        out.table = Some(table);
        out.manifest.rows.insert(table.name.to_owned(), rows);
        if encode {
            line(
                &mut out.plaintext,
                &TableLine::of_format(table, rows, self.format),
            )?;
        }
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        let encode = self.encode;
        let mut areas = self.lock();
        let out = areas.last_mut().ok_or_else(out_of_order)?;
        let table = out.table.ok_or_else(out_of_order)?;
        if table.name == "audit_heads" {
            note_head(&mut out.manifest.chain_heads, cells);
        }
        if encode {
            let present = table.columns_in_format(self.format).min(cells.len());
            line(&mut out.plaintext, &CellsOut(&cells[..present]))?;
        }
        Ok(())
    }
}

/// Records a chain head from a row of `audit_heads` (a chain without entries has none).
pub(crate) fn note_head(heads: &mut BTreeMap<String, (i64, String)>, cells: &[Cell]) {
    if let [Cell::Text(code), Cell::Int(seq), Cell::Bytes(hash)] = cells {
        if *seq > 0 {
            heads.insert(code.trim().to_owned(), (*seq, hex::encode(hash)));
        }
    }
}

#[cfg(test)]
mod tests;
