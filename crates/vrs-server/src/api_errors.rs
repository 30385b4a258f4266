//! One error shape for the JSON API. Every refusal of a request under `/api/` and `/oauth/` is JSON
//! `{"code", "message_ja", "message_en", "field"?}` with a stable code (docs/server.md): a
//! handler's refusal, and the routing's and the limits' (404, 405, 413, 415, 429, 503) as well; a
//! missing session is 401 there, not the sign-in page's redirect; a request body that is not
//! `application/json` is 415 (the token endpoint takes the form encoding OAuth prescribes). Pages
//! elsewhere keep their HTML and redirects.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A refusal as the API tells it. Handlers' errors carry one in the response's extensions, so the
/// API can answer it as JSON while a page answers it as HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message_ja: String,
    pub message_en: String,
    /// The request field at fault, in the API's own names.
    pub field: Option<String>,
}

impl Fault {
    pub fn new(code: &str, message_ja: impl Into<String>, message_en: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message_ja: message_ja.into(),
            message_en: message_en.into(),
            field: None,
        }
    }

    /// A refusal that speaks for itself: its code and both messages.
    pub fn of(refusal: &impl vrs_domain::UserFacing) -> Self {
        Self::new(refusal.code(), refusal.message_ja(), refusal.message_en())
    }

    /// The message in the reader's language.
    pub fn message(&self, lang: crate::i18n::Lang) -> &str {
        match lang {
            crate::i18n::Lang::Ja => &self.message_ja,
            crate::i18n::Lang::En => &self.message_en,
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
}

/// The JSON answer of `fault` with `status`.
pub fn json(status: StatusCode, fault: Fault) -> Response {
    let mut body = serde_json::json!({
        "code": fault.code,
        "message_ja": fault.message_ja,
        "message_en": fault.message_en,
    });
    if let Some(field) = &fault.field {
        body["field"] = field.as_str().into();
    }
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(fault);
    response
}

/// The JSON answer of a refusal that speaks for itself, with its own status.
pub(crate) fn refusal(refusal: &impl vrs_domain::UserFacing) -> Response {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, Fault::of(refusal))
}

/// The API's refusal for a status that came without a [`Fault`]: the router's and the limits'.
pub(crate) fn by_status(status: StatusCode) -> Fault {
    let (code, ja, en) = match status {
        StatusCode::UNAUTHORIZED => ("sign_in", "ログインしてください。", "sign in first"),
        StatusCode::FORBIDDEN => (
            "forbidden",
            "この操作は許可されていません。",
            "this is not allowed",
        ),
        StatusCode::NOT_FOUND => ("not_found", "見つかりません。", "not found"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "このURLではこのメソッドは使えません。",
            "this method is not allowed here",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "送信された内容が大きすぎます。",
            "the request body is too large",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Content-Type が正しくありません（application/json で送ってください）。",
            "unsupported Content-Type (send application/json)",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "too_many_requests",
            "リクエストが多すぎます。Retry-After の秒数の後にもう一度お試しください。",
            "too many requests: try again after Retry-After seconds",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "ただいま利用できません。しばらくしてからもう一度お試しください。",
            "unavailable: try again in a moment",
        ),
        s if s.is_server_error() => ("internal", "内部エラーが発生しました。", "internal error"),
        _ => (
            "invalid",
            "リクエストが正しくありません。",
            "the request is not valid",
        ),
    };
    Fault::new(code, ja, en)
}

/// Middleware: answers every refusal under `/api/` as JSON (see the module's text), and refuses a
/// body that is not JSON there (415) before any handler reads it.
pub async fn shape(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/");
    let oauth = path.starts_with("/oauth/");
    let sends_body = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    );
    // The targets file and the bulk inquiry file are the bodies of the API that are not JSON.
    let csv = matches!(path, "/api/v1/targets" | "/api/v1/inquiries/bulk");
    let accepted: &[&str] = if csv {
        crate::targets::CSV_TYPES
    } else {
        &["application/json"]
    };
    if api
        && sends_body
        && crate::routes::declares(path, request.method().as_str())
        && !crate::headers::content_type_is(request.headers(), accepted)
    {
        let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        let mut fault = by_status(status);
        if csv {
            fault = Fault::new(
                "unsupported_media_type",
                "Content-Type が正しくありません（text/csv で送ってください）。",
                "unsupported Content-Type (send text/csv)",
            );
        }
        return json(status, fault);
    }
    let response = next.run(request).await;
    if api || oauth {
        reshape(response)
    } else {
        response
    }
}

