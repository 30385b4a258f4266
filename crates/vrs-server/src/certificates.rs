//! Certificates over HTTP: the issuers' published keys (SMART Health Card JWKS with CORS, the
//! EU DCC / VDS-NC trust list), issuance at the counter (PDF or `.smart-health-card` file) and its
//! history page, and the certificate app's and kiosks' applications.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use maud::html;
use serde::Deserialize;
use serde_json::json;
use vrs_core::access::{Action, Target};
use vrs_core::certificates::app::{apply, Application, ApplicationError, CardData};
use vrs_core::certificates::signing;
use vrs_core::certificates::{issue, CertificateError, CertificateRequest, IssuedCertificate};
use vrs_crypto::x509::SignatureAlgorithm;
use vrs_domain::mrz::{Mrz, MrzError};
use vrs_domain::{
    AuditAction, CertificateId, CertificateKind, IssueChannel, Labelled, MunicipalityCode, MyNumber,
};
use vrs_store::Areas;

use crate::api_errors::Fault;
use crate::error::WebError;
use crate::form::Refusal;
use crate::i18n::{field_refused, said, t, Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::records_pages::{Said, Sent};
use crate::session::Signed;
use crate::AppState;

pub(crate) fn cors_json(value: serde_json::Value) -> Response {
    (
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        Json(value),
    )
        .into_response()
}

/// Every issuer's SMART Health Card keys (`/.well-known/jwks.json`).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "verifiers",
    responses((status = 200, description = "The JWK Set of every SMART Health Card issuer of this deployment (ES256 public keys, `kid` their RFC 7638 thumbprints)")))]
pub async fn jwks_all(State(state): State<AppState>) -> Result<Response, WebError> {
    let keys = signing::jwks(state.store.as_ref(), None)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(cors_json(keys))
}

/// The national issuer's keys (`/issuer/.well-known/jwks.json`).
#[utoipa::path(get, path = "/issuer/.well-known/jwks.json", tag = "verifiers",
    responses((status = 200, description = "The national issuer's JWK Set (SMART Health Cards)")))]
pub async fn jwks_national(State(state): State<AppState>) -> Result<Response, WebError> {
    let keys = signing::jwks(state.store.as_ref(), Some(signing::NATIONAL))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(cors_json(keys))
}

/// A municipality issuer's keys (`/issuer/{code}/.well-known/jwks.json`).
#[utoipa::path(get, path = "/issuer/{code}/.well-known/jwks.json", tag = "verifiers",
    params(("code" = String, Path, description = "The municipality code (6 digits)")),
    responses(
        (status = 200, description = "The municipality issuer's JWK Set (empty when it has issued nothing)"),
        (status = 404, description = "Not a municipality code"),
    ))]
pub async fn jwks_of(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let code = MunicipalityCode::parse(&code).map_err(|_| WebError::NotFound)?;
    let keys = signing::jwks(state.store.as_ref(), Some(code.as_str()))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(cors_json(keys))
}

/// The deployment's CSCA and document signer certificates (`/.well-known/vrs-trust-list.json`),
/// for EU DCC and ICAO VDS-NC verifiers.
#[utoipa::path(get, path = "/.well-known/vrs-trust-list.json", tag = "verifiers",
    responses((status = 200, description = "The CSCA certificates and document signers (`kid` in base64, certificate DER in base64) of EU DCC and VDS-NC")))]
pub async fn trust_list(State(state): State<AppState>) -> Result<Response, WebError> {
    let (cscas, signers) = signing::trust_list(state.store.as_ref())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let signers: Vec<_> = signers
        .iter()
        .map(|s| {
            json!({
                "issuer": s.issuer,
                "kid": B64.encode(hex::decode(&s.kid).unwrap_or_default()),
                "certificate": B64.encode(&s.public_part),
                "retired": s.retired_at.is_some(),
            })
        })
        .collect();
    let cscas: Vec<_> = cscas.iter().map(|c| B64.encode(c)).collect();
    Ok(cors_json(
        json!({ "csca": cscas, "document_signers": signers }),
    ))
}

