//! Open data: the public daily figures, built only from the statistics tables and published as
//! files that anyone may download without signing in (`/opendata/`).
//!
//! **Safe by construction** (`vrs_domain::opendata`): a count of 1–9 is published as `<10`, and
//! every other published count and total is rounded to the nearest ten, so no difference of
//! published figures — within a release, between its files, or between consecutive releases — is
//! a count of 1 to 9. The totals are the staff statistics' suppressed totals (the nation's and each
//! prefecture's, as the outside view shows them), rounded the same way; a cell the staff view hides
//! to protect another stays hidden (`"x"`). Percentages are computed from the published figures.
//! Nothing below the prefecture is published unless the operator enables it.
//!
//! **Releases**: [`publish`] builds every file of a release and replaces the stored release as a
//! whole, so every node serves the same bytes under the same `ETag`. The daily files are built a
//! day at a time and stored in parts as they fill ([`vrs_store::OpenDataStore`]): at the
//! country's size they are hundreds of megabytes, and neither building nor serving one holds it
//! whole. `vrs serve`'s statistics job publishes once a day after the configured hour (Japan time)
//! and whenever no release exists; `vrs statistics opendata` publishes at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use vrs_domain::opendata::{product_group_names, product_groups, publish_cell};
use vrs_domain::{Cell, OpenAgeGroup, PrefectureCode, SUPPRESS_BELOW};
use vrs_store::{OpenDataStore, OpenFileInfo, OpenGrain, StatScope, StatisticsStore, StoreError};

use crate::statistics::view::{dashboard, Audience, Dashboard};

mod files;

use files::{daily_files, whole_file};
pub use files::{read_file, read_published};

/// What the operator decides about the open data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenDataSettings {
    /// The licence the files are published under, and where it is written.
    pub licence: String,
    pub licence_url: String,
    /// Whether municipality-level files and figures are published too (off by default).
    pub municipalities: bool,
}

impl Default for OpenDataSettings {
    fn default() -> Self {
        Self {
            licence: "CC BY 4.0".into(),
            licence_url: "https://creativecommons.org/licenses/by/4.0/".into(),
            municipalities: false,
        }
    }
}

/// The names of a release's files under `/opendata/`.
pub const DAILY_NDJSON: &str = "daily.ndjson";
pub const DAILY_CSV: &str = "daily.csv";
pub const DAILY_CSV_SJIS: &str = "daily.sjis.csv";
pub const SUMMARY_JSON: &str = "summary.json";
pub const MUNICIPALITIES_NDJSON: &str = "municipalities.ndjson";
pub const MUNICIPALITIES_CSV: &str = "municipalities.csv";
pub const MUNICIPALITIES_CSV_SJIS: &str = "municipalities.sjis.csv";

const NDJSON: &str = "application/x-ndjson; charset=utf-8";
const CSV_UTF8: &str = "text/csv; charset=utf-8";
const CSV_SJIS: &str = "text/csv; charset=Shift_JIS";
const JSON: &str = "application/json";

/// A published cell as JSON: a number, `"<10"`, or `"x"`.
pub fn cell_json(c: Cell) -> Value {
    match c {
        Cell::Shown(n) => json!(n),
        Cell::Small => json!(format!("<{SUPPRESS_BELOW}")),
        Cell::Hidden => json!("x"),
    }
}

