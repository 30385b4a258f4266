//! A refusal a person meets in the browser is a page: in the frame, in their language, saying what
//! happened, what to do, and the way back to the menu, with the stable code small beneath for a
//! call to the help desk. Only requests that ask for HTML (`Accept: text/html`, as every browser
//! sends) get it, and only outside the JSON API, OAuth and FHIR, which keep their own shapes;
//! scripts and command-line clients keep the short `code: message` text. A handler's own HTML (a
//! form shown again with its error beside the field) is left as it is.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maud::html;

use crate::api_errors::{by_status, carry_refusal_headers, Fault};
use crate::i18n::{t, Lang, Text};
use crate::pages::layout;

/// Middleware: renders a page for a 4xx or 5xx answer to a browser (see the module's text).
pub async fn render(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let own_shape = ["/api/", "/oauth/", "/fhir/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if own_shape || !wants_html {
        // The API, a tablet's registrations among it, pays for no more than these two looks.
        return next.run(request).await;
    }
    let lang = Lang::from_cookies(&CookieJar::from_headers(request.headers()));
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return response;
    }
    let fault = response
        .extensions()
        .get::<Fault>()
        .cloned()
        .unwrap_or_else(|| by_status(status));
    let mut page = (status, Html(page(lang, status, &fault).into_string())).into_response();
    carry_refusal_headers(&response, &mut page);
    page.extensions_mut().insert(fault);
    page
}

/// The heading and the advice for a status.
fn words(status: StatusCode) -> (Text, Text) {
    match status {
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
            (Text::ErrorForbidden, Text::HintForbidden)
        }
        StatusCode::NOT_FOUND => (Text::ErrorNotFound, Text::HintNotFound),
        StatusCode::METHOD_NOT_ALLOWED => (Text::ErrorMethod, Text::HintNotFound),
        StatusCode::TOO_MANY_REQUESTS => (Text::ErrorTooMany, Text::HintRetryLater),
        StatusCode::SERVICE_UNAVAILABLE => (Text::ErrorUnavailable, Text::HintRetryLater),
        s if s.is_server_error() => (Text::ErrorInternal, Text::HintInternal),
        StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::CONFLICT
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE => (Text::ErrorInvalid, Text::HintInvalid),
        _ => (Text::ErrorOther, Text::HintInvalid),
    }
}

fn page(lang: Lang, status: StatusCode, fault: &Fault) -> maud::Markup {
    let (title, hint) = words(status);
    let message = fault.message(lang);
    layout(
        lang,
        t(lang, title),
        None,
        html! {
            section.error-page role="alert" data-status=(status.as_u16()) data-code=(fault.code) {
                p.error-message { (message) }
                h3 { (t(lang, Text::WhatToDo)) }
                p { (t(lang, hint)) }
                p { a href="/" { (t(lang, Text::BackToMenu)) } }
                p.error-code {
                    small { (t(lang, Text::ErrorCode)) ": " code { (fault.code) } " (HTTP " (status.as_u16()) ")" }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_status_has_a_heading_and_advice_in_both_languages() {
        for code in 400..=599u16 {
            let Ok(status) = StatusCode::from_u16(code) else {
                continue;
            };
            let (title, hint) = words(status);
            for text in [title, hint] {
                assert!(!t(Lang::Ja, text).is_ascii(), "{code}: {text:?}");
                assert!(!t(Lang::En, text).is_empty(), "{code}: {text:?}");
            }
        }
        let fault = Fault::new("target_mismatch", "日本語の理由", "the reason");
        let ja = page(Lang::Ja, StatusCode::FORBIDDEN, &fault).into_string();
        assert!(ja.contains("日本語の理由") && ja.contains("target_mismatch"));
        assert!(!ja.contains("the reason"));
        let en = page(Lang::En, StatusCode::FORBIDDEN, &fault).into_string();
        assert!(en.contains("the reason") && !en.contains("日本語の理由"));
    }
}
