//! A certificate's life after issue, over HTTP: re-issue and revocation at the counter (from the
//! person's record), and what verifiers fetch — the SMART Health Card CRLs, the document signers'
//! revocation lists and the offline verifier bundle.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::certificates::{revocation, signing};
use vrs_core::doses::ChangeError;
use vrs_core::lifecycle;
use vrs_domain::mrz::Mrz;
use vrs_domain::{AtenaNumber, CertificateId, CertificateKind, IssueChannel, MunicipalityCode};
use vrs_store::CertificateIssue;

use crate::certificates::{cors_json, pdf_response, refusal};
use crate::error::WebError;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::AppState;

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// `{kid}.json` → `kid`.
fn json_name(file: &str) -> Result<&str, WebError> {
    file.strip_suffix(".json")
        .filter(|k| !k.is_empty())
        .ok_or(WebError::NotFound)
}

async fn crl(state: &AppState, issuer: &str, file: &str) -> Result<Response, WebError> {
    let kid = json_name(file)?;
    match revocation::shc_crl(state.store.as_ref(), issuer, kid)
        .await
        .map_err(internal)?
    {
        Some(crl) => Ok(cors_json(serde_json::to_value(crl).map_err(internal)?)),
        None => Err(WebError::NotFound),
    }
}

/// The national issuer's CRL of key `kid` (`/issuer/.well-known/crl/{kid}.json`).
#[utoipa::path(get, path = "/issuer/.well-known/crl/{file}", tag = "verifiers",
    params(("file" = String, Path, description = "`{kid}.json`: the key's thumbprint")),
    responses(
        (status = 200, description = "The SMART Health Cards revocation list of that key (`rids`)"),
        (status = 404, description = "No such key"),
    ))]
pub async fn crl_national(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    crl(&state, signing::NATIONAL, &file).await
}

/// A municipality issuer's CRL of key `kid` (`/issuer/{code}/.well-known/crl/{kid}.json`).
#[utoipa::path(get, path = "/issuer/{code}/.well-known/crl/{file}", tag = "verifiers",
    params(
        ("code" = String, Path, description = "The municipality code (6 digits)"),
        ("file" = String, Path, description = "`{kid}.json`: the key's thumbprint"),
    ),
    responses(
        (status = 200, description = "The SMART Health Cards revocation list of that key (`rids`)"),
        (status = 404, description = "No such issuer or key"),
    ))]
pub async fn crl_of(
    State(state): State<AppState>,
    Path((code, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let code = MunicipalityCode::parse(&code).map_err(|_| WebError::NotFound)?;
    crl(&state, code.as_str(), &file).await
}

/// A document signer's 8-byte `kid` as lower-case hex, from hex (either case) or from base64 as
/// the trust list publishes it (standard or URL-safe alphabet, padded or not).
fn signer_kid_hex(text: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    const KID_BYTES: usize = 8;
    if text.len() == 2 * KID_BYTES {
        if let Ok(bytes) = hex::decode(text) {
            return Some(hex::encode(bytes));
        }
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .filter(|bytes| bytes.len() == KID_BYTES)
        .map(hex::encode)
}

/// The revocation lists of a document signer (`/.well-known/dcc-revocation/{kid}.json`, `kid` as
/// the trust list gives it, in base64, or in hex): EU DCCs by UVCI hash and VDS-NC seals by theirs.
#[utoipa::path(get, path = "/.well-known/dcc-revocation/{file}", tag = "verifiers",
    params(("file" = String, Path, description = "`{kid}.json`, the document signer's `kid` in base64 (as the trust list gives it, either alphabet) or hex")),
    responses(
        (status = 200, description = "The signer's revocation lists: EU DCCs by UVCI hash, VDS-NC seals by theirs"),
        (status = 404, description = "No such document signer"),
    ))]
pub async fn signer_lists(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let kid = signer_kid_hex(json_name(&file)?).ok_or(WebError::NotFound)?;
    match revocation::signer_lists(state.store.as_ref(), &kid)
        .await
        .map_err(internal)?
    {
        Some(lists) => Ok(cors_json(serde_json::to_value(lists).map_err(internal)?)),
        None => Err(WebError::NotFound),
    }
}

/// Everything an offline verifier keeps (`/.well-known/vrs-verifier-bundle.json`).
#[utoipa::path(get, path = "/.well-known/vrs-verifier-bundle.json", tag = "verifiers",
    responses((status = 200, description = "Everything an offline verifier keeps: issuers' keys, the trust list and every revocation list, with the time it was made")))]
