//! Inquiry between municipalities for staff on an LG-WAN terminal: the single inquiry (page and
//! `POST /api/v1/inquiries`), registering the doses received, the bulk inquiry job and its results,
//! and the municipality's provision records (情報提供等の記録). The asking municipality is always the
//! session's; only the municipality named in the request is searched.

mod bulk;
mod provision_records;

pub use bulk::{
    __path_api_bulk, __path_api_bulk_results, api_bulk, api_bulk_results, bulk_download, bulk_page,
    bulk_register, bulk_upload,
};
pub use provision_records::{provisions, provisions_download};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::inquiry::{
    inquire, register_received, InquiryAnswer, InquiryError, InquiryRequest, RegisterInquiredError,
};
use vrs_domain::{MunicipalityCode, MyNumber, VaccineProduct};
use vrs_interop::Encoding;
use vrs_store::Areas;
use vrs_store::{ProvisionFilter, ProvisionSide};

use crate::error::WebError;
use crate::form::Refusal;
use crate::i18n::{said, Lang, Text};
use crate::inquiries_pages as view;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

/// The largest bulk inquiry file accepted (50,000 rows are about 1.2 MB).
pub const BULK_LIMIT: usize = 8 * 1024 * 1024;

/// The staff member's municipality, once sending an inquiry from it is allowed (LG-WAN staff only).
fn requester(signed: &Signed) -> Result<MunicipalityCode, WebError> {
    let own = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a page of municipal staff"))?;
    signed.authorize(
        Action::SendInquiry,
        &Target::Inquiry {
            requester: own,
            holder: own,
        },
    )?;
    Ok(own)
}

