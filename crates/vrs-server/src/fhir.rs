//! FHIR R4 over HTTP under `/fhir`, JSON only (`application/fhir+json`): the CapabilityStatement,
//! `Patient` read and search, `Immunization` read, search and create, and transaction Bundles.
//! Every refusal is an `OperationOutcome`; the access rules are those of the pages (a staff session
//! of the municipality), and the services write the same audit entries.

mod negotiation;

pub use negotiation::negotiate;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use vrs_core::access::{Action, Target};
use vrs_core::fhir::{self as service, FhirError, ImmunizationFilter};
use vrs_domain::{MunicipalityCode, UserFacing};
use vrs_interop::fhir::{operation_outcome, searchset, Issue};

use crate::error::WebError;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A FHIR answer: a resource, or an OperationOutcome with its status.
/// An answer: status, body, `Location`, and one more header (`WWW-Authenticate`, `Retry-After`).
pub struct Fhir(
    StatusCode,
    Value,
    Option<String>,
    Option<(header::HeaderName, &'static str)>,
);

impl IntoResponse for Fhir {
    fn into_response(self) -> Response {
        let mut r = (
            self.0,
            [(header::CONTENT_TYPE, FHIR_JSON)],
            self.1.to_string(),
        )
            .into_response();
        if let Some(location) = self.2.and_then(|l| l.parse().ok()) {
            r.headers_mut().insert(header::LOCATION, location);
        }
        if let Some((name, value)) = self.3 {
            r.headers_mut()
                .insert(name, header::HeaderValue::from_static(value));
        }
        r
    }
}

fn outcome(status: StatusCode, code: &'static str, text: impl Into<String>) -> Fhir {
    Fhir(
        status,
        operation_outcome(&[Issue::new(code, "", text)]),
        None,
        None,
    )
}

/// The OperationOutcome of a refusal that speaks for itself: its status, the FHIR issue type of
/// that status, the English reason as `diagnostics`, and the stable code with the Japanese reason
/// as `details`, so a client can match the code and show either language.
fn refusal(refusal: &impl UserFacing) -> Fhir {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = operation_outcome(&[Issue::new(issue_type(status), "", refusal.message_en())]);
    body["issue"][0]["details"] = json!({
        "coding": [{"system": REFUSAL_CODES, "code": refusal.code()}],
        "text": refusal.message_ja(),
    });
    Fhir(status, body, None, None)
}

/// The code system of the stable refusal codes (`not_own_resident`, `function_stopped`, …).
const REFUSAL_CODES: &str = "urn:vrs:refusal";

/// The FHIR issue type that goes with an HTTP status.
fn issue_type(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::CONFLICT => "conflict",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "invalid",
        StatusCode::PAYLOAD_TOO_LARGE => "too-long",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        StatusCode::SERVICE_UNAVAILABLE => "transient",
        s if s.is_server_error() => "exception",
        _ => "not-supported",
    }
}

