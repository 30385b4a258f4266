//! Statistics pages, downloads and the JSON API: a municipality sees its own counts; a prefecture its
//! municipalities and its total; the nation every prefecture and municipality — counts only, small
//! counts shown as `<10` and cells hidden to protect them as `X` in every view that leaves the
//! municipality. The scope asked for is checked
//! by the access module against the session (a prefecture viewer asking for another prefecture, or
//! staff for another municipality, is refused).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::statistics::view::{
    csv_rows, dashboard, dashboard_of_days, Audience, Dashboard, Days, Table,
};
use vrs_domain::{Cell, Labelled, MunicipalityCode, PrefectureCode};
use vrs_interop::{CsvWriter, Encoding};
use vrs_store::StatScope;

use crate::charts::{bar_chart, even_days, line_chart, percent, Point, Series};
use crate::error::WebError;
use crate::form::{summary, Input, Refusal};
use crate::i18n::{field_refused, t, Lang, Text};
use crate::pages::layout;
use crate::session::Signed;
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct StatQuery {
    #[serde(default)]
    municipality: Option<String>,
    #[serde(default)]
    prefecture: Option<String>,
    /// The column of the municipalities table to sort by (descending); none: by code.
    #[serde(default)]
    sort: Option<usize>,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    /// The first and last day of the daily table (西暦 or 和暦; empty: open).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The days asked for, or the field that could not be read as a date.
fn days_of(lang: Lang, q: &StatQuery) -> Result<Days, Refusal> {
    let day = |field: &'static str, value: &str| -> Result<Option<chrono::NaiveDate>, Refusal> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        vrs_domain::parse_date(value).map(Some).map_err(|e| {
            let label = match field {
                "from" => Text::FromDate,
                _ => Text::ToDateInclusive,
            };
            Refusal::field(field, field_refused(lang, label, &e))
        })
    };
    let days = Days {
        from: day("from", &q.from)?,
        to: day("to", &q.to)?,
    };
    match (days.from, days.to) {
        (Some(f), Some(to)) if to < f => Err(Refusal::field("to", t(lang, Text::EndBeforeStart))),
        _ => Ok(days),
    }
}

/// The scope asked for (or the viewer's own area), once the access module allows reading it, and
/// whether the view leaves the municipality.
fn scope_of(signed: &Signed, q: &StatQuery) -> Result<(StatScope, Audience), WebError> {
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (scope, target) = if let Some(m) = blank(&q.municipality) {
        let m = MunicipalityCode::parse(&m)
            .map_err(|e| WebError::Invalid(format!("municipality: {e}")))?;
        (StatScope::Municipality(m), Target::Municipality(m))
    } else if let Some(p) = blank(&q.prefecture) {
        let p =
            PrefectureCode::parse(&p).map_err(|e| WebError::Invalid(format!("prefecture: {e}")))?;
        (StatScope::Prefecture(p), Target::Prefecture(p))
    } else {
        match signed.own_area() {
            Target::Municipality(m) => (StatScope::Municipality(m), Target::Municipality(m)),
            Target::Prefecture(p) => (StatScope::Prefecture(p), Target::Prefecture(p)),
            _ => (StatScope::Nation, Target::Nation),
        }
    };
    signed.authorize(Action::ReadStatistics, &target)?;
    let own = signed.account.role.is_municipal()
        && matches!(scope, StatScope::Municipality(m) if Some(m) == signed.account.municipality);
    Ok((
        scope,
        if own {
            Audience::OwnMunicipality
        } else {
            Audience::Outside
        },
    ))
}

fn scope_name(scope: StatScope, ja: bool) -> String {
    match scope {
        StatScope::Municipality(m) => m.info().full_name(),
        StatScope::Prefecture(p) => p.info().name.to_owned(),
        StatScope::Nation => Text::Japan.pick(ja).to_owned(),
    }
}