/// The published figures of a dashboard: doses, targets, people with at least n doses, and the
/// coverage of each dose number (from the published figures, one decimal).
fn area_summary(d: &Dashboard) -> Map<String, Value> {
    let doses = d.daily.total.map_or(Cell::Shown(0), publish_cell);
    let targets = d
        .coverage
        .column_totals
        .first()
        .copied()
        .map_or(Cell::Shown(0), publish_cell);
    let mut people = Map::new();
    let mut coverage = Map::new();
    for (k, cell) in d.coverage.column_totals.iter().enumerate().skip(1) {
        let cell = publish_cell(*cell);
        people.insert(k.to_string(), cell_json(cell));
        let percent = match (cell.value(), targets.value()) {
            (Some(p), Some(t)) if t > 0 => json!((p as f64 * 1000.0 / t as f64).round() / 10.0),
            _ => Value::Null,
        };
        coverage.insert(k.to_string(), percent);
    }
    let mut out = Map::new();
    out.insert("doses".into(), cell_json(doses));
    out.insert("targets".into(), cell_json(targets));
    out.insert("people_with_at_least".into(), Value::Object(people));
    out.insert("coverage_percent".into(), Value::Object(coverage));
    out
}

/// The nation's doses per day and dose number, and its coverage by age band, as published.
fn national_series(d: &Dashboard) -> (Value, Value) {
    let daily: Vec<Value> = d
        .daily
        .rows
        .iter()
        .map(|(day, _, cells)| {
            let doses: Map<String, Value> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| ((i + 1).to_string(), cell_json(publish_cell(*c))))
                .collect();
            json!({"date": day, "doses": doses})
        })
        .collect();
    let ages: Vec<Value> = d
        .coverage
        .rows
        .iter()
        .map(|(ja, en, cells)| {
            let people: Map<String, Value> = cells
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, c)| (k.to_string(), cell_json(publish_cell(*c))))
                .collect();
            json!({
                "age_band": en.trim_end_matches(" years"),
                "label_ja": ja,
                "targets": cell_json(cells.first().copied().map_or(Cell::Shown(0), publish_cell)),
                "people_with_at_least": people,
            })
        })
        .collect();
    (Value::Array(daily), Value::Array(ages))
}

/// Builds every file of a release from the statistics tables and replaces the stored release.
pub async fn publish(
    store: &(impl OpenDataStore + StatisticsStore + ?Sized),
    settings: &OpenDataSettings,
    now: DateTime<Utc>,
) -> Result<Vec<OpenFileInfo>, StoreError> {
    // Its parts are stored under a name of their own until the release is published whole.
    let release = format!(
        "{}-{:016x}",
        now.format("%Y%m%dT%H%M%S%.6fZ"),
        rand::random::<u64>()
    );
    let mut files = daily_files(
        store,
        &release,
        OpenGrain::Prefecture,
        [DAILY_NDJSON, DAILY_CSV, DAILY_CSV_SJIS],
        now,
    )
    .await?;

    let nation = dashboard(store, StatScope::Nation, Audience::Outside).await?;
    let (daily, ages) = national_series(&nation);
    let mut prefectures = Vec::new();
    for number in 1..=47u8 {
        let Ok(p) = PrefectureCode::parse(&number.to_string()) else {
            continue;
        };
        let d = dashboard(store, StatScope::Prefecture(p), Audience::Outside).await?;
        let mut entry = Map::new();
        entry.insert("code".into(), json!(p.to_string()));
        entry.insert("name".into(), json!(p.info().name));
        entry.extend(area_summary(&d));
        prefectures.push(Value::Object(entry));
    }
    let mut summary = Map::new();
    summary.insert("generated_at".into(), json!(now.to_rfc3339()));
    summary.insert(
        "licence".into(),
        json!({"name": settings.licence, "url": settings.licence_url}),
    );
    summary.insert("suppressed_below".into(), json!(SUPPRESS_BELOW));
    summary.insert("rounded_to".into(), json!(vrs_domain::opendata::ROUND_TO));
    summary.insert(
        "counted_at".into(),
        json!(nation.oldest.map(|t| t.to_rfc3339())),
    );
    summary.insert("nation".into(), Value::Object(area_summary(&nation)));
    summary.insert("prefectures".into(), Value::Array(prefectures));
    summary.insert("daily".into(), daily);
    summary.insert("age_bands".into(), ages);
    summary.insert(
        "age_groups".into(),
        json!(OpenAgeGroup::ALL.map(|g| json!({"code": g.code(), "label_ja": g.label_ja()}))),
    );
    summary.insert(
        "product_groups".into(),
        json!(product_groups()
            .map(|g| {
                let (ja, en) = product_group_names(g);
                json!({"code": g, "name_ja": ja, "name_en": en})
            })
            .collect::<Vec<_>>()),
    );

    if settings.municipalities {
        files.extend(
            daily_files(
                store,
                &release,
                OpenGrain::Municipality,
                [
                    MUNICIPALITIES_NDJSON,
                    MUNICIPALITIES_CSV,
                    MUNICIPALITIES_CSV_SJIS,
                ],
                now,
            )
            .await?,
        );
        let mut municipalities = Vec::new();
        let figures = store.municipality_figures(StatScope::Nation).await?;
        for f in figures {
            let d = dashboard(
                store,
                StatScope::Municipality(f.municipality),
                Audience::Outside,
            )
            .await?;
            let mut entry = Map::new();
            entry.insert("code".into(), json!(f.municipality.as_str()));
            entry.insert("name".into(), json!(f.municipality.info().full_name()));
            entry.extend(area_summary(&d));
            municipalities.push(Value::Object(entry));
        }
        summary.insert("municipalities".into(), Value::Array(municipalities));
    }
    let body = serde_json::to_vec_pretty(&Value::Object(summary))
        .map_err(|e| StoreError::Other(format!("open data JSON: {e}")))?;
    files.push(whole_file(store, &release, (SUMMARY_JSON, JSON), body, now).await?);
    files.sort_by(|a, b| a.name.cmp(&b.name));
    store.publish_open_release(&files).await?;
    store.open_release().await
}

