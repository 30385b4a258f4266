//! The OAuth 2.0 token endpoint of machine clients (`POST /oauth/token`, client credentials with
//! `private_key_jwt`; see `vrs_core::clients`) and the SMART configuration that advertises it
//! (`/.well-known/smart-configuration`, also under `/fhir/`). A refusal is JSON with both RFC
//! 6749's `error` and `error_description` and the API's `code`, `message_ja` and `message_en`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use vrs_core::access::Scope;
use vrs_core::clients::{self, TokenError, TokenRequest};
use vrs_crypto::jose::Algorithm;

use crate::api_errors::Fault;
use crate::terminal::{classify, client_address};
use crate::AppState;

/// Token requests per minute from one address.
pub const PER_MINUTE: u32 = 60;

/// The token endpoint's absolute URL: what an assertion's `aud` must name.
pub fn token_url(state: &AppState) -> String {
    format!(
        "{}/oauth/token",
        state
            .settings
            .issuer_settings()
            .base_url
            .trim_end_matches('/')
    )
}

/// A token request (RFC 6749 §4.4.2 with RFC 7523's client authentication), form-encoded.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    /// Always `client_credentials`.
    #[schema(value_type = String, required = true, pattern = r"^client_credentials$")]
    grant_type: Option<String>,
    /// Always `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[schema(
        value_type = String,
        required = true,
        pattern = r"^urn:ietf:params:oauth:client-assertion-type:jwt-bearer$"
    )]
    client_assertion_type: Option<String>,
    /// The JWT the client signed: `iss` = `sub` = its user ID, `aud` = this URL, `exp` within five
    /// minutes, a `jti` never used before.
    #[schema(
        value_type = String,
        required = true,
        pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        max_length = 16384
    )]
    client_assertion: Option<String>,
    /// The scopes asked for, space-separated (all the client's scopes when absent).
    #[schema(value_type = String)]
    scope: Option<String>,
}

/// A granted token (RFC 6749 §5.1).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    /// The bearer token: send it as `Authorization: Bearer …`.
    access_token: String,
    /// Always `bearer`.
    token_type: &'static str,
    /// Seconds the token lives.
    expires_in: i64,
    /// The scopes granted, space-separated.
    scope: String,
}

fn refusal(status: StatusCode, error: &str, ja: String, en: String) -> Response {
    // RFC 6749 §5.2's members beside the API's own.
    let body = serde_json::json!({
        "error": error,
        "error_description": en,
        "code": error,
        "message_ja": ja,
        "message_en": en,
    });
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(Fault::new(error, ja, en));
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Grants a bearer token to a machine client.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token", body = TokenAnswer),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope"),
        (status = 401, description = "invalid_client: the assertion does not authenticate a registered client"),
        (status = 415, description = "Not form-encoded"),
        (status = 429, description = "Too many token requests from this address")
    )
)]
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = client_address(&state.settings, peer, &headers);
    let client = address.unwrap_or_else(|| peer.ip());
    if let Err(wait) = state.token_rate.check(client, Instant::now()) {
        let mut response = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "トークンの要求が多すぎます。Retry-After の秒数の後にもう一度お試しください。".into(),
            "too many token requests: try again after Retry-After seconds".into(),
        );
        if let Ok(value) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if !crate::headers::content_type_is(&headers, &["application/x-www-form-urlencoded"]) {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "application/x-www-form-urlencoded で送ってください。".into(),
            "send the request as application/x-www-form-urlencoded".into(),
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "フォームの形式が正しくありません。".into(),
            "the form encoding is not valid".into(),
        );
    };
    let request = TokenRequest {
        grant_type: form.grant_type,
        client_assertion_type: form.client_assertion_type,
        client_assertion: form.client_assertion,
        scope: form.scope,
    };
    let terminal = classify(&state.settings, address);
    match clients::grant(
        state.store.as_ref(),
        &request,
        &token_url(&state),
        terminal.as_str(),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(granted) => {
            let mut response = Json(TokenAnswer {
                access_token: granted.access_token,
                token_type: "bearer",
                expires_in: granted.expires_in,
                scope: granted.scopes.to_string(),
            })
            .into_response();
            no_store(&mut response);
            response
        }
        Err(TokenError::Store(e)) => {
            tracing::error!(error = %e, "token grant failed");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "内部エラーが発生しました。".into(),
                "internal error".into(),
            )
        }
        Err(e) => {
            let status = match e {
                TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::BAD_REQUEST,
            };
            let (ja, en) = e.messages();
            refusal(status, e.code(), ja, en)
        }
    }
}

/// The SMART configuration: where machine clients get tokens and how they authenticate.
#[utoipa::path(
    get,
    path = "/.well-known/smart-configuration",
    tag = "oauth",
    responses((status = 200, description = "The SMART configuration (SMART App Launch 2.x)"))
)]
pub async fn smart_configuration(State(state): State<AppState>) -> Response {
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let algorithms: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
    Json(serde_json::json!({
        "token_endpoint": token_url(&state),
        "grant_types_supported": [clients::GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "scopes_supported": scopes,
        "capabilities": ["client-confidential-asymmetric"],
    }))
    .into_response()
}