fn web_error(e: WebError) -> Fhir {
    match &e {
        WebError::Internal(cause) => tracing::error!(%cause, "fhir request failed"),
        WebError::Unavailable(cause) => {
            tracing::warn!(%cause, "fhir request refused: the database is unavailable")
        }
        _ => {}
    }
    let mut answer = refusal(&e);
    match e {
        WebError::BearerInvalid => {
            answer.3 = Some((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
        }
        WebError::Unavailable(_) => {
            answer.3 = Some((header::RETRY_AFTER, crate::error::UNAVAILABLE_RETRY_AFTER));
        }
        _ => {}
    }
    answer
}

fn fhir_error(e: FhirError) -> Fhir {
    match e {
        FhirError::NotFound => outcome(StatusCode::NOT_FOUND, "not-found", "no such resource"),
        FhirError::Invalid(issues) => Fhir(
            StatusCode::BAD_REQUEST,
            operation_outcome(&issues),
            None,
            None,
        ),
        FhirError::Refused(issues) => Fhir(
            StatusCode::UNPROCESSABLE_ENTITY,
            operation_outcome(&issues),
            None,
            None,
        ),
        FhirError::Forbidden(m) => outcome(StatusCode::FORBIDDEN, "forbidden", m),
        FhirError::Stopped(s) => refusal(&s),
        FhirError::Store(e) => web_error(e.into()),
    }
}

/// The staff member's municipality, once `action` (on a person or on the area) is allowed.
fn allowed(
    signed: Result<Signed, WebError>,
    action: Action,
) -> Result<(Signed, MunicipalityCode), Fhir> {
    let signed = signed.map_err(web_error)?;
    let home = signed.account.municipality.ok_or_else(|| {
        outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a service of municipal staff",
        )
    })?;
    let target = match action {
        Action::ReadPerson => Target::Person { home },
        _ => Target::Municipality(home),
    };
    signed.authorize(action, &target).map_err(web_error)?;
    Ok((signed, home))
}

/// The media types a FHIR JSON body may be sent as.
const FHIR_BODY_TYPES: &[&str] = &["application/fhir+json", "application/json"];

/// A posted FHIR body: the session's CSRF token in `X-CSRF-Token` (a cross-site form cannot send
/// it), a JSON media type (415 otherwise), then the JSON.
fn posted_json(
    signed: &Signed,
    headers: &axum::http::HeaderMap,
    body: &Bytes,
) -> Result<Value, Fhir> {
    signed.check_csrf_header(headers).map_err(web_error)?;
    if !crate::headers::content_type_is(headers, FHIR_BODY_TYPES) {
        return Err(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "send the resource as application/fhir+json",
        ));
    }
    json_body(body)
}

fn json_body(body: &Bytes) -> Result<Value, Fhir> {
    serde_json::from_slice(body).map_err(|e| {
        let (_, en) = crate::error::json_body_fault(&e);
        outcome(StatusCode::BAD_REQUEST, "structure", en)
    })
}

/// Entries of a searchset page when `_count` is not given, and the most a page holds.
const PAGE_DEFAULT: usize = 50;
const PAGE_MAX: usize = 500;

/// A search's paging (`_count`, `_offset`) and the other parameters it names.
struct Search {
    params: Vec<(String, String)>,
    count: usize,
    offset: usize,
}

impl Search {
    /// Splits the paging and format parameters from the others; refuses malformed paging.
    fn of(q: Vec<(String, String)>) -> Result<Self, Fhir> {
        let mut search = Search {
            params: Vec::new(),
            count: PAGE_DEFAULT,
            offset: 0,
        };
        for (k, v) in q {
            let number = |name: &str| {
                v.parse::<usize>().map_err(|_| {
                    outcome(
                        StatusCode::BAD_REQUEST,
                        "value",
                        format!("{name} must be a whole number"),
                    )
                })
            };
            match k.as_str() {
                "_count" => search.count = number("_count")?.min(PAGE_MAX),
                "_offset" => search.offset = number("_offset")?,
                // JSON is all this server speaks; `_format` asking otherwise is refused earlier.
                "_format" => {}
                _ => search.params.push((k, v)),
            }
        }
        Ok(search)
    }

    /// The searchset of `all` matches for the search at `path`: this page's entries, the total,
    /// and `self` and `next` links naming the parameters used (never a My Number).
    fn bundle(&self, state: &AppState, path: &str, all: Vec<Value>) -> Value {
        let total = all.len();
        let page: Vec<Value> = all.into_iter().skip(self.offset).take(self.count).collect();
        let mut bundle = searchset(&base(state), page);
        bundle["total"] = total.into();
        let link = |offset: usize| {
            let mut params: Vec<(&str, String)> = self
                .params
                .iter()
                .filter(|(k, v)| {
                    !(k == "identifier"
                        && v.split_once('|')
                            .is_some_and(|(s, _)| s == service::MY_NUMBER_SYSTEM))
                })
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            params.push(("_count", self.count.to_string()));
            params.push(("_offset", offset.to_string()));
            let query = serde_urlencoded::to_string(&params).unwrap_or_default();
            format!("{}/{path}?{query}", base(state))
        };
        let mut links = vec![json!({"relation": "self", "url": link(self.offset)})];
        if self.count > 0 && self.offset + self.count < total {
            links.push(json!({"relation": "next", "url": link(self.offset + self.count)}));
        }
        bundle["link"] = Value::Array(links);
        bundle
    }
}

