//! `POST /api/v1/targets`: a municipality's own system (or staff) uploads the targets and coupons
//! file of its resident registry — the same CSV, checks and all-or-nothing rule as `vrs import
//! targets` — and gets the report as JSON. The municipality is the caller's; every row must carry
//! its code. A machine client needs the scope `targets.import`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::import::{import_targets, ImportError, ImportObserver, Problem, TargetImport};
use vrs_interop::EncodingChoice;

use crate::api_errors::api_error;
use crate::error::WebError;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

/// The largest file taken over HTTP (about 600,000 rows); a larger registry imports with `vrs
/// import targets` on the server.
pub const UPLOAD_LIMIT: usize = 128 * 1024 * 1024;
/// Problems listed in an answer; the count says how many rows were refused in all.
const PROBLEMS_SHOWN: usize = 1000;

/// The media types the file may be sent as.
pub const CSV_TYPES: &[&str] = &["text/csv"];

/// A CSV file as a request body: bytes in the file's own encoding (UTF-8 or CP932).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CsvFile(#[allow(dead_code)] Vec<u8>);

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TargetsQuery {
    /// Store the good rows even when some are refused (by default nothing is stored then).
    #[serde(default)]
    partial: bool,
    /// `auto` (the default: UTF-8, else CP932/Shift_JIS), `utf-8` or `cp932`.
    #[param(pattern = r"^(auto|utf-8|utf8|cp932|shift_jis|sjis)?$")]
    encoding: Option<String>,
    /// A name for the audit log (the file's name; never its content), at most 100 characters.
    #[param(max_length = 100)]
    name: Option<String>,
}

/// The encoding a CSV upload names (`?encoding=`): sniffed when absent or empty.
pub(crate) fn encoding_choice(named: Option<&str>) -> Result<EncodingChoice, WebError> {
    match named.filter(|e| !e.is_empty()) {
        None => Ok(EncodingChoice::Auto),
        Some(e) => e
            .parse()
            .map_err(|e: String| WebError::Invalid(format!("encoding: {e}"))),
    }
}

#[derive(Default)]
struct Collect(Vec<Problem>);

impl ImportObserver for Collect {
    fn progress(&mut self, _rows: u64, _bytes: u64) {}
    fn problem(&mut self, problem: &Problem) {
        if self.0.len() < PROBLEMS_SHOWN {
            self.0.push(problem.clone());
        }
    }
}

/// Imports the targets file in the body into the caller's municipality.
#[utoipa::path(post, path = "/api/v1/targets",
    params(TargetsQuery),
    request_body(content = CsvFile, content_type = "text/csv",
        description = "The targets CSV of docs/csv-formats.md (header row; UTF-8 or CP932)"),
    responses(
        (status = 200, description = "Imported: the rows read and `stored` (added, updated, unchanged); with `partial`, the refused rows' problems too"),
        (status = 403, description = "Not municipal staff (or a client without `targets.import`)"),
        (status = 422, description = "Rows were refused and nothing was stored (`rows_refused`, with `problems`: line, column, code, reason in English and `reason_ja` in Japanese), or the file cannot be read (`invalid_file`)"),
        (status = 503, description = "The national operator has stopped imports (`function_stopped`)"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Query(q): Query<TargetsQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    signed.check_csrf_header(&headers)?;
    let own = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a service of municipal staff"))?;
    signed.authorize(Action::ImportTargets, &Target::Municipality(own))?;
    let encoding = crate::targets::encoding_choice(q.encoding.as_deref())?;
    let request = TargetImport {
        municipality: own,
        encoding,
        partial: q.partial,
        source_name: q
            .name
            .as_deref()
            .map(|n| n.chars().take(100).collect())
            .unwrap_or_else(|| "api upload".to_owned()),
    };
    if body.is_empty() {
        return Ok(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file",
            "ファイルが空です。",
            "the file is empty",
        ));
    }
    let mut problems = Collect::default();
    let source = std::io::Cursor::new(body);
    let report = match import_targets(
        state.store.as_ref(),
        &actor(&signed),
        source,
        &request,
        &mut problems,
    )
    .await
    {
        Ok(report) => report,
        Err(ImportError::Stopped(s)) => return Ok(crate::api_errors::refusal(&s)),
        Err(ImportError::File(e)) => {
            return Ok(api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_file",
                &format!("ファイルを読み取れません: {e}"),
                &format!("the file cannot be read: {e}"),
            ))
        }
        Err(ImportError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let listed: Vec<serde_json::Value> = problems
        .0
        .iter()
        .map(|p| {
            serde_json::json!({
                "line": p.line,
                "column": p.column,
                "code": p.reason.code,
                "reason": p.reason.en,
                "reason_ja": p.reason.ja,
            })
        })
        .collect();
    let stored = report.stored.as_ref().map(|s| {
        serde_json::json!({"added": s.added, "updated": s.updated, "unchanged": s.unchanged, "refused": s.rejected})
    });
    let body = serde_json::json!({
        "encoding": report.encoding.name(),
        "rows": report.rows,
        "rejected_rows": report.rejected_rows,
        "stored": stored,
        "problems": listed,
    });
    if report.stored.is_none() {
        let mut answer = body;
        answer["code"] = "rows_refused".into();
        answer["message_ja"] = format!(
            "{} 行に誤りがあるため、何も登録していません（partial=true で正しい行だけを登録できます）。",
            report.rejected_rows
        )
        .into();
        answer["message_en"] = format!(
            "{} rows were refused, so nothing was stored (partial=true stores the good rows)",
            report.rejected_rows
        )
        .into();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(answer)).into_response());
    }
    Ok(Json(body).into_response())
}
