//! Dose files for municipal staff: the bulk upload (all-or-nothing by default, every bad row named
//! by line, column and reason) and the download of the municipality's doses in the VRS ledger
//! layout or one row per dose, in UTF-8 or CP932. Downloads stream as the area is read.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use tokio::sync::mpsc;
use vrs_core::access::Action;
use vrs_core::doses::export::{export_doses, DoseExport, ExportFormat};
use vrs_core::doses::import::{import_doses, DoseImport, DoseImportReport};
use vrs_core::{ImportError, Problem};
use vrs_interop::{Encoding, EncodingChoice};

use crate::error::WebError;
use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::uploads;
use crate::AppState;

/// The largest dose file accepted by upload (about 1.5 million rows).
pub const UPLOAD_LIMIT: usize = 128 * 1024 * 1024;

fn upload_form(signed: &Signed, error: Option<&str>) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        form.card method="post" action="/doses/import" enctype="multipart/form-data" {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            (uploads::fields(ja, Text::DoseCsvFile))
            button.primary type="submit" { (Text::Import.pick(ja)) }
            (uploads::progress(ja))
        }
        p { (Text::ColumnsCouponNumberDoseNumber.pick(ja)) }
    }
}

fn title(ja: bool) -> &'static str {
    Text::ImportDoses.pick(ja)
}

pub async fn import_page(signed: Signed) -> Result<Html<String>, WebError> {
    own(&signed, Action::ImportDoses)?;
    let ja = signed.lang == Lang::Ja;
    Ok(Html(
        layout(
            signed.lang,
            title(ja),
            Some(&signed),
            upload_form(&signed, None),
        )
        .into_string(),
    ))
}

fn report(signed: &Signed, file: &str, r: &DoseImportReport, problems: &[Problem]) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        section.card #report data-stored=(r.added.is_some()) {
            @match r.added {
                Some(n) => p.notice { (Text::Stored.pick(ja)) ": " (n) },
                None => p.error { (Text::NothingWasStoredSomeRows.pick(ja)) },
            }
            dl {
                dt { (Text::File.pick(ja)) } dd { (file) }
                dt { (Text::Encoding.pick(ja)) } dd { (r.encoding.name()) }
                dt { (Text::Rows.pick(ja)) } dd #rows { (r.rows) }
                dt { (Text::AlreadyStored.pick(ja)) } dd #unchanged { (r.unchanged) }
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
    let municipality = own(&signed, Action::ImportDoses)?;
    let ja = signed.lang == Lang::Ja;
    let uploads::Upload {
        csrf,
        file,
        name,
        encoding,
        partial,
    } = uploads::read(multipart).await?;
    signed.check_csrf(&csrf)?;
    let refuse = |message: String| -> Result<Response, WebError> {
        let body = upload_form(&signed, Some(&message));
        Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(layout(signed.lang, title(ja), Some(&signed), body).into_string()),
        )
            .into_response())
    };
    if file.is_empty() {
        return refuse(Text::ChooseAFile.pick(ja).into());
    }
    let Ok(choice) = encoding.parse::<EncodingChoice>() else {
        return refuse(Text::ChooseAnEncoding.pick(ja).into());
    };
    let request = DoseImport {
        municipality,
        encoding: choice,
        partial,
        source_name: name.clone(),
        today: vrs_core::japan_today(),
    };
    let mut seen = uploads::Collect::default();
    let source = std::io::Cursor::new(file);
    match import_doses(
        state.store.as_ref(),
        &actor(&signed),
        source,
        &request,
        &mut seen,
    )
    .await
    {
        Ok(r) => {
            let status = if r.added.is_some() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body =
                html! { (report(&signed, &name, &r, &seen.shown)) (upload_form(&signed, None)) };
            Ok((
                status,
                Html(layout(signed.lang, title(ja), Some(&signed), body).into_string()),
            )
                .into_response())
        }
        Err(ImportError::File(e)) => refuse(format!(
            "{}: {}",
            Text::TheFileCannotBeRead.pick(ja),
            crate::i18n::said(signed.lang, &e)
        )),
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(ImportError::Interrupted(e)) => Err(WebError::Internal(e)),
        Err(ImportError::Stopped(s)) => Err(WebError::Stopped(s)),
    }
}

pub async fn export_page(signed: Signed) -> Result<Html<String>, WebError> {
    own(&signed, Action::ExportRecords)?;
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        form.card method="get" action="/doses/export/download" {
            label for="format" { (Text::Layout.pick(ja)) }
            select #format name="format" {
                option value="vrs-ledger" { (Text::VrsLedgerLayoutOneRow.pick(ja)) }
                option value="csv" { (Text::DoseCsvOneRowPer.pick(ja)) }
            }
            label for="encoding" { (Text::Encoding.pick(ja)) }
            select #encoding name="encoding" {
                option value="cp932" { "Shift_JIS (CP932)" }
                option value="utf-8" { "UTF-8" }
            }
            button.primary type="submit" { (Text::Download.pick(ja)) }
        }
        p { (Text::NoMyNumberNameOr.pick(ja)) }
    };
    Ok(Html(
        layout(
            signed.lang,
            Text::DownloadDoses.pick(ja),
            Some(&signed),
            body,
        )
        .into_string(),
    ))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: String,
    encoding: String,
}

/// Hands what the export writes to the response body in chunks.
struct ChannelWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was cancelled")
        })
    }
}

pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<ExportQuery>,
) -> Result<Response, WebError> {
    let municipality = own(&signed, Action::ExportRecords)?;
    let format: ExportFormat = q.format.parse().map_err(WebError::Invalid)?;
    let encoding: Encoding = q
        .encoding
        .parse()
        .map_err(|e| WebError::Invalid(format!("encoding: {e}")))?;
    let request = DoseExport {
        municipality,
        format,
        encoding,
    };
    let (tx, rx) = mpsc::channel(4);
    let writer = ChannelWriter {
        buffer: Vec::with_capacity(64 * 1024),
        tx: tx.clone(),
    };
    let store = state.store.clone();
    let who = actor(&signed);
    let job = request.clone();
    tokio::spawn(async move {
        if let Err(e) = export_doses(store, &who, &job, writer).await {
            tracing::warn!(error = %e, "dose export stopped");
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let charset = match encoding {
        Encoding::Utf8 => "utf-8",
        Encoding::Cp932 => "shift_jis",
    };
    Ok((
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", request.file_name()),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