/// A handler's answer: the resource, or the OperationOutcome of the refusal.
pub type Answer = Result<Fhir, Fhir>;

fn ok(v: Value) -> Answer {
    Ok(Fhir(StatusCode::OK, v, None, None))
}

impl From<FhirError> for Fhir {
    fn from(e: FhirError) -> Self {
        fhir_error(e)
    }
}

fn base(state: &AppState) -> String {
    format!(
        "{}/fhir",
        state
            .settings
            .issuer_settings()
            .base_url
            .trim_end_matches('/')
    )
}

pub async fn metadata(State(state): State<AppState>) -> Fhir {
    let interaction = |codes: &[&str]| codes.iter().map(|c| json!({"code": c})).collect::<Vec<_>>();
    Fhir(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-30",
            "kind": "instance",
            "software": {"name": "VRS", "version": env!("CARGO_PKG_VERSION")},
            "implementation": {"description": "VRS — Vaccination Record System", "url": base(&state)},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "extension": [{
                        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                        "extension": [{"url": "token", "valueUri": crate::oauth::token_url(&state)}]
                    }],
                    "service": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR"
                    }]}],
                    "description": "A machine client's bearer token (OAuth 2.0 client credentials with private_key_jwt; see /fhir/.well-known/smart-configuration, scopes system/Immunization.write, system/Immunization.read, system/Patient.read) or a staff session of the municipality (sign in at /login); every read and write is audited."
                },
                "resource": [
                    {"type": "Patient", "interaction": interaction(&["read", "search-type"]),
                     "searchParam": [{"name": "identifier", "type": "token"}, {"name": "name", "type": "string"},
                                     {"name": "birthdate", "type": "date"}]},
                    {"type": "Immunization", "interaction": interaction(&["read", "search-type", "create"]),
                     "searchParam": [{"name": "patient", "type": "reference"}, {"name": "date", "type": "date"},
                                     {"name": "vaccine-code", "type": "token"}]}
                ],
                "interaction": [{"code": "transaction"}]
            }]
        }),
        None,
        None,
    )
}

/// Any other path under `/fhir`: not offered, answered as FHIR.
pub async fn unsupported() -> Fhir {
    outcome(
        StatusCode::NOT_FOUND,
        "not-supported",
        "this server offers Patient and Immunization (see /fhir/metadata)",
    )
}

pub async fn read_patient(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    Path(id): Path<String>,
) -> Answer {
    let (signed, own) = allowed(signed, Action::ReadPerson)?;
    ok(service::read_patient(state.store.as_ref(), &actor(&signed), own, &id).await?)
}

/// `GET /fhir/Patient?…`: a search whose parameters are in the URL — so never by My Number,
/// which proxies and load balancers would log with it.
pub async fn search_patients(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    Query(q): Query<Vec<(String, String)>>,
) -> Answer {
    let (signed, own) = allowed(signed, Action::SearchPeople)?;
    let search = Search::of(q)?;
    let my_number = search
        .params
        .iter()
        .find(|(k, _)| k == "identifier")
        .and_then(|(_, i)| i.split_once('|'))
        .is_some_and(|(system, _)| system == service::MY_NUMBER_SYSTEM);
    if my_number {
        return Err(outcome(
            StatusCode::BAD_REQUEST,
            "not-supported",
            format!(
                "a My Number is never searched in a URL: POST /fhir/Patient/_search with \
                 identifier={}|… in an application/x-www-form-urlencoded body (and the session's \
                 X-CSRF-Token)",
                service::MY_NUMBER_SYSTEM
            ),
        ));
    }
    patients(&state, &signed, own, search).await
}

