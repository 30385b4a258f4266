//! The vaccination site's tablet: `POST /api/v1/doses` and the page that drives it. The tablet reads
//! the coupon's OCR line, confirms it with `GET /api/v1/coupons/{reference}`, and registers the dose
//! with an `Idempotency-Key`, so a retry after a lost answer never makes a second dose.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, PreEscaped};
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::coupon::CouponRef;
use vrs_core::doses::{
    parse_statement, register_at_site_with, DoseText, IdempotencyRequest, ReadWithSession,
    RegisterError,
};
use vrs_domain::{DoseNumber, Labelled, UserFacing, VaccineProduct};
use vrs_store::IDEMPOTENCY_KEY_MAX;

use crate::api_errors::api_error;
use crate::error::WebError;
use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::records;
use crate::session::{session_refused, SignIn, Signed};
use crate::AppState;

/// The header carrying the session's CSRF token on API writes made by the tablet page.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A dose registration as the tablet sends it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoseRequest {
    /// The coupon's 18-digit OCR line, or `CODE-COUPON`.
    #[schema(pattern = r"^([0-9]{18}|[0-9]{6}-[0-9]{10})$")]
    coupon: String,
    /// 1 to 10.
    #[schema(minimum = 1, maximum = 10)]
    #[serde(deserialize_with = "whole_number")]
    dose_number: u8,
    /// ISO date, `YYYYMMDD` or 和暦 (`令和3年6月1日`).
    #[schema(
        pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}|(明治|大正|昭和|平成|令和)([0-9]{1,2}|元)年[0-9]{1,2}月[0-9]{1,2}日)$"
    )]
    administered_on: String,
    /// A product code of the catalogue (`comirnaty`, `spikevax`, …).
    #[schema(pattern = r"^[a-z0-9_-]{1,40}$")]
    product: String,
    /// Letters, digits and `-`, at most 20.
    #[schema(pattern = r"^[A-Za-z0-9-]{1,20}$")]
    lot_number: String,
    /// 接種会場名, at most 30 characters.
    #[serde(default)]
    #[schema(max_length = 30)]
    venue: String,
    /// 接種医師名, at most 20 characters.
    #[serde(default)]
    #[schema(max_length = 20)]
    doctor: String,
}

/// The JSON body and the coupon it names, or the answer naming what is malformed (400) or refused
/// (422).
fn read_request<T: serde::de::DeserializeOwned>(
    body: &[u8],
    coupon: impl Fn(&T) -> &str,
) -> Result<(T, CouponRef), Box<Response>> {
    let request: T = serde_json::from_slice(body).map_err(|e| {
        let (ja, en) = crate::error::json_body_fault(&e);
        Box::new(bad_field("body", &ja, en))
    })?;
    let parsed = CouponRef::parse(coupon(&request)).map_err(|e| {
        let mut refused = bad_field(
            "coupon",
            "接種券番号の形式が正しくありません。",
            e.to_string(),
        );
        if fits_coupon_pattern(coupon(&request)) {
            *refused.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Box::new(refused)
    })?;
    Ok((request, parsed))
}

/// Whether a coupon reference has the document's shape (18 digits, or 6 digits, `-`, 10 digits):
/// one that has it but fails a check (a check digit) is 422, one that has not is 400.
pub(crate) fn fits_coupon_pattern(reference: &str) -> bool {
    let b = reference.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    (b.len() == 18 && digits(b))
        || (b.len() == 17 && b[6] == b'-' && digits(&b[..6]) && digits(&b[7..]))
}

/// A small whole number written as JSON allows it: `5`, or `5.0` (JSON Schema's integer).
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    use serde::de::Error;
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=255.0).contains(&n) {
        Ok(n as u8)
    } else {
        Err(D::Error::custom("expected a whole number from 0 to 255"))
    }
}