#[derive(Deserialize)]
pub struct CounterForm {
    pub csrf: String,
    /// `domestic` or `overseas`.
    pub kind: String,
    /// `pdf` or `shc` (the `.smart-health-card` file).
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub mrz1: String,
    #[serde(default)]
    pub mrz2: String,
}

pub(crate) fn refusal(e: CertificateError) -> WebError {
    match e {
        CertificateError::Store(e) => e.into(),
        CertificateError::Signing(e) => WebError::Internal(e.to_string()),
        CertificateError::Code(m) => WebError::Internal(m),
        CertificateError::Pdf(e) => WebError::Internal(e.to_string()),
        other => WebError::Refused(vrs_domain::Reason::of(&other)),
    }
}

pub(crate) fn pdf_response(cert: &IssuedCertificate) -> Result<Response, WebError> {
    let pdf = cert.pdf().map_err(refusal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"certificate-{}.pdf\"", cert.id),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        pdf,
    )
        .into_response())
}

/// Issues a certificate for a person at the counter: the PDF (default) or the SHC file.
pub async fn issue_counter(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
    Form(form): Form<CounterForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let own = own(&signed, Action::SearchPeople)?;
    signed.authorize(
        Action::IssueCertificateCounter,
        &Target::Person { home: own },
    )?;
    let atena = vrs_domain::AtenaNumber::parse(&atena).map_err(|_| WebError::NotFound)?;
    let cert = match counter_certificate(&state, &signed, own, &atena, &form).await? {
        Ok(cert) => cert,
        Err(refusal) => {
            let said = Said::Refused(Sent::Certificate(&form), refusal);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return crate::records::person_page(&state, &signed, &atena, status, said).await;
        }
    };
    if form.format == "shc" {
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/smart-health-card".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.smart-health-card\"", cert.id),
                ),
            ],
            cert.smart_health_card_file(),
        )
            .into_response());
    }
    pdf_response(&cert)
}

/// Issues the certificate the counter's form asks for, or says which field is wrong and why.
async fn counter_certificate(
    state: &AppState,
    signed: &Signed,
    own: MunicipalityCode,
    atena: &vrs_domain::AtenaNumber,
    form: &CounterForm,
) -> Result<Result<IssuedCertificate, Refusal>, WebError> {
    let lang = signed.lang;
    let Some(kind) = CertificateKind::parse(form.kind.trim()) else {
        return Ok(Err(Refusal::field("kind", t(lang, Text::ChooseTheKind))));
    };
    let passport = match kind {
        CertificateKind::Overseas => match Mrz::parse(
            &form.mrz1.trim().to_ascii_uppercase(),
            &form.mrz2.trim().to_ascii_uppercase(),
        ) {
            Ok(mrz) => Some(mrz),
            Err(e) => {
                let line = match &e {
                    MrzError::LineLength { line, .. } | MrzError::Character { line, .. } => *line,
                    MrzError::Field { field, .. } => field.span().0,
                    MrzError::CheckDigit { .. } => 2,
                };
                let (field, label) = match line {
                    1 => ("mrz1", Text::PassportMrzLine1Overseas),
                    _ => ("mrz2", Text::PassportMrzLine2Overseas),
                };
                return Ok(Err(Refusal::field(field, field_refused(lang, label, &e))));
            }
        },
        CertificateKind::Domestic => None,
    };
    let person = state.store.area(own).resident(atena).await?;
    let doses = state.store.area(own).doses_of(atena).await?;
    let request = CertificateRequest {
        kind,
        passport,
        channel: IssueChannel::Counter,
        replaces: None,
    };
    let issued = issue(
        state.store.as_ref(),
        &state.settings.issuer_settings(),
        &actor(signed),
        &person,
        doses,
        &request,
        chrono::Utc::now(),
    )
    .await;
    Ok(match issued {
        Ok(cert) => Ok(cert),
        Err(
            e @ (CertificateError::PassportMissing
            | CertificateError::PassportBirthDate { .. }
            | CertificateError::PassportExpired(_)),
        ) => Err(Refusal::field("mrz1", said(lang, &e))),
        Err(e @ (CertificateError::NoDoses | CertificateError::Romaji(_))) => {
            Err(Refusal::form(said(lang, &e)))
        }
        Err(e) => return Err(refusal(e)),
    })
}

