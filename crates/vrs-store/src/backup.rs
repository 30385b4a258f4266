//! What a backup holds, table by table, in a form both backends read and write the same way.
//!
//! A backup is made of *areas*: each municipality's, and the deployment's own (`000000`: accounts
//! without a municipality, account applications, terms, function states, and the audit chains of the
//! nation and the prefectures). Rows travel as typed cells; sealed fields stay sealed, and the area's
//! data keys travel re-wrapped by the area's backup key, which only the key vault holds.
//! Statistics, sessions and idempotency keys are derived or transient and are not backed up.

mod sql;
mod tables;

pub(crate) use sql::{
    binds_code, check_row, count_sql, deleted_summary, expect_end, expect_table, insert_sql,
    select_sql, shred_detail, terms_missing, CarriedTerms, AREA_EXTRA_TABLES, TOMBSTONE_REVOKED,
};
pub use tables::{tables_of, AREA_TABLES, DEPLOYMENT_TABLES};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::backup::BackupKey;
use vrs_domain::MunicipalityCode;

use crate::audit::AuditScope;
use crate::{AuditEntry, StoreError};

/// A column's type, as both backends store it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Text,
    /// SMALLINT on PostgreSQL.
    I16,
    /// INTEGER on PostgreSQL.
    I32,
    /// BIGINT on PostgreSQL.
    I64,
    Bool,
    Bytes,
    Time,
    Date,
}

/// One stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// Which rows of a table belong to an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `municipality_code` equals the area's code.
    Municipality,
    /// The deployment's terms versions the area's agreements refer to: carried with the area so
    /// that it restores into another deployment, and merged there (added when absent, required to
    /// be the same text when present). The deployment owns them: a shred leaves them.
    TermsOfArea,
    /// Every row (deployment tables).
    All,
    /// Rows without a municipality (`municipality_code IS NULL`).
    NoMunicipality,
    /// Rows whose code is not an opened municipality (national and prefectural audit chains).
    NotMunicipality,
}

/// A table as backups see it: its columns in order and the key that orders its rows.
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Col)],
    pub order_by: &'static str,
    pub filter: Filter,
    /// The backup format that added the table to its area's section (older files lack it).
    pub since: u32,
}

/// Columns added to a table after the first backup format, each the last of its table when it was
/// added: `(table, column, format)`. Older files lack them, and they read as NULL.
const ADDED_COLUMNS: &[(&str, &str, u32)] = &[
    ("residents", "moved_in_from", 2),
    ("residents", "birth_index", 4),
    ("residents", "kanji_birth_index", 5),
];

impl TableSpec {
    /// How many of the table's columns, from the first, a backup of `format` holds.
    pub fn columns_in_format(&self, format: u32) -> usize {
        let later = ADDED_COLUMNS
            .iter()
            .filter(|(table, _, since)| *table == self.name && *since > format)
            .count();
        self.columns.len().saturating_sub(later)
    }

    /// Whether the area owns the table's rows (deleted with the area, inserted as they come);
    /// otherwise they are the deployment's rows it refers to.
    pub fn owned_by_area(&self) -> bool {
        self.filter != Filter::TermsOfArea
    }

    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The rows of one table of an area, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: Vec<Vec<Cell>>,
}

/// One of the area's data keys, wrapped by the area's backup key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedKey {
    pub version: u32,
    pub wrapped: Vec<u8>,
}

/// Everything of one area a backup carries, read in one transaction with the other areas.
#[derive(Debug)]
pub struct AreaRows {
    pub area: AuditScope,
    pub tables: Vec<TableRows>,
    pub keys: Vec<CarriedKey>,
}

impl AreaRows {
    /// The rows of `table`, empty when the area has none.
    pub fn rows(&self, table: &str) -> &[Vec<Cell>] {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map(|t| t.rows.as_slice())
            .unwrap_or_default()
    }
}

/// An area with the backup key its data keys are wrapped by, all rows in memory ([`collect`]).
#[derive(Debug)]
pub struct KeyedArea {
    pub rows: AreaRows,
    pub key: BackupKey,
}

/// Receives a snapshot as it is read, inside the snapshot's one read transaction: each area with its
/// data keys (wrapped by its backup key), then each of its tables in [`tables_of`] order with its
/// row count, then that many rows. Nothing of the snapshot needs to be held in memory at once.
pub trait SnapshotSink: Send {
    fn area(&mut self, area: AuditScope, keys: Vec<CarriedKey>) -> Result<(), StoreError>;
    fn table(&mut self, table: &'static TableSpec, rows: u64) -> Result<(), StoreError>;
    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError>;
}

/// Gives a restore one area: its data keys first, then its rows, table by table in [`tables_of`]
/// order, row by row.
pub trait RestoreSource: Send {
    /// The area's data keys, wrapped by its backup key (asked once, before the first table).
    fn keys(&mut self) -> Result<Vec<CarriedKey>, StoreError>;
    /// The next table, or `None` after the last.
    fn next_table(&mut self) -> Result<Option<&'static TableSpec>, StoreError>;
    /// The next row of the current table into `cells`; false at the table's end.
    fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<bool, StoreError>;
}

/// One area to restore: its data keys and rows, and the backup key the data keys are wrapped by.
pub struct AreaRestore {
    pub area: AuditScope,
    pub key: BackupKey,
    pub source: Box<dyn RestoreSource>,
}

impl AreaRestore {
    /// An area whose rows are all in memory.
    pub fn from_rows(area: KeyedArea) -> Self {
        let KeyedArea { rows, key } = area;
        Self {
            area: rows.area,
            key,
            source: Box::new(RowsSource {
                keys: rows.keys,
                tables: rows.tables.into_iter(),
                current: Vec::new().into_iter(),
            }),
        }
    }
}

struct RowsSource {
    keys: Vec<CarriedKey>,
    tables: std::vec::IntoIter<TableRows>,
    current: std::vec::IntoIter<Vec<Cell>>,
}

impl RestoreSource for RowsSource {
    fn keys(&mut self) -> Result<Vec<CarriedKey>, StoreError> {
        Ok(std::mem::take(&mut self.keys))
    }

