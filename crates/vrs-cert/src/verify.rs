//! The offline verifier: one entry point ([`verify`]) for every certificate code the system meets,
//! whatever the holder shows — the text of a SMART Health Card (`shc:/…` or its compact JWS), of an
//! EU DCC (`HC1:…`) or of an ICAO VDS-NC seal (`{"data":…,"sig":…}`), or a PNG or JPEG picture of
//! one of their QR codes. It recognises the kind, runs that kind's own verifier against the keys
//! the caller trusts ([`Trust`]) at the caller's clock, and returns one uniform summary
//! ([`Verified`]) for a terminal or a web page, or the reason for refusal ([`VerifyError`]).
//!
//! A code whose signature holds is then checked against the revocations the trust holds (SMART
//! Health Card CRLs, the EU DCC and VDS-NC lists by UVCI hash): a revoked code is refused as
//! [`VerifyError::Revoked`], never before its signature is verified. An offline verifier gets all
//! of its trust, revocations included, from one cached file, the [`VerifierBundle`].
//!
//! Nothing here reads files, the network or the wall clock: trust and time come from the caller.

mod bundle;
mod error;
mod summary;

pub use bundle::{BundleError, BundleIssuer, BundleProblem, VerifierBundle};
pub use error::VerifyError;
pub use summary::{CodeSystem, DoseProduct, Verified, VerifiedDose};

use std::io::Cursor;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use image::ImageFormat;
use serde_json::Value;
use vrs_crypto::x509::Certificate;
use vrs_domain::VaccineProduct;

use crate::dcc::revocation::{DecodedList, HashType, RevocationError, RevocationList};
use crate::dcc::{self, TrustList};
use crate::shc::{self, CrlError};
use crate::vds_nc;
use summary::{from_dcc, from_seal, from_shc};

/// The widest and tallest image read: a phone photo is about 4000 × 3000 pixels.
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// The most pixels a picture may have (a 16-megapixel photo); larger ones are refused before they
/// are decoded.
pub const MAX_IMAGE_PIXELS: u64 = 16_000_000;
/// A picture is scaled down to at most this many pixels before QR codes are looked for: the
/// search's work grows with the pixels (and with the patterns in them), while a QR code that
/// fills a fair part of a photo stays readable at two megapixels.
const DETECT_PIXELS: u64 = 2_000_000;
/// The most memory an image decoder may take (a decoded 8192 × 8192 RGBA image is 256 MiB).
const MAX_IMAGE_ALLOC: u64 = 256 * 1024 * 1024;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

/// The kinds of certificate code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// SMART Health Card (Japan's app, and North America).
    Shc,
    /// EU Digital COVID Certificate.
    EuDcc,
    /// ICAO Visible Digital Seal for Non-Constrained environments.
    VdsNc,
}

impl CodeKind {
    pub fn name(self) -> &'static str {
        match self {
            CodeKind::Shc => "SMART Health Card",
            CodeKind::EuDcc => "EU DCC",
            CodeKind::VdsNc => "ICAO VDS-NC",
        }
    }
}

impl std::fmt::Display for CodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a verifier trusts: SMART Health Card issuers (URL and published key set), EU DCC document
/// signers, and the CSCAs that certify VDS-NC barcode signers. A code is valid only when signed
/// under one of these, and not revoked by the revocations held: SMART Health Card CRLs per issuer
/// and key, and the lists of revoked EU DCC and VDS-NC identifiers per document signer.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    shc_issuers: Vec<shc::Issuer>,
    /// Each with the issuer URL it belongs to.
    shc_crls: Vec<(String, shc::Crl)>,
    dcc: TrustList,
    cscas: Vec<Certificate>,
    revocations: Vec<DecodedList>,
}

impl Trust {
    /// Trusts nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts a SMART Health Card issuer: its `iss` URL and its `/.well-known/jwks.json`.
    pub fn add_shc_issuer(&mut self, url: &str, jwks: &Value) -> &mut Self {
        self.shc_issuers.push(shc::Issuer::from_jwks(url, jwks));
        self
    }