/// The request's fields, or the message naming the one that is wrong.
fn request_of(
    lang: Lang,
    my_number: &str,
    former: &str,
    consent: bool,
) -> Result<InquiryRequest, Refusal> {
    let ja = lang == Lang::Ja;
    let my_number = MyNumber::parse(my_number).map_err(|e| {
        let label = Text::MyNumber.pick(ja);
        Refusal::field("my_number", format!("{label}: {}", said(lang, &e)))
    })?;
    let former = vrs_domain::municipality::municipality_named(former).map_err(|e| {
        let label = Text::FormerMunicipality.pick(ja);
        Refusal::field(
            "former_municipality",
            format!("{label}: {}", said(lang, &e)),
        )
    })?;
    Ok(InquiryRequest {
        my_number,
        former,
        consent,
    })
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, WebError> {
    let own = requester(&signed)?;
    let recent = recent(&state, own).await?;
    Ok(Html(
        view::inquiry(&signed, None, None, None, &recent).into_string(),
    ))
}

async fn recent(
    state: &AppState,
    own: MunicipalityCode,
) -> Result<Vec<vrs_store::ProvisionRecord>, WebError> {
    let filter = ProvisionFilter {
        side: Some(ProvisionSide::Inquired),
        limit: 20,
        ..ProvisionFilter::default()
    };
    Ok(state.store.area(own).provision_records(&filter).await?)
}

#[derive(Deserialize)]
pub struct InquiryForm {
    csrf: String,
    #[serde(default)]
    my_number: String,
    #[serde(default)]
    former_municipality: String,
    #[serde(default)]
    consent: Option<String>,
}

pub async fn send(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<InquiryForm>,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    signed.check_csrf(&form.csrf)?;
    let refuse = |status: StatusCode, refusal: Refusal, recent| {
        let sent = view::SentInquiry {
            former_municipality: &form.former_municipality,
            consent: form.consent.is_some(),
        };
        let body = view::inquiry(&signed, None, Some(&sent), Some(&refusal), recent);
        (status, Html(body.into_string())).into_response()
    };
    let request = match request_of(
        signed.lang,
        &form.my_number,
        &form.former_municipality,
        form.consent.is_some(),
    ) {
        Ok(r) => r,
        Err(refusal) => {
            let recent = recent(&state, own).await?;
            return Ok(refuse(StatusCode::BAD_REQUEST, refusal, &recent));
        }
    };
    match inquire(state.store.as_ref(), &actor(&signed), own, &request).await {
        Ok(answer) => {
            let recent = recent(&state, own).await?;
            Ok(
                Html(view::inquiry(&signed, Some(&answer), None, None, &recent).into_string())
                    .into_response(),
            )
        }
        Err(InquiryError::Stopped(s)) => Err(WebError::Stopped(s)),
        Err(InquiryError::Store(e)) => Err(e.into()),
        Err(e) => {
            let recent = recent(&state, own).await?;
            let message = crate::i18n::said(signed.lang, &e).into_owned();
            Ok(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::form(message),
                &recent,
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// Registers the doses an inquiry received into the own person's record.
pub async fn register(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    signed.authorize(Action::AddDose, &Target::Person { home: own })?;
    signed.check_csrf(&form.csrf)?;
    let result = register_received(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &id,
        vrs_core::japan_today(),
    )
    .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/records/{}", r.atena)).into_response()),
        Err(RegisterInquiredError::NotFound) => Err(WebError::NotFound),
        Err(RegisterInquiredError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Refused(vrs_domain::Reason::of(&e))),
    }
}

// --- the JSON API ---

/// A single inquiry as an LG-WAN client sends it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryBody {
    /// The person's My Number (12 digits).
    #[schema(pattern = r"^[0-9]{12}$")]
    my_number: String,
    /// The code of the municipality the person moved from (6 digits): the only area searched.
    #[schema(pattern = r"^[0-9]{6}$")]
    former_municipality: String,
    /// Staff confirmed that the person consented. Not needed when both municipalities agreed to
    /// the no-consent inquiry terms.
    #[serde(default)]
    consent: bool,
}

fn answer_json(a: &InquiryAnswer) -> serde_json::Value {
    let doses: Vec<serde_json::Value> = a
        .doses
        .iter()
        .map(|d| {
            let product = VaccineProduct::by_code(&d.product_code);
            serde_json::json!({
                "dose_number": d.dose_number,
                "administered_on": d.administered_on,
                "product": d.product_code,
                "product_name": product.map(|p| p.name),
                "manufacturer": product.map(|p| p.manufacturer.name_en()),
                "lot_number": d.lot_number,
                "coupon_number": d.coupon.as_str(),
                "site_municipality_code": d.site_municipality.as_str(),
            })
        })
        .collect();
    serde_json::json!({
        "inquiry_id": a.inquiry_id,
        "former_municipality": a.former.as_str(),
        "consent_basis": a.consent.as_str(),
        "found": a.found,
        "own_atena_number": a.own_atena.as_ref().map(|x| x.as_str()),
        "doses": doses,
    })
}

fn bad_field(field: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "code": "invalid",
        "field": field,
        "message_ja": message,
        "message_en": message,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Asks the municipality a person moved from for the person's doses. LG-WAN staff sessions only.
/// "Nobody found" is the answer both when the person is not there and when the code is not the
/// right municipality; nothing tells the two apart.
#[utoipa::path(post, path = "/api/v1/inquiries",
    request_body = InquiryBody,
    params(("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "Answered: `found`, the doses (date, dose number, product, maker, lot, coupon, site municipality), the inquiry ID and the consent basis"),
        (status = 400, description = "The body is not the document's JSON"),
        (status = 403, description = "Not a municipal staff session on an LG-WAN terminal, or the CSRF token is wrong"),
        (status = 422, description = "A field fits the document but is refused (`invalid`, `field` names it: a check digit), the code is the asking municipality's own (`own_municipality`), the person's consent is required (`consent_required`): the two municipalities have not both agreed to the no-consent terms; or no resident of this municipality has the My Number (`not_own_resident`): an inquiry is made only about one's own resident, and nothing of the other area is read"),
        (status = 503, description = "The national operator has stopped inquiries (`function_stopped`)"),
    ))]
pub async fn api_inquire(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let own = requester(&signed)?;
    signed.check_csrf_header(&headers)?;
    let body: InquiryBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            let (ja, en) = crate::error::json_body_fault(&e);
            return Ok((
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({
                    "code": "invalid",
                    "field": "body",
                    "message_ja": ja,
                    "message_en": en,
                })),
            )
                .into_response());
        }
    };
    let request = match request_of(
        signed.lang,
        &body.my_number,
        &body.former_municipality,
        body.consent,
    ) {
        Ok(r) => r,
        Err(refusal) => return Ok(bad_field(refusal.field.unwrap_or("body"), &refusal.message)),
    };
    match inquire(state.store.as_ref(), &actor(&signed), own, &request).await {
        Ok(a) => Ok(Json(answer_json(&a)).into_response()),
        Err(InquiryError::Store(e)) => Err(e.into()),
        Err(e) => Ok(crate::api_errors::refusal(&e)),
    }
}

#[derive(Deserialize, Default)]
pub struct EncodingQuery {
    #[serde(default)]
    encoding: Option<String>,
}

fn encoding_of(q: &EncodingQuery) -> Result<Encoding, WebError> {
    q.encoding
        .as_deref()
        .unwrap_or("cp932")
        .parse::<Encoding>()
        .map_err(WebError::Invalid)
}

fn csv_download(name: &str, bytes: Vec<u8>, encoding: Encoding) -> Response {
    let charset = match encoding {
        Encoding::Utf8 => "utf-8",
        Encoding::Cp932 => "shift_jis",
    };
    (
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}
