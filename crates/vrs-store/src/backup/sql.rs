//! The SQL both backends share to back up, restore and shred an area, and the checks of what a
//! restore brings: each table in its turn, each row of its table's shape.

use super::{Cell, Col, Filter, TableSpec};
use crate::audit::AuditScope;
use crate::{ConflictKind, StoreError};

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
