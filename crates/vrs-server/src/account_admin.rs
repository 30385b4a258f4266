//! Accounts as the operator and a municipal administrator handle them: locked accounts and unusual
//! coupon reads, applications for user IDs, their approval and refusal.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::accounts::{self, ApplicationError};
use vrs_store::ApplicationStatus;

use crate::confirm::{unless_confirmed, Destructive};
use crate::error::WebError;
use crate::i18n::Phrase;
use crate::pages;
use crate::records;
use crate::session::Signed;
use crate::signin::CsrfForm;
use crate::AppState;

pub(crate) async fn locked_accounts(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let now = chrono::Utc::now();
    let locked: Vec<_> = state
        .store
        .accounts()
        .await?
        .into_iter()
        .filter(|a| a.is_locked(now))
        .collect();
    Ok(Html(
        pages::locked_accounts(signed.lang, &signed, &locked).into_string(),
    ))
}

/// This hour's unusual coupon readers (`/operator/coupon-reads`).
pub(crate) async fn unusual_coupon_reads(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let unusual = state.coupon_watch.unusual();
    Ok(Html(
        pages::unusual_coupon_reads(signed.lang, &signed, &unusual).into_string(),
    ))
}

/// The operator ends an account's wait after failed logins (`POST /operator/locks/{user}/unlock`).
pub(crate) async fn unlock_account(
    State(state): State<AppState>,
    signed: Signed,
    Path(user_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let Ok(user_id) = vrs_domain::UserId::parse(&user_id) else {
        return Err(WebError::NotFound);
    };
    accounts::unlock(state.store.as_ref(), &records::actor(&signed), &user_id).await?;
    Ok(Redirect::to("/operator/locks").into_response())
}

fn application_error(e: ApplicationError) -> WebError {
    match e {
        ApplicationError::NotAdministrator => {
            WebError::Forbidden("a municipal administrator's page")
        }
        ApplicationError::NotOperator => WebError::Forbidden("the national operator's page"),
        ApplicationError::Store(e) => e.into(),
        other => WebError::Invalid(other.to_string()),
    }
}

async fn admin_page(
    state: &AppState,
    signed: &Signed,
    message: Option<&str>,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApplyForAccounts, &signed.own_area())?;
    let Some(own) = signed.account.municipality else {
        return Err(WebError::Forbidden("a municipal administrator's page"));
    };
    let list: Vec<_> = state
        .store
        .applications(None)
        .await?
        .into_iter()
        .filter(|a| a.municipality == own)
        .collect();
    Ok(Html(
        pages::admin_applications(signed.lang, signed, &list, message).into_string(),
    ))
}

pub(crate) async fn admin_applications(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    admin_page(&state, &signed, None).await
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    csrf: String,
    display_name: String,
    role: String,
}

pub(crate) async fn apply_for_account(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ApplyForm>,
) -> Result<Html<String>, WebError> {
    signed.check_csrf(&form.csrf)?;
    let id = accounts::apply(
        state.store.as_ref(),
        &signed.account,
        &form.display_name,
        &form.role,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    let message = Phrase::Applied(&id).text(signed.lang);
    admin_page(&state, &signed, Some(&message)).await
}

async fn operator_page(
    state: &AppState,
    signed: &Signed,
    issued: Option<(&str, &str)>,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let pending = state
        .store
        .applications(Some(ApplicationStatus::Pending))
        .await?;
    Ok(Html(
        pages::operator_applications(signed.lang, signed, &pending, issued).into_string(),
    ))
}

pub(crate) async fn operator_applications(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    operator_page(&state, &signed, None).await
}

pub(crate) async fn approve_application(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmedForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let path = format!("/operator/applications/{id}/approve");
    if let Some(page) = form.ask(&signed, Destructive::ApproveApplication { id }, &path) {
        return Ok(page);
    }
    let issued = accounts::approve(
        state.store.as_ref(),
        &signed.account,
        id,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    Ok(operator_page(
        &state,
        &signed,
        Some((issued.user_id.as_str(), &issued.initial_password)),
    )
    .await?
    .into_response())
}

/// A form of one button that changes what cannot be taken back.
#[derive(serde::Deserialize)]
pub(crate) struct ConfirmedForm {
    csrf: String,
    /// `1` once the confirmation page was answered (confirm.rs).
    #[serde(default)]
    confirmed: Option<String>,
}

impl ConfirmedForm {
    fn ask(&self, signed: &Signed, what: Destructive<'_>, path: &str) -> Option<Response> {
        let fields = [("csrf", self.csrf.as_str())];
        unless_confirmed(signed, what, path, &fields, self.confirmed.as_deref())
    }
}

pub(crate) async fn reject_application(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmedForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let path = format!("/operator/applications/{id}/reject");
    if let Some(page) = form.ask(&signed, Destructive::RejectApplication { id }, &path) {
        return Ok(page);
    }
    accounts::reject(
        state.store.as_ref(),
        &signed.account,
        id,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    Ok(operator_page(&state, &signed, None).await?.into_response())
}
