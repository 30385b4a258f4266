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

/// A published file as the release's index keeps it; its bytes are stored in `parts` parts of at
/// most [`PART_BYTES`] (numbered from 0), read one at a time, so that neither publishing nor serving
/// a file holds it whole, however large the country.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFileInfo {
    /// Its name under `/opendata/` (`daily.ndjson`, `daily.csv`, …).
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The strong entity tag it is served with (quoted).
    pub etag: String,
    pub generated_at: DateTime<Utc>,
    /// The release it belongs to (its parts are stored under it).
    pub release: String,
    pub parts: u32,
}

/// The largest part of a published file.
pub const PART_BYTES: usize = 1 << 20;

/// The store of open data.
///
/// A release is written part by part under a name of its own ([`put_open_part`]) while the
/// published one stays served, then published as a whole ([`publish_open_release`]): one
/// transaction replaces the index, so every node serves either the old release or the new one.
/// The parts of the release it replaced are kept until the next one (a download under way ends
/// as it began); older parts, and those of a release never published, are deleted then.
///
/// [`put_open_part`]: OpenDataStore::put_open_part
/// [`publish_open_release`]: OpenDataStore::publish_open_release
#[async_trait]
pub trait OpenDataStore: Send + Sync {
    /// The stored open counts summed per area of `grain`, by day, area, sex, age group, dose
    /// number and product group, as they are read: in batches, from a reader of their own, with
    /// at most a few batches ahead of the caller (at the country's size they are millions of rows).
    async fn open_counts(&self, grain: OpenGrain) -> Result<OpenCounts, StoreError>;

    /// Stores part `seq` of the file `name` of the release `release`, not yet published.
    async fn put_open_part(
        &self,
        release: &str,
        name: &str,
        seq: u32,
        bytes: &[u8],
    ) -> Result<(), StoreError>;

    /// Publishes a release whose parts are stored: its files replace the published ones as a
    /// whole. Refused with nothing changed if the files name more than one release or a part is
    /// missing.
    async fn publish_open_release(&self, files: &[OpenFileInfo]) -> Result<(), StoreError>;

    /// One published file, if the release has it.
    async fn open_file(&self, name: &str) -> Result<Option<OpenFileInfo>, StoreError>;

    /// Part `seq` of a published file (`None` once its release's parts are deleted).
    async fn open_part(&self, file: &OpenFileInfo, seq: u32)
        -> Result<Option<Vec<u8>>, StoreError>;

    /// The files of the published release, by name (empty before the first).
    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError>;
}

/// The open counts of a grain as they are read ([`OpenDataStore::open_counts`]).
pub struct OpenCounts(tokio::sync::mpsc::Receiver<Result<Vec<OpenRow>, StoreError>>);

/// Rows in a batch of [`OpenCounts`].
pub(crate) const BATCH: usize = 4096;

impl OpenCounts {
    /// The reader's end and the caller's.
    pub(crate) fn channel() -> (
        tokio::sync::mpsc::Sender<Result<Vec<OpenRow>, StoreError>>,
        Self,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        (tx, Self(rx))
    }

    /// The next batch, in order (`None` after the last; an error ends the counts).
    pub async fn next(&mut self) -> Option<Result<Vec<OpenRow>, StoreError>> {
        self.0.recv().await
    }

    /// Every row at once (a small store, or a test).
    pub async fn all(mut self) -> Result<Vec<OpenRow>, StoreError> {
        let mut all = Vec::new();
        while let Some(batch) = self.next().await {
            all.extend(batch?);
        }
        Ok(all)
    }
}

/// The one release `files` belong to, or why they cannot be published together.
pub(crate) fn one_release(files: &[OpenFileInfo]) -> Result<&str, StoreError> {
    let release = files.first().map_or("", |f| f.release.as_str());
    if files.iter().any(|f| f.release != release) {
        return Err(StoreError::Other(
            "the files of one release name different releases".into(),
        ));
    }
    Ok(release)
}

/// Whether every file has exactly its parts stored: `stored` holds each name with its number of
/// parts and its highest `seq` (the parts' numbers are unique, so `parts` of them up to
/// `parts - 1` are exactly `0..parts`).
pub(crate) fn parts_complete(
    files: &[OpenFileInfo],
    stored: &[(String, i64, i64)],
) -> Result<(), StoreError> {
    for f in files {
        let (have, last) = stored
            .iter()
            .find(|(name, _, _)| *name == f.name)
            .map_or((0, -1), |(_, n, last)| (*n, *last));
        if have != i64::from(f.parts) || last != i64::from(f.parts) - 1 {
            return Err(StoreError::Other(format!(
                "open data {}: {have} of its {} parts are stored; the release is not published",
                f.name, f.parts
            )));
        }
    }
    Ok(())
}

/// The query of a release's stored parts for [`parts_complete`] (same text on both backends but
/// for the placeholder's mark).
pub(crate) fn stored_parts_sql(mark: char) -> String {
    format!(
        "SELECT name, count(*), CAST(max(seq) AS BIGINT) FROM opendata_parts WHERE release = {mark}1 \
         GROUP BY name"
    )
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