/// A refused field: 400 when the request is outside the API document (a body that is not the
/// document's JSON, a malformed header), 422 when it fits the document but the value is refused
/// (a check digit, a date that does not exist, a product not in the catalogue).
fn bad_field(field: &str, ja: &str, en: String) -> Response {
    let status = if matches!(field, "body" | "Idempotency-Key" | "dose_number" | "coupon") {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = serde_json::json!({
        "code": "invalid",
        "field": field,
        "message_ja": format!("{}: {ja}", vrs_core::doses::field_label_ja(field)),
        "message_en": format!("{field}: {en}"),
    });
    (status, Json(body)).into_response()
}

/// Registers a dose given at this tablet's site on a coupon of any municipality; it is recorded in
/// the coupon's (home) municipality's area. The answer names the dose and the home municipality,
/// never the person.
#[utoipa::path(post, path = "/api/v1/doses",
    request_body = DoseRequest,
    params(
        ("Idempotency-Key" = String, Header, pattern = r"^[!-~]{1,128}$", description = "A key unique to this registration (e.g. a UUID); a retry with the same key and body gets the first answer and makes no second dose"),
        ("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token (from the tablet page); not with a bearer token"),
    ),
    responses(
        (status = 201, description = "Recorded (`outcome: registered`); a replay gives the first answer again"),
        (status = 400, description = "The body is not the document's JSON, or the Idempotency-Key is malformed; `field` names it"),
        (status = 403, description = "Not a vaccination-site session, or the CSRF token is wrong"),
        (status = 404, description = "No usable coupon: no target of that municipality holds it, or its holder is reported deceased — the site is not told which (`unknown_coupon`)"),
        (status = 422, description = "A field fits the document but is refused (`invalid`, `field` names it: a check digit, a date that does not exist, a product not in the catalogue), the dose breaks data-quality rules (`quality`, each rule named in `rules`), or the key was used for another request (`idempotency_key_reused`)"),
        (status = 503, description = "The national operator has stopped registration from tablets (`function_stopped`, with the operator's reason)"),
    ))]
pub async fn register_dose(
    State(state): State<AppState>,
    sign_in: SignIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    // The coupon is taken from the body first so that a cookie's session and the coupon's holder
    // are read together; the checks still answer in the order below, the session's first, and
    // nothing of the holder is used before the request is authorised.
    let parsed = read_request::<DoseRequest>(&body, |r| &r.coupon);
    let read_with = parsed.as_ref().ok().map(|(_, coupon)| *coupon);
    let (signed, holder) = match (sign_in, read_with) {
        (SignIn::Bearer(signed), _) => (*signed, None),
        (SignIn::Cookie(cookie), Some(coupon)) => {
            let read = vrs_core::accounts::session_and_holder(
                state.store.as_ref(),
                &state.login_policy(),
                &cookie.token,
                coupon.municipality,
                &coupon.coupon,
            )
            .await
            .map_err(session_refused)?;
            (cookie.finish(read.signed), Some(read.holder))
        }
        (SignIn::Cookie(cookie), None) => (cookie.read(&state).await?, None),
    };
    let signed = signed.password_changed()?;
    signed.check_csrf_header(&headers)?;
    let site = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a vaccination site's tablet"))?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_MAX
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Ok(bad_field(
            "Idempotency-Key",
            "1〜128文字の英数字記号で指定してください。",
            format!("give 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"),
        ));
    }
    let (request, coupon) = match parsed {
        Ok(read) => read,
        Err(refused) => return Ok(*refused),
    };
    let dose_number = request.dose_number.to_string();
    let text = DoseText {
        dose_number: &dose_number,
        administered_on: &request.administered_on,
        product: &request.product,
        lot_number: &request.lot_number,
        site: "",
        venue: &request.venue,
        doctor: &request.doctor,
    };
    let input = match parse_statement(&text, site) {
        Ok(input) => input,
        Err(p) => {
            return Ok(bad_field(p.field, &p.reason.ja, p.reason.en));
        }
    };
    signed.authorize(
        Action::RegisterDose,
        &Target::Person {
            home: coupon.municipality,
        },
    )?;
    let actor = crate::records::actor(&signed);
    let idempotency = IdempotencyRequest {
        user_id: signed.account.user_id.clone(),
        key: key.to_owned(),
        request_hash: vrs_crypto::sha256(&body),
    };
    let today = vrs_core::japan_today();
    match register_at_site_with(
        state.store.as_ref(),
        &actor,
        coupon,
        &input,
        Some(&idempotency),
        today,
        signed
            .stopped
            .as_deref()
            .zip(holder)
            .map(|(stopped, holder)| ReadWithSession { stopped, holder }),
    )
    .await
    {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::OK);
            Ok((status, Json(answer)).into_response())
        }
        Err(RegisterError::KeyReused) => Ok(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "このIdempotency-Keyは別の登録に使われています。",
            "this Idempotency-Key was already used for a different request",
        )),
        Err(RegisterError::Stopped(s)) => Ok(crate::api_errors::refusal(&s)),
        Err(RegisterError::Store(e)) => Err(e.into()),
    }
}

