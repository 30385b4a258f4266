//! Statistics as storage keeps them: per municipality, counts only — never a person. They are
//! computed from the records by the statistics job (`vrs_core::statistics`) and replaced as a whole
//! per municipality, so what is stored always equals a recount of one moment's records.
//!
//! Four projections of the dose records: doses per day and dose number; doses per dose number and
//! product; doses per age band (age on the day of the dose), sex and dose number; and people per age
//! band (age on the day of the computation), sex and number of doses received, where dose count 0
//! is every target (so coverage is `people(≥ n) / people(0)`).
//!
//! A prefecture's and the nation's sums are not summed at read time: the replacement of a
//! municipality's counts also keeps its prefecture's and the nation's roll-ups and its own totals
//! ([`rollup`]), in the same transaction.
//!
//! The crate-private helpers below are shared by both backends: the scope's condition on
//! `municipality_code`, stored-value conversions, and the assembly of source pages and figures.

pub(crate) mod rollup;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::FieldCipher;
use vrs_domain::{AgeBand, AtenaNumber, AuditAction, MunicipalityCode, PrefectureCode, Sex};

use crate::{rows, sealed, StoreError};

/// One person of an area as the statistics job reads them: the birth date (opened from its sealed
/// field), sex, flags and doses. Never leaves the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatPerson {
    pub atena: AtenaNumber,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
    /// (dose number, date, product code), by dose number.
    pub doses: Vec<(u8, NaiveDate, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyCount {
    pub day: NaiveDate,
    pub dose_number: u8,
    pub doses: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProductCount {
    pub dose_number: u8,
    pub product_code: String,
    pub doses: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgeCount {
    pub age_band: AgeBand,
    pub sex: Sex,
    pub dose_number: u8,
    pub doses: u64,
}

/// People of an age band and sex with at least `doses` doses (0: every target).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CoverageCount {
    pub age_band: AgeBand,
    pub sex: Sex,
    pub doses: u8,
    pub people: u64,
}

/// Everything stored for one municipality, computed at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AreaStatistics {
    /// The sequence number of the municipality's audit chain when the computation began: every
    /// change of its records appends an entry, so a different head means the counts may be stale.
    pub source_seq: i64,
    pub computed_at: Option<DateTime<Utc>>,
    pub daily: Vec<DailyCount>,
    pub by_product: Vec<ProductCount>,
    pub by_age: Vec<AgeCount>,
    pub coverage: Vec<CoverageCount>,
    /// Doses per day, sex, open age group, dose number and product group (the open data's source).
    pub open: Vec<crate::OpenCount>,
}

/// Which municipalities a statistics read sums over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatScope {
    Municipality(MunicipalityCode),
    Prefecture(PrefectureCode),
    Nation,
}

/// One municipality's headline figures, for the prefecture's and the nation's tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MunicipalityFigures {
    pub municipality: MunicipalityCode,
    /// Targets (people with at least 0 doses).
    pub targets: u64,
    /// People with at least 1, 2, 3, … doses (index 0 is ≥ 1).
    pub people_with: Vec<u64>,
    pub doses: u64,
    pub computed_at: Option<DateTime<Utc>>,
}

/// The sums of a scope, as one read returns them (each list in its natural order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeStatistics {
    pub daily: Vec<DailyCount>,
    pub by_product: Vec<ProductCount>,
    pub by_age: Vec<AgeCount>,
    pub coverage: Vec<CoverageCount>,
    /// The oldest computation among the municipalities summed (how current the sums are).
    pub oldest: Option<DateTime<Utc>>,
}

/// The statistics tables a municipality's replacement clears (both backends).
pub(crate) const TABLES: [&str; 6] = [
    "stat_daily",
    "stat_products",
    "stat_ages",
    "stat_coverage",
    "stat_open",
    "stat_totals",
];

