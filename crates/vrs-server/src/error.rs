//! The one error type of the HTTP edge. What users see has a stable code and a message in their
//! language; unexpected failures are an opaque 500 whose cause goes only to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vrs_store::StoreError;

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
    /// The national operator has stopped the function (緊急時の措置).
    #[error(transparent)]
    Stopped(vrs_core::governance::Stopped),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Conflict(m) => WebError::Invalid(m),
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
            WebError::Denied(reason) => reason.code(),
            WebError::Csrf => "csrf",
            WebError::NotFound => "not_found",
            WebError::Invalid(_) => "invalid",
            WebError::Stopped(_) => "function_stopped",
            WebError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match &self {
            WebError::SignIn => Redirect::to("/login").into_response(),
            WebError::PasswordChangeDue => Redirect::to("/password").into_response(),
            WebError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
            other => {
                let status = match other {
                    WebError::Forbidden(_) | WebError::Denied(_) | WebError::Csrf => {
                        StatusCode::FORBIDDEN
                    }
                    WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    WebError::Stopped(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::NOT_FOUND,
                };
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
                    _ => format!("{}: {}", other.code(), other),
                };
                (status, text).into_response()
            }
        }
    }
}