/// A site's undo of a dose it registered, as the tablet sends it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoRequest {
    /// The coupon the dose was registered on (OCR line or `CODE-COUPON`).
    #[schema(pattern = r"^([0-9]{18}|[0-9]{6}-[0-9]{10})$")]
    coupon: String,
    #[schema(minimum = 1, maximum = 10)]
    #[serde(deserialize_with = "whole_number")]
    dose_number: u8,
    /// Why (e.g. 「別の方の接種券を読み取った」), at most 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
}

/// Undoes a dose this account registered from its tablet, within the deployment's undo window
/// (`undo_window_minutes`, 10 by default): the dose is deleted, the audit log keeps what it stated
/// and why, and certificates stating it are revoked. After the window only municipal staff correct
/// it.
#[utoipa::path(post, path = "/api/v1/doses/undo",
    request_body = UndoRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token; not with a bearer token")),
    responses(
        (status = 200, description = "Undone (`outcome: undone`)"),
        (status = 400, description = "The body is not the document's JSON; `field` names it"),
        (status = 422, description = "A field fits the document but is refused, or the reason is blank; `field` names it"),
        (status = 403, description = "Not a vaccination-site session, or the CSRF token is wrong"),
        (status = 404, description = "No such dose on this coupon (`not_found`)"),
        (status = 409, description = "Not this site's tablet registration (`not_undoable`), or the window has closed (`window_closed`)"),
        (status = 503, description = "The national operator has stopped registration from tablets (`function_stopped`, with the operator's reason): an undo is a registration change"),
    ))]
pub async fn undo_dose(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    use vrs_core::lifecycle::{undo_at_site, UndoError};
    signed.check_csrf_header(&headers)?;
    let (request, coupon) = match read_request::<UndoRequest>(&body, |r| &r.coupon) {
        Ok(read) => read,
        Err(refused) => return Ok(*refused),
    };
    let dose_number = match DoseNumber::new(request.dose_number) {
        Ok(n) => n,
        Err(e) => return Ok(bad_field("dose_number", &e.message_ja(), e.to_string())),
    };
    // Only a dose this account registered may be taken back: the access rule is asked for that
    // dose, and the store holds the claim, refusing in the undo's own transaction a dose another
    // account registered (`not_undoable`).
    signed.authorize(
        Action::UndoOwnDose,
        &Target::Dose {
            home: coupon.municipality,
            registered_by: signed.account.user_id.to_string(),
        },
    )?;
    let window = chrono::Duration::minutes(state.settings.undo_window_minutes);
    let result = undo_at_site(
        state.store.as_ref(),
        &crate::records::actor(&signed),
        coupon,
        dose_number,
        &request.reason,
        window,
        chrono::Utc::now(),
    )
    .await;
    Ok(match result {
        Ok(()) => Json(serde_json::json!({ "outcome": "undone" })).into_response(),
        Err(UndoError::Store(e)) => return Err(e.into()),
        Err(e @ (UndoError::NoReason | UndoError::Invalid(_))) => {
            bad_field("reason", &e.message_ja(), e.message_en().into_owned())
        }
        Err(e) => crate::api_errors::refusal(&e),
    })
}

