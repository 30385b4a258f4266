//! `/api/docs`: the OpenAPI document as a page an integrator reads — every operation, its
//! parameters with their patterns, its body's fields, its answers, and the two ways to
//! authenticate. Rendered here from the same document `/api/openapi.json` serves, with no script
//! and nothing from another site.

use axum::response::Html;
use axum_extra::extract::CookieJar;
use maud::{html, Markup};
use serde_json::Value;

use crate::i18n::Lang;
use crate::pages::layout;

/// A schema's type and constraints in one line (`string, pattern ^[0-9]{12}$`).
fn constraints(schema: &Value) -> String {
    let mut parts = Vec::new();
    match &schema["type"] {
        Value::String(t) => parts.push(t.clone()),
        Value::Array(types) => parts.push(
            types
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        _ => {}
    }
    if let Some(reference) = schema["$ref"].as_str() {
        parts.push(reference.rsplit('/').next().unwrap_or(reference).to_owned());
    }
    for key in [
        "format",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    ] {
        match &schema[key] {
            Value::Null => {}
            Value::String(v) => parts.push(format!("{key} {v}")),
            other => parts.push(format!("{key} {other}")),
        }
    }
    parts.join(", ")
}

/// The fields of a component schema, as a table.
fn fields(doc: &Value, schema: &Value) -> Markup {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()],
        None => schema,
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return html! { p { code { (constraints(schema)) } } };
    };
    html! {
        table {
            thead { tr { th { "field" } th { "required" } th { "type" } th { "description" } } }
            tbody {
                @for (name, p) in properties {
                    tr {
                        td { code { (name) } }
                        td { @if required.contains(&name.as_str()) { "✓" } }
                        td { code { (constraints(p)) } }
                        td { (p["description"].as_str().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Markup {
    let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
    let body = op["requestBody"]["content"].as_object().cloned();
    let responses = op["responses"].as_object().cloned().unwrap_or_default();
    html! {
        section.card id=(format!("{method}-{path}")) {
            h3 { code { (method.to_uppercase()) " " (path) } }
            @if let Some(text) = op["description"].as_str().or(op["summary"].as_str()) {
                p { (text) }
            }
            @if let Some(security) = op["security"].as_array() {
                p { "Authentication: "
                    @for (i, alternative) in security.iter().enumerate() {
                        @if i > 0 { " or " }
                        code { (alternative.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(" + ")).unwrap_or_default()) }
                    }
                }
            }
            @if !parameters.is_empty() {
                h4 { "Parameters" }
                table {
                    thead { tr { th { "name" } th { "in" } th { "required" } th { "type" } th { "description" } } }
                    tbody {
                        @for p in &parameters {
                            tr {
                                td { code { (p["name"].as_str().unwrap_or_default()) } }
                                td { (p["in"].as_str().unwrap_or_default()) }
                                td { @if p["required"] == true { "✓" } }
                                td { code { (constraints(&p["schema"])) } }
                                td { (p["description"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            @if let Some(content) = body {
                @for (media, c) in &content {
                    h4 { "Body (" code { (media) } ")" }
                    (fields(doc, &c["schema"]))
                }
            }
            h4 { "Answers" }
            table {
                thead { tr { th { "status" } th { "meaning" } } }
                tbody {
                    @for (status, r) in &responses {
                        tr {
                            td { code { (status) } }
                            td { (r["description"].as_str().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// The page.
pub async fn page(jar: CookieJar) -> Html<String> {
    use utoipa::OpenApi;
    let lang = Lang::from_cookies(&jar);
    let doc = crate::api_errors::document(crate::routes::ApiDoc::openapi());
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let body = html! {
        section.card {
            p { (doc["info"]["description"].as_str().unwrap_or_default()) }
            p { "The machine-readable document: " a href="/api/openapi.json" { "/api/openapi.json" }
                " (OpenAPI " (doc["openapi"].as_str().unwrap_or_default()) "). Refusals are JSON "
                code { "{code, message_ja, message_en, field?}" } "." }
            h3 { "Authentication" }
            table {
                thead { tr { th { "scheme" } th { "how" } } }
                tbody {
                    @for (name, s) in &schemes {
                        tr { td { code { (name) } } td { (s["description"].as_str().unwrap_or_default()) } }
                    }
                }
            }
            h3 { "Operations" }
            ul {
                @for (path, item) in &paths {
                    @for method in item.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                        li { a href=(format!("#{method}-{path}")) { code { (method.to_uppercase()) " " (path) } } }
                    }
                }
            }
        }
        @for (path, item) in &paths {
            @if let Some(ops) = item.as_object() {
                @for (method, op) in ops {
                    (operation(&doc, path, method, op))
                }
            }
        }
    };
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    Html(layout(lang, title, None, body).into_string())
}
