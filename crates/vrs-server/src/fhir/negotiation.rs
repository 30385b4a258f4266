//! Content negotiation at the edge: a request under `/fhir` for another format than JSON is
//! refused, and every refusal under `/fhir` or `/hl7/` that no handler wrote is answered in that
//! interface's own shape (an OperationOutcome, an ER7 AR).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{issue_type, outcome};

/// Refuses, as FHIR JSON, a request for another format: `_format` naming XML, or an `Accept` that
/// takes no JSON (406); and answers every refusal under `/fhir` that a handler did not write — the
/// router's 405, the edge's 413 or 429 — as an OperationOutcome too. Under `/hl7/` such a refusal
/// is an ER7 AR. Every request passes here.
pub async fn negotiate(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/hl7/") {
        return er7_refusals(next.run(request).await);
    }
    if !path.starts_with("/fhir") {
        return next.run(request).await;
    }
    let format = request
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v.to_ascii_lowercase());
    let wants_xml = format.is_some_and(|f| f.contains("xml"));
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .to_ascii_lowercase();
    let takes_json = accept.split(',').any(|t| {
        let t = t.split(';').next().unwrap_or_default().trim();
        t.is_empty() || t.contains("json") || t == "*/*" || t == "application/*"
    });
    if wants_xml || !takes_json {
        return outcome(
            StatusCode::NOT_ACCEPTABLE,
            "not-supported",
            "this server answers FHIR in JSON only (application/fhir+json)",
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_fhir = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/fhir+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_fhir {
        return response;
    }
    let code = issue_type(status);
    let text = response
        .extensions()
        .get::<crate::api_errors::Fault>()
        .map(|f| f.message_en.clone())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("refused")
                .to_ascii_lowercase()
        });
    let keep = kept_headers(&response);
    let mut answer = outcome(status, code, text).into_response();
    answer.headers_mut().extend(keep);
    answer
}

/// The headers a refusal keeps when it is written again in another shape.
fn kept_headers(response: &Response) -> Vec<(header::HeaderName, header::HeaderValue)> {
    [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE]
        .into_iter()
        .filter_map(|name| response.headers().get(&name).map(|v| (name, v.clone())))
        .collect()
}

/// An HL7 refusal that is not ER7 (the router's 405, the edge's 413 or 429) as an AR.
fn er7_refusals(response: Response) -> Response {
    let status = response.status();
    let is_er7 = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("x-application/hl7-v2+er7"));
    if !(status.is_client_error() || status.is_server_error()) || is_er7 {
        return response;
    }
    let reason = format!(
        "{}: {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("refused")
    );
    let keep = kept_headers(&response);
    let mut answer = (
        status,
        [(header::CONTENT_TYPE, crate::hl7::ER7)],
        vrs_core::hl7::not_admitted(b"", &reason),
    )
        .into_response();
    answer.headers_mut().extend(keep);
    answer
}