/// Marks the stored statistics of one municipality (`{p}1`) as computed from its chain's head when
/// every entry appended after the one they were computed from changes no record (reads, searches,
/// exports, sign-ins: [`AuditAction::may_change_records`]); an entry of an action this build does
/// not know counts as a change. Same SQL on both backends; one row updated, or none.
pub(crate) fn still_current_sql(p: char) -> String {
    let unchanging: Vec<String> = AuditAction::ALL
        .iter()
        .filter(|a| !a.may_change_records())
        .map(|a| format!("'{}'", a.as_str()))
        .collect();
    format!(
        "UPDATE stat_state SET source_seq = h.seq FROM audit_heads h \
         WHERE stat_state.municipality_code = {p}1 AND h.municipality_code = {p}1 \
           AND stat_state.source_seq >= 0 AND h.seq > stat_state.source_seq \
           AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.municipality_code = {p}1 \
             AND a.seq > stat_state.source_seq AND a.seq <= h.seq \
             AND a.action NOT IN ({}))",
        unchanging.join(", ")
    )
}

/// The municipalities whose statistics are stale (same SQL on both backends).
pub(crate) const STALE: &str = "SELECT m.municipality_code FROM municipalities m \
     LEFT JOIN audit_heads h ON h.municipality_code = m.municipality_code \
     LEFT JOIN stat_state s ON s.municipality_code = m.municipality_code \
     WHERE s.source_seq IS NULL OR s.source_seq <> COALESCE(h.seq, 0) \
     ORDER BY m.municipality_code";

/// The condition on `municipality_code` selecting the rows of `scope`, with its parameters
/// (placeholders `{p}1`, `{p}2` in the backend's style): a municipality is one key, a prefecture a
/// range of the leading key column (so the primary key is read as a range, never `substr`), and the
/// nation every row (no condition, so the read can follow an index in group order).
pub(crate) fn scope_filter(scope: StatScope, p: char) -> (String, Vec<String>) {
    match scope {
        StatScope::Municipality(m) => (
            format!("municipality_code = {p}1"),
            vec![m.as_str().to_owned()],
        ),
        StatScope::Prefecture(pref) => (
            format!("municipality_code BETWEEN {p}1 AND {p}2"),
            vec![format!("{pref}0000"), format!("{pref}9999")],
        ),
        StatScope::Nation => ("TRUE".to_owned(), Vec::new()),
    }
}

/// A municipality's doses in all, as `stat_state` keeps them.
pub(crate) fn dose_total(stats: &AreaStatistics) -> Result<i64, StoreError> {
    stored_count(stats.daily.iter().map(|d| d.doses).sum())
}

/// A stored count (never negative).
pub(crate) fn count(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} {n}")))
}

/// A count as the database stores it.
pub(crate) fn stored_count(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Other(format!("count {n} is too large to store")))
}

pub(crate) fn dose_number(n: i64, what: &str) -> Result<u8, StoreError> {
    u8::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} {n}")))
}

pub(crate) fn sex(code: i64, what: &str) -> Result<Sex, StoreError> {
    u8::try_from(code)
        .ok()
        .and_then(Sex::from_code)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} {code}")))
}

pub(crate) fn age_band(code: &str, what: &str) -> Result<AgeBand, StoreError> {
    AgeBand::parse(code).ok_or_else(|| StoreError::Corrupt(format!("{what} {code:?}")))
}

/// Puts every list in its natural order (age bands by age, not by code text).
pub(crate) fn sorted(mut s: ScopeStatistics) -> ScopeStatistics {
    s.daily.sort();
    s.by_product.sort();
    s.by_age.sort();
    s.coverage.sort();
    s
}

