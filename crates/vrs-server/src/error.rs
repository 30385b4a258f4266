//! The one error type of the HTTP edge. What users see has a stable code and a message in their
//! language; unexpected failures are an opaque 500 whose cause goes only to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::borrow::Cow;

use vrs_domain::UserFacing;
use vrs_store::{ConflictKind, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No valid session: go and sign in.
    #[error("sign in first")]
    SignIn,
    /// The first-login password change is still due.
    #[error("change the initial password first")]
    PasswordChangeDue,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// An `Authorization` header whose bearer token is unknown, expired or revoked.
    #[error("the access token is not valid: it is unknown, expired or revoked")]
    BearerInvalid,
    /// A bearer token without a scope that grants the action.
    #[error("the access token's scopes do not include the action {}", .0.as_str())]
    OutOfScope(vrs_core::access::Action),
    /// The access module's refusal, with its stable reason code.
    #[error("{}", .0.message_en())]
    Denied(vrs_core::DenyReason),
    #[error("the form's security token is missing or wrong; reload the page and try again")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// A form value the service refused, with its reason.
    #[error("{0}")]
    Invalid(String),
    /// A refusal that speaks both languages, with its own code (a domain or service error's words).
    #[error("{0}")]
    Refused(vrs_domain::Reason),
    /// A write the store refused by one of its rules (a dose number taken, a user ID in use, …).
    #[error("{0}")]
    Conflict(ConflictKind),
    /// The national operator has stopped the function (緊急時の措置).
    #[error(transparent)]
    Stopped(vrs_core::governance::Stopped),
    /// The database cannot be reached now (a failover under way): 503 with `Retry-After`; the
    /// same request can be sent again. The cause goes to the log only.
    #[error("the service is unavailable for a moment; try again")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

/// The seconds (`Retry-After`) a client is told to wait before retrying a request refused with
/// [`WebError::Unavailable`]: a database failover takes a few seconds to some tens of seconds.
pub const UNAVAILABLE_RETRY_AFTER: &str = "2";

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Conflict(kind) => WebError::Conflict(kind),
            StoreError::Unavailable(cause) => WebError::Unavailable(cause),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl WebError {
    pub fn code(&self) -> &'static str {
        match self {
            WebError::SignIn => "sign_in",
            WebError::PasswordChangeDue => "password_change_due",
            WebError::Forbidden(_) => "forbidden",
            WebError::BearerInvalid => "invalid_token",
            WebError::OutOfScope(_) => "insufficient_scope",
            WebError::Denied(reason) => reason.code(),
            WebError::Csrf => "csrf",
            WebError::NotFound => "not_found",
            WebError::Invalid(_) | WebError::Conflict(_) => "invalid",
            WebError::Refused(reason) => reason.code,
            WebError::Stopped(_) => "function_stopped",
            WebError::Unavailable(_) => "unavailable",
            WebError::Internal(_) => "internal",
        }
    }

    /// The refusal in both languages, as the JSON API answers it.
    pub fn fault(&self) -> crate::api_errors::Fault {
        crate::api_errors::Fault::of(self)
    }

    /// The scopes that would grant `action`, for the refusal's text.
    fn scopes_needed(action: vrs_core::access::Action) -> String {
        let needed: Vec<&str> = vrs_core::access::Scope::granting(action)
            .iter()
            .map(|s| s.as_str())
            .collect();
        if needed.is_empty() {
            "none".to_owned()
        } else {
            needed.join(" or ")
        }
    }
}

