//! The bulk inquiry: a file of movers run as one job, from the page or by an LG-WAN system
//! through the API, its doses registered in one step and its results downloaded as CSV.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::inquiry::bulk::{encode_results, inquire_bulk, BulkError};
use vrs_domain::AuditAction;
use vrs_interop::{Encoding, EncodingChoice};
use vrs_store::Areas;

use super::{csv_download, encoding_of, requester, CsrfForm, EncodingQuery};
use crate::api_errors::api_error;
use crate::error::WebError;
use crate::i18n::{Lang, Text};
use crate::inquiries_pages as view;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

pub async fn bulk_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    let own = requester(&signed)?;
    let jobs = state.store.area(own).inquiry_jobs(20).await?;
    Ok(Html(view::bulk(&signed, None, None, &jobs).into_string()))
}

pub async fn bulk_upload(
    State(state): State<AppState>,
    signed: Signed,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    let (mut csrf, mut file, mut encoding) = (String::new(), Bytes::new(), String::from("auto"));
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::Invalid(e.body_text()))?
    {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "encoding" => encoding = field.text().await.unwrap_or_default(),
            "file" => {
                file = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::Invalid(e.body_text()))?
            }
            _ => {}
        }
    }
    signed.check_csrf(&csrf)?;
    let ja = signed.lang == Lang::Ja;
    let jobs = state.store.area(own).inquiry_jobs(20).await?;
    let refuse = |message: String| {
        let body = view::bulk(&signed, None, Some(&message), &jobs);
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body.into_string())).into_response())
    };
    let Ok(choice) = encoding.parse::<EncodingChoice>() else {
        return refuse(format!("encoding: {encoding}"));
    };
    if file.is_empty() {
        return refuse(Text::ChooseAFile.pick(ja).into());
    }
    let result = inquire_bulk(
        state.store.as_ref(),
        &actor(&signed),
        own,
        std::io::Cursor::new(file),
        choice,
    )
    .await;
    match result {
        Ok(report) => {
            let jobs = state.store.area(own).inquiry_jobs(20).await?;
            Ok(Html(view::bulk(&signed, Some(&report), None, &jobs).into_string()).into_response())
        }
        Err(BulkError::Stopped(s)) => Err(WebError::Stopped(s)),
        Err(BulkError::Store(e)) => Err(e.into()),
        Err(e) => refuse(e.to_string()),
    }
}

/// Registers the received doses of every person a bulk inquiry found, in one step
/// (`POST /inquiries/bulk/{batch}/register`): each person's doses all or none, refusals listed.
pub async fn bulk_register(
    State(state): State<AppState>,
    signed: Signed,
    Path(batch): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    signed.authorize(Action::AddDose, &Target::Person { home: own })?;
    signed.check_csrf(&form.csrf)?;
    let done = vrs_core::inquiry::bulk::register_batch(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &batch,
        vrs_core::japan_today(),
    )
    .await?;
    Ok(Html(view::bulk_registered(&signed, &batch, &done).into_string()).into_response())
}

pub async fn bulk_download(
    State(state): State<AppState>,
    signed: Signed,
    Path(batch): Path<String>,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    let encoding = encoding_of(&q)?;
    let job = state.store.area(own).inquiry_job(&batch).await?;
    let audit = actor(&signed)
        .audit(AuditAction::RecordsExport, &batch)
        .with_detail("bulk inquiry results");
    state.store.append_audit(own.into(), &audit).await?;
    Ok(csv_download(
        &format!("inquiry-{batch}.csv"),
        encode_results(&job.results_csv, encoding),
        encoding,
    ))
}

/// The query of the bulk inquiry API: the file's encoding.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct BulkQuery {
    /// `auto` (the default: UTF-8, else CP932), `utf-8` or `cp932`.
    #[param(pattern = r"^(auto|utf-8|utf8|cp932|shift_jis|sjis)?$")]
    encoding: Option<String>,
}

