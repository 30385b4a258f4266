//! Reading a section back: its lines, from memory or from chunks as they open, checked table by
//! table and row by row against the schema this version knows.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use vrs_store::backup::tables_of;
use vrs_store::{
    AreaRows, AuditScope, CarriedKey, Cell, Col, RestoreSource, StoreError, TableRows, TableSpec,
};

use super::{added_after, AreaLine, TableLine};

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
