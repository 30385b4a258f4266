//! The public open data (`/opendata/`): the day's release as files anyone may download without
//! signing in, and a dashboard drawn from the same published figures. The files are served as the
//! statistics job stored them (`vrs_core::statistics::opendata`), with `ETag`, `Last-Modified`, `Cache-Control:
//! public` and `Access-Control-Allow-Origin: *`; a conditional request that still matches is answered
//! 304. Requests are limited per address.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use vrs_core::statistics::opendata as open;
use vrs_domain::{Cell, Labelled};
use vrs_interop::Encoding;
use vrs_store::{OpenFileInfo, Store};

use crate::charts::{bar_chart, even_days, line_chart, percent, Point, Series};
use crate::duplicates_pages::jst;
use crate::error::WebError;
use crate::i18n::{Lang, Phrase, Text};
use crate::japan_map::{name_en, tile_map};
use crate::pages::layout;
use crate::AppState;

/// Requests per minute from one address, over every open-data path.
pub const PER_MINUTE: u32 = 120;

const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

fn too_many(wait: u64) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        "リクエストが多すぎます。しばらくしてからお試しください。 / Too many requests from this address: try again in a moment.\n",
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Counts the request against the address's limit.
fn limited(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    let client = crate::terminal::client_address(&state.settings, peer, headers)
        .unwrap_or_else(|| peer.ip());
    state
        .opendata_rate
        .check(client, Instant::now())
        .err()
        .map(too_many)
}

#[derive(Deserialize, Default)]
pub struct FileQuery {
    /// `utf-8` (the default) or `shift_jis`, for the CSV files.
    #[serde(default)]
    encoding: Option<String>,
}

/// Whether a conditional request still holds the file as stored.
fn not_modified(headers: &HeaderMap, file: &OpenFileInfo) -> bool {
    if let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == file.etag);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::NaiveDateTime::parse_from_str(v, HTTP_DATE).ok())
        .is_some_and(|since| file.generated_at.timestamp() <= since.and_utc().timestamp())
}

/// A stored file as its response (or 304).
async fn serve_file(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    name: &str,
) -> Result<Response, WebError> {
    if let Some(refused) = limited(state, peer, headers) {
        return Ok(refused);
    }
    let Some(file) = state.store.open_file(name).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            "このファイルは公開されていません。 / This file is not published.\n",
        )
            .into_response());
    };
    let cached = [
        (header::ETAG, file.etag.clone()),
        (
            header::LAST_MODIFIED,
            file.generated_at.format(HTTP_DATE).to_string(),
        ),
        (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
    ];
    if not_modified(headers, &file) {
        return Ok((StatusCode::NOT_MODIFIED, cached).into_response());
    }
    Ok((
        cached,
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (header::CONTENT_LENGTH, file.size.to_string()),
        ],
        Body::from_stream(parts(state.store.clone(), file)),
    )
        .into_response())
}

/// A published file's parts, read from the store one at a time as the response is sent. A part
/// gone while the file is sent (two newer releases published during one download) ends the
/// response short of its `Content-Length`, which clients report as an incomplete download.
fn parts(
    store: std::sync::Arc<dyn Store>,
    file: OpenFileInfo,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::unfold(0u32, move |seq| {
        let (store, file) = (store.clone(), file.clone());
        async move {
            if seq >= file.parts {
                return None;
            }
            let part = match store.open_part(&file, seq).await {
                Ok(Some(bytes)) => Ok(Bytes::from(bytes)),
                Ok(None) => Err(std::io::Error::other(format!(
                    "open data {}: part {seq} is gone",
                    file.name
                ))),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            Some((part, seq + 1))
        }
    })
}

/// The stored name of a CSV in the encoding asked for (the spellings every CSV of the system
/// takes); `None` for an encoding it is not kept in.
fn csv_name(utf8: &'static str, sjis: &'static str, q: &FileQuery) -> Option<&'static str> {
    match q.encoding.as_deref().filter(|e| !e.is_empty()) {
        None => Some(utf8),
        Some(e) => match e.parse::<Encoding>().ok()? {
            Encoding::Utf8 => Some(utf8),
            Encoding::Cp932 => Some(sjis),
        },
    }
}