/// The tablet page.
pub async fn tablet_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    let site = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a vaccination site's tablet"))?;
    signed.authorize(Action::ReadCoupon, &Target::Coupon { municipality: site })?;
    let lang = signed.lang;
    let ja = lang == Lang::Ja;
    let today = vrs_core::japan_today().to_string();
    // A stop is said before anything is typed: the reason, since when, and that nothing can be
    // registered until the operator resumes.
    let stopped = match vrs_core::governance::ensure_running(
        state.store.as_ref(),
        vrs_domain::Function::TabletRegistration,
    )
    .await
    {
        Ok(()) => None,
        Err(vrs_core::governance::GovernanceError::Stopped(s)) => Some(s),
        Err(vrs_core::governance::GovernanceError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(WebError::Internal(other.to_string())),
    };
    let body = html! {
        @if let Some(stop) = &stopped {
            p.error #stopped role="alert" data-stopped="true" { (crate::i18n::said(lang, stop)) }
        }
        div #tablet data-csrf=(signed.session.csrf_token) data-lang=(lang.code())
            data-words=(tablet_words(lang)) {
            section.card #step-coupon {
                label for="ocr" { (Text::CouponOcrLine18Digits.pick(ja)) }
                input #ocr name="ocr" inputmode="numeric" autocomplete="off" autofocus
                    placeholder="133820600000000123" maxlength="24";
                p #ocr-feedback aria-live="polite" {}
                button.primary #check type="button" disabled { (Text::CheckTheCoupon.pick(ja)) }
                div.camera {
                    button.secondary #camera type="button" hidden { (Text::ReadWithTheCamera.pick(ja)) }
                    video #camera-view hidden playsinline muted aria-label=(Text::CameraView.pick(ja)) {}
                    button.secondary #camera-stop type="button" hidden { (Text::StopTheCamera.pick(ja)) }
                }
            }
            section.card #step-dose hidden {
                p #coupon-info.notice {}
                label for="dose_number" { (Text::DoseNumber.pick(ja)) }
                input #dose_number type="number" min="1" max="10";
                label for="administered_on" { (Text::DateGiven.pick(ja)) }
                input #administered_on type="date" value=(today);
                label for="product" { (Text::Vaccine.pick(ja)) }
                select #product {
                    @for p in VaccineProduct::catalogue() {
                        option value=(p.code) { (p.label(ja)) }
                    }
                }
                label for="lot_number" { (Text::LotNumber.pick(ja)) }
                input #lot_number autocomplete="off";
                label for="venue" { (Text::VenueOptional.pick(ja)) }
                input #venue maxlength="30";
                label for="doctor" { (Text::DoctorOptional.pick(ja)) }
                input #doctor maxlength="20";
                div.actions {
                    button.primary #register type="button" { (Text::RegisterThisDose.pick(ja)) }
                    button.secondary #cancel type="button" { (Text::StartOver.pick(ja)) }
                }
                p.hint { (Text::TabletKeys.pick(ja)) }
            }
            section.card #result hidden role="status" {}
        }
        script src=(crate::pages::Asset::QrDecoder.path()) {}
        script { (PreEscaped(TABLET_JS)) }
    };
    Ok(Html(
        layout(
            lang,
            Text::RegisterADoseTablet.pick(ja),
            Some(&signed),
            body,
        )
        .into_string(),
    ))
}