/// Whether a release is due at `now`: none exists, or the last was made before today's hour of
/// publication (Japan time) and that hour has passed.
pub fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, hour_jst: u32) -> bool {
    let Some(last) = last else {
        return true;
    };
    let jst = chrono::Duration::hours(9);
    let today = (now + jst).date_naive();
    let Some(slot) = today.and_hms_opt(hour_jst.min(23), 0, 0) else {
        return false;
    };
    let slot = slot.and_utc() - jst;
    now >= slot && last < slot
}

/// Publishes a release when one is [`due`]; returns whether it did.
pub async fn publish_if_due(
    store: &(impl OpenDataStore + StatisticsStore + ?Sized),
    settings: &OpenDataSettings,
    hour_jst: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let last = store
        .open_release()
        .await?
        .iter()
        .map(|f| f.generated_at)
        .min();
    if !due(last, now, hour_jst) {
        return Ok(false);
    }
    publish(store, settings, now).await?;
    Ok(true)
}

/// Every count of a release's daily records, keyed by everything but the count (for tests and
/// checks that difference releases).
pub fn daily_counts(ndjson: &[u8]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for line in ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(Value::Object(mut record)) = serde_json::from_slice::<Value>(line) {
            let count = record.remove("count").unwrap_or(Value::Null);
            out.insert(Value::Object(record).to_string(), count);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_release_is_due_once_a_day_after_its_hour_in_japan() {
        // 06:00 JST is 21:00 UTC the day before.
        assert!(due(None, at("2026-12-05T00:00:00Z"), 6));
        let last = at("2026-12-04T21:30:00Z"); // 06:30 JST on the 5th
        assert!(!due(Some(last), at("2026-12-05T10:00:00Z"), 6));
        assert!(!due(Some(last), at("2026-12-05T20:59:00Z"), 6));
        assert!(due(Some(last), at("2026-12-05T21:00:00Z"), 6));
        assert!(!due(
            Some(at("2026-12-03T22:00:00Z")),
            at("2026-12-04T20:00:00Z"),
            6
        ));
        assert!(due(
            Some(at("2026-12-03T22:00:00Z")),
            at("2026-12-04T21:30:00Z"),
            6
        ));
    }
}
