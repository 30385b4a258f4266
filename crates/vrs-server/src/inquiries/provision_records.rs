//! The municipality's provision records (情報提供等の記録): the inquiries it made and answered,
//! listed by side and period, and downloaded as CSV.

use axum::extract::{Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use vrs_core::access::Action;
use vrs_core::inquiry::provisions::{provision_csv, provisions_of};
use vrs_store::{ProvisionFilter, ProvisionSide};

use super::{csv_download, encoding_of, EncodingQuery};
use crate::error::WebError;
use crate::inquiries_pages as view;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct ProvisionQuery {
    #[serde(default)]
    side: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    encoding: Option<String>,
}

fn provision_filter(q: &ProvisionQuery) -> Result<ProvisionFilter, WebError> {
    let day =
        |text: &str, field: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, WebError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let d = vrs_domain::parse_date(text)
                .map_err(|e| WebError::Invalid(format!("{field}: {e}")))?;
            // Days are days in Japan (UTC+9).
            let start = d.and_hms_opt(0, 0, 0).unwrap_or_default() - chrono::Duration::hours(9);
            Ok(Some(start.and_utc()))
        };
    let side = match q.side.as_str() {
        "" => None,
        s => Some(
            ProvisionSide::parse(s)
                .ok_or_else(|| WebError::Invalid(format!("side: {s:?} (inquired or provided)")))?,
        ),
    };
    Ok(ProvisionFilter {
        side,
        from: day(&q.from, "from")?,
        to: day(&q.to, "to")?.map(|t| t + chrono::Duration::days(1)),
        inquiry_prefix: None,
        limit: 1000,
    })
}

pub async fn provisions(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<ProvisionQuery>,
) -> Result<Html<String>, WebError> {
    let own = crate::records::own(&signed, Action::ReadProvisionRecords)?;
    let filter = provision_filter(&q)?;
    let records = provisions_of(state.store.as_ref(), &actor(&signed), own, &filter).await?;
    Ok(Html(
        view::provisions(&signed, &q.side, &q.from, &q.to, &records).into_string(),
    ))
}

pub async fn provisions_download(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<ProvisionQuery>,
) -> Result<Response, WebError> {
    let own = crate::records::own(&signed, Action::ReadProvisionRecords)?;
    let filter = provision_filter(&q)?;
    let encoding = encoding_of(&EncodingQuery {
        encoding: q.encoding.clone(),
    })?;
    let records = provisions_of(state.store.as_ref(), &actor(&signed), own, &filter).await?;
    let bytes = provision_csv(&records, encoding).map_err(|e| WebError::Invalid(e.to_string()))?;
    Ok(csv_download(
        &format!("provision-{own}.csv"),
        bytes,
        encoding,
    ))
}
