//! Duplicate people for municipal staff, own municipality only: the review queue, the scan, merge,
//! unmerge and dismissal, each with a reason. The municipality is always the session's; an ID of
//! another municipality's candidate or merge is simply not found.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::duplicates::{self, review_queue, DuplicateError};
use vrs_domain::{AtenaNumber, MunicipalityCode};

use crate::duplicates_pages as view;
use crate::error::WebError;
use crate::i18n::{t, Lang, Phrase, Text};
use crate::records::{actor, own};
use crate::session::Signed;
use crate::AppState;

/// The staff's municipality once `action` on its people is allowed.
fn allowed(signed: &Signed, action: Action) -> Result<MunicipalityCode, WebError> {
    let own = own(signed, Action::SearchPeople)?;
    signed.authorize(action, &Target::Person { home: own })?;
    Ok(own)
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    message: Option<(bool, &str)>,
) -> Result<Response, WebError> {
    let own = allowed(signed, Action::ReadPerson)?;
    let queue = review_queue(state.store.as_ref(), &actor(signed), own)
        .await
        .map_err(|e| match e {
            DuplicateError::Store(e) => WebError::from(e),
            other => WebError::Internal(other.to_string()),
        })?;
    Ok((
        status,
        Html(view::page(signed, &queue, message).into_string()),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let lang = signed.lang;
    let notice = q.done.as_deref().map(|d| match d {
        "scan" => t(lang, Text::Scanned).to_owned(),
        "merge" => t(lang, Text::Merged).to_owned(),
        "unmerge" => t(lang, Text::MergeUndone).to_owned(),
        _ => t(lang, Text::Dismissed).to_owned(),
    });
    let message = notice.as_deref().map(|n| (true, n));
    render(&state, &signed, StatusCode::OK, message).await
}

/// After a change: back to the queue (post/redirect/get), or the queue again with the refusal,
/// naming the field, with a 4xx status.
async fn after(
    state: &AppState,
    signed: &Signed,
    done: &str,
    result: Result<(), DuplicateError>,
) -> Result<Response, WebError> {
    let lang = signed.lang;
    let (status, message) = match result {
        Ok(()) => return Ok(Redirect::to(&format!("/duplicates?done={done}")).into_response()),
        Err(DuplicateError::NoReason) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t(lang, Text::ReasonGiveAReason).to_owned(),
        ),
        Err(DuplicateError::Invalid { field, message }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {message}"),
        ),
        Err(DuplicateError::NotFound) => (
            StatusCode::NOT_FOUND,
            t(lang, Text::IdNoSuchCandidateOr).to_owned(),
        ),
        Err(DuplicateError::Refused(m)) => (StatusCode::CONFLICT, m),
        Err(DuplicateError::Store(e)) => return Err(e.into()),
    };
    render(state, signed, status, Some((false, &message))).await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn scan(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = allowed(&signed, Action::CorrectPerson)?;
    // The cross-move part sends inquiries about the municipality's movers: only staff who may
    // send inquiries (from LG-WAN) start a scan.
    signed.authorize(
        Action::SendInquiry,
        &Target::Inquiry {
            requester: own,
            holder: own,
        },
    )?;
    let store = state.store.as_ref();
    let now = chrono::Utc::now();
    match duplicates::scan(store, &actor(&signed), own, now).await {
        Ok(report) => {
            let message = scan_message(signed.lang, &report);
            render(&state, &signed, StatusCode::OK, Some((true, &message))).await
        }
        Err(e) => after(&state, &signed, "scan", Err(e)).await,
    }
}

/// What a scan did, for the staff who started it.
fn scan_message(lang: Lang, r: &duplicates::ScanReport) -> String {
    let mut text = Phrase::Scanned(
        &r.added,
        &r.kana_birth_sex,
        &r.kanji_birth_sex,
        &r.unfetched_move,
        &r.movers_asked,
    )
    .text(lang);
    if r.movers_without_consent_basis > 0 {
        text.push_str(
            &Phrase::MoversWithoutConsentBasis(&r.movers_without_consent_basis).text(lang),
        );
    }
    if let Some(stopped) = &r.inquiry_stopped {
        text.push_str(&Phrase::MoversNotAsked(&stopped.message_ja(), stopped).text(lang));
    }
    text
}

#[derive(Deserialize)]
pub struct ReasonForm {
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn dismiss(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = allowed(&signed, Action::CorrectPerson)?;
    let store = state.store.as_ref();
    let result = duplicates::dismiss(store, &actor(&signed), own, &id, &form.reason).await;
    after(&state, &signed, "dismiss", result).await
}

pub async fn unmerge(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = allowed(&signed, Action::CorrectPerson)?;
    let store = state.store.as_ref();
    let result = duplicates::unmerge(store, &actor(&signed), own, &id, &form.reason).await;
    after(&state, &signed, "unmerge", result.map(|_| ())).await
}

/// The merge form: the person kept, and either the person merged away or the candidate's pair
/// (`a`, `b`) of which the other is merged away.
#[derive(Deserialize)]
pub struct MergeForm {
    pub csrf: String,
    #[serde(default)]
    pub kept: String,
    #[serde(default)]
    pub merged: String,
    #[serde(default)]
    pub a: String,
    #[serde(default)]
    pub b: String,
    #[serde(default)]
    pub reason: String,
}

fn atena(field: &'static str, text: &str) -> Result<AtenaNumber, DuplicateError> {
    AtenaNumber::parse(text.trim()).map_err(|e| DuplicateError::Invalid {
        field,
        message: e.to_string(),
    })
}

/// The kept and merged-away 宛名番号 the form names.
fn pair_of(form: &MergeForm) -> Result<(AtenaNumber, AtenaNumber), DuplicateError> {
    let kept = atena("kept", &form.kept)?;
    let merged = if form.merged.trim().is_empty() {
        let (a, b) = (atena("a", &form.a)?, atena("b", &form.b)?);
        if kept == a {
            b
        } else if kept == b {
            a
        } else {
            return Err(DuplicateError::Invalid {
                field: "kept",
                message: "the person kept must be one of the candidate's two people".into(),
            });
        }
    } else {
        atena("merged", &form.merged)?
    };
    Ok((kept, merged))
}

pub async fn merge(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<MergeForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = allowed(&signed, Action::CorrectPerson)?;
    let result = match pair_of(&form) {
        Err(e) => Err(e),
        Ok((kept, merged)) => {
            let store = state.store.as_ref();
            let who = actor(&signed);
            duplicates::merge(store, &who, own, &kept, &merged, &form.reason)
                .await
                .map(|_| ())
        }
    };
    after(&state, &signed, "merge", result).await
}
