//! The content of a backup file: the manifest (plaintext, authenticated by every section) and each
//! area's section (sealed by `vrs_crypto::backup`), written and read one row at a time.
//!
//! A section is JSON Lines: a first line `{"area", "keys"}` (the data keys, wrapped by the area's
//! backup key), then for each table in schema order a line `{"table", "columns", "rows": N}`
//! followed by N lines, one row each: an array in the table's column order, byte strings in Base64,
//! times RFC 3339 with microseconds, dates ISO.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use vrs_store::backup::tables_of;
use vrs_store::{
    AreaRows, AuditScope, CarriedKey, Cell, Col, RestoreSource, SnapshotSink, StoreError,
    TableRows, TableSpec,
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

/// Where a section's lines come from: its whole plaintext in memory ([`Whole`]), or chunks as
/// they open.
pub trait Lines: Send {
    /// The next line, without its newline; `None` at the section's end.
    fn next_line(&mut self) -> Result<Option<&[u8]>, String>;
}

/// A section's whole plaintext.
pub struct Whole {
    plaintext: Vec<u8>,
    at: usize,
}

impl Whole {
    pub fn new(plaintext: Vec<u8>) -> Self {
        Self { plaintext, at: 0 }
    }

    pub fn into_plaintext(self) -> Vec<u8> {
        self.plaintext
    }
}

/// The next line of `bytes` from `*at` (without its newline), moving `*at` past it.
pub(crate) fn next_line_of<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = bytes.get(*at..).filter(|r| !r.is_empty())?;
    let len = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let start = *at;
    *at += len + 1;
    bytes.get(start..start + len)
}

impl Lines for Whole {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        Ok(next_line_of(&self.plaintext, &mut self.at))
    }
}

/// Reads a section's lines back, table by table and row by row, checking every line against
/// the schema this version knows. Errors name the table, row and column.
pub struct LinesSource<L = Whole> {
    area: AuditScope,
    format: u32,
    lines: L,
    keys: Vec<CarriedKey>,
    next_table: usize,
    table: Option<&'static TableSpec>,
    remaining: u64,
    row: u64,
}

fn content(reason: String) -> StoreError {
    StoreError::Corrupt(reason)
}

