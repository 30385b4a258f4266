//! Who is acting: the `Signed` extractor reads the session cookie, checks the session in the
//! database, and decides the terminal class from the request's address. A session opened on LG-WAN
//! but used from elsewhere is treated as an internet session — the stricter of the two always wins.
//! The municipality scope of everything a handler does comes from here, never from the request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use vrs_core::access::{decide, Action, Scopes, Target, Terminal};
use vrs_core::accounts::{self, SessionError};
use vrs_core::clients;
use vrs_store::{Account, FunctionState, SessionRecord, SignedSession};

use crate::error::WebError;
use crate::i18n::Lang;
use crate::terminal::{classify, client_address};
use crate::AppState;

pub const SESSION_COOKIE: &str = "vrs_session";
pub const LOGIN_CSRF_COOKIE: &str = "vrs_login_csrf";

/// The terminal class of the request being handled.
pub struct RequestTerminal(pub Terminal);

impl FromRequestParts<AppState> for RequestTerminal {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .ok_or_else(|| WebError::Internal("no peer address".into()))?;
        let client = client_address(&state.settings, peer, &parts.headers);
        Ok(RequestTerminal(classify(&state.settings, client)))
    }
}

/// A signed-in user whose first-login password change is done, or a machine client with a
/// bearer token (`scopes` then holds the token's scopes; the session is the token's stand-in).
pub struct Signed {
    pub account: Account,
    pub session: SessionRecord,
    pub token: String,
    pub terminal: Terminal,
    pub lang: Lang,
    pub scopes: Option<Scopes>,
    /// Where the language switch brings this person back to: the path of a page's GET (never its
    /// query); `None` for anything else, which the switch sends to the menu.
    pub back: Option<String>,
    /// The national functions stopped when the session was read, read with it; `None` for a
    /// machine client (its token is read alone; a switch it meets is read when it is checked).
    pub stopped: Option<Vec<FunctionState>>,
}

/// The path the language switch returns to (see [`Signed::back`]). The API's requests, a tablet's
/// registrations among them, render no page and keep nothing.
fn back_of(parts: &Parts) -> Option<String> {
    let path = parts.uri.path();
    (parts.method == axum::http::Method::GET && !path.starts_with("/api/") && path != "/")
        .then(|| path.to_owned())
}

/// The token of an `Authorization: Bearer` header: `Some(Err)` when the header is there but is not
/// a bearer token.
fn bearer_token(parts: &Parts) -> Option<Result<String, WebError>> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or_default();
    let token = text
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|t| !t.is_empty());
    Some(token.ok_or(WebError::BearerInvalid))
}

/// The machine client a bearer token stands for, acting from the terminal class of the address
/// the request comes from.
async fn machine_client(
    parts: &mut Parts,
    state: &AppState,
    token: String,
) -> Result<Signed, WebError> {
    let lang = Lang::from_cookies(&CookieJar::from_headers(&parts.headers));
    let RequestTerminal(terminal) = RequestTerminal::from_request_parts(parts, state).await?;
    let now = chrono::Utc::now();
    let (account, scopes) = clients::bearer(state.store.as_ref(), &token, now)
        .await
        .map_err(|e| match e {
            clients::BearerError::Invalid => WebError::BearerInvalid,
            clients::BearerError::Store(e) => e.into(),
        })?;
    let session = SessionRecord {
        token_hash: vrs_crypto::password::token_hash(&token).to_vec(),
        user_id: account.user_id.clone(),
        terminal: terminal.as_str().to_owned(),
        // Never compared: a bearer request needs no CSRF token.
        csrf_token: vrs_crypto::password::new_token().0,
        created_at: now,
        last_seen_at: now,
    };
    Ok(Signed {
        account,
        session,
        token,
        terminal,
        lang,
        scopes: Some(scopes),
        back: back_of(parts),
        stopped: None,
    })
}

/// A request's sign-in before its session is read: a machine client's bearer token (already read:
/// a token is read alone), or a session cookie's token with what the request itself tells (its
/// language, the terminal class of its address). A handler that reads more with the session
/// (see [`CookieSignIn::finish`]) takes this; every other takes [`Signed`] or [`SignedAny`].
pub enum SignIn {
    Bearer(Box<Signed>),
    Cookie(CookieSignIn),
}

/// A session cookie's token and what the request tells, for [`SignIn`].
pub struct CookieSignIn {
    pub token: String,
    lang: Lang,
    now_from: Terminal,
    back: Option<String>,
}

