//! The content of a backup file: the manifest (plaintext, authenticated by every section) and each
//! area's section (JSON of typed rows, sealed by `vrs_crypto::backup`). Rows are arrays in the
//! table's column order; byte strings are Base64, times RFC 3339 with microseconds, dates ISO.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use vrs_store::backup::tables_of;
use vrs_store::{AreaRows, AuditScope, CarriedKey, Cell, Col, TableRows, TableSpec};

/// The version of the format this code writes and reads.
pub const FORMAT: u32 = 1;

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
struct KeyJson {
    version: u32,
    wrapped: String,
}

/// A section as written: cells go to JSON one by one, with no intermediate tree.
#[derive(Serialize)]
struct SectionOut<'a> {
    area: &'a str,
    keys: Vec<KeyJson>,
    tables: Vec<TableOut<'a>>,
}

#[derive(Serialize)]
struct TableOut<'a> {
    table: &'a str,
    columns: Vec<&'a str>,
    rows: RowsOut<'a>,
}

struct RowsOut<'a>(&'a [Vec<Cell>]);

impl Serialize for RowsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(&CellsOut(row))?;
        }
        seq.end()
    }
}

struct CellsOut<'a>(&'a [Cell]);

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

/// The section plaintext of an area.
pub fn encode_area(rows: &AreaRows) -> Vec<u8> {
    let section = SectionOut {
        area: rows.area.code(),
        keys: rows
            .keys
            .iter()
            .map(|k| KeyJson {
                version: k.version,
                wrapped: B64.encode(&k.wrapped),
            })
            .collect(),
        tables: rows
            .tables
            .iter()
            .map(|t| TableOut {
                table: t.table,
                columns: tables_of(rows.area)
                    .iter()
                    .find(|s| s.name == t.table)
                    .map(|s| s.columns.iter().map(|(c, _)| *c).collect())
                    .unwrap_or_default(),
                rows: RowsOut(&t.rows),
            })
            .collect(),
    };
    // Serialising plain data (strings, numbers, arrays) cannot fail.
    serde_json::to_vec(&section).unwrap_or_default()
}

/// Reads an area's section plaintext back into rows, checking every table and column against the
/// schema this version knows. The error names the table, row and column.
pub fn decode_area(area: AuditScope, plaintext: &[u8]) -> Result<AreaRows, String> {
    let mut de = serde_json::Deserializer::from_slice(plaintext);
    let section = SectionSeed { area }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let (code, keys, mut found) = section;
    if code != area.code() {
        return Err(format!(
            "the section says area {code}, its header says {}",
            area.code()
        ));
    }
    let mut tables = Vec::new();
    for spec in tables_of(area) {
        let Some(i) = found.iter().position(|t| t.table == spec.name) else {
            return Err(format!("table {} is missing", spec.name));
        };
        tables.push(found.swap_remove(i));
    }
    let keys = keys
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
    Ok(AreaRows { area, tables, keys })
}

/// Reads `{"area", "keys", "tables"}` straight into cells, table by table, row by row.
struct SectionSeed {
    area: AuditScope,
}

type Section = (String, Vec<KeyJson>, Vec<TableRows>);

impl<'de> DeserializeSeed<'de> for SectionSeed {
    type Value = Section;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Section, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed {
    type Value = Section;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a backup section")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Section, A::Error> {
        let (mut code, mut keys, mut tables) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "area" => code = Some(map.next_value::<String>()?),
                "keys" => keys = Some(map.next_value::<Vec<KeyJson>>()?),
                "tables" => tables = Some(map.next_value_seed(TablesSeed { area: self.area })?),
                other => return Err(de::Error::unknown_field(other, &["area", "keys", "tables"])),
            }
        }
        Ok((
            code.ok_or_else(|| de::Error::missing_field("area"))?,
            keys.ok_or_else(|| de::Error::missing_field("keys"))?,
            tables.ok_or_else(|| de::Error::missing_field("tables"))?,
        ))
    }
}

struct TablesSeed {
    area: AuditScope,
}

