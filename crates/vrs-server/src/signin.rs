//! Signing in and out, the password change and the language switch: the pages every person meets
//! before and around their work, with the lockout that slows a guessed password.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use vrs_core::accounts::{self, LoginError, PasswordChangeError};

use crate::error::WebError;
use crate::form::Refusal;
use crate::i18n::{t, Lang, Phrase, Text};
use crate::pages;
use crate::session::{
    constant_time_eq, private_cookie, removal, RequestTerminal, Signed, SignedAny,
    LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::AppState;

pub(crate) async fn home(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    // The administrator who agrees for the municipality is told when new terms await agreement.
    let mut awaiting = Vec::new();
    if let Some(own) = signed.account.municipality {
        let target = vrs_core::access::Target::Municipality(own);
        if signed
            .authorize(vrs_core::access::Action::AgreeToTerms, &target)
            .is_ok()
        {
            for status in vrs_core::governance::terms_status(state.store.as_ref(), own).await? {
                if status.latest.is_some() && status.agreed_latest.is_none() {
                    awaiting.push(status.kind);
                }
            }
        }
    }
    Ok(Html(
        pages::home(signed.lang, &signed, &awaiting).into_string(),
    ))
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> (CookieJar, Html<String>) {
    let lang = Lang::from_cookies(&jar);
    let (csrf, _) = vrs_crypto::password::new_token();
    let jar = jar.add(private_cookie(&state, LOGIN_CSRF_COOKIE, csrf.clone()));
    (jar, Html(pages::login(lang, &csrf, None).into_string()))
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    user_id: String,
    password: String,
    csrf: String,
}

/// The login page refusing a try for `seconds`: 429 with `Retry-After`, the same for every account
/// and user ID.
fn login_wait(lang: Lang, csrf: &str, seconds: u64) -> Response {
    let message = Phrase::SignInWait(&seconds).text(lang);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Html(pages::login(lang, csrf, Some(&message)).into_string()),
    )
        .into_response();
    if let Ok(value) = seconds.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(crate) async fn login(
    State(state): State<AppState>,
    RequestTerminal(terminal): RequestTerminal,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = Lang::from_cookies(&jar);
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(WebError::Csrf);
    }
    let client = crate::terminal::client_address(&state.settings, peer, &headers)
        .unwrap_or_else(|| peer.ip());
    let user_id = form.user_id.trim();
    let now = std::time::Instant::now();
    if let Some(seconds) = state.login_guard.wait(client, user_id, now) {
        return Ok(login_wait(lang, &form.csrf, seconds));
    }
    let policy = state.login_policy();
    let outcome = accounts::login(
        state.store.as_ref(),
        &policy,
        user_id,
        &form.password,
        terminal.as_str(),
    )
    .await;
    if outcome.is_err() {
        state.login_guard.failed(client, now);
    }
    // Every refusal reads the same — wrong ID or password, disabled, or waiting — so that nobody
    // learns which user IDs exist.
    let message = match outcome {
        Ok(done) => {
            let jar = jar.remove(removal(LOGIN_CSRF_COOKIE)).add(private_cookie(
                &state,
                SESSION_COOKIE,
                done.token,
            ));
            let to = if done.account.must_change_password {
                "/password"
            } else {
                "/"
            };
            return Ok((jar, Redirect::to(to)).into_response());
        }
        Err(LoginError::BadCredentials | LoginError::Disabled) => t(lang, Text::BadCredentials),
        Err(LoginError::UnknownUser) => {
            match state.login_guard.unknown_failed(user_id, &policy, now) {
                Some(wait) => return Ok(login_wait(lang, &form.csrf, wait.as_secs().max(1))),
                None => t(lang, Text::BadCredentials),
            }
        }
        Err(LoginError::Throttled { until }) => {
            let seconds = (until - chrono::Utc::now()).num_seconds().max(1) as u64;
            return Ok(login_wait(lang, &form.csrf, seconds));
        }
        Err(LoginError::Store(e)) => return Err(e.into()),
    };
    Ok((
        StatusCode::UNAUTHORIZED,
        Html(pages::login(lang, &form.csrf, Some(message)).into_string()),
    )
        .into_response())
}

/// A form that carries only the session's CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    SignedAny(signed): SignedAny,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    accounts::logout(
        state.store.as_ref(),
        &signed.token,
        &signed.account,
        signed.terminal.as_str(),
    )
    .await?;
    Ok((jar.remove(removal(SESSION_COOKIE)), Redirect::to("/login")).into_response())
}

pub(crate) async fn password_page(SignedAny(signed): SignedAny) -> Html<String> {
    Html(pages::password(signed.lang, &signed, None).into_string())
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    again: String,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    SignedAny(signed): SignedAny,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let lang = signed.lang;
    let refuse = |refusal: Refusal| {
        (
            StatusCode::BAD_REQUEST,
            Html(pages::password(lang, &signed, Some(&refusal)).into_string()),
        )
            .into_response()
    };
    if form.new != form.again {
        return Ok(refuse(Refusal::field(
            "again",
            t(lang, Text::PasswordsDiffer),
        )));
    }
    match accounts::change_password(
        state.store.as_ref(),
        &signed.account,
        &form.current,
        &form.new,
        signed.terminal.as_str(),
    )
    .await
    {
        Ok(()) => {
            // Every session of the account has ended; sign in again with the new password.
            let jar = jar.remove(removal(SESSION_COOKIE));
            let notice = t(lang, Text::PasswordChanged);
            let (csrf, _) = vrs_crypto::password::new_token();
            let jar = jar.add(private_cookie(&state, LOGIN_CSRF_COOKIE, csrf.clone()));
            Ok((
                jar,
                Html(pages::login(lang, &csrf, Some(notice)).into_string()),
            )
                .into_response())
        }
        Err(PasswordChangeError::WrongCurrent) => Ok(refuse(Refusal::field(
            "current",
            t(lang, Text::CurrentPasswordWrong),
        ))),
        Err(PasswordChangeError::Policy(p)) => {
            Ok(refuse(Refusal::field("new", crate::i18n::said(lang, &p))))
        }
        Err(PasswordChangeError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct LanguageQuery {
    back: Option<String>,
}

/// Sets the language and returns to the page the switch was on: a path of this site only (never
/// another origin, `//host` or a backslash a browser might read as one), else the menu.
pub(crate) async fn set_language(
    Path(code): Path<String>,
    Query(query): Query<LanguageQuery>,
    jar: CookieJar,
) -> impl IntoResponse {
    let value = if code == "en" { "en" } else { "ja" };
    let cookie = axum_extra::extract::cookie::Cookie::build(("vrs_lang", value))
        .path("/")
        .build();
    let back = query
        .back
        .filter(|b| {
            b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && !b.chars().any(char::is_control)
        })
        .unwrap_or_else(|| "/".to_owned());
    (
        jar.add(cookie),
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to(&back),
    )
}
