//! How a release's files are written and read: the daily records a day at a time as NDJSON and
//! CSV (UTF-8 and Shift_JIS), each file stored in parts as they fill, its `ETag` the hash of the
//! parts in order; and a published file read back part by part.

use chrono::{DateTime, Utc};
use serde_json::Value;
use vrs_domain::opendata::{product_groups, publish_count};
use vrs_domain::{PrefectureCode, Sex};
use vrs_interop::{CsvWriter, Encoding};
use vrs_store::{OpenDataStore, OpenFileInfo, OpenGrain, OpenRow, StoreError, OPEN_PART_BYTES};

use super::{cell_json, CSV_SJIS, CSV_UTF8, NDJSON};

/// The fields of every daily record, in order (the CSV's header; the NDJSON's keys). The
/// municipality files add `municipality` and `municipality_name` after the prefecture's.
const DAILY_FIELDS: [&str; 8] = [
    "date",
    "prefecture",
    "prefecture_name",
    "sex",
    "age_group",
    "dose_number",
    "product_group",
    "count",
];

fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "M",
        Sex::Female => "F",
    }
}

fn group_order(g: &str) -> usize {
    product_groups().position(|p| p == g).unwrap_or(usize::MAX)
}

/// The rows sorted as published: day, area, sex, age group, dose number, product group.
fn sorted(mut rows: Vec<OpenRow>) -> Vec<OpenRow> {
    rows.sort_by(|a, b| {
        let key = |r: &OpenRow| {
            (
                r.count.day,
                r.area.clone(),
                r.count.sex.code(),
                r.count.age_group,
                r.count.dose_number,
                group_order(&r.count.product_group),
            )
        };
        key(a).cmp(&key(b))
    });
    rows
}

fn area_names(area: &str) -> (String, String, Option<(String, String)>) {
    let pref = area.get(..2).unwrap_or(area).to_owned();
    let pref_name = PrefectureCode::parse(&pref)
        .map(|p| p.info().name.to_owned())
        .unwrap_or_default();
    let municipality = (area.len() == 6).then(|| {
        let name = vrs_domain::MunicipalityCode::parse(area)
            .map(|m| m.info().full_name())
            .unwrap_or_default();
        (area.to_owned(), name)
    });
    (pref, pref_name, municipality)
}

/// One daily record as the NDJSON file writes it (its fields in the documented order).
#[derive(serde::Serialize)]
struct DailyRecord<'a> {
    date: String,
    prefecture: &'a str,
    prefecture_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    municipality: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    municipality_name: Option<&'a str>,
    sex: &'static str,
    age_group: &'static str,
    dose_number: u8,
    product_group: &'a str,
    count: Value,
}

/// A file of a release being stored part by part as its bytes come.
struct PartFile {
    name: &'static str,
    content_type: &'static str,
    parts: u32,
    size: u64,
    digest: vrs_crypto::Sha256,
}

impl PartFile {
    fn new(name: &'static str, content_type: &'static str) -> Self {
        Self {
            name,
            content_type,
            parts: 0,
            size: 0,
            digest: vrs_crypto::Sha256::default(),
        }
    }

    /// Stores the full parts at the front of `buf` (every byte of it when `all`) and removes them.
    async fn store(
        &mut self,
        store: &(impl OpenDataStore + ?Sized),
        release: &str,
        buf: &mut Vec<u8>,
        all: bool,
    ) -> Result<(), StoreError> {
        while buf.len() >= OPEN_PART_BYTES || (all && !buf.is_empty()) {
            let n = buf.len().min(OPEN_PART_BYTES);
            self.digest.update(&buf[..n]);
            store
                .put_open_part(release, self.name, self.parts, &buf[..n])
                .await?;
            buf.drain(..n);
            self.parts += 1;
            self.size += n as u64;
        }
        Ok(())
    }

    fn info(self, release: &str, at: DateTime<Utc>) -> OpenFileInfo {
        OpenFileInfo {
            name: self.name.to_owned(),
            content_type: self.content_type.to_owned(),
            size: self.size,
            etag: format!("\"{}\"", hex::encode(&self.digest.finish()[..16])),
            generated_at: at,
            release: release.to_owned(),
            parts: self.parts,
        }
    }
}

/// One table of daily records written as NDJSON, UTF-8 CSV and Shift_JIS CSV, a day at a time.
struct DailyFiles {
    ndjson: Vec<u8>,
    utf8: CsvWriter<Vec<u8>>,
    sjis: CsvWriter<Vec<u8>>,
    files: [PartFile; 3],
}

fn csv_error(e: std::io::Error) -> StoreError {
    StoreError::Other(format!("open data CSV: {e}"))
}