/// The municipality's issuance history.
pub async fn history(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    let own = own(&signed, Action::SearchPeople)?;
    signed.authorize(
        Action::IssueCertificateCounter,
        &Target::Person { home: own },
    )?;
    let issues = state.store.area(own).certificate_issues(200).await?;
    state
        .store
        .append_audit(
            own.into(),
            &actor(&signed).audit(
                AuditAction::CertificateHistory,
                &format!("rows={}", issues.len()),
            ),
        )
        .await?;
    let ja = signed.lang == Lang::Ja;
    let jst = chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!());
    let body = html! {
        p { (Text::CertificatesIssuedOnlyTheName.pick(ja)) }
        table.certificates {
            tr {
                th { (Text::CertificateId.pick(ja)) } th { (Text::Issued.pick(ja)) }
                th { (Text::Channel.pick(ja)) } th { (Text::Kind.pick(ja)) } th { (Text::Name.pick(ja)) }
                th { (Text::BirthDate.pick(ja)) } th { (Text::Nationality.pick(ja)) } th { (Text::Passport.pick(ja)) }
            }
            @for i in &issues {
                tr {
                    td.id { (i.certificate_id) }
                    td { (i.issued_at.with_timezone(&jst).format("%Y-%m-%d %H:%M")) }
                    td { (i.channel.label(ja)) }
                    td { (i.kind.label(ja)) }
                    td { (i.name) }
                    td { (i.birth_date) }
                    td { (i.nationality.as_deref().unwrap_or("")) }
                    td { (i.passport_number.as_deref().unwrap_or("")) }
                }
            }
        }
    };
    Ok(Html(
        layout(
            signed.lang,
            Text::CertificatesIssued.pick(ja),
            Some(&signed),
            body,
        )
        .into_string(),
    ))
}

/// An application as the app or kiosk sends it (JSON).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApplicationBody {
    /// The municipality asked to issue (自治体コード).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub municipality: String,
    pub card: CardBody,
    /// `ES256` or `RS256`.
    #[schema(pattern = r"^(ES256|RS256)$")]
    pub signature_algorithm: String,
    /// Base64 of the card data signature.
    #[schema(pattern = r"^[A-Za-z0-9+/]+={0,2}$")]
    pub signature: String,
    /// Base64 of the card signer's certificate (DER).
    #[schema(pattern = r"^[A-Za-z0-9+/]+={0,2}$")]
    pub card_certificate: String,
    /// `domestic` or `overseas`.
    #[schema(pattern = r"^(domestic|overseas)$")]
    pub kind: String,
    /// The passport's two MRZ lines (overseas), 44 characters each.
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub mrz: Option<[String; 2]>,
    /// A re-issue: the ID of the applicant's certificate this one replaces.
    #[serde(default)]
    pub replaces: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CardBody {
    #[schema(pattern = r"^[0-9]{12}$")]
    pub my_number: String,
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub address: String,
    /// YYYY-MM-DD
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub birth_date: String,
    /// 1 male, 2 female.
    #[schema(minimum = 1, maximum = 2)]
    #[serde(deserialize_with = "crate::tablet::whole_number")]
    pub sex: u8,
}

fn api_error(status: StatusCode, fault: Fault) -> Response {
    crate::api_errors::json(status, fault)
}