pub async fn verifier_bundle(State(state): State<AppState>) -> Result<Response, WebError> {
    let bundle = revocation::verifier_bundle(
        state.store.as_ref(),
        &state.settings.issuer_settings(),
        chrono::Utc::now(),
    )
    .await
    .map_err(internal)?;
    Ok(cors_json(bundle))
}

/// The certificate `id` of the person `atena` of the staff member's own municipality, after the
/// CSRF and access checks of counter issuance; not found when either is not theirs.
async fn counter_certificate(
    state: &AppState,
    signed: &Signed,
    csrf: &str,
    atena: &str,
    id: &str,
) -> Result<
    (
        MunicipalityCode,
        AtenaNumber,
        CertificateId,
        CertificateIssue,
    ),
    WebError,
> {
    signed.check_csrf(csrf)?;
    let own = own(signed, Action::SearchPeople)?;
    signed.authorize(
        Action::IssueCertificateCounter,
        &Target::Person { home: own },
    )?;
    let atena = AtenaNumber::parse(atena).map_err(|_| WebError::NotFound)?;
    let id = CertificateId::parse(id).map_err(|_| WebError::NotFound)?;
    let issue = lifecycle::person_certificate(state.store.as_ref(), own, &atena, &id).await?;
    Ok((own, atena, id, issue))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
    /// `1` once the confirmation page was answered (confirm.rs).
    #[serde(default)]
    pub confirmed: Option<String>,
}

/// Staff revoke a certificate of the person (`POST /records/{atena}/certificates/{id}/revoke`).
pub async fn revoke(
    State(state): State<AppState>,
    signed: Signed,
    Path((atena, id)): Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, WebError> {
    let (own, atena, id, _) = counter_certificate(&state, &signed, &form.csrf, &atena, &id).await?;
    let path = format!("/records/{atena}/certificates/{id}/revoke");
    let fields = [
        ("csrf", form.csrf.as_str()),
        ("reason", form.reason.as_str()),
    ];
    let what = crate::confirm::Destructive::RevokeCertificate {
        atena: atena.as_str(),
        certificate: id.as_str(),
    };
    if let Some(page) =
        crate::confirm::unless_confirmed(&signed, what, &path, &fields, form.confirmed.as_deref())
    {
        return Ok(page);
    }
    match lifecycle::revoke(
        state.store.as_ref(),
        &actor(&signed),
        own,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/records/{atena}?saved=revoked")).into_response()),
        Err(ChangeError::NoReason) => Err(WebError::Invalid(
            "reason: 失効の理由を入力してください (a reason is required)".into(),
        )),
        Err(ChangeError::Invalid(m)) => Err(WebError::Invalid(format!("reason: {m}"))),
        Err(ChangeError::NotFound) => Err(WebError::NotFound),
        Err(ChangeError::Store(e)) => Err(e.into()),
        Err(ChangeError::Rules(_)) => Err(WebError::Internal("unexpected rules".into())),
    }
}

#[derive(Deserialize)]
pub struct ReissueForm {
    pub csrf: String,
    #[serde(default)]
    pub mrz1: String,
    #[serde(default)]
    pub mrz2: String,
}

/// Staff re-issue a certificate of the person from the doses recorded now
/// (`POST /records/{atena}/certificates/{id}/reissue`): the PDF.
pub async fn reissue(
    State(state): State<AppState>,
    signed: Signed,
    Path((atena, id)): Path<(String, String)>,
    Form(form): Form<ReissueForm>,
) -> Result<Response, WebError> {
    let (own, atena, id, previous) =
        counter_certificate(&state, &signed, &form.csrf, &atena, &id).await?;
    let passport = match previous.kind {
        CertificateKind::Overseas => Some(
            Mrz::parse(
                &form.mrz1.trim().to_ascii_uppercase(),
                &form.mrz2.trim().to_ascii_uppercase(),
            )
            .map_err(|e| WebError::Invalid(format!("旅券のMRZ / passport MRZ: {e}")))?,
        ),
        CertificateKind::Domestic => None,
    };
    let cert = lifecycle::reissue(
        state.store.as_ref(),
        &state.settings.issuer_settings(),
        &actor(&signed),
        own,
        &atena,
        &id,
        passport,
        IssueChannel::Counter,
        chrono::Utc::now(),
    )
    .await
    .map_err(refusal)?;
    pdf_response(&cert)
}