/// `POST /fhir/Patient/_search` (FHIR's search by POST): the parameters in a form body, so a My
/// Number searched for stays out of every URL. A session's POST carries its CSRF token.
pub async fn search_patients_posted(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Answer {
    let (signed, own) = allowed(signed, Action::SearchPeople)?;
    signed.check_csrf_header(&headers).map_err(web_error)?;
    if !crate::headers::content_type_is(&headers, &["application/x-www-form-urlencoded"]) {
        return Err(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "POST /fhir/Patient/_search takes an application/x-www-form-urlencoded body",
        ));
    }
    let q: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| {
        outcome(
            StatusCode::BAD_REQUEST,
            "structure",
            "the body is not a form (name=value pairs joined by &)",
        )
    })?;
    patients(&state, &signed, own, Search::of(q)?).await
}

async fn patients(
    state: &AppState,
    signed: &Signed,
    own: MunicipalityCode,
    search: Search,
) -> Answer {
    let q: HashMap<&str, &str> = search
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let lgwan = signed
        .authorize(Action::SearchPersonByMyNumber, &Target::Municipality(own))
        .is_ok();
    let query = service::patient_query(
        own,
        q.get("identifier").copied(),
        q.get("name").copied(),
        q.get("birthdate").copied(),
        lgwan,
    )?;
    let found =
        service::search_patients(state.store.as_ref(), &actor(signed), own, query.as_ref()).await?;
    ok(search.bundle(state, "Patient", found))
}

pub async fn read_immunization(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    Path(id): Path<String>,
) -> Answer {
    let (signed, own) = allowed(signed, Action::ReadPerson)?;
    ok(service::read_one_immunization(state.store.as_ref(), &actor(&signed), own, &id).await?)
}

pub async fn search_immunizations(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    Query(q): Query<Vec<(String, String)>>,
) -> Answer {
    let (signed, own) = allowed(signed, Action::ReadPerson)?;
    let search = Search::of(q)?;
    let mut patient = None;
    let mut filter = ImmunizationFilter::default();
    for (k, v) in search.params.iter().cloned() {
        match k.as_str() {
            "patient" => patient = Some(v),
            "date" => filter.date.push(v),
            "vaccine-code" => filter.vaccine_code = Some(v),
            other => {
                return Err(outcome(
                    StatusCode::BAD_REQUEST,
                    "not-supported",
                    format!("search parameter {other:?} is not supported"),
                ))
            }
        }
    }
    let patient = patient.ok_or_else(|| {
        outcome(
            StatusCode::BAD_REQUEST,
            "required",
            "search Immunization by patient=Patient/{id}",
        )
    })?;
    let found = service::search_immunizations(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &patient,
        &filter,
    )
    .await?;
    ok(search.bundle(&state, "Immunization", found))
}

pub async fn create_immunization(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Answer {
    let (signed, own) = allowed(signed, Action::ImportDoses)?;
    let value = posted_json(&signed, &headers, &body)?;
    let created = service::create_immunization(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &value,
        vrs_core::japan_today(),
    )
    .await?;
    // Absolute, from the public URL (RFC 9110 allows a relative one; FHIR clients expect this).
    let location = format!(
        "{}/Immunization/{}",
        base(&state),
        created["id"].as_str().unwrap_or_default()
    );
    Ok(Fhir(StatusCode::CREATED, created, Some(location), None))
}

pub async fn transaction(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Answer {
    let (signed, own) = allowed(signed, Action::ImportDoses)?;
    let value = posted_json(&signed, &headers, &body)?;
    ok(service::transaction(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &value,
        vrs_core::japan_today(),
    )
    .await?)
}
