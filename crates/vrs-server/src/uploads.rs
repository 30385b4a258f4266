//! What the CSV upload pages share (targets and doses): the form's fields, reading the multipart
//! request, collecting the problems to show, and the table that names each by line and column.

use axum::body::Bytes;
use axum::extract::Multipart;
use maud::{html, Markup};
use vrs_core::{ImportObserver, Problem};

use crate::error::WebError;
use crate::i18n::Text;

/// Problems listed on a page; the count beside them is always complete.
pub const PROBLEMS_SHOWN: usize = 1000;

/// An upload form as sent.
pub struct Upload {
    pub csrf: String,
    pub file: Bytes,
    /// The file's name, for the audit log and the report (never its content).
    pub name: String,
    pub encoding: String,
    pub partial: bool,
}

/// Why an upload could not be read at all (cut short, too large, not a multipart form), in both
/// languages.
fn unreadable(e: &axum::extract::multipart::MultipartError) -> WebError {
    WebError::Refused(vrs_domain::Reason::new(
        "upload_unreadable",
        "送信されたファイルを読み取れませんでした（送信が途中で切れたか、大きすぎるか、形式が正しくありません）。もう一度送信してください。",
        format!("the upload could not be read: {}", e.body_text()),
    ))
}

/// Reads the upload form's fields; unknown fields are ignored.
pub async fn read(mut multipart: Multipart) -> Result<Upload, WebError> {
    let mut upload = Upload {
        csrf: String::new(),
        file: Bytes::new(),
        name: String::new(),
        encoding: "auto".to_owned(),
        partial: false,
    };
    while let Some(field) = multipart.next_field().await.map_err(|e| unreadable(&e))? {
        match field.name().unwrap_or_default() {
            "csrf" => upload.csrf = field.text().await.unwrap_or_default(),
            "encoding" => upload.encoding = field.text().await.unwrap_or_default(),
            "partial" => upload.partial = true,
            "file" => {
                upload.name = field
                    .file_name()
                    .unwrap_or("upload.csv")
                    .chars()
                    .take(100)
                    .collect();
                upload.file = field.bytes().await.map_err(|e| unreadable(&e))?;
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// The fields every upload form has after its CSRF token: the file, its encoding, and whether to
/// store the good rows when some are refused.
pub fn fields(ja: bool, file_label: Text) -> Markup {
    html! {
        label for="file" { (file_label.pick(ja)) span.required aria-hidden="true" {} }
        input #file type="file" name="file" accept=".csv,text/csv" required;
        label for="encoding" { (Text::Encoding.pick(ja)) }
        select #encoding name="encoding" {
            option value="auto" { (Text::Detect.pick(ja)) }
            option value="cp932" { "Shift_JIS (CP932)" }
            option value="utf-8" { "UTF-8" }
        }
        label { input type="checkbox" name="partial" value="1";
            (Text::StoreTheGoodRowsOnly.pick(ja)) }
    }
}

/// Where an upload form shows its progress (drawn by `upload.js`, served from `/static/`): the
/// share of the file sent, then that the server is checking and importing it.
pub fn progress(ja: bool) -> Markup {
    html! {
        div.upload-progress hidden
            data-sending=(Text::UploadSending.pick(ja))
            data-reading=(Text::UploadReading.pick(ja))
            data-failed=(Text::UploadFailed.pick(ja)) {
            progress max="100" value="0" aria-label=(Text::UploadProgress.pick(ja)) {}
            p.upload-status role="status" aria-live="polite" {}
        }
        script src=(crate::pages::Asset::UploadProgress.path()) {}
    }
}

/// Keeps the first [`PROBLEMS_SHOWN`] problems of an import.
#[derive(Default)]
pub struct Collect {
    pub shown: Vec<Problem>,
}

impl ImportObserver for Collect {
    fn progress(&mut self, _rows: u64, _bytes: u64) {}
    fn problem(&mut self, problem: &Problem) {
        if self.shown.len() < PROBLEMS_SHOWN {
            self.shown.push(problem.clone());
        }
    }
}

/// The refused rows: line, column and reason in the page's language.
pub fn problems_table(ja: bool, problems: &[Problem]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.table-scroll {
                table #problems {
                    tr { th { (Text::Line.pick(ja)) } th { (Text::Column.pick(ja)) } th { (Text::Reason.pick(ja)) } }
                    @for p in problems {
                        tr { td { (p.line) } td { (p.column.as_deref().unwrap_or("")) } td { (p.reason.text(ja)) } }
                    }
                }
            }
        }
    }
}
