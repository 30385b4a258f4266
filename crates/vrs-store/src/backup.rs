//! What a backup holds, table by table, in a form both backends read and write the same way.
//!
//! A backup is made of *areas*: each municipality's, and the deployment's own (`000000`: accounts
//! without a municipality, account applications, terms, function states, and the audit chains of the
//! nation and the prefectures). Rows travel as typed cells; sealed fields stay sealed, and the area's
//! data keys travel re-wrapped by the area's backup key, which only the key vault holds.
//! Statistics, sessions and idempotency keys are derived or transient and are not backed up.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::backup::BackupKey;
use vrs_domain::MunicipalityCode;

use crate::audit::AuditScope;
use crate::ConflictKind;
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

use Col::*;

const AUDIT_LOG: &[(&str, Col)] = &[
    ("municipality_code", Text),
    ("seq", I64),
    ("at", Time),
    ("actor", Text),
    ("role", Text),
    ("terminal", Text),
    ("action", Text),
    ("target", Text),
    ("outcome", Text),
    ("detail", Text),
    ("hash", Bytes),
];
const TERMS_VERSIONS: &[(&str, Col)] = &[
    ("kind", Text),
    ("version", I32),
    ("title", Text),
    ("body", Text),
    ("published_by", Text),
    ("published_at", Time),
];
const AUDIT_HEADS: &[(&str, Col)] = &[("municipality_code", Text), ("seq", I64), ("hash", Bytes)];
const ACCOUNTS: &[(&str, Col)] = &[
    ("user_id", Text),
    ("role", Text),
    ("municipality_code", Text),
    ("prefecture_code", I16),
    ("display_name", Text),
    ("password_hash", Text),
    ("must_change_password", Bool),
    ("failed_logins", I32),
    ("locked_until", Time),
    ("disabled", Bool),
    ("issued_by", Text),
    ("created_at", Time),
];

