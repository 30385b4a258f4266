//! The content of a backup file: the manifest (plaintext, authenticated by every section) and each
//! area's section (JSON of typed rows, sealed by `vrs_crypto::backup`). Rows are arrays in the
//! table's column order; byte strings are Base64, times RFC 3339 with microseconds, dates ISO.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vrs_store::backup::tables_of;
use vrs_store::{AreaRows, AuditScope, CarriedKey, Cell, Col, TableRows};

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
struct SectionJson {
    area: String,
    keys: Vec<KeyJson>,
    tables: Vec<TableJson>,
}

#[derive(Serialize, Deserialize)]
struct KeyJson {
    version: u32,
    wrapped: String,
}

#[derive(Serialize, Deserialize)]
struct TableJson {
    table: String,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

fn cell_json(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::from(*i),
        Cell::Text(t) => Value::from(t.as_str()),
        Cell::Bytes(b) => Value::from(B64.encode(b)),
        Cell::Bool(b) => Value::from(*b),
        Cell::Time(t) => Value::from(t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        Cell::Date(d) => Value::from(d.to_string()),
    }
}

fn json_cell(value: &Value, col: Col) -> Option<Cell> {
    Some(match (value, col) {
        (Value::Null, _) => Cell::Null,
        (Value::String(s), Col::Text) => Cell::Text(s.clone()),
        (Value::Number(n), Col::I16 | Col::I32 | Col::I64) => Cell::Int(n.as_i64()?),
        (Value::Bool(b), Col::Bool) => Cell::Bool(*b),
        (Value::String(s), Col::Bytes) => Cell::Bytes(B64.decode(s).ok()?),
        (Value::String(s), Col::Time) => {
            Cell::Time(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc))
        }
        (Value::String(s), Col::Date) => Cell::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?),
        _ => return None,
    })
}

/// The section plaintext of an area.
pub fn encode_area(rows: &AreaRows) -> Vec<u8> {
    let section = SectionJson {
        area: rows.area.code().to_owned(),
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
            .map(|t| TableJson {
                table: t.table.to_owned(),
                columns: tables_of(rows.area)
                    .iter()
                    .find(|s| s.name == t.table)
                    .map(|s| s.columns.iter().map(|(c, _)| (*c).to_owned()).collect())
                    .unwrap_or_default(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(cell_json).collect())
                    .collect(),
            })
            .collect(),
    };
    // Serialising plain data (strings, numbers, arrays) cannot fail.
    serde_json::to_vec(&section).unwrap_or_default()
}

/// Reads an area's section plaintext back into rows, checking every table and column against the
/// schema this version knows. The error names the table, row and column.
pub fn decode_area(area: AuditScope, plaintext: &[u8]) -> Result<AreaRows, String> {
    let section: SectionJson = serde_json::from_slice(plaintext)
        .map_err(|e| format!("the section is not readable: {e}"))?;
    if section.area != area.code() {
        return Err(format!(
            "the section says area {}, its header says {}",
            section.area,
            area.code()
        ));
    }
    let mut tables = Vec::new();
    for spec in tables_of(area) {
        let Some(t) = section.tables.iter().find(|t| t.table == spec.name) else {
            return Err(format!("table {} is missing", spec.name));
        };
        let expected: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
        if t.columns != expected {
            return Err(format!(
                "table {} has columns {:?}, this version expects {:?}",
                spec.name, t.columns, expected
            ));
        }
        let mut rows = Vec::with_capacity(t.rows.len());
        for (i, row) in t.rows.iter().enumerate() {
            if row.len() != spec.columns.len() {
                return Err(format!(
                    "{} row {}: wrong number of values",
                    spec.name,
                    i + 1
                ));
            }
            let cells = row
                .iter()
                .zip(spec.columns)
                .map(|(v, (name, col))| {
                    json_cell(v, *col).ok_or_else(|| {
                        format!(
                            "{} row {}, column {name}: not a valid value",
                            spec.name,
                            i + 1
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(cells);
        }
        tables.push(TableRows {
            table: spec.name,
            rows,
        });
    }
    let keys = section
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
    Ok(AreaRows { area, tables, keys })
}
