//! The verifier page (`/verify`): anyone pastes a certificate's code (`shc:/…`, `HC1:…`, a VDS-NC
//! seal) or uploads a photo of its QR code, and sees whether it is valid — signature, trusted key,
//! structure and dates — with the holder and doses. It checks against the keys this deployment
//! publishes, and stores nothing: no audit entry, no log of what was checked.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use futures_util::StreamExt;
use maud::{html, Markup};
use vrs_core::certificates::signing;

use crate::error::WebError;
use crate::i18n::{Lang, Phrase, Text};
use crate::limits::PoolRefusal;
use crate::pages::layout;
use crate::AppState;

/// The largest upload accepted (a photo of a QR code).
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;
/// Codes checked at once, each on its own thread: a picture's QR search is CPU work that must
/// never run on the async workers that answer everyone else.
pub const DECODERS: usize = 2;
/// How long a check may take before the visitor is told to try a clearer picture; the check is
/// then abandoned (it keeps its slot until it ends).
pub const DECODE_DEADLINE: Duration = Duration::from_secs(5);
/// Checks per minute from one address.
pub const PER_MINUTE: u32 = 20;
/// How much of an upload announced as too large is read (and thrown away) before the refusal, and
/// for how long: a browser still sending its picture when the server answers and closes sees a
/// reset connection instead of the page that says why.
const READ_OUT_LIMIT: usize = 4 * UPLOAD_LIMIT;
const READ_OUT_TIME: Duration = Duration::from_secs(10);

/// Reads the rest of a refused body, within [`READ_OUT_LIMIT`] and [`READ_OUT_TIME`].
async fn read_out(request: Request) {
    let mut stream = request.into_body().into_data_stream();
    let mut read = 0usize;
    let reading = async {
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > READ_OUT_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(READ_OUT_TIME, reading).await;
}

fn form(ja: bool) -> Markup {
    html! {
        section.card {
            p { (Text::PasteACertificateSCode.pick(ja)) }
            form method="post" action="/verify" enctype="multipart/form-data" {
                label { (Text::TheCode.pick(ja))
                    textarea name="code" rows="5" cols="70" {} }
                label { (Text::OrAPicture.pick(ja))
                    input type="file" name="image" accept="image/png,image/jpeg"; }
                button.primary type="submit" #verify { (Text::Verify.pick(ja)) }
            }
        }
    }
}

fn page_title(ja: bool) -> &'static str {
    Text::VerifyACertificate.pick(ja)
}

pub async fn page(jar: CookieJar) -> Html<String> {
    let lang = Lang::from_cookies(&jar);
    let ja = lang == Lang::Ja;
    let title = page_title(ja);
    Html(layout(lang, title, None, form(ja)).into_string())
}

/// A refusal before any check: the page with the reason, the status, and how long to wait.
fn refused(lang: Lang, status: StatusCode, reason: &str, retry_after: Option<u64>) -> Response {
    let ja = lang == Lang::Ja;
    let body = html! {
        section.card.invalid #result {
            h3 { "✘ " (Text::NotChecked.pick(ja)) }
            p.reason { (reason) }
        }
        (form(ja))
    };
    let title = page_title(ja);
    let mut response =
        (status, Html(layout(lang, title, None, body).into_string())).into_response();
    if let Some(seconds) = retry_after {
        if let Ok(value) = seconds.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    request: Request,
) -> Result<Response, WebError> {
    let lang = Lang::from_cookies(&jar);
    let ja = lang == Lang::Ja;
    let client = crate::terminal::client_address(&state.settings, peer, &headers)
        .unwrap_or_else(|| peer.ip());
    if let Err(wait) = state.verify_rate.check(client, Instant::now()) {
        return Ok(refused(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Text::TooManyChecksFromThis.pick(ja),
            Some(wait),
        ));
    }
    let too_large = |lang| {
        let mb = UPLOAD_LIMIT / (1024 * 1024);
        let reason = Phrase::PictureTooLarge(&mb).pick(ja);
        refused(lang, StatusCode::PAYLOAD_TOO_LARGE, &reason, None)
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if announced.is_some_and(|length| length > UPLOAD_LIMIT) {
        read_out(request).await;
        return Ok(too_large(lang));
    }
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| WebError::Invalid(e.body_text()))?;
    let mut input: Vec<u8> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large(lang)),
            Err(e) => return Err(WebError::Invalid(e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large(lang)),
            Err(e) => return Err(WebError::Invalid(e.body_text())),
        };
        match name.as_str() {
            "image" if !bytes.is_empty() => input = bytes.to_vec(),
            "code" if input.is_empty() && !bytes.iter().all(u8::is_ascii_whitespace) => {
                input = bytes.to_vec()
            }
            _ => {}
        }
    }
    let trust = signing::verifier_trust(state.store.as_ref(), &state.settings.issuer_settings())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let result = if input.is_empty() {
        Err(Text::GiveACodeOrA.pick(ja).to_owned())
    } else {
        let now = chrono::Utc::now();
        match state
            .verifier
            .run(move || vrs_cert::verify::verify_all(&input, &trust, now))
            .await
        {
            Ok(checked) => checked.map_err(|e| crate::i18n::said(lang, &e).into_owned()),
            Err(PoolRefusal::Busy) => {
                return Ok(refused(
                    lang,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Text::BusyCheckingOtherCodesTry.pick(ja),
                    Some(5),
                ))
            }
            Err(PoolRefusal::TooLong) => {
                return Ok(refused(
                    lang,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Text::ReadingThePictureTookToo.pick(ja),
                    None,
                ))
            }
        }
    };
    let body = html! {
        @match &result {
            Ok(credentials) => { @for (i, v) in credentials.iter().enumerate() { section.card.valid #result {
                h3 {
                    "✔ " (Text::ValidCertificate.pick(ja)) " (" (v.kind.name()) ")"
                    @if credentials.len() > 1 {
                        " — " (i + 1) " / " (credentials.len())
                    }
                }
                dl {
                    @if let Some(id) = &v.id {
                        dt { (Text::CertificateId.pick(ja)) } dd.id { (id) }
                    }
                    dt { (Text::Issuer.pick(ja)) } dd { (v.issuer) }
                    dt { (Text::Name.pick(ja)) } dd.holder { (v.holder_name) }
                    dt { (Text::BirthDate.pick(ja)) } dd { (v.birth_date) }
                    @if let Some(exp) = v.expires {
                        dt { (Text::Expires.pick(ja)) } dd { (exp.format("%Y-%m-%d")) }
                    }
                }
                table.doses {
                    tr { th { (Text::DoseShort.pick(ja)) } th { (Text::Date.pick(ja)) } th { (Text::Vaccine.pick(ja)) } th { (Text::LotShort.pick(ja)) } }
                    @for d in &v.doses {
                        tr {
                            td { (d.dose_number.map(|n| n.to_string()).unwrap_or_default()) }
                            td { (d.date) }
                            td { (d.product.name.clone().unwrap_or_else(|| d.product.code.clone())) }
                            td { (d.lot.clone().unwrap_or_default()) }
                        }
                    }
                }
            } } }
            Err(reason) => { section.card.invalid #result {
                h3 { "✘ " (Text::NotValid.pick(ja)) }
                p.reason { (reason) }
            } }
        }
        (form(ja))
    };
    let title = page_title(ja);
    Ok(Html(layout(lang, title, None, body).into_string()).into_response())
}