/// Each municipality's figures from its `stat_state` row (`(code, computed_at, doses)`) and its
/// totals per dose count (`(code, doses, people)`, from `stat_totals`).
pub(crate) fn figures(
    states: Vec<(String, DateTime<Utc>, i64)>,
    coverage: Vec<(String, i64, i64)>,
) -> Result<Vec<MunicipalityFigures>, StoreError> {
    let mut out = Vec::with_capacity(states.len());
    let mut index = HashMap::with_capacity(states.len());
    for (code, computed_at, doses) in states {
        index.insert(code.clone(), out.len());
        out.push(MunicipalityFigures {
            municipality: rows::municipality(&code)?,
            targets: 0,
            people_with: Vec::new(),
            doses: count(doses, "stat_state.doses")?,
            computed_at: Some(computed_at),
        });
    }
    for (code, k, people) in coverage {
        let Some(f) = index.get(&code).and_then(|&i| out.get_mut(i)) else {
            continue;
        };
        let people = count(people, "stat_totals.people")?;
        match usize::from(dose_number(k, "stat_totals.doses")?) {
            0 => f.targets = people,
            k => {
                if f.people_with.len() < k {
                    f.people_with.resize(k, 0);
                }
                f.people_with[k - 1] = people;
            }
        }
    }
    Ok(out)
}

/// One resident row for the statistics job, with only the birth date opened.
pub(crate) struct SourceRow {
    pub atena: String,
    pub birth_date_enc: Vec<u8>,
    pub sex: i64,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
}

/// The people of a page from their rows (by 宛名番号) and their doses (`(atena, dose number, day,
/// product)`, by 宛名番号 then dose number).
pub(crate) fn people(
    scope: MunicipalityCode,
    cipher: &FieldCipher,
    rows: Vec<SourceRow>,
    doses: Vec<(String, i64, NaiveDate, String)>,
) -> Result<Vec<StatPerson>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let corrupt = |what: &str| {
            StoreError::Corrupt(format!("{what} of 宛名番号 {} in {scope}", row.atena))
        };
        out.push(StatPerson {
            atena: AtenaNumber::parse(&row.atena).map_err(|_| corrupt("residents.atena_number"))?,
            birth_date: sealed::open_birth_date(scope, &row.atena, &row.birth_date_enc, cipher)?,
            sex: u8::try_from(row.sex)
                .ok()
                .and_then(Sex::from_code)
                .ok_or_else(|| corrupt("residents.sex"))?,
            moved_out_on: row.moved_out_on,
            deceased_on: row.deceased_on,
            doses: Vec::new(),
        });
    }
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, p)| (p.atena.as_str().to_owned(), i))
        .collect();
    for (atena, n, day, product) in doses {
        if let Some(person) = index.get(&atena).and_then(|&i| out.get_mut(i)) {
            person
                .doses
                .push((dose_number(n, "doses.dose_number")?, day, product));
        }
    }
    Ok(out)
}

/// The statistics tables: their source rows, their recomputation per municipality, and their reads
/// per scope.
#[async_trait]
pub trait StatisticsStore: crate::Scoped + Send + Sync {
    /// A page of the area's people for the statistics job, by 宛名番号 after `after`: each with
    /// the birth date opened, sex, flags and doses. Only the statistics job calls it; what it
    /// returns never leaves the job.
    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<StatPerson>, StoreError>;

    /// Replaces the municipality's statistics as a whole, unless those stored were computed from a
    /// later (or the same) audit head: returns whether it replaced them.
    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &AreaStatistics,
    ) -> Result<bool, StoreError>;

    /// Marks the area's stored statistics as computed from its chain's head when nothing appended
    /// to the chain since they were computed can have changed a record (only reads, searches,
    /// exports, sign-ins …), so that they need not be computed again: returns whether it did. False
    /// when an entry may have changed a record, or no statistics are stored.
    async fn statistics_still_current(&self, scope: MunicipalityCode) -> Result<bool, StoreError>;

    /// The audit head each municipality's stored statistics were computed from, and when.
    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError>;

    /// The municipalities whose statistics are missing or were computed from another audit head
    /// than their chain's (no chain counts as head 0), by code: what the job recomputes. One read,
    /// whatever the number of municipalities.
    async fn statistics_stale(&self) -> Result<Vec<MunicipalityCode>, StoreError>;

    /// The sums over the municipalities of `scope`.
    async fn scope_statistics(&self, scope: StatScope) -> Result<ScopeStatistics, StoreError>;

    /// Each municipality of `scope` with statistics, with its headline figures, by code.
    async fn municipality_figures(
        &self,
        scope: StatScope,
    ) -> Result<Vec<MunicipalityFigures>, StoreError>;
}