fn bad_encoding() -> Response {
    (
        StatusCode::BAD_REQUEST,
        "encoding: utf-8 または shift_jis を指定してください。 / encoding: give utf-8 or shift_jis.\n",
    )
        .into_response()
}

/// The daily records per prefecture, one JSON object a line.
#[utoipa::path(get, path = "/opendata/daily.ndjson", tag = "open data",
    responses(
        (status = 200, description = "One record per date × prefecture × sex × age group × dose number × product group: `count` a multiple of 10, or `\"<10\"` (docs/opendata.md)", content_type = "application/x-ndjson"),
        (status = 304, description = "Not modified since the `ETag` or date asked about"),
        (status = 404, description = "Nothing is published yet"),
    ))]
pub async fn daily_ndjson(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    serve_file(&state, peer, &headers, open::DAILY_NDJSON).await
}

/// The daily records per prefecture as CSV.
#[utoipa::path(get, path = "/opendata/daily.csv", tag = "open data",
    params(("encoding" = Option<String>, Query, pattern = r"^(utf-8|utf8|shift_jis|sjis|cp932)?$", description = "`utf-8` (the default) or `shift_jis`")),
    responses(
        (status = 200, description = "The daily records as CSV with a header line", content_type = "text/csv"),
        (status = 304, description = "Not modified since the `ETag` or date asked about"),
        (status = 400, description = "An encoding other than utf-8 or shift_jis"),
        (status = 404, description = "Nothing is published yet"),
    ))]
pub async fn daily_csv(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let Some(name) = csv_name(open::DAILY_CSV, open::DAILY_CSV_SJIS, &q) else {
        return Ok(bad_encoding());
    };
    serve_file(&state, peer, &headers, name).await
}

/// National and per-prefecture totals and coverage by dose number.
#[utoipa::path(get, path = "/opendata/summary.json", tag = "open data",
    responses(
        (status = 200, description = "Totals, coverage by dose number, the nation's doses per day and coverage by age band (docs/opendata.md)", content_type = "application/json"),
        (status = 304, description = "Not modified since the `ETag` or date asked about"),
        (status = 404, description = "Nothing is published yet"),
    ))]
pub async fn summary_json(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    serve_file(&state, peer, &headers, open::SUMMARY_JSON).await
}

/// The daily records per municipality, where the operator publishes them.
#[utoipa::path(get, path = "/opendata/municipalities.ndjson", tag = "open data",
    responses(
        (status = 200, description = "The daily records per municipality (published only where `opendata_municipalities` is on)", content_type = "application/x-ndjson"),
        (status = 304, description = "Not modified since the `ETag` or date asked about"),
        (status = 404, description = "Municipality-level data is not published"),
    ))]
pub async fn municipalities_ndjson(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    serve_file(&state, peer, &headers, open::MUNICIPALITIES_NDJSON).await
}

/// The daily records per municipality as CSV, where the operator publishes them.
#[utoipa::path(get, path = "/opendata/municipalities.csv", tag = "open data",
    params(("encoding" = Option<String>, Query, pattern = r"^(utf-8|utf8|shift_jis|sjis|cp932)?$", description = "`utf-8` (the default) or `shift_jis`")),
    responses(
        (status = 200, description = "The daily records per municipality as CSV", content_type = "text/csv"),
        (status = 304, description = "Not modified since the `ETag` or date asked about"),
        (status = 400, description = "An encoding other than utf-8 or shift_jis"),
        (status = 404, description = "Municipality-level data is not published"),
    ))]
pub async fn municipalities_csv(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let Some(name) = csv_name(open::MUNICIPALITIES_CSV, open::MUNICIPALITIES_CSV_SJIS, &q) else {
        return Ok(bad_encoding());
    };
    serve_file(&state, peer, &headers, name).await
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// The dose number the map shades by (coverage of at least that many doses).
    #[serde(default)]
    dose: Option<String>,
}

/// A published JSON cell back as a cell (one not published counts 0).
fn cell(v: &Value) -> Cell {
    match v {
        Value::String(s) if s == "x" => Cell::Hidden,
        Value::String(_) => Cell::Small,
        v => Cell::Shown(v.as_u64().unwrap_or(0)),
    }
}