/// The words the page's script says, in the page's language only, as a JSON object under the
/// names the script looks them up by (`words.onlyDigits`). A text built from values is a template
/// naming each value (`{code}`), which the script fills in. The page carries it in an attribute,
/// escaped as any attribute is, so no text in it can end an element or run as script.
fn tablet_words(lang: Lang) -> String {
    use crate::i18n::{t, Phrase};
    serde_json::json!({
        "onlyDigits": t(lang, Text::OcrOnlyDigits),
        "checkDigitMismatch": Phrase::CheckDigitMismatch(&"{code}").text(lang),
        "overEighteenDigits": t(lang, Text::OcrOverEighteenDigits),
        "readyToCheck": t(lang, Text::OcrReadyToCheck),
        "cameraPoint": t(lang, Text::CameraPointAtQr),
        "cameraUnavailable": t(lang, Text::CameraUnavailable),
        "cameraNotCoupon": t(lang, Text::CameraNotACoupon),
        "cannotRegister": t(lang, Text::CouponCannotRegister),
        "doseOnCoupon": Phrase::DoseOnCoupon(&"{n}", &"{date}", &"{product}").text(lang),
        "noDoseYet": t(lang, Text::NoDoseYet),
        "retrying": t(lang, Text::RegistrationRetrying),
        "notThrough": t(lang, Text::RegistrationNotThrough),
        "registered": t(lang, Text::DoseRegisteredMark),
        "registeredOnCoupon": Phrase::RegisteredOnCoupon(
            &"{coupon}",
            &"{municipality}",
            &"{n}",
            &"{date}",
            &"{product}",
            &"{lot}",
        )
        .text(lang),
        "notRegistered": t(lang, Text::DoseNotRegisteredMark),
        "undoThis": t(lang, Text::UndoThisRegistration),
        "whyUndone": t(lang, Text::WhyIsItUndone),
        "undone": t(lang, Text::RegistrationUndone),
        "notUndone": t(lang, Text::RegistrationNotUndone),
    })
    .to_string()
}

/// The page's script: digit-by-digit feedback on the OCR line (length, the municipality code's
/// check digit), the coupon check, and the registration with one Idempotency-Key per attempt
/// (kept when the same registration is retried, by hand or by the page itself while the server or
/// its database is unavailable).
pub(crate) const TABLET_JS: &str = include_str!("tablet.js");

/// Reads a coupon for a vaccination site: the home municipality, the doses already recorded and the
/// next dose number — never a My Number, a name or a birth date.
#[utoipa::path(get, path = "/api/v1/coupons/{reference}",
    params(("reference" = String, Path, pattern = r"^([0-9]{18}|[0-9]{6}-[0-9]{10})$", description = "The coupon's 18-digit OCR line, or the municipality code and coupon number (`382060-0000000123`)")),
    responses(
        (status = 200, description = "The coupon is valid: home municipality, recorded doses, next dose number"),
        (status = 400, description = "The reference does not fit the pattern"),
        (status = 422, description = "The reference fits the pattern but is refused (e.g. the municipality code's check digit): `bad_reference`"),
        (status = 403, description = "Not a vaccination-site session"),
        (status = 404, description = "No usable coupon: no target of that municipality holds it, or its holder is reported deceased — the site is not told which (`unknown_coupon`)"),
        (status = 429, description = "This site account has read too many coupons in the last minute (`Retry-After`)"),
    ))]
pub(crate) async fn read_coupon(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
) -> Result<Response, WebError> {
    let coupon = match vrs_core::coupon::CouponRef::parse(&reference) {
        Ok(c) => c,
        Err(e) => {
            let status = if fits_coupon_pattern(&reference) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            return Ok(api_error(
                status,
                "bad_reference",
                "接種券番号の形式が正しくありません。",
                &e.to_string(),
            ));
        }
    };
    signed.authorize(
        Action::ReadCoupon,
        &Target::Coupon {
            municipality: coupon.municipality,
        },
    )?;
    let now = std::time::Instant::now();
    let account = signed.account.user_id.as_str();
    if let Err(wait) = state.coupon_watch.admit(account, now) {
        state.metrics.coupon_read("limited");
        tracing::warn!(user = %account, "coupon reads over the per-account limit");
        let mut response = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_reads",
            "接種券の読み取りが多すぎます。しばらくしてからもう一度お試しください。",
            "Too many coupon reads from this site: try again in a moment.",
        );
        if let Ok(value) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let actor = records::actor(&signed);
    match vrs_core::coupon::read_coupon(state.store.as_ref(), &actor, coupon).await {
        Ok(answer) => {
            state.metrics.coupon_read("ok");
            Ok(Json(answer).into_response())
        }
        Err(vrs_core::coupon::CouponError::Store(e)) => Err(e.into()),
        Err(e) => {
            state.metrics.coupon_read("unknown");
            state.coupon_watch.unknown(account, now);
            Ok(crate::api_errors::refusal(&e))
        }
    }
}
