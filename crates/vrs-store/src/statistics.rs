//! Statistics as storage keeps them: per municipality, counts only — never a person. They are
//! computed from the records by the statistics job (`vrs_core::statistics`) and replaced as a whole
//! per municipality, so what is stored always equals a recount of one moment's records.
//!
//! Four projections of the dose records, each small enough to sum over the whole country quickly:
//! doses per day and dose number; doses per dose number and product; doses per age band (age on the
//! day of the dose), sex and dose number; and people per age band (age on the day of the
//! computation), sex and number of doses received, where dose count 0 is every target (so coverage
//! is `people(≥ n) / people(0)`).

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{AgeBand, AtenaNumber, MunicipalityCode, PrefectureCode, Sex};

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
