//! The targets (接種対象者) upload page: the municipality's resident-registry file of targets and
//! coupons, the same CSV, checks and all-or-nothing rule as `vrs import targets` and `POST
//! /api/v1/targets`, with every refused row named by line, column and reason. The file carries My
//! Numbers, so the page is for LG-WAN terminals only.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use vrs_core::access::Action;
use vrs_core::import::{import_targets, ImportError, ImportReport, Problem, TargetImport};
use vrs_interop::EncodingChoice;

use crate::error::WebError;
use crate::i18n::{said, Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::uploads;
use crate::AppState;

fn upload_form(signed: &Signed, error: Option<&str>) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        form.card method="post" action="/targets/import" enctype="multipart/form-data" {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            (uploads::fields(ja, Text::TargetCsvFile))
            button.primary type="submit" { (Text::Import.pick(ja)) }
            (uploads::progress(ja))
        }
        p { (Text::TargetColumns.pick(ja)) }
        p { (Text::TargetImportUpdates.pick(ja)) }
    }
}

fn page(signed: &Signed, status: StatusCode, body: Markup) -> Response {
    let ja = signed.lang == Lang::Ja;
    let title = Text::ImportTargets.pick(ja);
    (
        status,
        Html(layout(signed.lang, title, Some(signed), body).into_string()),
    )
        .into_response()
}

pub async fn import_page(signed: Signed) -> Result<Response, WebError> {
    own(&signed, Action::ImportTargets)?;
    Ok(page(&signed, StatusCode::OK, upload_form(&signed, None)))
}

fn report(signed: &Signed, file: &str, r: &ImportReport, problems: &[Problem]) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        section.card #report data-stored=(r.stored.is_some()) {
            @match &r.stored {
                Some(_) => p.notice role="status" { (Text::TargetsStored.pick(ja)) },
                None => p.error role="alert" { (Text::NothingWasStoredSomeRows.pick(ja)) },
            }
            dl {
                dt { (Text::File.pick(ja)) } dd { (file) }
                dt { (Text::Encoding.pick(ja)) } dd { (r.encoding.name()) }
                dt { (Text::Rows.pick(ja)) } dd #rows { (r.rows) }
                @if let Some(s) = &r.stored {
                    dt { (Text::AddedCount.pick(ja)) } dd #added { (s.added) }
                    dt { (Text::UpdatedCount.pick(ja)) } dd #updated { (s.updated) }
                    dt { (Text::AlreadyStored.pick(ja)) } dd #unchanged { (s.unchanged) }
                }
                dt { (Text::RowsWithProblems.pick(ja)) } dd #rejected { (r.rejected_rows) }
            }
        }
        (uploads::problems_table(ja, problems))
    }
}

pub async fn import(
    State(state): State<AppState>,
    signed: Signed,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let municipality = own(&signed, Action::ImportTargets)?;
    let ja = signed.lang == Lang::Ja;
    let upload = uploads::read(multipart).await?;
    signed.check_csrf(&upload.csrf)?;
    let refuse = |message: &str| {
        let body = upload_form(&signed, Some(message));
        page(&signed, StatusCode::UNPROCESSABLE_ENTITY, body)
    };
    if upload.file.is_empty() {
        return Ok(refuse(Text::ChooseAFile.pick(ja)));
    }
    let Ok(encoding) = upload.encoding.parse::<EncodingChoice>() else {
        return Ok(refuse(Text::ChooseAnEncoding.pick(ja)));
    };
    let request = TargetImport {
        municipality,
        encoding,
        partial: upload.partial,
        source_name: upload.name.clone(),
    };
    let mut seen = uploads::Collect::default();
    let source = std::io::Cursor::new(upload.file);
    match import_targets(
        state.store.as_ref(),
        &actor(&signed),
        source,
        &request,
        &mut seen,
    )
    .await
    {
        Ok(r) => {
            let status = if r.stored.is_some() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body = html! {
                (report(&signed, &upload.name, &r, &seen.shown))
                (upload_form(&signed, None))
            };
            Ok(page(&signed, status, body))
        }
        Err(ImportError::File(e)) => Ok(refuse(&format!(
            "{}: {}",
            Text::TheFileCannotBeRead.pick(ja),
            said(signed.lang, &e)
        ))),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(ImportError::Interrupted(e)) => Err(WebError::Internal(e)),
        Err(ImportError::Stopped(s)) => Err(WebError::Stopped(s)),
    }
}
