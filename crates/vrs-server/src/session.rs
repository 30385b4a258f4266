//! Who is acting: the `Signed` extractor reads the session cookie, checks the session in the
//! database, and decides the terminal class from the request's address. A session opened on LG-WAN
//! but used from elsewhere is treated as an internet session — the stricter of the two always wins.
//! The municipality scope of everything a handler does comes from here, never from the request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use vrs_core::access::{decide, Action, Target, Terminal};
use vrs_core::accounts::{self, SessionError};
use vrs_store::{Account, SessionRecord};

use crate::error::WebError;
use crate::i18n::Lang;
use crate::terminal::{classify, client_address, TerminalClass};
use crate::AppState;

pub const SESSION_COOKIE: &str = "vrs_session";
pub const LOGIN_CSRF_COOKIE: &str = "vrs_login_csrf";

/// The terminal class of the request being handled.
pub struct RequestTerminal(pub TerminalClass);

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

/// A signed-in user whose first-login password change is done.
pub struct Signed {
    pub account: Account,
    pub session: SessionRecord,
    pub token: String,
    pub terminal: TerminalClass,
    pub lang: Lang,
}

/// A signed-in user, whether or not the password change is still due (for the change page itself).
pub struct SignedAny(pub Signed);

impl FromRequestParts<AppState> for SignedAny {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = Lang::from_cookies(&jar);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or(WebError::SignIn)?;
        let RequestTerminal(now_from) = RequestTerminal::from_request_parts(parts, state).await?;
        let (session, account) =
            accounts::session(state.store.as_ref(), &state.login_policy(), &token)
                .await
                .map_err(|e| match e {
                    SessionError::Missing | SessionError::Expired => WebError::SignIn,
                    SessionError::Store(e) => e.into(),
                })?;
        let opened_from = TerminalClass::from_stored(&session.terminal);
        let terminal = if opened_from == TerminalClass::Lgwan && now_from == TerminalClass::Lgwan {
            TerminalClass::Lgwan
        } else {
            TerminalClass::Internet
        };
        Ok(SignedAny(Signed {
            account,
            session,
            token,
            terminal,
            lang,
        }))
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let SignedAny(signed) = SignedAny::from_request_parts(parts, state).await?;
        if signed.account.must_change_password {
            return Err(WebError::PasswordChangeDue);
        }
        Ok(signed)
    }
}

impl Signed {
    /// Asks the access module whether this session may do `action` on `target`; handlers never
    /// decide themselves.
    /// The access module's view of this session.
    pub fn principal(&self) -> Result<vrs_core::Principal, WebError> {
        let terminal = match self.terminal {
            TerminalClass::Lgwan => Terminal::Lgwan,
            TerminalClass::Internet => Terminal::Internet,
        };
        accounts::principal(&self.account, terminal).ok_or(WebError::Forbidden("unknown role"))
    }

    pub fn authorize(&self, action: Action, target: &Target) -> Result<(), WebError> {
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
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
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