/// A municipality's tables, parents before children (restore inserts in this order, shredding
/// deletes in the reverse).
pub const AREA_TABLES: &[TableSpec] = &[
    TableSpec {
        name: "municipalities",
        columns: &[("municipality_code", Text), ("activated_at", Time)],
        order_by: "municipality_code",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "accounts",
        columns: ACCOUNTS,
        order_by: "user_id",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "residents",
        columns: &[
            ("municipality_code", Text),
            ("atena_number", Text),
            ("my_number_index", Bytes),
            ("my_number_enc", Bytes),
            ("coupon_number", Text),
            ("name_enc", Bytes),
            ("name_kana_enc", Bytes),
            ("birth_date_enc", Bytes),
            ("sex", I16),
            ("moved_out_on", Date),
            ("deceased_on", Date),
            ("content_mac", Bytes),
            ("updated_at", Time),
            ("kana_birth_index", Bytes),
            ("moved_in_from", Text),
            ("birth_index", Bytes),
            ("kanji_birth_index", Bytes),
        ],
        order_by: "atena_number",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "doses",
        columns: &[
            ("municipality_code", Text),
            ("atena_number", Text),
            ("dose_number", I16),
            ("administered_on", Date),
            ("product_code", Text),
            ("lot_number", Text),
            ("site_municipality_code", Text),
            ("coupon_number", Text),
            ("recorded_at", Time),
            ("venue", Text),
            ("doctor", Text),
            ("source", Text),
            ("recorded_by", Text),
            ("received_from", Text),
        ],
        order_by: "atena_number, dose_number",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "provision_records",
        columns: &[
            ("municipality_code", Text),
            ("side", Text),
            ("inquiry_id", Text),
            ("counterpart_code", Text),
            ("at", Time),
            ("actor", Text),
            ("terminal", Text),
            ("consent", Text),
            ("atena_number", Text),
            ("found", Bool),
        ],
        order_by: "side, inquiry_id",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "provision_doses",
        columns: &[
            ("municipality_code", Text),
            ("side", Text),
            ("inquiry_id", Text),
            ("dose_number", I16),
            ("administered_on", Date),
            ("product_code", Text),
            ("lot_number", Text),
            ("coupon_number", Text),
            ("site_municipality_code", Text),
        ],
        order_by: "side, inquiry_id, dose_number",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "terms_versions",
        columns: TERMS_VERSIONS,
        order_by: "kind, version",
        filter: Filter::TermsOfArea,
        since: 2,
    },
    TableSpec {
        name: "terms_agreements",
        columns: &[
            ("municipality_code", Text),
            ("kind", Text),
            ("version", I32),
            ("agreed_by", Text),
            ("agreed_at", Time),
        ],
        order_by: "kind, version",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "certificate_issues",
        columns: &[
            ("municipality_code", Text),
            ("certificate_id", Text),
            ("issued_at", Time),
            ("channel", Text),
            ("kind", Text),
            ("name_enc", Bytes),
            ("birth_date_enc", Bytes),
            ("nationality_enc", Bytes),
            ("passport_number_enc", Bytes),
            ("person_index", Bytes),
            ("stated_doses", I32),
            ("stated_digest", Bytes),
            ("shc_kid", Text),
            ("dsc_kid", Text),
            ("status", Text),
            ("status_at", Time),
            ("status_reason", Text),
            ("replaces", Text),
        ],
        order_by: "certificate_id",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "inquiry_jobs",
        columns: &[
            ("municipality_code", Text),
            ("batch", Text),
            ("created_by", Text),
            ("created_at", Time),
            ("row_count", I32),
            ("found", I32),
            ("not_found", I32),
            ("refused", I32),
            ("invalid", I32),
            ("results_csv", Text),
        ],
        order_by: "batch",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "duplicate_candidates",
        columns: &[
            ("municipality_code", Text),
            ("candidate_id", Text),
            ("kind", Text),
            ("atena_a", Text),
            ("atena_b", Text),
            ("other_municipality", Text),
            ("found_at", Time),
            ("status", Text),
            ("decided_by", Text),
            ("decided_at", Time),
            ("merge_id", Text),
        ],
        order_by: "candidate_id",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "person_merges",
        columns: &[
            ("municipality_code", Text),
            ("merge_id", Text),
            ("kept_atena", Text),
            ("merged_atena", Text),
            ("merged_at", Time),
            ("merged_by", Text),
            ("snapshot", Bytes),
            ("after_digest", Bytes),
            ("undone_at", Time),
            ("undone_by", Text),
        ],
        order_by: "merge_id",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "audit_log",
        columns: AUDIT_LOG,
        order_by: "seq",
        filter: Filter::Municipality,
        since: 1,
    },
    TableSpec {
        name: "audit_heads",
        columns: AUDIT_HEADS,
        order_by: "municipality_code",
        filter: Filter::Municipality,
        since: 1,
    },
];

/// The deployment's own tables.
pub const DEPLOYMENT_TABLES: &[TableSpec] = &[
    TableSpec {
        name: "accounts",
        columns: ACCOUNTS,
        order_by: "user_id",
        filter: Filter::NoMunicipality,
        since: 1,
    },
    TableSpec {
        name: "account_applications",
        columns: &[
            ("id", I64),
            ("municipality_code", Text),
            ("applicant", Text),
            ("display_name", Text),
            ("role", Text),
            ("status", Text),
            ("applied_at", Time),
            ("decided_by", Text),
            ("decided_at", Time),
            ("issued_user_id", Text),
        ],
        order_by: "id",
        filter: Filter::All,
        since: 1,
    },
    TableSpec {
        name: "terms_versions",
        columns: TERMS_VERSIONS,
        order_by: "kind, version",
        filter: Filter::All,
        since: 1,
    },
    TableSpec {
        name: "revoked_tombstones",
        columns: &[
            ("municipality_code", Text),
            ("certificate_id", Text),
            ("kind", Text),
            ("shc_kid", Text),
            ("dsc_kid", Text),
            ("revoked_at", Time),
        ],
        order_by: "municipality_code, certificate_id",
        filter: Filter::All,
        since: 2,
    },
    TableSpec {
        name: "function_states",
        columns: &[
            ("function", Text),
            ("stopped", Bool),
            ("reason", Text),
            ("changed_by", Text),
            ("changed_at", Time),
        ],
        order_by: "function",
        filter: Filter::All,
        since: 1,
    },
    TableSpec {
        name: "audit_log",
        columns: AUDIT_LOG,
        order_by: "municipality_code, seq",
        filter: Filter::NotMunicipality,
        since: 1,
    },
    TableSpec {
        name: "audit_heads",
        columns: AUDIT_HEADS,
        order_by: "municipality_code",
        filter: Filter::NotMunicipality,
        since: 1,
    },
];