fn scope_query(scope: StatScope) -> String {
    match scope {
        StatScope::Municipality(m) => format!("municipality={m}"),
        StatScope::Prefecture(p) => format!("prefecture={p}"),
        StatScope::Nation => String::new(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<StatQuery>,
) -> Result<Html<String>, WebError> {
    let (scope, audience) = scope_of(&signed, &q)?;
    let (days, refused) = match days_of(signed.lang, &q) {
        Ok(days) => (days, None),
        Err(r) => (Days::ALL, Some(r)),
    };
    let d = dashboard_of_days(state.store.as_ref(), scope, audience, days).await?;
    let asked = Asked {
        sort: q.sort,
        from: &q.from,
        to: &q.to,
        refused: refused.as_ref(),
    };
    Ok(Html(view(&signed, &d, &asked).into_string()))
}

/// What the viewer asked of the page: the sort column and the day range as typed, and why the
/// range was not used, if it was not.
struct Asked<'a> {
    sort: Option<usize>,
    from: &'a str,
    to: &'a str,
    refused: Option<&'a Refusal>,
}

fn charts(d: &Dashboard, ja: bool) -> Markup {
    let pick = |label: &(String, String)| label.label(ja).to_owned();
    // Every day from the first dose to the last, so the axis is even in time (a day without doses
    // is 0; a hidden count is a gap).
    let dated: Vec<(chrono::NaiveDate, &Vec<Cell>)> = d
        .daily
        .rows
        .iter()
        .filter_map(|(j, _, cells)| j.parse().ok().map(|day| (day, cells)))
        .collect();
    let (first, days) = even_days(&dated);
    let span = days.len();
    let column = |c: usize| -> Vec<Cell> {
        let mut v = vec![Cell::Shown(0); span];
        for (day, cells) in &dated {
            v[(*day - first).num_days() as usize] = cells[c];
        }
        v
    };
    let per_day: Vec<Series> = d
        .daily
        .columns
        .iter()
        .enumerate()
        .map(|(c, label)| Series {
            label: pick(label),
            points: column(c).into_iter().map(Point::of).collect(),
        })
        .collect();
    // Cumulative coverage: doses of number n so far over today's targets. A withheld day counts 0,
    // so the line is a lower bound from there on, and the chart's note says so.
    let targets = d
        .coverage
        .column_totals
        .first()
        .and_then(|c| c.value())
        .unwrap_or(0);
    let cumulative: Vec<Series> = d
        .daily
        .columns
        .iter()
        .enumerate()
        .map(|(c, label)| {
            let mut sum = d.before.get(c).and_then(|v| v.value()).unwrap_or(0);
            Series {
                label: pick(label),
                points: column(c)
                    .into_iter()
                    .map(|v| {
                        sum += v.value().unwrap_or(0);
                        if targets > 0 {
                            Point::Value(sum as f64 * 100.0 / targets as f64)
                        } else {
                            Point::Missing
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let bands: Vec<String> = d
        .coverage
        .rows
        .iter()
        .map(|(_, e, _)| e.trim_end_matches(" years").to_owned())
        .collect();
    let by_band: Vec<Series> = (1..d.coverage.columns.len())
        .map(|k| Series {
            label: pick(&d.coverage.columns[k]),
            points: d
                .coverage
                .rows
                .iter()
                .map(|(_, _, cells)| percent(&cells[k], &cells[0]))
                .collect(),
        })
        .collect();
    let products: Vec<String> = d
        .products
        .rows
        .iter()
        .map(|(j, e, _)| (j.as_str(), e.as_str()).label(ja).to_owned())
        .collect();
    let by_product = vec![Series {
        label: Text::DoseCount.pick(ja).to_owned(),
        points: d
            .products
            .row_totals
            .as_ref()
            .map(|t| t.iter().copied().map(Point::of).collect())
            .unwrap_or_default(),
    }];
    let gaps = Text::WithheldGaps.pick(ja);
    let marks = Text::WithheldMarks.pick(ja);
    let lower_bound = Text::DaysWithheld10XCount.pick(ja);
    html! {
        div.charts {
            (line_chart(Text::DosesPerDay.pick(ja), "chart-daily", &days, &per_day, false, gaps))
            (line_chart(Text::CumulativeCoverageByDoseNumber.pick(ja), "chart-coverage", &days, &cumulative, true, lower_bound))
            (bar_chart(Text::CoverageByAgeBand.pick(ja), "chart-ages", &bands, &by_band, true, marks))
            (bar_chart(Text::DosesByVaccine.pick(ja), "chart-products", &products, &by_product, false, marks))
        }
    }
}

/// A share of targets as the page prints it (`78.3%`), or `—` when either count is withheld or
/// there are no targets.
fn rate_text(part: &Cell, whole: &Cell) -> String {
    match percent(part, whole) {
        Point::Value(p) => format!("{p:.1}%"),
        _ => "—".to_owned(),
    }
}

/// Whether column `c` of `t` counts people with at least some doses, so its share of the targets
/// (column 0) is shown beside it as the 接種率.
fn has_rate(t: &Table, c: usize) -> bool {
    matches!(t.name, "coverage" | "municipalities") && c > 0 && t.columns[c].1.starts_with('≥')
}

fn table_view(t: &Table, ja: bool, download: &str, sort: Option<usize>, sortable: bool) -> Markup {
    let pick = |j: &str, e: &str| (j, e).label(ja).to_owned();
    let mut order: Vec<usize> = (0..t.rows.len()).collect();
    if let Some(c) = sort.filter(|c| *c < t.columns.len()) {
        // Hidden cells sort last.
        order.sort_by_key(|&i| std::cmp::Reverse(t.rows[i].2[c].value().map_or(-1, |v| v as i64)));
    }
    let rate = Text::VaccinationRate.pick(ja);
    html! {
        section.card.stat-table id={ "table-" (t.name) } {
            table {
                tr {
                    th { (pick(t.row_header.0, t.row_header.1)) }
                    @for (i, (j, e)) in t.columns.iter().enumerate() {
                        th {
                            @if sortable { a href={ "?" (download) "&sort=" (i) } { (pick(j, e)) } } @else { (pick(j, e)) }
                        }
                        @if has_rate(t, i) { th.rate { (rate) "（" (pick(j, e)) "）" } }
                    }
                    @if t.row_totals.is_some() { th { (Text::Total.pick(ja)) } }
                }
                @for i in order {
                    @let (j, e, cells) = &t.rows[i];
                    tr {
                        th { (pick(j, e)) }
                        @for (c, cell) in cells.iter().enumerate() {
                            td.num.suppressed[cell.is_withheld()] { (cell.text()) }
                            @if has_rate(t, c) { td.num.rate { (rate_text(cell, &cells[0])) } }
                        }
                        @if let Some(totals) = &t.row_totals { td.num.suppressed[totals[i].is_withheld()] { (totals[i].text()) } }
                    }
                }
                tr.total {
                    th { (Text::Total.pick(ja)) }
                    @for (c, cell) in t.column_totals.iter().enumerate() {
                        td.num.suppressed[cell.is_withheld()] { (cell.text()) }
                        @if has_rate(t, c) { td.num.rate { (rate_text(cell, &t.column_totals[0])) } }
                    }
                    @if let Some(total) = t.total { td.num.suppressed[total.is_withheld()] { (total.text()) } }
                }
            }
            p { a.download href={ "/statistics/download?table=" (t.name) "&" (download) } { (Text::DownloadCsv.pick(ja)) } }
        }
    }
}

/// The campaign at a glance: for each dose number, the share of targets with at least that many
/// doses, and the two counts it comes from.
fn headline(d: &Dashboard, ja: bool) -> Markup {
    let totals = &d.coverage.column_totals;
    let Some(targets) = totals.first() else {
        return html! {};
    };
    html! {
        section #headline aria-label=(Text::CoverageOfTargets.pick(ja)) {
            @for (c, cell) in totals.iter().enumerate().skip(1) {
                @let column = &d.coverage.columns[c];
                div.figure {
                    span.label { (column.label(ja)) }
                    span.rate { (rate_text(cell, targets)) }
                    span.counts { (cell.text()) " / " (targets.text()) }
                }
            }
            p.hint { (Text::CoverageOfTargets.pick(ja)) " — " (Text::PeopleAndTargets.pick(ja)) }
        }
    }
}

/// The form that limits the daily table and charts to a range of days.
fn range_form(d: &Dashboard, asked: &Asked, ja: bool) -> Markup {
    let from = Text::FromDate.pick(ja);
    let to = Text::ToDateInclusive.pick(ja);
    html! {
        form.card.range method="get" action="/statistics" novalidate {
            h3 { (Text::DaysShown.pick(ja)) }
            (summary("range", asked.refused))
            @match d.scope {
                StatScope::Municipality(m) => input type="hidden" name="municipality" value=(m);,
                StatScope::Prefecture(p) => input type="hidden" name="prefecture" value=(p);,
                StatScope::Nation => {},
            }
            (Input::new("range", "from", from).value(asked.from).placeholder("2021-04-12 / 令和3年4月12日").render(asked.refused))
            (Input::new("range", "to", to).value(asked.to).render(asked.refused))
            button.primary type="submit" { (Text::Show.pick(ja)) }
            p.hint { (Text::DaysShownHint.pick(ja)) }
        }
    }
}

fn view(signed: &Signed, d: &Dashboard, asked: &Asked) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let query = scope_query(d.scope);
    let computed = d.oldest.map(|t| {
        (t + chrono::Duration::hours(9))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    });
    let title = format!(
        "{} {}",
        scope_name(d.scope, ja),
        Text::VaccinationStatistics.pick(ja)
    );
    let body = html! {
        p #stat-meta {
            (Text::CountedAt.pick(ja)) ": " (computed.unwrap_or_else(|| Text::NotYetCounted.pick(ja).to_owned()))
            @if d.audience == Audience::Outside {
                "　" (Text::CountsBelow10AreShown.pick(ja))
            }
        }
        (headline(d, ja))
        (range_form(d, asked, ja))
        (charts(d, ja))
        @if !d.municipalities.rows.is_empty() {
            h3 { (Text::ByMunicipality.pick(ja)) }
            (table_view(&d.municipalities, ja, &query, asked.sort, true))
        }
        h3 { (Text::CoverageByAgeBandAge.pick(ja)) }
        (table_view(&d.coverage, ja, &query, None, false))
        h3 { (Text::DosesByVaccine.pick(ja)) }
        (table_view(&d.products, ja, &query, None, false))
        h3 { (Text::DosesByAgeBandAt.pick(ja)) }
        (table_view(&d.ages, ja, &query, None, false))
        h3 { (Text::DosesBySex.pick(ja)) }
        (table_view(&d.sexes, ja, &query, None, false))
        h3 { (Text::DosesPerDay.pick(ja)) }
        (table_view(&d.daily, ja, &query, None, false))
    };
    layout(signed.lang, &title, Some(signed), body)
}

pub async fn download(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<StatQuery>,
) -> Result<Response, WebError> {
    let (scope, audience) = scope_of(&signed, &q)?;
    let encoding: Encoding = q
        .encoding
        .as_deref()
        .unwrap_or("cp932")
        .parse()
        .map_err(WebError::Invalid)?;
    let name = q.table.clone().unwrap_or_default();
    let d = dashboard(state.store.as_ref(), scope, audience).await?;
    let table = d.table(&name).ok_or_else(|| {
        WebError::Invalid(format!(
            "table: {name:?} (daily, products, ages, sexes, coverage or municipalities)"
        ))
    })?;
    let rows = csv_rows(table, signed.lang == Lang::Ja);
    let header: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let mut w = CsvWriter::start(&mut out, encoding, &header)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    for row in &rows[1..] {
        w.row(&row[0], row)
            .map_err(|e| WebError::Invalid(e.to_string()))?;
    }
    w.finish().map_err(|e| WebError::Internal(e.to_string()))?;
    let charset = if encoding == Encoding::Utf8 {
        "utf-8"
    } else {
        "shift_jis"
    };
    let file = format!(
        "statistics-{}-{name}.csv",
        scope_query(scope).replace('=', "-")
    );
    Ok((
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        out,
    )
        .into_response())
}

/// A cell in the API: a number, `"<10"` for a count of 1–9, `"x"` for a cell hidden to protect one.
fn cell_json(c: &Cell) -> serde_json::Value {
    match c {
        Cell::Shown(n) => serde_json::json!(n),
        Cell::Small => serde_json::json!("<10"),
        Cell::Hidden => serde_json::json!("x"),
    }
}

fn table_json(t: &Table) -> serde_json::Value {
    serde_json::json!({
        "columns": t.columns.iter().map(|(j, e)| serde_json::json!({"ja": j, "en": e})).collect::<Vec<_>>(),
        "rows": t.rows.iter().enumerate().map(|(i, (j, e, cells))| serde_json::json!({
            "label_ja": j, "label_en": e,
            "cells": cells.iter().map(cell_json).collect::<Vec<_>>(),
            "total": t.row_totals.as_ref().map(|r| cell_json(&r[i])),
        })).collect::<Vec<_>>(),
        "column_totals": t.column_totals.iter().map(cell_json).collect::<Vec<_>>(),
        "total": t.total.as_ref().map(cell_json),
    })
}

/// Statistics of a scope as JSON, for automatic provision to the nation and prefectures: every
/// table of the dashboard, counts of 1–9 as `"<10"`, cells hidden to protect them as `"x"`.
#[utoipa::path(get, path = "/api/v1/statistics",
    params(
        ("municipality" = Option<String>, Query, pattern = r"^([0-9]{6})?$", description = "Empty is as if not given. A municipality code (its prefecture and the nation may ask too)"),
        ("prefecture" = Option<String>, Query, pattern = r"^([0-9]{2})?$", description = "Empty is as if not given. A prefecture code (01–47)"),
    ),
    responses(
        (status = 200, description = "The scope, when it was counted, whether small counts are suppressed, and the tables (daily, products, ages, sexes, coverage, municipalities)"),
        (status = 403, description = "The session may not read this scope"),
        (status = 422, description = "A code is malformed"),
    ))]
pub async fn api(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<StatQuery>,
) -> Result<Response, WebError> {
    let (scope, audience) = scope_of(&signed, &q)?;
    let d = dashboard(state.store.as_ref(), scope, audience).await?;
    let (kind, code) = match scope {
        StatScope::Municipality(m) => ("municipality", m.to_string()),
        StatScope::Prefecture(p) => ("prefecture", p.to_string()),
        StatScope::Nation => ("nation", String::new()),
    };
    let tables: serde_json::Map<String, serde_json::Value> = d
        .tables()
        .iter()
        .map(|t| (t.name.to_owned(), table_json(t)))
        .collect();
    Ok(Json(serde_json::json!({
        "scope": {"kind": kind, "code": code, "name": scope_name(scope, true)},
        "counted_at": d.oldest,
        "suppressed_below": if audience == Audience::Outside { Some(vrs_domain::SUPPRESS_BELOW) } else { None },
        "tables": tables,
    }))
    .into_response())
}