impl<'de> DeserializeSeed<'de> for TablesSeed {
    type Value = Vec<TableRows>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<TableRows>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TablesSeed {
    type Value = Vec<TableRows>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of tables")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<TableRows>, A::Error> {
        let mut out = Vec::new();
        while let Some(t) = seq.next_element_seed(TableSeed { area: self.area })? {
            out.push(t);
        }
        Ok(out)
    }
}

struct TableSeed {
    area: AuditScope,
}

impl<'de> DeserializeSeed<'de> for TableSeed {
    type Value = TableRows;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TableRows, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableSeed {
    type Value = TableRows;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a table: its name, columns and rows, in that order")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TableRows, A::Error> {
        let mut spec: Option<&'static TableSpec> = None;
        let mut rows = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "table" => {
                    let name = map.next_value::<String>()?;
                    spec = Some(
                        tables_of(self.area)
                            .iter()
                            .find(|s| s.name == name)
                            .ok_or_else(|| de::Error::custom(format!("unknown table {name}")))?,
                    );
                }
                "columns" => {
                    let columns = map.next_value::<Vec<String>>()?;
                    let spec =
                        spec.ok_or_else(|| de::Error::custom("columns before the table name"))?;
                    let expected: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
                    if columns != expected {
                        return Err(de::Error::custom(format!(
                            "table {} has columns {columns:?}, this version expects {expected:?}",
                            spec.name
                        )));
                    }
                }
                "rows" => {
                    let spec =
                        spec.ok_or_else(|| de::Error::custom("rows before the table name"))?;
                    rows = Some(map.next_value_seed(RowsSeed { spec })?);
                }
                other => {
                    return Err(de::Error::unknown_field(
                        other,
                        &["table", "columns", "rows"],
                    ))
                }
            }
        }
        let spec = spec.ok_or_else(|| de::Error::missing_field("table"))?;
        Ok(TableRows {
            table: spec.name,
            rows: rows.ok_or_else(|| de::Error::missing_field("rows"))?,
        })
    }
}

struct RowsSeed {
    spec: &'static TableSpec,
}

impl<'de> DeserializeSeed<'de> for RowsSeed {
    type Value = Vec<Vec<Cell>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed {
    type Value = Vec<Vec<Cell>>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "the rows of {}", self.spec.name)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed {
            spec: self.spec,
            line: rows.len() + 1,
        })? {
            rows.push(row);
        }
        Ok(rows)
    }
}

struct RowSeed {
    spec: &'static TableSpec,
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
        for (name, col) in self.spec.columns {
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
    use vrs_domain::MunicipalityCode;

    fn area() -> AuditScope {
        AuditScope::Area(MunicipalityCode::parse("382060").unwrap())
    }

    /// An area with one row in `audit_heads` and every other table empty.
    fn rows() -> AreaRows {
        let tables = tables_of(area())
            .iter()
            .map(|t| TableRows {
                table: t.name,
                rows: if t.name == "audit_heads" {
                    vec![vec![
                        Cell::Text("382060".into()),
                        Cell::Int(3),
                        Cell::Bytes(vec![7; 32]),
                    ]]
                } else {
                    Vec::new()
                },
            })
            .collect();
        AreaRows {
            area: area(),
            tables,
            keys: vec![CarriedKey {
                version: 1,
                wrapped: vec![1, 2, 3],
            }],
        }
    }

    #[test]
    fn an_area_round_trips_through_its_section() {
        let original = rows();
        let back = decode_area(area(), &encode_area(&original)).unwrap();
        assert_eq!(back.tables, original.tables);
        assert_eq!(back.keys, original.keys);
        let m = AreaManifest::of(&back);
        assert_eq!(m.chain_heads["382060"].0, 3);
    }

    #[test]
    fn a_section_that_does_not_fit_the_schema_is_named() {
        let text = String::from_utf8(encode_area(&rows())).unwrap();
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
                "unknown table audit_tails",
            ),
            (
                text.replacen("382060", "131016", 1),
                "the section says area 131016",
            ),
        ];
        for (bad, says) in cases {
            let err = decode_area(area(), bad.as_bytes()).unwrap_err();
            assert!(err.contains(says), "{says}: {err}");
        }
    }
}