/// A field of the body that is wrong: its name and the reason.
struct FieldError(Fault);

fn field_error(field: &str, reason: &str) -> FieldError {
    FieldError(
        Fault::new(
            "invalid_field",
            format!("{field} の値が正しくありません: {reason}"),
            format!("{field}: {reason}"),
        )
        .with_field(field),
    )
}

/// Reads the body into an application, or the response naming the field that is wrong.
fn read_application(body: ApplicationBody) -> Result<Application, FieldError> {
    let municipality = MunicipalityCode::parse(body.municipality.trim())
        .map_err(|e| field_error("municipality", &e.to_string()))?;
    let my_number = MyNumber::parse(body.card.my_number.trim())
        .map_err(|e| field_error("card.my_number", &e.to_string()))?;
    let birth_date = chrono::NaiveDate::parse_from_str(body.card.birth_date.trim(), "%Y-%m-%d")
        .map_err(|_| field_error("card.birth_date", "not a date YYYY-MM-DD"))?;
    let signature_algorithm = match body.signature_algorithm.as_str() {
        "ES256" => SignatureAlgorithm::Es256,
        "RS256" => SignatureAlgorithm::Rs256,
        other => {
            return Err(field_error(
                "signature_algorithm",
                &format!("{other:?} is not ES256 or RS256"),
            ))
        }
    };
    let signature = B64
        .decode(body.signature.trim())
        .map_err(|_| field_error("signature", "not base64"))?;
    let card_certificate = B64
        .decode(body.card_certificate.trim())
        .map_err(|_| field_error("card_certificate", "not base64"))?;
    let kind = CertificateKind::parse(body.kind.trim())
        .ok_or_else(|| field_error("kind", "not domestic or overseas"))?;
    let replaces = body
        .replaces
        .as_deref()
        .map(|r| CertificateId::parse(r.trim()))
        .transpose()
        .map_err(|e| field_error("replaces", &e.to_string()))?;
    Ok(Application {
        municipality,
        card: CardData {
            my_number,
            name: body.card.name,
            address: body.card.address,
            birth_date,
            sex: body.card.sex,
        },
        signature_algorithm,
        signature,
        card_certificate,
        kind,
        mrz: body.mrz.map(|[a, b]| (a, b)),
        replaces,
    })
}

fn application_refusal(e: ApplicationError) -> Response {
    use ApplicationError as E;
    let (status, code) = match &e {
        E::CardSignature
        | E::CardUntrusted
        | E::CardExpired
        | E::CardCertificate(_)
        | E::CardSignerUsage(_)
        | E::CardRevoked
        | E::CardRevocationStale => (StatusCode::FORBIDDEN, "card_not_accepted"),
        E::Mrz(_) | E::MrzMissing => (StatusCode::UNPROCESSABLE_ENTITY, "passport"),
        E::NotStarted(_) => (StatusCode::FORBIDDEN, "not_started"),
        E::KioskNotOffered => (StatusCode::FORBIDDEN, "kiosk_not_offered"),
        E::Stopped(_) => (StatusCode::SERVICE_UNAVAILABLE, "stopped"),
        E::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        E::BirthDate => (StatusCode::UNPROCESSABLE_ENTITY, "birth_date"),
        E::NotReplaceable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "replaces"),
        E::Certificate(CertificateError::NoDoses) => (StatusCode::NOT_FOUND, "no_doses"),
        E::Certificate(
            CertificateError::PassportBirthDate { .. } | CertificateError::PassportExpired(_),
        ) => (StatusCode::UNPROCESSABLE_ENTITY, "passport"),
        E::Certificate(_) | E::Store(_) => {
            tracing::error!(error = %e, "certificate application failed");
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Fault::new("internal", "内部エラーが発生しました。", "internal error"),
            );
        }
    };
    let fault = match &e {
        E::NotStarted(vrs_core::governance::AppIssuanceRefusal::NotStarted) => Fault::new(
            code,
            e.to_string(),
            "this municipality has not started issuing certificates in the app",
        ),
        E::NotStarted(vrs_core::governance::AppIssuanceRefusal::Stopped(s)) => {
            Fault::new(code, s.message_ja(), s.to_string())
        }
        // The refusals are written "日本語 (English)".
        _ => Fault::new(code, e.to_string(), e.to_string()),
    };
    api_error(status, fault)
}