/// The tables of an area: a municipality's, or the deployment's for [`AuditScope::National`].
pub fn tables_of(area: AuditScope) -> &'static [TableSpec] {
    match area {
        AuditScope::National => DEPLOYMENT_TABLES,
        AuditScope::Area(_) => AREA_TABLES,
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

/// Keeps what the public revocation lists need of the area's revoked certificates (no personal
/// field) before a shred deletes its issuance history (same SQL on both backends).
pub(crate) const TOMBSTONE_REVOKED: &str = "INSERT INTO revoked_tombstones \
     (municipality_code, certificate_id, kind, shc_kid, dsc_kid, revoked_at) \
     SELECT municipality_code, certificate_id, kind, shc_kid, dsc_kid, COALESCE(status_at, issued_at) \
     FROM certificate_issues WHERE municipality_code = $1 AND status = 'revoked'";

/// Derived and transient tables of an area: not backed up, deleted by a shred.
pub(crate) const AREA_EXTRA_TABLES: &[&str] = &[
    "idempotency_keys",
    "stat_daily",
    "stat_products",
    "stat_ages",
    "stat_coverage",
    "stat_open",
    "stat_totals",
    "stat_state",
];

/// The rows of `spec` that belong to an area; `p` is the backend's placeholder for the area code.
pub(crate) fn where_clause(spec: &TableSpec, p: &str) -> String {
    match spec.filter {
        Filter::Municipality => format!("WHERE municipality_code = {p}"),
        Filter::TermsOfArea => format!(
            "WHERE (kind, version) IN \
             (SELECT kind, version FROM terms_agreements WHERE municipality_code = {p})"
        ),
        Filter::All => String::new(),
        Filter::NoMunicipality => "WHERE municipality_code IS NULL".into(),
        Filter::NotMunicipality => {
            "WHERE municipality_code NOT IN (SELECT municipality_code FROM municipalities)".into()
        }
    }
}

/// Whether the area code is bound as a parameter in [`where_clause`].
pub(crate) fn binds_code(spec: &TableSpec) -> bool {
    matches!(spec.filter, Filter::Municipality | Filter::TermsOfArea)
}

/// The key and text of a carried terms version, to merge into the target deployment.
pub(crate) struct CarriedTerms<'a> {
    pub kind: &'a str,
    pub version: i64,
    pub title: &'a str,
    pub body: &'a str,
}

impl<'a> CarriedTerms<'a> {
    pub(crate) fn of(row: &'a [Cell]) -> Result<Self, StoreError> {
        match row {
            [Cell::Text(kind), Cell::Int(version), Cell::Text(title), Cell::Text(body), ..] => {
                Ok(Self {
                    kind,
                    version: *version,
                    title,
                    body,
                })
            }
            _ => Err(StoreError::Corrupt(
                "a carried terms version is malformed".into(),
            )),
        }
    }

    /// The refusal when the target holds this version with another text.
    pub(crate) fn differs(&self, area: &str) -> StoreError {
        StoreError::Conflict(ConflictKind::TermsDiffer {
            area: area.to_owned(),
            kind: self.kind.to_string(),
            version: self.version,
        })
    }
}