    /// Trusts an EU DCC document signer certificate (DSC), found by its key id.
    pub fn add_document_signer(&mut self, signer: Certificate) -> &mut Self {
        self.dcc.add(signer);
        self
    }

    /// Trusts a CSCA: VDS-NC seals whose signer certificate it issued.
    pub fn add_csca(&mut self, csca: Certificate) -> &mut Self {
        self.cscas.push(csca);
        self
    }

    /// Holds the CRL that SMART Health Card issuer `iss_url` publishes for its key `crl.kid`: the
    /// cards of that issuer and key whose `vc.rid` it lists are refused as revoked. A later list
    /// for the same issuer and key replaces an earlier one with a lower `ctr`; a CRL whose method
    /// is not `"rid"` or whose entries are malformed is refused.
    pub fn add_shc_crl(&mut self, iss_url: &str, crl: shc::Crl) -> Result<&mut Self, CrlError> {
        crl.check()?;
        match self
            .shc_crls
            .iter_mut()
            .find(|(iss, held)| iss == iss_url && held.kid == crl.kid)
        {
            Some((_, held)) if held.ctr <= crl.ctr => *held = crl,
            Some(_) => {}
            None => self.shc_crls.push((iss_url.to_owned(), crl)),
        }
        Ok(self)
    }

    /// Holds a list of revoked identifiers of one document signer: EU DCCs (`"UCI"`) or VDS-NC
    /// seals (`"VDS-NC-UVCI"`) signed by the signer with the list's `kid` are refused as revoked
    /// when the hash of their identifier is listed. A malformed list is refused.
    pub fn add_dcc_revocations(
        &mut self,
        list: RevocationList,
    ) -> Result<&mut Self, RevocationError> {
        self.revocations.push(list.decode()?);
        Ok(self)
    }

    /// The SMART Health Card keys (issuer URL, `kid`, `crlVersion`) whose key set announces a CRL
    /// that is not held, or is held only in an older version: revoked cards of those keys are not
    /// recognised. Without a bundle, a verifier should say so.
    pub fn shc_crls_missing(&self) -> Vec<(&str, &str, u64)> {
        let mut missing = Vec::new();
        for issuer in &self.shc_issuers {
            for kid in issuer.kids() {
                let Some(version) = issuer.crl_version(kid) else {
                    continue;
                };
                if self
                    .shc_crl(&issuer.url, kid)
                    .is_none_or(|crl| crl.ctr < version)
                {
                    missing.push((issuer.url.as_str(), kid, version));
                }
            }
        }
        missing
    }

    fn shc_crl(&self, iss: &str, kid: &str) -> Option<&shc::Crl> {
        self.shc_crls
            .iter()
            .find(|(url, crl)| url == iss && crl.kid == kid)
            .map(|(_, crl)| crl)
    }

    /// A verified card is revoked when the CRL of its issuer and key lists its `vc.rid`; a card
    /// without `rid` cannot be revoked individually.
    fn revokes_card(&self, card: &shc::VerifiedCard) -> bool {
        match (card.rid(), self.shc_crl(&card.issuer, &card.kid)) {
            (Some(rid), Some(crl)) => crl.revokes(rid, card.nbf()),
            _ => false,
        }
    }

    /// A verified DCC is revoked when a `"UCI"` list of its signer names the UVCI (`ci`) of any of
    /// its entries.
    fn revokes_dcc(&self, dcc: &dcc::VerifiedDcc) -> bool {
        ["v", "t", "r"]
            .iter()
            .filter_map(|group| dcc.payload[group].as_array())
            .flatten()
            .filter_map(|entry| entry["ci"].as_str())
            .any(|ci| {
                self.revocations
                    .iter()
                    .any(|list| list.revokes(&dcc.kid, HashType::Uci, ci))
            })
    }

    /// A verified seal is revoked when a `"VDS-NC-UVCI"` list of its signer names its `uvci`.
    fn revokes_seal(&self, seal: &vds_nc::VerifiedSeal) -> bool {
        self.revocations
            .iter()
            .any(|list| list.revokes(&seal.signer_kid, HashType::VdsNcUvci, &seal.uvci))
    }
}