    fn next_table(&mut self) -> Result<Option<&'static TableSpec>, StoreError> {
        let Some(t) = self.tables.next() else {
            return Ok(None);
        };
        let spec = AREA_TABLES
            .iter()
            .chain(DEPLOYMENT_TABLES)
            .find(|s| s.name == t.table)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown table {}", t.table)))?;
        self.current = t.rows.into_iter();
        Ok(Some(spec))
    }

    fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<bool, StoreError> {
        Ok(match self.current.next() {
            Some(row) => {
                *cells = row;
                true
            }
            None => false,
        })
    }
}

/// Collects a snapshot in memory, into a list the caller keeps a handle to.
struct Collect(Arc<Mutex<Vec<AreaRows>>>);

impl Collect {
    fn with<T>(&self, f: impl FnOnce(&mut Vec<AreaRows>) -> Option<T>) -> Result<T, StoreError> {
        let mut areas = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut areas)
            .ok_or_else(|| StoreError::Other("rows came before their area or table".into()))
    }
}

impl SnapshotSink for Collect {
    fn area(&mut self, area: AuditScope, keys: Vec<CarriedKey>) -> Result<(), StoreError> {
        self.with(|areas| {
            areas.push(AreaRows {
                area,
                tables: Vec::new(),
                keys,
            });
            Some(())
        })
    }

    fn table(&mut self, table: &'static TableSpec, rows: u64) -> Result<(), StoreError> {
        self.with(|areas| {
            areas.last_mut()?.tables.push(TableRows {
                table: table.name,
                rows: Vec::with_capacity(usize::try_from(rows).unwrap_or(0)),
            });
            Some(())
        })
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        self.with(|areas| {
            areas
                .last_mut()?
                .tables
                .last_mut()?
                .rows
                .push(cells.to_vec());
            Some(())
        })
    }
}

/// A snapshot of `areas` with every row in memory (for checks and tests; backups stream instead).
pub async fn collect(
    store: &dyn crate::Store,
    areas: &[AuditScope],
) -> Result<Vec<KeyedArea>, StoreError> {
    let collected = Arc::new(Mutex::new(Vec::new()));
    let keys = store
        .snapshot(areas, Box::new(Collect(collected.clone())))
        .await?;
    let rows = std::mem::take(&mut *collected.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(rows
        .into_iter()
        .zip(keys)
        .map(|(rows, key)| KeyedArea { rows, key })
        .collect())
}

/// What the operator records when a municipality's area is destroyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShredRecord {
    pub municipality: vrs_domain::MunicipalityCode,
    pub consented_by: String,
    pub consent_reference: String,
    pub consented_at: DateTime<Utc>,
    pub shredded_by: Option<String>,
    pub shredded_at: Option<DateTime<Utc>>,
    /// Rows deleted, per table, as `table=count` pairs.
    pub deleted: String,
}

/// Backups of an area, their key vault, restore, and crypto-shredding.
#[async_trait]
pub trait BackupStore: crate::Scoped + Send + Sync {
    /// The area's backup key from the key vault; with `create`, a missing one is made and stored.
    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError>;

    /// Opens a vault entry from a key escrow file with this deployment's master key.
    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError>;

    /// A keyed pseudonym of a stranger's text (under the master key): recorded where the text
    /// itself must not be kept.
    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32];

    /// Every key-vault entry as stored (area code, backup key wrapped by the master key).
    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Stores a vault entry brought from a key escrow file; it must unwrap with this deployment's
    /// master key. An existing entry for the area is left as it is.
    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError>;

    /// Every row of `areas`, read in one transaction (a consistent snapshot while others write) and
    /// handed to `sink` as it is read, with each area's data keys re-wrapped by its backup key
    /// (created when missing). Returns the areas' backup keys, in order.
    async fn snapshot(
        &self,
        areas: &[AuditScope],
        sink: Box<dyn SnapshotSink>,
    ) -> Result<Vec<BackupKey>, StoreError>;

    /// Writes `areas` in one transaction, pulling their rows from each source: each area must be
    /// empty here; the data keys are unwrapped with the carried backup key and stored wrapped by this
    /// deployment's master key, and the backup key joins this deployment's vault. Nothing is written
    /// when any part fails.
    async fn restore_areas(&self, areas: Vec<AreaRestore>) -> Result<(), StoreError>;

    /// Records the municipality's consent to the destruction of its area (audited in its chain).
    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Destroys the municipality's area in one transaction: every row, its data keys and its backup
    /// key; appends `audit` (with the counts and the area chain's last head added to its detail) to
    /// the national chain. Refused without a recorded consent.
    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError>;

    /// The consent and (once done) the destruction recorded for the municipality's area.
    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError>;
}