fn reshape(response: Response) -> Response {
    let status = response.status();
    if status.is_redirection() {
        // The pages' ways of sending someone to sign in or to change the initial password.
        return match response
            .headers()
            .get(header::LOCATION)
            .map(|l| l.as_bytes())
        {
            Some(b"/login") => json(
                StatusCode::UNAUTHORIZED,
                by_status(StatusCode::UNAUTHORIZED),
            ),
            Some(b"/password") => json(
                StatusCode::FORBIDDEN,
                Fault::new(
                    "password_change_due",
                    "初期パスワードを変更してください。",
                    "change the initial password first",
                ),
            ),
            _ => response,
        };
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let fault = response
        .extensions()
        .get::<Fault>()
        .cloned()
        .unwrap_or_else(|| by_status(status));
    let mut answer = json(status, fault);
    carry_refusal_headers(&response, &mut answer);
    answer
}

/// Copies what a refusal tells the client to do next (`Retry-After`, `Allow`, `WWW-Authenticate`)
/// from the answer a handler or the router gave to the answer that replaces it.
pub(crate) fn carry_refusal_headers(from: &Response, to: &mut Response) {
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = from.headers().get(&name) {
            to.headers_mut().insert(name, value.clone());
        }
    }
}

/// The OpenAPI document as served: the operations' own answers, plus what every API operation can
/// answer from the edge (400, 401, 413 and 415 for a body, 429, 500, 503), each as the [`Fault`] shape,
/// and the two ways to authenticate (a machine client's bearer token; a session cookie with its
/// CSRF token).
pub fn document(api: utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::json;
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    doc["openapi"] = json!("3.1.0");
    doc["components"]["schemas"]["Error"] = json!({
        "type": "object",
        "description": "A refusal: a stable code (docs/server.md), the reason in Japanese and English, and the request field at fault when there is one.",
        "required": ["code", "message_ja", "message_en"],
        "properties": {
            "code": {"type": "string"},
            "message_ja": {"type": "string"},
            "message_en": {"type": "string"},
            "field": {"type": "string"}
        }
    });
    doc["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "A machine client's token from POST /oauth/token (client credentials with private_key_jwt)."},
        "session": {"type": "apiKey", "in": "cookie", "name": "vrs_session",
                    "description": "A signed-in session (sign in at /login)."},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                 "description": "The session's CSRF token, with the session cookie on every POST."}
    });
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    let common: [(&str, &str, bool, bool); 7] = [
        ("400", "The request does not fit this document (a repeated or malformed parameter, a body that is not the operation's JSON)", true, false),
        ("401", "No session or token, or an unknown, expired or revoked token", true, false),
        ("413", "The body is too large", false, true),
        ("415", "The body is not of the media type the operation takes", false, true),
        ("429", "Too many requests: wait for Retry-After seconds", false, false),
        ("500", "The server failed (the cause is in its log only)", false, false),
        ("503", "Unavailable, or the function is stopped by the operator", false, false),
    ];
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let signed = path.starts_with("/api/v1/");
            let api = signed || path.starts_with("/oauth/");
            let Some(operations) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in operations.iter_mut() {
                let body = matches!(method.as_str(), "post" | "put" | "patch");
                if signed {
                    operation["security"] = json!([{"bearer": []}, {"session": [], "csrf": []}]);
                }
                let responses = &mut operation["responses"];
                for (status, description, needs_sign_in, needs_body) in common {
                    if (needs_sign_in && !signed) || (needs_body && !body) {
                        continue;
                    }
                    if responses.get(status).is_none() {
                        responses[status] = json!({"description": description});
                    }
                }
                if !api {
                    continue;
                }
                if let Some(map) = responses.as_object_mut() {
                    for (status, answer) in map.iter_mut() {
                        let refusal = status.starts_with('4') || status.starts_with('5');
                        if refusal && answer.get("content").is_none() {
                            answer["content"] = error.clone();
                        }
                    }
                }
            }
        }
    }
    doc
}

/// A JSON error of the API: a stable code and the message in both languages.
pub(crate) fn api_error(status: StatusCode, code: &str, ja: &str, en: &str) -> Response {
    json(status, Fault::new(code, ja, en))
}