/// `part` of `whole` as a percentage of published cells.
fn share(part: &Value, whole: &Value) -> Point {
    percent(&cell(part), &cell(whole))
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// The charts of the dashboard from `summary.json`.
fn charts(summary: &Value, ja: bool, dose: usize) -> Markup {
    let doses_label = |n: usize| Phrase::DoseOrdinal(&n).pick(ja);
    let at_least = |n: usize| Phrase::AtLeastDoses(&n).pick(ja);
    let empty = Vec::new();
    let daily = summary["daily"].as_array().unwrap_or(&empty);
    let max_dose = summary["nation"]["people_with_at_least"]
        .as_object()
        .map_or(0, |m| m.len())
        .max(1);
    // Every day from the first to the last, so the axis is even in time (a day not listed had none).
    let dated: Vec<(chrono::NaiveDate, &Value)> = daily
        .iter()
        .filter_map(|d| {
            d["date"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .map(|day| (day, &d["doses"]))
        })
        .collect();
    let (first, days) = even_days(&dated);
    let span = days.len();
    let per_day: Vec<Series> = (1..=max_dose)
        .map(|n| {
            let mut points = vec![Point::Value(0.0); span];
            for (day, doses) in &dated {
                if let Some(p) = points.get_mut((*day - first).num_days() as usize) {
                    *p = Point::of(cell(&doses[n.to_string()]));
                }
            }
            Series {
                label: doses_label(n),
                points,
            }
        })
        .collect();
    let nation = &summary["nation"];
    let by_dose = vec![Series {
        label: Text::Coverage.pick(ja).to_owned(),
        points: (1..=max_dose)
            .map(|n| {
                share(
                    &nation["people_with_at_least"][n.to_string()],
                    &nation["targets"],
                )
            })
            .collect(),
    }];
    let bands = summary["age_bands"].as_array().unwrap_or(&empty);
    let band_names: Vec<String> = bands
        .iter()
        .map(|b| b["age_band"].as_str().unwrap_or("").to_owned())
        .collect();
    let by_band: Vec<Series> = (1..=max_dose)
        .map(|n| Series {
            label: at_least(n),
            points: bands
                .iter()
                .map(|b| share(&b["people_with_at_least"][n.to_string()], &b["targets"]))
                .collect(),
        })
        .collect();
    let prefectures = summary["prefectures"].as_array().unwrap_or(&empty);
    let map_values: Vec<(u8, Point)> = prefectures
        .iter()
        .filter_map(|p| {
            let code: u8 = p["code"].as_str()?.parse().ok()?;
            Some((
                code,
                share(&p["people_with_at_least"][dose.to_string()], &p["targets"]),
            ))
        })
        .collect();
    let marks = Text::WithheldMarks.pick(ja);
    let gaps = Text::WithheldGaps.pick(ja);
    let map_title = Phrase::CoverageByPrefecture(&dose).pick(ja);
    html! {
        div.charts {
            (line_chart(Text::DosesPerDayNationwide.pick(ja), "open-daily", &days, &per_day, false, gaps))
            (bar_chart(Text::CoverageByDoseNumberNationwide.pick(ja), "open-coverage",
                &(1..=max_dose).map(at_least).collect::<Vec<_>>(), &by_dose, true, marks))
            (bar_chart(Text::CoverageByAgeBandNationwide.pick(ja), "open-ages", &band_names, &by_band, true, marks))
            p.dose-choice {
                (Text::MapByDoseNumber.pick(ja))
                @for n in 1..=max_dose {
                    @if n == dose {
                        strong { (at_least(n)) }
                    } @else {
                        a href={ "/opendata/?dose=" (n) } { (at_least(n)) }
                    }
                    " "
                }
            }
            (tile_map(&map_title, "open-map", &map_values, ja, marks))
        }
    }
}

/// The prefectures' figures as a table under the map.
fn prefecture_table(summary: &Value, ja: bool, dose: usize) -> Markup {
    let empty = Vec::new();
    let prefectures = summary["prefectures"].as_array().unwrap_or(&empty);
    let text = |v: &Value| match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) if s == "x" => "X".to_owned(),
        Value::String(s) => s.clone(),
        _ => "–".to_owned(),
    };
    html! {
        table.open-prefectures {
            thead { tr {
                th scope="col" { (Text::Prefecture.pick(ja)) }
                th scope="col" { (Text::Targets.pick(ja)) }
                th scope="col" { (Phrase::AtLeastDoses(&dose).pick(ja)) }
                th scope="col" { (Text::Coverage.pick(ja)) }
                th scope="col" { (Text::DoseCount.pick(ja)) }
            } }
            tbody {
                @for p in prefectures {
                    @let code: u8 = p["code"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
                    tr {
                        th scope="row" { ((p["name"].as_str().unwrap_or(""), name_en(code)).label(ja)) }
                        td { (text(&p["targets"])) }
                        td { (text(&p["people_with_at_least"][dose.to_string()])) }
                        td { @match p["coverage_percent"][dose.to_string()].as_f64() {
                            Some(v) => { (format!("{v:.1}%")) }
                            None => { "–" }
                        } }
                        td { (text(&p["doses"])) }
                    }
                }
            }
        }
    }
}

/// `/opendata/`: what is published, under which licence and when, the files, and the dashboard.
pub async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    if let Some(refused) = limited(&state, peer, &headers) {
        return Ok(refused);
    }
    let lang = Lang::from_cookies(&jar);
    let ja = lang == Lang::Ja;
    let files = state.store.open_release().await?;
    let summary: Option<Value> = open::read_published(state.store.as_ref(), open::SUMMARY_JSON)
        .await?
        .and_then(|body| serde_json::from_slice(&body).ok());
    let dose = q
        .dose
        .as_deref()
        .and_then(|d| vrs_domain::DoseNumber::parse(d).ok())
        .map_or(1, |n| usize::from(n.get()));
    let settings = &state.settings;
    let listed: Vec<_> = files
        .iter()
        .filter(|f| !f.name.contains(".sjis."))
        .collect();
    let body = html! {
        p {
            (Text::Covid19VaccinationFiguresBy.pick(ja))
        }
        p.licence {
            (Text::Licence.pick(ja))
            a href=(settings.opendata_licence_url) rel="license" { (settings.opendata_licence) }
            @if let Some(at) = files.iter().map(|f| f.generated_at).min() {
                " · " (Text::Updated.pick(ja)) (jst(at)) (Text::JstEveryDayAfter.pick(ja))
                (settings.opendata_hour) (Text::T00.pick(ja))
            }
        }
        p.note {
            (Text::ACountOf1To.pick(ja))
        }
        @if files.is_empty() {
            p.empty { (Text::NothingIsPublishedYet.pick(ja)) }
        } @else {
            table.files {
                thead { tr {
                    th scope="col" { (Text::File.pick(ja)) }
                    th scope="col" { (Text::Format.pick(ja)) }
                    th scope="col" { (Text::Size.pick(ja)) }
                } }
                tbody {
                    @for f in &listed {
                        tr {
                            td {
                                a href={ "/opendata/" (f.name) } { (f.name) }
                                @if f.name.ends_with(".csv") {
                                    " (" a href={ "/opendata/" (f.name) "?encoding=shift_jis" } { "Shift_JIS" } ")"
                                }
                            }
                            td { (f.content_type) }
                            td { (size(f.size)) }
                        }
                    }
                }
            }
        }
        @if let Some(s) = &summary {
            (charts(s, ja, dose))
            (prefecture_table(s, ja, dose))
        }
        p { a href="/api/docs" { (Text::FieldListApiDocument.pick(ja)) } }
    };
    let title = Text::OpenDataVaccinations.pick(ja);
    let mut response = Html(layout(lang, title, None, body).into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_cells_become_cells_and_withheld_shares_stay_withheld() {
        use serde_json::json;
        assert_eq!(cell(&json!(120)), Cell::Shown(120));
        assert_eq!(cell(&json!("<10")), Cell::Small);
        assert_eq!(cell(&json!("x")), Cell::Hidden);
        assert_eq!(share(&json!(50), &json!(200)), Point::Value(25.0));
        assert_eq!(
            share(&json!("<10"), &json!(200)),
            Point::Withheld(Cell::Small)
        );
        assert_eq!(share(&json!(10), &json!(0)), Point::Missing);
        assert_eq!(size(2048), "2.0 KB");
    }
}
