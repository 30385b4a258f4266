//! The municipal administrator's accounts page (`/admin/accounts`): the municipality's accounts with
//! their standing (in use, stopped, locked after failed sign-ins, initial password not yet changed),
//! and for each one, with a reason and a confirmation first, stop or let in again, or a new initial
//! password shown once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use vrs_core::access::Action;
use vrs_core::accounts::manage::{self, ManageError};
use vrs_domain::{Labelled, MunicipalityCode};
use vrs_store::Account;

use crate::confirm::{unless_confirmed, Destructive};
use crate::error::WebError;
use crate::i18n::{said, t, Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::AppState;

/// What the page says above the list.
enum Said<'a> {
    Nothing,
    Done(&'static str),
    NewPassword { user_id: &'a str, password: &'a str },
    Refused(String),
}

fn standing(
    lang: Lang,
    a: &Account,
    now: chrono::DateTime<chrono::Utc>,
) -> (&'static str, &'static str) {
    if a.disabled {
        ("stopped", t(lang, Text::Stopped))
    } else if a.is_locked(now) {
        ("locked", t(lang, Text::AccountLocked))
    } else if a.must_change_password {
        ("initial", t(lang, Text::AccountInitialPassword))
    } else {
        ("active", t(lang, Text::AccountActive))
    }
}

fn page(signed: &Signed, accounts: &[Account], said: &Said<'_>) -> Markup {
    let lang = signed.lang;
    let ja = lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    let now = chrono::Utc::now();
    let body = html! {
        @match said {
            Said::Nothing => {},
            Said::Done(text) => p.notice role="status" #message { (text) },
            Said::NewPassword { user_id, password } => section.card.notice role="status" #new-password {
                p { (user_id) " — " (Text::NewInitialPasswordIs.pick(ja)) }
                p { code.password { (password) } }
                p { (Text::InitialPasswordShownOnce.pick(ja)) }
            },
            Said::Refused(text) => p.error role="alert" #message { (text) },
        }
        p { (Text::ManageAccountsIntro.pick(ja)) }
        div.table-scroll {
            table #accounts {
                tr {
                    th { (Text::UserId.pick(ja)) } th { (Text::DisplayName.pick(ja)) }
                    th { (Text::Role.pick(ja)) } th { (Text::Status.pick(ja)) } th { (Text::Actions.pick(ja)) }
                }
                @for a in accounts {
                    @let (code, label) = standing(lang, a, now);
                    @let mine = a.user_id == signed.account.user_id;
                    tr data-user=(a.user_id) data-standing=(code) {
                        td { (a.user_id) }
                        td { (a.display_name) }
                        td { (a.role.label(ja)) }
                        td { (label) }
                        td {
                            @if mine {
                                (Text::YourOwnAccount.pick(ja))
                            } @else {
                                form.account-action method="post" action={ "/admin/accounts/" (a.user_id) "/access" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="disable" value=(if a.disabled { "0" } else { "1" });
                                    label { (Text::Reason.pick(ja)) span.required aria-hidden="true" {}
                                        input name="reason" required; }
                                    @if a.disabled {
                                        button.primary type="submit" { (Text::LetInAgain.pick(ja)) }
                                    } @else {
                                        button.danger type="submit" { (Text::StopAccount.pick(ja)) }
                                    }
                                }
                                form.account-action method="post" action={ "/admin/accounts/" (a.user_id) "/password" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label { (Text::Reason.pick(ja)) span.required aria-hidden="true" {}
                                        input name="reason" required; }
                                    button.secondary type="submit" { (Text::ResetPassword.pick(ja)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/admin/applications" { (Text::ApplyForAccounts.pick(ja)) } }
    };
    layout(lang, Text::ManageAccounts.pick(ja), Some(signed), body)
}

async fn answer(
    state: &AppState,
    signed: &Signed,
    own: MunicipalityCode,
    status: StatusCode,
    said: Said<'_>,
) -> Result<Response, WebError> {
    let accounts = manage::accounts_of(state.store.as_ref(), own).await?;
    Ok((status, Html(page(signed, &accounts, &said).into_string())).into_response())
}

/// `GET /admin/accounts`.
pub async fn list(State(state): State<AppState>, signed: Signed) -> Result<Response, WebError> {
    let own = own(&signed, Action::ManageAccounts)?;
    answer(&state, &signed, own, StatusCode::OK, Said::Nothing).await
}

#[derive(Deserialize)]
pub struct AccessForm {
    csrf: String,
    /// `1` to stop the account, `0` to let it in again.
    #[serde(default)]
    disable: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirmed: Option<String>,
}

fn refused(lang: Lang, e: ManageError) -> Result<Said<'static>, WebError> {
    match e {
        ManageError::NotFound => Err(WebError::NotFound),
        ManageError::Store(e) => Err(e.into()),
        other => Ok(Said::Refused(said(lang, &other).into_owned())),
    }
}

/// `POST /admin/accounts/{user}/access`: stop the account, or let it in again.
pub async fn set_access(
    State(state): State<AppState>,
    signed: Signed,
    Path(user_id): Path<String>,
    Form(form): Form<AccessForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = own(&signed, Action::ManageAccounts)?;
    let disable = match form.disable.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(WebError::NotFound),
    };
    let Ok(user_id) = vrs_domain::UserId::parse(&user_id) else {
        return Err(WebError::NotFound);
    };
    if let Err(e) = manage::own_account(state.store.as_ref(), &actor(&signed), own, &user_id).await
    {
        let said = refused(signed.lang, e)?;
        return answer(&state, &signed, own, StatusCode::UNPROCESSABLE_ENTITY, said).await;
    }
    let path = format!("/admin/accounts/{user_id}/access");
    let fields = [
        ("csrf", form.csrf.as_str()),
        ("disable", form.disable.as_str()),
        ("reason", form.reason.as_str()),
    ];
    let what = Destructive::DisableAccount {
        user_id: user_id.as_str(),
        disable,
    };
    if let Some(page) = unless_confirmed(&signed, what, &path, &fields, form.confirmed.as_deref()) {
        return Ok(page);
    }
    let done = manage::set_disabled(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &user_id,
        disable,
        &form.reason,
    )
    .await;
    let (status, said) = match done {
        Ok(_) => {
            let text = if disable {
                Text::AccountStoppedNotice
            } else {
                Text::AccountLetInNotice
            };
            (StatusCode::OK, Said::Done(t(signed.lang, text)))
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, refused(signed.lang, e)?),
    };
    answer(&state, &signed, own, status, said).await
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirmed: Option<String>,
}

/// `POST /admin/accounts/{user}/password`: a new initial password, shown once.
pub async fn reset_password(
    State(state): State<AppState>,
    signed: Signed,
    Path(user_id): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = own(&signed, Action::ManageAccounts)?;
    let Ok(user_id) = vrs_domain::UserId::parse(&user_id) else {
        return Err(WebError::NotFound);
    };
    if let Err(e) = manage::own_account(state.store.as_ref(), &actor(&signed), own, &user_id).await
    {
        let said = refused(signed.lang, e)?;
        return answer(&state, &signed, own, StatusCode::UNPROCESSABLE_ENTITY, said).await;
    }
    let path = format!("/admin/accounts/{user_id}/password");
    let fields = [
        ("csrf", form.csrf.as_str()),
        ("reason", form.reason.as_str()),
    ];
    let what = Destructive::ResetPassword {
        user_id: user_id.as_str(),
    };
    if let Some(page) = unless_confirmed(&signed, what, &path, &fields, form.confirmed.as_deref()) {
        return Ok(page);
    }
    let reset = manage::reset_password(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &user_id,
        &form.reason,
    )
    .await;
    match reset {
        Ok(password) => {
            let said = Said::NewPassword {
                user_id: user_id.as_str(),
                password: &password,
            };
            answer(&state, &signed, own, StatusCode::OK, said).await
        }
        Err(e) => {
            let said = refused(signed.lang, e)?;
            answer(&state, &signed, own, StatusCode::UNPROCESSABLE_ENTITY, said).await
        }
    }
}