impl DailyFiles {
    /// `names`: the NDJSON's, the UTF-8 CSV's and the Shift_JIS CSV's.
    fn start(names: [&'static str; 3], municipal: bool) -> Result<Self, StoreError> {
        let mut header: Vec<&str> = DAILY_FIELDS.to_vec();
        if municipal {
            header.splice(3..3, ["municipality", "municipality_name"]);
        }
        Ok(Self {
            ndjson: Vec::new(),
            utf8: CsvWriter::start(Vec::new(), Encoding::Utf8, &header).map_err(csv_error)?,
            sjis: CsvWriter::start(Vec::new(), Encoding::Cp932, &header).map_err(csv_error)?,
            files: [
                PartFile::new(names[0], NDJSON),
                PartFile::new(names[1], CSV_UTF8),
                PartFile::new(names[2], CSV_SJIS),
            ],
        })
    }

    /// Writes `rows` (in published order, after those written before) and stores what filled
    /// whole parts.
    async fn write(
        &mut self,
        store: &(impl OpenDataStore + ?Sized),
        release: &str,
        rows: &[OpenRow],
    ) -> Result<(), StoreError> {
        for r in rows {
            self.row(r)?;
        }
        self.store(store, release, false).await
    }

    fn row(&mut self, r: &OpenRow) -> Result<(), StoreError> {
        let c = &r.count;
        let (pref, pref_name, municipality) = area_names(&r.area);
        let count = publish_count(c.doses);
        let record = DailyRecord {
            date: c.day.to_string(),
            prefecture: &pref,
            prefecture_name: &pref_name,
            municipality: municipality.as_ref().map(|m| m.0.as_str()),
            municipality_name: municipality.as_ref().map(|m| m.1.as_str()),
            sex: sex_code(c.sex),
            age_group: c.age_group.code(),
            dose_number: c.dose_number,
            product_group: &c.product_group,
            count: cell_json(count),
        };
        let mut fields = vec![c.day.to_string(), pref.clone(), pref_name.clone()];
        if let Some((code, name)) = &municipality {
            fields.extend([code.clone(), name.clone()]);
        }
        fields.extend([
            sex_code(c.sex).to_owned(),
            c.age_group.code().to_owned(),
            c.dose_number.to_string(),
            c.product_group.clone(),
            count.text(),
        ]);
        serde_json::to_writer(&mut self.ndjson, &record)
            .map_err(|e| StoreError::Other(format!("open data JSON: {e}")))?;
        self.ndjson.push(b'\n');
        self.utf8.row(&record.date, &fields).map_err(csv_error)?;
        self.sjis.row(&record.date, &fields).map_err(csv_error)?;
        Ok(())
    }

    async fn store(
        &mut self,
        store: &(impl OpenDataStore + ?Sized),
        release: &str,
        all: bool,
    ) -> Result<(), StoreError> {
        let [ndjson, utf8, sjis] = &mut self.files;
        ndjson.store(store, release, &mut self.ndjson, all).await?;
        utf8.store(store, release, self.utf8.get_mut(), all).await?;
        sjis.store(store, release, self.sjis.get_mut(), all).await
    }

    async fn finish(
        mut self,
        store: &(impl OpenDataStore + ?Sized),
        release: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<OpenFileInfo>, StoreError> {
        self.store(store, release, true).await?;
        self.utf8.finish().map_err(csv_error)?;
        self.sjis.finish().map_err(csv_error)?;
        Ok(self.files.map(|f| f.info(release, at)).into())
    }
}

/// The daily records of `grain` stored as the three files `names` of `release`, read from the
/// store in batches and written a day at a time (the rows of one day are what is held: a few
/// thousand per prefecture, tens of thousands per municipality, at the country's size).
pub(super) async fn daily_files(
    store: &(impl OpenDataStore + ?Sized),
    release: &str,
    grain: OpenGrain,
    names: [&'static str; 3],
    at: DateTime<Utc>,
) -> Result<Vec<OpenFileInfo>, StoreError> {
    let mut files = DailyFiles::start(names, grain == OpenGrain::Municipality)?;
    let mut counts = store.open_counts(grain).await?;
    let mut day: Vec<OpenRow> = Vec::new();
    while let Some(batch) = counts.next().await {
        for row in batch? {
            if day.last().is_some_and(|r| r.count.day != row.count.day) {
                files
                    .write(store, release, &sorted(std::mem::take(&mut day)))
                    .await?;
            }
            day.push(row);
        }
    }
    files.write(store, release, &sorted(day)).await?;
    files.finish(store, release, at).await
}

/// A small file of `release` stored whole (in as many parts as it takes).
pub(super) async fn whole_file(
    store: &(impl OpenDataStore + ?Sized),
    release: &str,
    (name, content_type): (&'static str, &'static str),
    mut body: Vec<u8>,
    at: DateTime<Utc>,
) -> Result<OpenFileInfo, StoreError> {
    let mut file = PartFile::new(name, content_type);
    file.store(store, release, &mut body, true).await?;
    Ok(file.info(release, at))
}

/// The bytes of a published file, its parts read one after another (for the files a page reads
/// whole, such as the summary; a download is streamed part by part instead).
pub async fn read_file(
    store: &(impl OpenDataStore + ?Sized),
    file: &OpenFileInfo,
) -> Result<Vec<u8>, StoreError> {
    let mut body = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
    for seq in 0..file.parts {
        let part = store.open_part(file, seq).await?.ok_or_else(|| {
            StoreError::Other(format!("open data {}: part {seq} is gone", file.name))
        })?;
        body.extend_from_slice(&part);
    }
    Ok(body)
}

/// The bytes of the published file `name`, if the release has it.
pub async fn read_published(
    store: &(impl OpenDataStore + ?Sized),
    name: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    match store.open_file(name).await? {
        Some(f) => read_file(store, &f).await.map(Some),
        None => Ok(None),
    }
}
