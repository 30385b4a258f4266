//! The audit log as its municipality's staff read it: search by day, user and action, and the CSV
//! download (itself audited).

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use vrs_core::access::Action;
use vrs_store::{AuditEntry, AuditFilter};

use crate::error::WebError;
use crate::form::Refusal;
use crate::i18n::{field_refused, Lang, Text};
use crate::pages;
use crate::session::Signed;
use crate::AppState;

/// The viewer's own municipality, once the access module allowed `action` on it.
fn own_municipality(
    signed: &Signed,
    action: Action,
) -> Result<vrs_domain::MunicipalityCode, WebError> {
    signed.authorize(action, &signed.own_area())?;
    signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a page of municipal staff"))
}

/// The search filter of a query, or the message naming the field that is wrong.
fn audit_filter(lang: Lang, q: &pages::AuditQuery, limit: u32) -> Result<AuditFilter, Refusal> {
    let day = |field: &'static str,
               label: Text,
               value: &str|
     -> Result<Option<chrono::NaiveDate>, Refusal> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        vrs_domain::parse_date(value)
            .map(Some)
            .map_err(|e| Refusal::field(field, field_refused(lang, label, &e)))
    };
    let from = day("from", Text::FromDate, &q.from)?;
    let to = day("to", Text::ToDateInclusive, &q.to)?;
    // Days are Japan's days (midnight JST is 15:00 UTC the day before), as the page shows times.
    let start = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc() - chrono::Duration::hours(9))
    };
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        from: from.and_then(start),
        to: to.and_then(|d| d.succ_opt()).and_then(start),
        actor: text(&q.actor),
        action: text(&q.action),
        limit,
        before_seq: q.before,
    })
}

pub(crate) async fn audit_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<pages::AuditQuery>,
) -> Result<Response, WebError> {
    let own = own_municipality(&signed, Action::ReadAuditLog)?;
    match audit_filter(signed.lang, &query, pages::AUDIT_PAGE) {
        Ok(filter) => {
            let found = state.store.audit_search(own.into(), &filter).await?;
            Ok(
                Html(pages::audit(signed.lang, &signed, &query, &found, None).into_string())
                    .into_response(),
            )
        }
        Err(refused) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::audit(signed.lang, &signed, &query, &[], Some(&refused)).into_string()),
        )
            .into_response()),
    }
}

pub(crate) async fn audit_csv(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<pages::AuditQuery>,
) -> Result<Response, WebError> {
    let own = own_municipality(&signed, Action::ExportAuditLog)?;
    let filter = audit_filter(signed.lang, &query, 100_000)
        .map_err(|refused| WebError::Invalid(refused.message))?;
    let found = state.store.audit_search(own.into(), &filter).await?;
    let export = AuditEntry::now(
        signed.account.user_id.as_str(),
        signed.account.role.as_str(),
        signed.terminal.as_str(),
        vrs_domain::AuditAction::AuditExport.as_str(),
        &format!("{} entries", found.len()),
    )
    .with_detail(query.query_string());
    state.store.append_audit(own.into(), &export).await?;
    // UTF-8 with a byte-order mark, so spreadsheet software on municipal PCs opens it as UTF-8;
    // every cell through the writer that keeps a spreadsheet from running one.
    let header = [
        "連番",
        "日時",
        "ユーザID",
        "役割",
        "端末",
        "操作",
        "対象",
        "結果",
        "詳細",
    ];
    let mut csv = Vec::new();
    let mut w = vrs_interop::CsvWriter::start(&mut csv, vrs_interop::Encoding::Utf8, &header)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    for r in &found {
        let e = &r.entry;
        let cells = [
            r.seq.to_string(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.actor.clone(),
            e.role.clone(),
            e.terminal.clone(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.detail.clone(),
        ];
        w.row(&cells[0], &cells)
            .map_err(|e| WebError::Internal(e.to_string()))?;
    }
    w.finish().map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{own}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}