impl UserFacing for WebError {
    fn code(&self) -> &'static str {
        WebError::code(self)
    }

    fn status(&self) -> u16 {
        match self {
            WebError::SignIn | WebError::BearerInvalid => 401,
            WebError::PasswordChangeDue
            | WebError::Forbidden(_)
            | WebError::Csrf
            | WebError::OutOfScope(_) => 403,
            WebError::Denied(reason) => reason.status(),
            WebError::NotFound => 404,
            WebError::Invalid(_) | WebError::Refused(_) => 422,
            WebError::Conflict(kind) => kind.status(),
            WebError::Stopped(s) => s.status(),
            WebError::Unavailable(_) => 503,
            WebError::Internal(_) => 500,
        }
    }

    fn message_ja(&self) -> Cow<'_, str> {
        match self {
            WebError::SignIn => "ログインしてください。".into(),
            WebError::PasswordChangeDue => "初期パスワードを変更してください。".into(),
            WebError::Forbidden(_) => "この操作は許可されていません。".into(),
            WebError::BearerInvalid => {
                "アクセストークンが無効です（不明、期限切れ、または取り消し済み）。".into()
            }
            WebError::OutOfScope(action) => format!(
                "アクセストークンのスコープでは {} は行えません（必要なスコープ: {}）。",
                action.as_str(),
                Self::scopes_needed(*action)
            )
            .into(),
            WebError::Denied(reason) => UserFacing::message_ja(reason),
            WebError::Csrf => {
                "フォームの安全確認用トークンがないか正しくありません。ページを読み込み直してください。"
                    .into()
            }
            WebError::NotFound => "見つかりません。".into(),
            // A service's refusal: its text as it was written (both languages where it has them).
            WebError::Invalid(text) => text.as_str().into(),
            WebError::Refused(reason) => reason.ja.as_str().into(),
            WebError::Conflict(kind) => kind.message_ja(),
            WebError::Stopped(s) => UserFacing::message_ja(s),
            WebError::Unavailable(_) => crate::i18n::Text::DatabaseUnavailable.ja().into(),
            WebError::Internal(_) => "内部エラーが発生しました。".into(),
        }
    }

    fn message_en(&self) -> Cow<'_, str> {
        match self {
            WebError::OutOfScope(action) => format!(
                "the access token's scopes do not permit {} (scope needed: {})",
                action.as_str(),
                Self::scopes_needed(*action)
            )
            .into(),
            WebError::Denied(reason) => UserFacing::message_en(reason),
            WebError::Conflict(kind) => kind.message_en(),
            WebError::Stopped(s) => UserFacing::message_en(s),
            WebError::Unavailable(_) => crate::i18n::Text::DatabaseUnavailable.en().into(),
            other => other.to_string().into(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let fault = self.fault();
        let mut response = match &self {
            WebError::SignIn => Redirect::to("/login").into_response(),
            WebError::PasswordChangeDue => Redirect::to("/password").into_response(),
            WebError::BearerInvalid => (
                StatusCode::UNAUTHORIZED,
                [(
                    axum::http::header::WWW_AUTHENTICATE,
                    "Bearer error=\"invalid_token\"",
                )],
                format!("{}: {}", self.code(), self),
            )
                .into_response(),
            WebError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
            WebError::Unavailable(cause) => {
                tracing::warn!(%cause, "request refused: the database is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER)],
                    format!("{}: {}", self.code(), self),
                )
                    .into_response()
            }
            other => {
                let status = StatusCode::from_u16(other.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let text = match other {
                    WebError::Denied(reason) => format!(
                        "{}: {} / {}",
                        reason.code(),
                        reason.message_ja(),
                        reason.message_en()
                    ),
                    WebError::Stopped(s) => {
                        format!("function_stopped: {} / {}", s.message_ja(), s)
                    }
                    WebError::Conflict(kind) => format!("invalid: {} / {kind}", kind.ja()),
                    WebError::Refused(r) => format!("{}: {} / {}", r.code, r.ja, r.en),
                    _ => format!("{}: {}", other.code(), other),
                };
                (status, text).into_response()
            }
        };
        // The JSON API answers from this instead of the text (api_errors).
        response.extensions_mut().insert(fault);
        response
    }
}

/// What is wrong with a JSON request body, in fixed words (Japanese, English). serde's own message
/// can quote what was sent — a My Number sent as a JSON number comes back in "invalid type: integer
/// `…`" — so only the kind of fault, its line and column, and a field name of the API's own
/// vocabulary are said, never a value.
pub(crate) fn json_body_fault(e: &serde_json::Error) -> (String, String) {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    let text = e.to_string();
    // serde names a missing or unknown field between backquotes; only a plain field name is
    // repeated (an unknown key is the sender's text and may be anything).
    let named = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .filter(|name| {
                (1..=40).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .map(str::to_owned)
    };
    match e.classify() {
        Category::Eof => (
            "JSONが途中で終わっています。".into(),
            "the body ends before its JSON does".into(),
        ),
        Category::Syntax | Category::Io => (
            format!("JSONの形式が正しくありません（{line}行{column}列）。"),
            format!("the body is not valid JSON (line {line}, column {column})"),
        ),
        Category::Data => {
            if let Some(field) = named("missing field `") {
                (
                    format!("項目 {field} がありません。"),
                    format!("the field {field} is missing"),
                )
            } else if let Some(field) = named("unknown field `") {
                (
                    format!("項目 {field} は使えません。"),
                    format!("the field {field} is not one of this API's"),
                )
            } else {
                (
                    format!("値の型または形式が正しくありません（{line}行{column}列）。"),
                    format!("a value has the wrong type or form (line {line}, column {column})"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::json_body_fault;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        my_number: String,
        consent: bool,
    }

    fn fault(text: &str) -> (String, String) {
        json_body_fault(&serde_json::from_str::<Body>(text).unwrap_err())
    }

    #[test]
    fn a_body_fault_never_repeats_what_was_sent() {
        for text in [
            r#"{"my_number": 123456789018, "consent": true}"#,
            r#"{"my_number": "x", "consent": "123456789018"}"#,
            r#"{"my_number": "x", "123456789018": 1}"#,
            r#"{"my_number": 123456789018"#,
            r#"{"my_number" 123456789018}"#,
            "123456789018",
        ] {
            let (ja, en) = fault(text);
            assert!(!ja.contains("123456789018"), "{text}: {ja}");
            assert!(!en.contains("123456789018"), "{text}: {en}");
        }
        assert_eq!(
            fault(r#"{"consent": true}"#).1,
            "the field my_number is missing"
        );
        assert_eq!(
            fault(r#"{"my_number": "x", "consent": true, "extra": 1}"#).1,
            "the field extra is not one of this API's"
        );
        assert!(fault(r#"{"my_number": 1, "consent": true}"#)
            .1
            .contains("line 1, column"));
    }
}