/// Verifies every certificate the input holds: the credentials of a `.smart-health-card` file
/// (`{"verifiableCredential": [JWS, …]}`, each of which must verify; the first refused is reported
/// with its number), or the one code of any other input (see [`verify`]).
pub fn verify_all(
    input: &[u8],
    trust: &Trust,
    now: DateTime<Utc>,
) -> Result<Vec<Verified>, VerifyError> {
    let Some(credentials) = health_card_file(input)? else {
        return verify(input, trust, now).map(|one| vec![one]);
    };
    let count = credentials.len();
    credentials
        .iter()
        .enumerate()
        .map(|(i, jws)| {
            shc::verify_jws(jws, &trust.shc_issuers)
                .map_err(VerifyError::from)
                .and_then(|card| checked_card(&card, trust, now))
                .map_err(|e| VerifyError::InFile {
                    index: i + 1,
                    count,
                    source: Box::new(e),
                })
        })
        .collect()
}

/// The credentials of a `.smart-health-card` file, or `None` for any other input.
fn health_card_file(input: &[u8]) -> Result<Option<Vec<String>>, VerifyError> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(None);
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if !text.starts_with('{') {
        return Ok(None);
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(None);
    };
    let Some(list) = value.get("verifiableCredential") else {
        return Ok(None);
    };
    let credentials: Vec<String> = list
        .as_array()
        .ok_or(VerifyError::Unrecognised(
            "a .smart-health-card file whose verifiableCredential is not a list",
        ))?
        .iter()
        .map(|c| c.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or(VerifyError::Unrecognised(
            "a .smart-health-card file with a credential that is not a JWS string",
        ))?;
    if credentials.is_empty() {
        return Err(VerifyError::Unrecognised(
            "a .smart-health-card file with no credential",
        ));
    }
    Ok(Some(credentials))
}

/// Verifies any certificate code — text or a PNG or JPEG image of its QR code — against `trust`
/// at `now`. Surrounding whitespace (and a byte-order mark) around text is ignored. A
/// `.smart-health-card` file is verified whole and its first credential returned (all of them:
/// [`verify_all`]).
pub fn verify(input: &[u8], trust: &Trust, now: DateTime<Utc>) -> Result<Verified, VerifyError> {
    if health_card_file(input)?.is_some() {
        return verify_all(input, trust, now)?
            .into_iter()
            .next()
            .ok_or(VerifyError::Unrecognised(
                "a .smart-health-card file with no credential",
            ));
    }
    // An image is recognised before any trimming: its last bytes may look like whitespace.
    if input.starts_with(PNG_MAGIC) {
        return verify_image(input, ImageFormat::Png, trust, now);
    }
    if input.starts_with(JPEG_MAGIC) {
        return verify_image(input, ImageFormat::Jpeg, trust, now);
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| VerifyError::Unrecognised("binary data that is not a PNG or JPEG image"))?;
    verify_text(text, trust, now)
}

fn verify_text(text: &str, trust: &Trust, now: DateTime<Utc>) -> Result<Verified, VerifyError> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(VerifyError::Unrecognised("the input is empty"));
    }
    if text.starts_with("shc:/") {
        let card = shc::verify_qr(text, &trust.shc_issuers)?;
        return checked_card(&card, trust, now);
    }
    if text.starts_with(dcc::PREFIX) {
        let dcc = dcc::verify(text, &trust.dcc, now.timestamp())?;
        if trust.revokes_dcc(&dcc) {
            return Err(VerifyError::Revoked {
                kind: CodeKind::EuDcc,
            });
        }
        return Ok(from_dcc(dcc));
    }
    if text.starts_with('{') {
        // A seal damaged past parsing is still reported as one: no other code is JSON.
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            if value.get("data").is_none() || value.get("sig").is_none() {
                return Err(VerifyError::Unrecognised("JSON without data and sig"));
            }
        }
        let seal = vds_nc::verify(text, &trust.cscas, now)?;
        if trust.revokes_seal(&seal) {
            return Err(VerifyError::Revoked {
                kind: CodeKind::VdsNc,
            });
        }
        return Ok(from_seal(seal));
    }
    if is_compact_jws(text) {
        let card = shc::verify_jws(text, &trust.shc_issuers)?;
        return checked_card(&card, trust, now);
    }
    Err(VerifyError::Unrecognised("unknown text"))
}

