//! The headers every response carries against a hostile page or network: a Content Security
//! Policy that lets run only this server's own stylesheet (served from it) and the tablet's script
//! (by its SHA-256), talk only to this origin and be framed by nobody; `nosniff`; no referrer; HSTS when
//! the deployment's public URL is https; and `Cache-Control: no-store` wherever a response has not
//! said it may be cached (public keys and revocation lists do) — so no signed-in page or download
//! stays in a shared or browser cache.

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::AppState;

fn hash_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        B64.encode(vrs_crypto::sha256(text.as_bytes()))
    )
}

/// The policy: nothing by default; this server's stylesheet, the tablet's script by hash and the
/// scripts this server serves (the QR decoder) — never an inline script it did not write;
/// pictures inline (charts are inline SVG); requests, forms and the base URL to this origin only.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; script-src {script} 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            script = hash_source(crate::tablet::TABLET_JS),
        )
    })
}

/// Whether the request's `Content-Type` is one of `accepted` (its media type, parameters aside,
/// compared without regard to case).
pub fn content_type_is(headers: &axum::http::HeaderMap, accepted: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| accepted.contains(&essence.as_str()))
}

/// Adds the headers to every response.
pub async fn security(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let https = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