impl FromRequestParts<AppState> for SignIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if let Some(bearer) = bearer_token(parts) {
            return Ok(SignIn::Bearer(Box::new(
                machine_client(parts, state, bearer?).await?,
            )));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = Lang::from_cookies(&jar);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or(WebError::SignIn)?;
        let RequestTerminal(now_from) = RequestTerminal::from_request_parts(parts, state).await?;
        Ok(SignIn::Cookie(CookieSignIn {
            token,
            lang,
            now_from,
            back: back_of(parts),
        }))
    }
}

/// What a session that cannot be used answers: sign in again (whether it is unknown, expired or
/// its account stopped), or the store's fault.
pub fn session_refused(e: SessionError) -> WebError {
    match e {
        SessionError::Missing | SessionError::Expired => WebError::SignIn,
        SessionError::Store(e) => e.into(),
    }
}

impl CookieSignIn {
    /// Reads and checks the session (with its account and the functions stopped now).
    pub async fn read(self, state: &AppState) -> Result<Signed, WebError> {
        let read = accounts::session(state.store.as_ref(), &state.login_policy(), &self.token)
            .await
            .map_err(session_refused)?;
        Ok(self.finish(read))
    }

    /// The signed-in request of a session read and checked by the caller: a session opened on
    /// LG-WAN but used from elsewhere acts as an internet session.
    pub fn finish(self, read: SignedSession) -> Signed {
        let opened_from = Terminal::from_code(&read.session.terminal);
        let terminal = if opened_from == Terminal::Lgwan && self.now_from == Terminal::Lgwan {
            Terminal::Lgwan
        } else {
            Terminal::Internet
        };
        Signed {
            account: read.account,
            session: read.session,
            token: self.token,
            terminal,
            lang: self.lang,
            scopes: None,
            back: self.back,
            stopped: Some(read.stopped),
        }
    }
}

/// A signed-in user, whether or not the password change is still due (for the change page itself).
pub struct SignedAny(pub Signed);

impl FromRequestParts<AppState> for SignedAny {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match SignIn::from_request_parts(parts, state).await? {
            SignIn::Bearer(signed) => Ok(SignedAny(*signed)),
            SignIn::Cookie(cookie) => Ok(SignedAny(cookie.read(state).await?)),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let SignedAny(signed) = SignedAny::from_request_parts(parts, state).await?;
        signed.password_changed()
    }
}

impl Signed {
    /// This sign-in, unless the first-login password change is still due (a machine client signs
    /// with its key: it has no password to change).
    pub fn password_changed(self) -> Result<Self, WebError> {
        if self.account.must_change_password && self.scopes.is_none() {
            return Err(WebError::PasswordChangeDue);
        }
        Ok(self)
    }

    /// The access module's view of this session.
    pub fn principal(&self) -> Result<vrs_core::Principal, WebError> {
        let mut principal = accounts::principal(&self.account, self.terminal)
            .ok_or(WebError::Forbidden("unknown role"))?;
        principal.scopes = self.scopes.clone();
        Ok(principal)
    }

    /// Asks the access module whether this session may do `action` on `target`; handlers never
    /// decide themselves.
    pub fn authorize(&self, action: Action, target: &Target) -> Result<(), WebError> {
        if let Some(scopes) = &self.scopes {
            if !scopes.grants(action) {
                return Err(WebError::OutOfScope(action));
            }
        }
        let principal = self.principal()?;
        decide(&principal, action, target)
            .into_result()
            .map_err(WebError::Denied)
    }

    /// The target of the viewer's own area: its municipality, else its prefecture, else the nation.
    pub fn own_area(&self) -> Target {
        match (self.account.municipality, self.account.prefecture) {
            (Some(m), _) => Target::Municipality(m),
            (None, Some(p)) => Target::Prefecture(p),
            (None, None) => Target::Nation,
        }
    }

    /// Refuses a state-changing form whose token is not this session's.
    /// A bearer request needs none: a token is sent only by the client that holds it, never by a
    /// browser on another site's behalf.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if self.scopes.is_some() {
            return Ok(());
        }
        if constant_time_eq(submitted.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// Refuses a JSON API call whose `X-CSRF-Token` header is not this session's token.
    pub fn check_csrf_header(&self, headers: &axum::http::HeaderMap) -> Result<(), WebError> {
        let token = headers
            .get(crate::tablet::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        self.check_csrf(token)
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie the browser keeps from scripts and other sites.
pub fn private_cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies || state.settings.https())
        .path("/")
        .build()
}

/// A cookie that removes `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}
