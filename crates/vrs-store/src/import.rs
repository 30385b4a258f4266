//! Bulk import of residents in one transaction, the same way on both backends: rows are sealed and
//! staged in a temporary table, then set-based SQL finds duplicates within the file and conflicts
//! with other people already in the area, and merges the rest. The caller decides what a refused row
//! means (all-or-nothing, or leave it out). A process killed at any point leaves the area exactly as
//! before, because nothing is committed until the end.
//!
//! The SQL below uses `$1` placeholders, which PostgreSQL numbers and SQLite treats as one named
//! parameter, so both backends run the same text.

use std::sync::Arc;

use async_trait::async_trait;
use vrs_crypto::FieldCipher;
use vrs_domain::Resident;

use crate::sealed::SealedResident;
use crate::{AuditEntry, StoreError};

/// One validated row and its line in the file.
#[derive(Clone, Debug)]
pub struct ImportRow {
    pub line: u64,
    pub resident: Resident,
}

/// Why the store refused a row that was valid on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The 宛名番号 appears on an earlier line of the same file.
    DuplicateAtena { first_line: u64 },
    /// The My Number appears on an earlier line of the same file.
    DuplicateMyNumber { first_line: u64 },
    /// The coupon number appears on an earlier line of the same file.
    DuplicateCoupon { first_line: u64 },
    /// Another person of the area already has this My Number.
    MyNumberTaken,
    /// Another person of the area already has this coupon number.
    CouponTaken,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::DuplicateAtena { first_line } => {
                write!(f, "宛名番号 already on line {first_line}")
            }
            Rejection::DuplicateMyNumber { first_line } => {
                write!(f, "My Number already on line {first_line}")
            }
            Rejection::DuplicateCoupon { first_line } => {
                write!(f, "coupon number already on line {first_line}")
            }
            Rejection::MyNumberTaken => {
                f.write_str("My Number already registered to another person of this municipality")
            }
            Rejection::CouponTaken => {
                f.write_str("coupon number already used by another person of this municipality")
            }
        }
    }
}

impl Rejection {
    /// Why, in both languages.
    pub fn reason(&self) -> vrs_domain::Reason {
        let ja = match self {
            Rejection::DuplicateAtena { first_line } => {
                format!("宛名番号が{first_line}行目と重複しています。")
            }
            Rejection::DuplicateMyNumber { first_line } => {
                format!("個人番号が{first_line}行目と重複しています。")
            }
            Rejection::DuplicateCoupon { first_line } => {
                format!("接種券番号が{first_line}行目と重複しています。")
            }
            Rejection::MyNumberTaken => {
                "この個人番号は、この自治体の別の人に登録されています。".to_owned()
            }
            Rejection::CouponTaken => {
                "この接種券番号は、この自治体の別の人が使っています。".to_owned()
            }
        };
        vrs_domain::Reason::new(self.code(), ja, self.to_string())
    }

    /// The stable code of the rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::DuplicateAtena { .. } => "duplicate_atena_number",
            Rejection::DuplicateMyNumber { .. } => "duplicate_my_number",
            Rejection::DuplicateCoupon { .. } => "duplicate_coupon_number",
            Rejection::MyNumberTaken => "my_number_taken",
            Rejection::CouponTaken => "coupon_number_taken",
        }
    }

    /// The column the rejection is about (its English CSV header name).
    pub fn column(&self) -> &'static str {
        match self {
            Rejection::DuplicateAtena { .. } => "atena_number",
            Rejection::DuplicateMyNumber { .. } | Rejection::MyNumberTaken => "my_number",
            Rejection::DuplicateCoupon { .. } | Rejection::CouponTaken => "coupon_number",
        }
    }
}

/// What a committed import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// A batch of rows sealed for the import's municipality, ready to stage. Only [`Sealer::seal`]
/// makes one, so nothing but sealed fields reaches the staging table.
pub struct SealedBatch {
    pub(crate) rows: Vec<(u64, SealedResident)>,
}

impl SealedBatch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Seals rows for one import; cheap to clone and usable from any thread, so the caller can seal
/// the next batch while the store writes the last one.
#[derive(Clone)]
pub struct Sealer {
    pub(crate) cipher: Arc<FieldCipher>,
}

impl Sealer {
    pub fn seal(&self, rows: Vec<ImportRow>) -> Result<SealedBatch, StoreError> {
        let rows = rows
            .into_iter()
            .map(|row| SealedResident::seal(&row.resident, &self.cipher).map(|s| (row.line, s)))
            .collect::<Result<_, _>>()?;
        Ok(SealedBatch { rows })
    }
}

/// An import under way; dropping it without [`ResidentImport::commit`] stores nothing.
#[async_trait]
pub trait ResidentImport: Send {
    /// The sealer of this import's municipality.
    fn sealer(&self) -> Sealer;

    /// Stages a sealed batch.
    async fn stage(&mut self, batch: SealedBatch) -> Result<(), StoreError>;

    /// After the last batch: the staged rows refused against each other (a key repeated on a later
    /// line) and against the area (a key held by another person), sorted by line.
    async fn check(&mut self) -> Result<Vec<(u64, Rejection)>, StoreError>;

