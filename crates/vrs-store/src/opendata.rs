//! Open data as storage keeps it: the statistics job's fifth projection (doses per day, sex, open
//! age group, dose number and product group, per municipality, in `stat_open`), summed over
//! prefectures or municipalities for publication, and the published release itself — the files
//! as they were generated, so that every node serves the same bytes under the same `ETag`.
//! Counts only, never a person.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{OpenAgeGroup, Sex};

use crate::StoreError;

/// Doses of one day, sex, open age group (age on the day of the dose), dose number and product
/// group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenCount {
    pub day: NaiveDate,
    pub sex: Sex,
    pub age_group: OpenAgeGroup,
    pub dose_number: u8,
    pub product_group: String,
    pub doses: u64,
}

/// What the open counts are summed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenGrain {
    /// Per prefecture: `area` is its two digits.
    Prefecture,
    /// Per municipality: `area` is its six-digit code.
    Municipality,
}

/// An open count summed over an area (by day, then area, then the other keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRow {
    pub area: String,
    pub count: OpenCount,
}

/// One published file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFile {
    /// Its name under `/opendata/` (`daily.ndjson`, `daily.csv`, …).
    pub name: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// The strong entity tag it is served with (quoted).
    pub etag: String,
    pub generated_at: DateTime<Utc>,
}

/// A published file without its body, for the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFileInfo {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub etag: String,
    pub generated_at: DateTime<Utc>,
}

/// The store of open data.
#[async_trait]
pub trait OpenDataStore: Send + Sync {
    /// The stored open counts summed per area of `grain`, by day, area, sex, age group, dose number
    /// and product group.
    async fn open_counts(&self, grain: OpenGrain) -> Result<Vec<OpenRow>, StoreError>;

    /// Replaces the published release as a whole (every file at once).
    async fn put_open_release(&self, files: &[OpenFile]) -> Result<(), StoreError>;

    /// One published file, if the release has it.
    async fn open_file(&self, name: &str) -> Result<Option<OpenFile>, StoreError>;

    /// The files of the published release, by name (empty before the first).
    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError>;
}

/// A stored open count.
pub(crate) fn open_count(
    day: NaiveDate,
    sex: i64,
    age_group: &str,
    dose_number: i64,
    product_group: String,
    doses: i64,
) -> Result<OpenCount, StoreError> {
    Ok(OpenCount {
        day,
        sex: crate::statistics::sex(sex, "stat_open.sex")?,
        age_group: OpenAgeGroup::parse(age_group)
            .ok_or_else(|| StoreError::Corrupt(format!("stat_open.age_group {age_group:?}")))?,
        dose_number: crate::statistics::dose_number(dose_number, "stat_open.dose_number")?,
        product_group,
        doses: crate::statistics::count(doses, "stat_open.doses")?,
    })
}

/// The SQL summing `stat_open` per area of `grain` (same text on both backends).
pub(crate) fn counts_sql(grain: OpenGrain) -> String {
    let area = match grain {
        OpenGrain::Prefecture => "substr(municipality_code, 1, 2)",
        OpenGrain::Municipality => "municipality_code",
    };
    format!(
        "SELECT day, {area} AS area, sex, age_group, dose_number, product_group, CAST(sum(doses) AS BIGINT) \
         FROM stat_open GROUP BY day, {area}, sex, age_group, dose_number, product_group \
         ORDER BY day, area, sex, age_group, dose_number, product_group"
    )
}