/// A card whose signature verified: refused if revoked, otherwise summarised.
fn checked_card(
    card: &shc::VerifiedCard,
    trust: &Trust,
    now: DateTime<Utc>,
) -> Result<Verified, VerifyError> {
    if trust.revokes_card(card) {
        return Err(VerifyError::Revoked {
            kind: CodeKind::Shc,
        });
    }
    from_shc(card, now)
}

/// Three non-empty base64url parts separated by dots.
fn is_compact_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Reads every QR code in the image and verifies each in turn: the first valid one wins,
/// otherwise the first refusal is reported.
fn verify_image(
    bytes: &[u8],
    format: ImageFormat,
    trust: &Trust,
    now: DateTime<Utc>,
) -> Result<Verified, VerifyError> {
    let mut refusal = None;
    for text in qr_texts(bytes, format)? {
        match verify_text(&text, trust, now) {
            Ok(verified) => return Ok(verified),
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    Err(refusal.unwrap_or(VerifyError::NoQrCode))
}

/// The texts of the QR codes in an image; at least one, or the reason there is none.
fn qr_texts(bytes: &[u8], format: ImageFormat) -> Result<Vec<String>, VerifyError> {
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| VerifyError::Image(e.to_string()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(VerifyError::ImageTooLarge { width, height });
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    reader.limits(limits);
    let mut grey = reader
        .decode()
        .map_err(|e| VerifyError::Image(e.to_string()))?
        .into_luma8();
    if pixels > DETECT_PIXELS {
        // Nearest-neighbour keeps modules black and white; a smoothing filter's grey edges
        // defeat the QR search's threshold.
        let scale = (DETECT_PIXELS as f64 / pixels as f64).sqrt();
        let side = |n: u32| ((f64::from(n) * scale) as u32).max(1);
        grey = image::imageops::resize(
            &grey,
            side(width),
            side(height),
            image::imageops::FilterType::Nearest,
        );
    }
    let (width, height) = grey.dimensions();
    // The QR reader indexes its own buffers freely; a picture that trips it is refused like any
    // other unreadable picture instead of ending the caller (a server request, a command).
    let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
                grey.get_pixel(x as u32, y as u32).0[0]
            });
        prepared
            .detect_grids()
            .iter()
            .map(|grid| {
                let mut out = Vec::new();
                grid.decode_to(&mut out)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        String::from_utf8(out).map_err(|_| "its content is not text".to_owned())
                    })
            })
            .collect::<Vec<_>>()
    }))
    .map_err(|_| VerifyError::QrUnreadable("the QR reader failed on this image".into()))?;
    if decoded.is_empty() {
        return Err(VerifyError::NoQrCode);
    }
    let mut texts = Vec::new();
    let mut first_error = None;
    for result in decoded {
        match result {
            Ok(text) => texts.push(text),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (texts.is_empty(), first_error) {
        (true, Some(e)) => Err(VerifyError::QrUnreadable(e)),
        _ => Ok(texts),
    }
}

/// The product a CVX code names, only when exactly one product has it: "213" (unspecified) and
/// the codes shared by two formulations name no single product.
fn name_by_cvx(cvx: &str) -> Option<String> {
    let mut matches = VaccineProduct::catalogue().iter().filter(|p| p.cvx == cvx);
    match (matches.next(), matches.next()) {
        (Some(product), None) => Some(product.name.to_owned()),
        _ => None,
    }
}

/// The brand an EU product number names: later variants share their brand's authorisation, and
/// the catalogue lists each brand's original first.
fn name_by_eu_product(mp: &str) -> Option<String> {
    VaccineProduct::catalogue()
        .iter()
        .find(|p| p.dcc_mp == mp)
        .map(|p| p.name.to_owned())
}

#[cfg(test)]
mod tests;