impl<L: Lines> LinesSource<L> {
    /// Reads the first line of a section written in `format`: the area and its data keys.
    pub fn new(area: AuditScope, format: u32, lines: L) -> Result<Self, String> {
        let mut source = Self {
            area,
            format,
            lines,
            keys: Vec::new(),
            next_table: 0,
            table: None,
            remaining: 0,
            row: 0,
        };
        let first = source.lines.next_line()?.ok_or("the section is empty")?;
        let header: AreaLine = serde_json::from_slice(first)
            .map_err(|e| format!("the section's first line is not readable: {e}"))?;
        if header.area != area.code() {
            return Err(format!(
                "the section says area {}, its header says {}",
                header.area,
                area.code()
            ));
        }
        let keys = header
            .keys
            .iter()
            .map(|k| {
                Ok(CarriedKey {
                    version: k.version,
                    wrapped: B64
                        .decode(&k.wrapped)
                        .map_err(|_| format!("data key {} is not Base64", k.version))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        source.keys = keys;
        Ok(source)
    }

    /// The area's data keys, from the section's first line.
    pub fn carried(&self) -> &[CarriedKey] {
        &self.keys
    }

    /// Where the lines come from.
    pub fn lines_mut(&mut self) -> &mut L {
        &mut self.lines
    }

    pub fn into_lines(self) -> L {
        self.lines
    }
}

impl<L: Lines> RestoreSource for LinesSource<L> {
    fn keys(&mut self) -> Result<Vec<CarriedKey>, StoreError> {
        Ok(self.keys.clone())
    }

    fn next_table(&mut self) -> Result<Option<&'static TableSpec>, StoreError> {
        if self.remaining > 0 {
            let name = self.table.map_or("?", |t| t.name);
            return Err(content(format!(
                "{name}: {} rows were not read",
                self.remaining
            )));
        }
        let area = self.area;
        let index = self.next_table;
        if let Some(spec) = tables_of(area).get(index) {
            if added_after(self.format, spec) {
                // Not in this file's format: an empty table.
                self.next_table += 1;
                self.table = Some(spec);
                self.remaining = 0;
                self.row = 0;
                return Ok(Some(spec));
            }
        }
        let Some(text) = self.lines.next_line().map_err(content)? else {
            return Ok(None);
        };
        let header: TableLine = serde_json::from_slice(text)
            .map_err(|e| content(format!("a table line is not readable: {e}")))?;
        let spec = tables_of(area)
            .get(index)
            .ok_or_else(|| content(format!("unexpected table {}", header.table)))?;
        if header.table != spec.name {
            return Err(content(format!(
                "table {} came where {} was expected",
                header.table, spec.name
            )));
        }
        let present = spec.columns_in_format(self.format);
        let expected: Vec<&str> = spec.columns[..present].iter().map(|(c, _)| *c).collect();
        if header.columns != expected {
            return Err(content(format!(
                "table {} has columns {:?}, this version expects {expected:?}",
                spec.name, header.columns
            )));
        }
        self.next_table += 1;
        self.table = Some(spec);
        self.remaining = header.rows;
        self.row = 0;
        Ok(Some(spec))
    }

    fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<bool, StoreError> {
        let Some(spec) = self.table else {
            return Ok(false);
        };
        if self.remaining == 0 {
            return Ok(false);
        }
        self.row += 1;
        let row = self.row;
        let present = spec.columns_in_format(self.format);
        let text = self
            .lines
            .next_line()
            .map_err(content)?
            .ok_or_else(|| content(format!("{} row {row}: the section ends", spec.name)))?;
        let mut de = serde_json::Deserializer::from_slice(text);
        *cells = RowSeed {
            spec,
            present,
            line: row as usize,
        }
        .deserialize(&mut de)
        .map_err(|e| content(e.to_string()))?;
        self.remaining -= 1;
        Ok(true)
    }
}

/// Decodes a whole section into memory (for checks and inspection; restores stream instead).
pub fn decode_area(area: AuditScope, format: u32, plaintext: Vec<u8>) -> Result<AreaRows, String> {
    let mut source = LinesSource::new(area, format, Whole::new(plaintext))?;
    let keys = source.carried().to_vec();
    let mut tables = Vec::new();
    while let Some(spec) = source.next_table().map_err(|e| e.to_string())? {
        let mut rows = Vec::new();
        let mut cells = Vec::new();
        while source.next_row(&mut cells).map_err(|e| e.to_string())? {
            rows.push(std::mem::take(&mut cells));
        }
        tables.push(TableRows {
            table: spec.name,
            rows,
        });
    }
    if tables.len() != tables_of(area).len() {
        return Err(format!(
            "the section holds {} tables, the schema {}",
            tables.len(),
            tables_of(area).len()
        ));
    }
    Ok(AreaRows { area, tables, keys })
}

struct RowSeed {
    spec: &'static TableSpec,
    /// How many of the columns the file holds; the rest (added later) read as NULL.
    present: usize,
    line: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed {
    type Value = Vec<Cell>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Cell>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed {
    type Value = Vec<Cell>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "row {} of {}", self.line, self.spec.name)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Cell>, A::Error> {
        let mut cells = Vec::with_capacity(self.spec.columns.len());
        for (name, col) in &self.spec.columns[..self.present] {
            let value = seq.next_element::<RawCell>()?.ok_or_else(|| {
                de::Error::custom(format!(
                    "{} row {}: wrong number of values",
                    self.spec.name, self.line
                ))
            })?;
            cells.push(value.into_cell(*col).ok_or_else(|| {
                de::Error::custom(format!(
                    "{} row {}, column {name}: not a valid value",
                    self.spec.name, self.line
                ))
            })?);
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "{} row {}: wrong number of values",
                self.spec.name, self.line
            )));
        }
        cells.resize(self.spec.columns.len(), Cell::Null);
        Ok(cells)
    }
}

/// One JSON value of a row before its column type is applied.
enum RawCell {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawCell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Raw;
        impl Visitor<'_> for Raw {
            type Value = RawCell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null, a boolean, an integer or a string")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawCell, E> {
                Ok(RawCell::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawCell, E> {
                Ok(RawCell::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCell, E> {
                Ok(RawCell::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCell, E> {
                i64::try_from(v)
                    .map(RawCell::Int)
                    .map_err(|_| E::custom("an integer out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCell, E> {
                Ok(RawCell::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawCell, E> {
                Ok(RawCell::Text(v))
            }
        }
        d.deserialize_any(Raw)
    }
}

impl RawCell {
    fn into_cell(self, col: Col) -> Option<Cell> {
        Some(match (self, col) {
            (RawCell::Null, _) => Cell::Null,
            (RawCell::Text(s), Col::Text) => Cell::Text(s),
            (RawCell::Int(n), Col::I16 | Col::I32 | Col::I64) => Cell::Int(n),
            (RawCell::Bool(b), Col::Bool) => Cell::Bool(b),
            (RawCell::Text(s), Col::Bytes) => Cell::Bytes(B64.decode(s).ok()?),
            (RawCell::Text(s), Col::Time) => {
                Cell::Time(DateTime::parse_from_rfc3339(&s).ok()?.with_timezone(&Utc))
            }
            (RawCell::Text(s), Col::Date) => {
                Cell::Date(NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::check::check_section;
    use vrs_domain::MunicipalityCode;

    fn area() -> AuditScope {
        AuditScope::Area(MunicipalityCode::parse("382060").unwrap())
    }

    /// A section with one row in `audit_heads` and every other table empty, written as a snapshot
    /// writes it.
    fn section() -> Vec<u8> {
        section_of(FORMAT, true)
    }

    /// The same, as a file of `format` holds it, with or without the chain head.
    fn section_of(format: u32, with_head: bool) -> Vec<u8> {
        let mut w = SectionWriter::of_format(true, format);
        w.area(
            area(),
            vec![CarriedKey {
                version: 1,
                wrapped: vec![1, 2, 3],
            }],
        )
        .unwrap();
        for t in tables_of(area()).iter().filter(|t| !added_after(format, t)) {
            let heads = with_head && t.name == "audit_heads";
            w.table(t, u64::from(heads)).unwrap();
            if heads {
                w.row(&[
                    Cell::Text("382060".into()),
                    Cell::Int(3),
                    Cell::Bytes(vec![7; 32]),
                ])
                .unwrap();
            }
        }
        // The writer leaves out the columns later formats added (format 1 had no moved_in_from).
        w.take().remove(0).plaintext
    }

    #[test]
    fn an_area_round_trips_through_its_section() {
        let back = decode_area(area(), FORMAT, section()).unwrap();
        assert_eq!(back.rows("audit_heads").len(), 1);
        assert_eq!(back.rows("audit_heads")[0][1], Cell::Int(3));
        assert_eq!(back.keys[0].wrapped, vec![1, 2, 3]);
        assert_eq!(AreaManifest::of(&back).chain_heads["382060"].0, 3);
    }

    #[test]
    fn a_section_that_does_not_fit_the_schema_is_named() {
        let text = String::from_utf8(section()).unwrap();
        let cases = [
            (
                text.replace("[\"382060\",3,", "[\"382060\",\"three\","),
                "audit_heads row 1, column seq",
            ),
            (
                text.replace("\"seq\"", "\"sequence\""),
                "audit_log has columns",
            ),
            (text.replace("[\"382060\",3,", "[3,"), "audit_heads row 1"),
            (
                text.replace("\"audit_heads\"", "\"audit_tails\""),
                "audit_tails came where audit_heads",
            ),
            (
                text.replacen("382060", "131016", 1),
                "the section says area 131016",
            ),
            (
                text.replace("\"rows\":1", "\"rows\":2"),
                "audit_heads row 2",
            ),
        ];
        for (bad, says) in cases {
            let err = decode_area(area(), FORMAT, bad.into_bytes()).unwrap_err();
            assert!(err.contains(says), "{says}: {err}");
        }
    }

    #[test]
    fn a_format_4_section_reads_without_the_kanji_index() {
        let old = section_of(4, true);
        let text = String::from_utf8(old.clone()).unwrap();
        assert!(text.contains("\"birth_index\"") && !text.contains("kanji_birth_index"));
        assert_eq!(
            decode_area(area(), 4, old.clone())
                .unwrap()
                .rows("audit_heads")
                .len(),
            1
        );
        let err = decode_area(area(), FORMAT, old).unwrap_err();
        assert!(err.contains("table residents has columns"), "{err}");
    }

    #[test]
    fn a_format_1_section_reads_without_the_carried_terms() {
        let back = decode_area(area(), 1, section_of(1, true)).unwrap();
        assert!(back.rows("terms_versions").is_empty());
        assert_eq!(back.rows("audit_heads").len(), 1);
        // Checked against its manifest (a section without chain entries, so without a head).
        let old = section_of(1, false);
        let back = decode_area(area(), 1, old.clone()).unwrap();
        // Its manifest, as format 1 wrote it, lists no carried table.
        let mut listed = AreaManifest::of(&back).rows;
        listed.remove("terms_versions");
        let checked = check_section(
            area(),
            1,
            old.clone(),
            &AreaManifest {
                rows: listed,
                ..AreaManifest::of(&back)
            },
        );
        assert!(checked.is_ok(), "{checked:?}");
        // Read as format 2 it lacks what format 2 added, named.
        let err = decode_area(area(), 2, old).unwrap_err();
        assert!(err.contains("table residents has columns"), "{err}");
        let no_terms = String::from_utf8(section_of(2, false))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"terms_versions\""))
            .collect::<Vec<_>>()
            .join("\n");
        let err = decode_area(area(), 2, no_terms.into_bytes()).unwrap_err();
        assert!(
            err.contains("terms_agreements came where terms_versions"),
            "{err}"
        );
    }
}
