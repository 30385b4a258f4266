//! The municipal administrator's backup page (別紙1 第5条 3): take a backup of the municipality's
//! own area and download it, from an LG-WAN terminal. The file is sealed under the area's backup
//! key, which stays in the deployment's key vault; it can be restored only by the operator.
//!
//! The backup is written, as the snapshot is read, into an unnamed temporary file (removed when the
//! download ends), then sent from it in blocks: the server's memory does not grow with the area.

use std::io::{Read, Seek, SeekFrom};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use vrs_core::access::Action;
use vrs_core::backup::{backup, BackupError, BackupScope};
use vrs_store::{AuditFilter, AuditScope};

use crate::error::WebError;
use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::AppState;

/// The latest backups listed on the page.
const RECENT: u32 = 10;

pub async fn page(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, WebError> {
    let own = own(&signed, Action::BackupArea)?;
    let recent = state
        .store
        .audit_search(
            AuditScope::Area(own),
            &AuditFilter {
                action: Some("backup.take".into()),
                limit: RECENT,
                ..AuditFilter::default()
            },
        )
        .await?;
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        section.card {
            p { (Text::DownloadYourMunicipalitySArea.pick(ja)) }
            form method="post" action="/admin/backup" {
                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                button.primary type="submit" #take-backup { (Text::TakeABackupAndDownload.pick(ja)) }
            }
        }
        h3 { (Text::RecentBackups.pick(ja)) }
        table.backups {
            tr { th { (Text::Time.pick(ja)) } th { (Text::PerformedBy.pick(ja)) } th { (Text::Content.pick(ja)) } }
            @for r in &recent {
                tr {
                    td { (r.entry.at.with_timezone(&chrono_tz_japan()).format("%Y-%m-%d %H:%M:%S")) }
                    td { (r.entry.actor) }
                    td.detail { (r.entry.detail) }
                }
            }
        }
    };
    Ok(Html(
        layout(signed.lang, Text::Backup.pick(ja), Some(&signed), body).into_string(),
    ))
}

/// Japan Standard Time (UTC+9, no daylight saving).
fn chrono_tz_japan() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!("a valid offset"))
}

#[derive(Deserialize)]
pub struct TakeForm {
    #[serde(default)]
    csrf: String,
}

pub async fn take(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<TakeForm>,
) -> Result<Response, WebError> {
    let own = own(&signed, Action::BackupArea)?;
    signed.check_csrf(&form.csrf)?;
    let spool = tempfile::tempfile()
        .map_err(|e| WebError::Internal(format!("cannot create the backup's spool file: {e}")))?;
    let taken = backup(
        state.store.as_ref(),
        BackupScope::Municipality(own),
        &actor(&signed),
        std::io::BufWriter::with_capacity(1 << 20, spool),
    )
    .await
    .map_err(|e| match e {
        BackupError::Store(e) => WebError::from(e),
        other => WebError::Internal(other.to_string()),
    })?;
    let stamp = taken
        .manifest
        .created_at
        .with_timezone(&chrono_tz_japan())
        .format("%Y%m%d-%H%M%S");
    let mut spool = taken
        .out
        .into_inner()
        .map_err(|e| WebError::Internal(format!("cannot write the backup: {}", e.error())))?;
    spool
        .seek(SeekFrom::Start(0))
        .map_err(|e| WebError::Internal(format!("cannot read the backup back: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"vrs-backup-{own}-{stamp}.vrsbak\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_LENGTH, taken.size.to_string()),
        ],
        Body::from_stream(blocks(spool)),
    )
        .into_response())
}

/// The spool file's bytes in blocks of 256 KiB, each read on the blocking pool.
fn blocks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut block = vec![0u8; 256 * 1024];
            let n = file.read(&mut block)?;
            block.truncate(n);
            Ok::<_, std::io::Error>((block, file))
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match read {
            Ok((block, _)) if block.is_empty() => None,
            Ok((block, file)) => Some((Ok(Bytes::from(block)), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    })
}