    /// Leaves out the `refused` lines (staged rows refused by the caller or by [`check`]), merges the
    /// rest into the area, appends `audit` with the counts in its detail, and commits.
    ///
    /// [`check`]: ResidentImport::check
    async fn commit(
        self: Box<Self>,
        refused: &[u64],
        audit: AuditEntry,
    ) -> Result<ImportSummary, StoreError>;
}

/// Rows that repeat a key of an earlier line: `(line, first_line)`.
pub(crate) fn duplicates_sql(column: &str) -> String {
    format!(
        "SELECT s.line, d.first_line FROM import_staging s \
         JOIN (SELECT {column} AS k, MIN(line) AS first_line FROM import_staging GROUP BY {column} HAVING COUNT(*) > 1) d \
         ON s.{column} = d.k AND s.line <> d.first_line"
    )
}

/// Whether the area holds anyone yet (a first import cannot conflict with anyone).
pub(crate) const AREA_HAS_PEOPLE: &str =
    "SELECT EXISTS (SELECT 1 FROM residents WHERE municipality_code = $1)";

/// Rows whose key belongs to another person already in the area: `(line)`.
pub(crate) fn taken_sql(column: &str) -> String {
    format!(
        "SELECT s.line FROM import_staging s JOIN residents r \
         ON r.municipality_code = $1 AND r.{column} = s.{column} AND r.atena_number <> s.atena_number"
    )
}

/// Removes staged rows identical to what the area holds; the number removed is the unchanged count.
pub(crate) const DROP_UNCHANGED: &str =
    "DELETE FROM import_staging WHERE EXISTS (SELECT 1 FROM residents r \
     WHERE r.municipality_code = $1 AND r.atena_number = import_staging.atena_number \
     AND r.content_mac = import_staging.content_mac)";

/// Updates the people of the area whose staged row changed (after [`DROP_UNCHANGED`]); the number
/// of rows updated is the updated count. Flags (moved out, deceased) set by staff are kept. `now` is
/// the SQL expression of the update time.
pub(crate) fn update_sql(now: &str) -> String {
    format!(
        "UPDATE residents SET my_number_index = s.my_number_index, my_number_enc = s.my_number_enc, \
         coupon_number = s.coupon_number, name_enc = s.name_enc, name_kana_enc = s.name_kana_enc, \
         birth_date_enc = s.birth_date_enc, sex = s.sex, content_mac = s.content_mac, \
         moved_in_from = s.moved_in_from, kana_birth_index = s.kana_birth_index, \
         birth_index = s.birth_index, kanji_birth_index = s.kanji_birth_index, updated_at = {now} \
         FROM import_staging s WHERE residents.municipality_code = $1 AND residents.atena_number = s.atena_number"
    )
}

/// Adds the staged people the area does not hold yet; the number inserted is the added count.
pub(crate) fn insert_sql(now: &str) -> String {
    format!(
        "INSERT INTO residents (municipality_code, atena_number, my_number_index, my_number_enc, \
         coupon_number, name_enc, name_kana_enc, birth_date_enc, sex, content_mac, moved_in_from, \
         kana_birth_index, birth_index, kanji_birth_index, updated_at) \
         SELECT CAST($1 AS CHAR(6)), s.atena_number, s.my_number_index, s.my_number_enc, s.coupon_number, \
         s.name_enc, s.name_kana_enc, s.birth_date_enc, s.sex, s.content_mac, s.moved_in_from, \
         s.kana_birth_index, s.birth_index, s.kanji_birth_index, {now} \
         FROM import_staging s \
         WHERE NOT EXISTS (SELECT 1 FROM residents r WHERE r.municipality_code = $1 \
         AND r.atena_number = s.atena_number)"
    )
}

/// `(line, first_line)` pairs of one duplicate query, and how to name them.
pub(crate) type Duplicates = (Vec<(u64, u64)>, fn(u64) -> Rejection);

/// Collects rejections from the duplicate and conflict queries, one per line (the first found).
pub(crate) fn collect(
    duplicates: [Duplicates; 3],
    taken: [(Vec<u64>, Rejection); 2],
) -> Vec<(u64, Rejection)> {
    let mut out: Vec<(u64, Rejection)> = Vec::new();
    for (rows, make) in duplicates {
        out.extend(rows.into_iter().map(|(line, first)| (line, make(first))));
    }
    for (lines, rejection) in taken {
        out.extend(lines.into_iter().map(|line| (line, rejection.clone())));
    }
    out.sort_by_key(|(line, _)| *line);
    out.dedup_by_key(|(line, _)| *line);
    out
}

pub(crate) fn duplicate_atena(first_line: u64) -> Rejection {
    Rejection::DuplicateAtena { first_line }
}
pub(crate) fn duplicate_my_number(first_line: u64) -> Rejection {
    Rejection::DuplicateMyNumber { first_line }
}
pub(crate) fn duplicate_coupon(first_line: u64) -> Rejection {
    Rejection::DuplicateCoupon { first_line }
}

/// The audit detail of an import.
pub(crate) fn detail(summary: &ImportSummary) -> String {
    format!(
        "added={} updated={} unchanged={} rejected={}",
        summary.added, summary.updated, summary.unchanged, summary.rejected
    )
}