async fn run_application(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    channel: IssueChannel,
    body: axum::body::Bytes,
) -> Result<Result<IssuedCertificate, Response>, WebError> {
    signed.check_csrf_header(headers)?;
    let body: ApplicationBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            let (ja, en) = crate::error::json_body_fault(&e);
            return Ok(Err(api_error(
                StatusCode::BAD_REQUEST,
                Fault::new("invalid_body", ja, en),
            )));
        }
    };
    let application = match read_application(body) {
        Ok(a) => a,
        Err(FieldError(fault)) => {
            return Ok(Err(api_error(StatusCode::UNPROCESSABLE_ENTITY, fault)))
        }
    };
    let action = match channel {
        IssueChannel::App => Action::IssueCertificateApp,
        _ => Action::IssueCertificateKiosk,
    };
    signed.authorize(
        action,
        &Target::Person {
            home: application.municipality,
        },
    )?;
    let issued = apply(
        state.store.as_ref(),
        &state.settings.issuer_settings(),
        &state.card_trust,
        &actor(signed),
        channel,
        &application,
        chrono::Utc::now(),
    )
    .await;
    Ok(issued.map_err(application_refusal))
}

/// The certificate app's application: the certificate's codes as JSON.
#[utoipa::path(post, path = "/api/v1/app/certificates", request_body = ApplicationBody, responses(
    (status = 400, description = "The body is not JSON of the application's shape (`invalid_body`, saying where, never quoting a value)"),
    (status = 200, description = "The certificate: ID, SMART Health Card (JWS and shc:/ text), EU DCC, VDS-NC (overseas)"),
    (status = 403, description = "The card data was not accepted, or the municipality has not started app issuance (the fixed message of docs/certificates.md)"),
    (status = 404, description = "No record, or no doses, in the municipality asked"),
    (status = 422, description = "A field is wrong (named), or the passport MRZ does not check"),
    (status = 503, description = "App issuance is stopped by the national operator"),
))]
pub async fn api_app(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let cert = match run_application(&state, &signed, &headers, IssueChannel::App, body).await? {
        Ok(c) => c,
        Err(response) => return Ok(response),
    };
    Ok(Json(json!({
        "certificate_id": cert.id.as_str(),
        "issued_at": cert.issued_at.to_rfc3339(),
        "kind": cert.kind.as_str(),
        "smart_health_card": { "jws": cert.shc_jws, "qr": cert.shc_text },
        "eu_dcc": cert.dcc,
        "vds_nc": cert.vds_nc.as_ref().map(|v| v.to_json()),
    }))
    .into_response())
}

/// A kiosk's or certificate centre's application: the printable PDF.
#[utoipa::path(post, path = "/api/v1/kiosk/certificates", request_body = ApplicationBody, responses(
    (status = 400, description = "The body is not JSON of the application's shape (`invalid_body`, saying where, never quoting a value)"),
    (status = 200, description = "The certificate PDF"),
    (status = 403, description = "The card data was not accepted"),
    (status = 404, description = "No record, or no doses, in the municipality asked"),
    (status = 422, description = "A field is wrong (named), or the passport MRZ does not check"),
    (status = 503, description = "Kiosk issuance is stopped by the national operator"),
))]
pub async fn api_kiosk(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    match run_application(&state, &signed, &headers, IssueChannel::Kiosk, body).await? {
        Ok(cert) => pdf_response(&cert),
        Err(response) => Ok(response),
    }
}