/// The refusal when an agreement refers to a terms version the target lacks and the backup does
/// not carry (files of format 1).
pub(crate) fn terms_missing(area: &str, row: &[Cell]) -> StoreError {
    let (kind, version) = match row {
        [_, Cell::Text(kind), Cell::Int(version), ..] => (kind.as_str(), *version),
        _ => ("?", 0),
    };
    StoreError::Conflict(ConflictKind::TermsMissing {
        area: area.to_owned(),
        kind: kind.to_owned(),
        version,
    })
}

pub(crate) fn select_sql(spec: &TableSpec, p: &str) -> String {
    format!(
        "SELECT {} FROM {} {} ORDER BY {}",
        spec.column_list(),
        spec.name,
        where_clause(spec, p),
        spec.order_by
    )
}

pub(crate) fn count_sql(spec: &TableSpec, p: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM {} {}",
        spec.name,
        where_clause(spec, p)
    )
}

/// `INSERT INTO t (cols) VALUES (p1, p2, …)` with the backend's numbered placeholders.
pub(crate) fn insert_sql(spec: &TableSpec, placeholder: char) -> String {
    let values = (1..=spec.columns.len())
        .map(|i| format!("{placeholder}{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {} ({}) VALUES ({values})",
        spec.name,
        spec.column_list()
    )
}

/// Checks that a row brought for restore has the table's shape, naming the column that does not.
pub(crate) fn check_row(spec: &TableSpec, row: &[Cell]) -> Result<(), StoreError> {
    if row.len() != spec.columns.len() {
        return Err(StoreError::Corrupt(format!(
            "a row of {} has {} values, the table has {} columns",
            spec.name,
            row.len(),
            spec.columns.len()
        )));
    }
    for ((name, col), cell) in spec.columns.iter().zip(row) {
        let fits = matches!(
            (col, cell),
            (_, Cell::Null)
                | (Col::Text, Cell::Text(_))
                | (Col::I16 | Col::I32 | Col::I64, Cell::Int(_))
                | (Col::Bool, Cell::Bool(_))
                | (Col::Bytes, Cell::Bytes(_))
                | (Col::Time, Cell::Time(_))
                | (Col::Date, Cell::Date(_))
        );
        if !fits {
            return Err(StoreError::Corrupt(format!(
                "{}.{name} holds a value of the wrong type",
                spec.name
            )));
        }
    }
    Ok(())
}

/// The summary a shred records: `table=count` pairs of the rows it deleted.
pub(crate) fn deleted_summary(counts: &[(&str, u64)]) -> String {
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The detail of the national audit entry a shred appends.
pub(crate) fn shred_detail(
    given: &str,
    consent: &str,
    deleted: &str,
    head: Option<(i64, Vec<u8>)>,
) -> String {
    let head = match head {
        Some((seq, hash)) => format!("seq {seq} hash {}", hex_lower(&hash)),
        None => "empty".into(),
    };
    let mut out = format!("consent {consent}; deleted {deleted}; area chain head {head}");
    if !given.is_empty() {
        out = format!("{given}; {out}");
    }
    out
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that a restore source gives the table the schema expects next.
pub(crate) fn expect_table(
    spec: &TableSpec,
    given: Option<&'static TableSpec>,
) -> Result<(), StoreError> {
    match given {
        Some(t) if t.name == spec.name => Ok(()),
        Some(t) => Err(StoreError::Corrupt(format!(
            "table {} came where {} was expected",
            t.name, spec.name
        ))),
        None => Err(StoreError::Corrupt(format!(
            "table {} is missing",
            spec.name
        ))),
    }
}

/// Checks that a restore source has no table after the area's last.
pub(crate) fn expect_end(
    area: AuditScope,
    given: Option<&'static TableSpec>,
) -> Result<(), StoreError> {
    match given {
        None => Ok(()),
        Some(t) => Err(StoreError::Corrupt(format!(
            "area {area} has an unexpected table {} at its end",
            t.name
        ))),
    }
}

/// Backups of an area, their key vault, restore, and crypto-shredding.
#[async_trait]
pub trait BackupStore: Send + Sync {
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