/// A bulk inquiry by an LG-WAN system: the file of movers (the CSV of the bulk inquiry page, My
/// Numbers inside the body, never in the URL), run as one job; the answer counts the outcomes and
/// names the results to fetch.
#[utoipa::path(post, path = "/api/v1/inquiries/bulk",
    params(BulkQuery),
    request_body(content = crate::targets::CsvFile, content_type = "text/csv",
        description = "The bulk inquiry CSV of docs/inquiry.md (at most 50,000 rows)"),
    responses(
        (status = 200, description = "Done: `batch`, the counts (`rows`, `found`, `not_found`, `refused`, `invalid`) and `results`, where the results CSV is"),
        (status = 403, description = "Not municipal staff on LG-WAN (or a client without `inquiries.send`)"),
        (status = 422, description = "The file cannot be read, holds no rows or too many (`invalid_file`)"),
        (status = 503, description = "The national operator has stopped inquiries (`function_stopped`)"),
    ))]
pub async fn api_bulk(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Query(q): Query<BulkQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    signed.check_csrf_header(&headers)?;
    let own = requester(&signed)?;
    let encoding = crate::targets::encoding_choice(q.encoding.as_deref())?;
    let file_refused = |en: String| {
        Ok(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file",
            &format!("ファイルを処理できません: {en}"),
            &en,
        ))
    };
    if body.is_empty() {
        return file_refused("the file is empty".into());
    }
    let report = match inquire_bulk(
        state.store.as_ref(),
        &actor(&signed),
        own,
        std::io::Cursor::new(body),
        encoding,
    )
    .await
    {
        Ok(report) => report,
        Err(BulkError::Stopped(s)) => return Ok(crate::api_errors::refusal(&s)),
        Err(BulkError::Store(e)) => return Err(e.into()),
        Err(e) => return file_refused(e.to_string()),
    };
    let job = &report.job;
    Ok(Json(serde_json::json!({
        "batch": job.batch,
        "rows": job.rows,
        "found": job.found,
        "not_found": job.not_found,
        "refused": job.refused,
        "invalid": job.invalid,
        "results": format!("/api/v1/inquiries/bulk/{}", job.batch),
    }))
    .into_response())
}

/// The results of a bulk inquiry as CSV (the download of the bulk inquiry page), audited as an
/// export.
#[utoipa::path(get, path = "/api/v1/inquiries/bulk/{batch}",
    params(
        ("batch" = String, Path, description = "The batch ID the upload answered"),
        ("encoding" = Option<String>, Query, pattern = r"^(utf-8|utf8|cp932|shift_jis|sjis)?$", description = "`utf-8` (the default) or `cp932`"),
    ),
    responses(
        (status = 200, description = "The results CSV (text/csv)", content_type = "text/csv"),
        (status = 403, description = "Not municipal staff on LG-WAN (or a client without `inquiries.send`)"),
        (status = 404, description = "No such batch of this municipality"),
    ))]
pub async fn api_bulk_results(
    State(state): State<AppState>,
    signed: Signed,
    Path(batch): Path<String>,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    let encoding = match q
        .encoding
        .as_deref()
        .filter(|e| !e.is_empty())
        .map(str::parse)
    {
        None => Encoding::Utf8,
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            return Ok(api_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                &format!("encoding: {e}"),
                &format!("encoding: {e}"),
            ))
        }
    };
    let job = match state.store.area(own).inquiry_job(&batch).await {
        Ok(job) => job,
        Err(vrs_store::StoreError::NotFound) => {
            return Ok(api_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "この一括照会はありません。",
                "no such bulk inquiry of this municipality",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let audit = actor(&signed)
        .audit(AuditAction::RecordsExport, &batch)
        .with_detail("bulk inquiry results (API)");
    state.store.append_audit(own.into(), &audit).await?;
    Ok(csv_download(
        &format!("inquiry-{batch}.csv"),
        encode_results(&job.results_csv, encoding),
        encoding,
    ))
}
