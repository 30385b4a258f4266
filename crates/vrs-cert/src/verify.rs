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

pub use bundle::{BundleError, BundleIssuer, BundleProblem, VerifierBundle};

use std::io::Cursor;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use image::ImageFormat;
use serde_json::Value;
use vrs_crypto::x509::Certificate;
use vrs_domain::VaccineProduct;

use crate::dcc::revocation::{DecodedList, HashType, RevocationError, RevocationList};
use crate::dcc::{self, DccError, TrustList};
use crate::shc::{self, CrlError, ShcError};
use crate::vds_nc::{self, VdsNcError};

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
const FHIR_CVX: &str = "http://hl7.org/fhir/sid/cvx";

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

/// The code system a product code belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeSystem {
    /// CDC CVX (SMART Health Cards).
    Cvx,
    /// The EU DCC medicinal product (`mp`): an EU authorisation number or a product name.
    EuProduct,
    /// ICD-11 (the VDS-NC `des`).
    Icd11,
    /// Another FHIR coding system, by its URI.
    Other(String),
}

impl std::fmt::Display for CodeSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodeSystem::Cvx => f.write_str("CVX"),
            CodeSystem::EuProduct => f.write_str("EU"),
            CodeSystem::Icd11 => f.write_str("ICD-11"),
            CodeSystem::Other(uri) => f.write_str(uri),
        }
    }
}

/// The vaccine a dose names: its code as the certificate gives it and, when the code identifies
/// one product, a readable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoseProduct {
    pub system: CodeSystem,
    pub code: String,
    /// The catalogue's English name, or the certificate's own product name (VDS-NC).
    pub name: Option<String>,
}

impl std::fmt::Display for DoseProduct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} ({} {})", self.system, self.code),
            None => write!(f, "{} {}", self.system, self.code),
        }
    }
}

/// One dose as a valid certificate states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDose {
    /// The dose's number in the series, when the code gives it (SHC usually does not).
    pub dose_number: Option<u8>,
    /// The date as written (`YYYY-MM-DD`; a SMART Health Card may give a date and time).
    pub date: String,
    pub product: DoseProduct,
    /// The lot number (an EU DCC has none).
    pub lot: Option<String>,
}

/// A code that passed every check of its kind, summarised the same way for every kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub kind: CodeKind,
    /// The certificate's own identifier, as its issuer revokes it: the SHC `vc.rid`, the EU DCC
    /// UVCI (`ci`), the VDS-NC `uvci`. A SMART Health Card need not carry one.
    pub id: Option<String>,
    /// SHC: the issuer URL; EU DCC: the issuing authority and country; VDS-NC: the signer and the
    /// issuing state.
    pub issuer: String,
    /// Family name first, then given names, as the code writes them.
    pub holder_name: String,
    /// As written: `YYYY-MM-DD` (an EU DCC may give only `YYYY-MM` or `YYYY`, or nothing).
    pub birth_date: String,
    /// In the code's order; empty for an EU DCC test or recovery certificate.
    pub doses: Vec<VerifiedDose>,
    /// When the code itself says it expires (EU DCC; SHC when it carries `exp`).
    pub expires: Option<DateTime<Utc>>,
}

/// Why a code is refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "not a certificate code: {0} (expected shc:/…, a compact JWS, HC1:…, VDS-NC JSON, \
         or a PNG or JPEG image of a QR code)"
    )]
    Unrecognised(&'static str),
    #[error("the image cannot be read: {0}")]
    Image(String),
    #[error(
        "the image cannot be read: the picture has {width} × {height} pixels; at most {} megapixels are read",
        MAX_IMAGE_PIXELS / 1_000_000
    )]
    ImageTooLarge { width: u32, height: u32 },
    #[error("no QR code found in the image")]
    NoQrCode,
    #[error("the QR code in the image cannot be read: {0}")]
    QrUnreadable(String),
    #[error("SMART Health Card: {0}")]
    Shc(#[from] ShcError),
    #[error("SMART Health Card: expired on {0}")]
    ShcExpired(DateTime<Utc>),
    #[error("EU DCC: {0}")]
    Dcc(#[from] DccError),
    #[error("ICAO VDS-NC: {0}")]
    VdsNc(#[from] VdsNcError),
    #[error("{kind}: {reason}")]
    Content {
        kind: CodeKind,
        reason: &'static str,
    },
    /// A credential of a `.smart-health-card` file (numbered from 1) was refused.
    #[error("credential {index} of {count}: {source}")]
    InFile {
        index: usize,
        count: usize,
        source: Box<VerifyError>,
    },
    /// The code is genuine (its signature verified) but its issuer has revoked it.
    #[error("{kind}: revoked (the issuer has revoked this certificate)")]
    Revoked { kind: CodeKind },
}

/// A refusal as the verification page says it: the Japanese names what failed (the format's own
/// detail stays in the English, for the issuer's support).
impl vrs_domain::UserFacing for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Unrecognised(_) => "not_a_certificate",
            VerifyError::Image(_) => "image_unreadable",
            VerifyError::ImageTooLarge { .. } => "image_too_large",
            VerifyError::NoQrCode => "no_qr_code",
            VerifyError::QrUnreadable(_) => "qr_unreadable",
            VerifyError::Shc(_) | VerifyError::Dcc(_) | VerifyError::VdsNc(_) => "not_verified",
            VerifyError::ShcExpired(_) => "expired",
            VerifyError::Content { .. } => "content_invalid",
            VerifyError::InFile { source, .. } => source.code(),
            VerifyError::Revoked { .. } => "revoked",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            VerifyError::Unrecognised(_) => "証明書のコードではありません（shc:/…、HC1:…、VDS-NC、\
                またはQRコードのPNG・JPEG画像を読み取れます）。"
                .into(),
            VerifyError::Image(_) => "画像を読み取れません。".into(),
            VerifyError::ImageTooLarge { width, height } => format!(
                "画像が大きすぎます（{width} × {height} 画素。読み取るのは{}万画素までです）。",
                MAX_IMAGE_PIXELS / 10_000
            )
            .into(),
            VerifyError::NoQrCode => "画像にQRコードが見つかりません。".into(),
            VerifyError::QrUnreadable(_) => "画像のQRコードを読み取れません。".into(),
            VerifyError::Shc(_) | VerifyError::Dcc(_) | VerifyError::VdsNc(_) => format!(
                "{}: 署名または形式を確認できませんでした。発行元の証明書ではないか、\
                 内容が書き換えられています。",
                self.kind().map_or("", CodeKind::name)
            )
            .into(),
            VerifyError::ShcExpired(at) => format!(
                "SMART Health Card: 有効期限（{}）が過ぎています。",
                at.format("%Y-%m-%d")
            )
            .into(),
            VerifyError::Content { kind, .. } => {
                format!("{}: 証明書の内容が正しくありません。", kind.name()).into()
            }
            VerifyError::InFile {
                index,
                count,
                source,
            } => format!("{count}件中{index}件目: {}", source.message_ja()).into(),
            VerifyError::Revoked { kind } => format!(
                "{}: 発行元により失効しています。この証明書は使えません。",
                kind.name()
            )
            .into(),
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

impl VerifyError {
    /// The kind of code refused, when it was recognised.
    pub fn kind(&self) -> Option<CodeKind> {
        match self {
            VerifyError::Unrecognised(_)
            | VerifyError::Image(_)
            | VerifyError::ImageTooLarge { .. }
            | VerifyError::NoQrCode
            | VerifyError::QrUnreadable(_) => None,
            VerifyError::Shc(_) | VerifyError::ShcExpired(_) => Some(CodeKind::Shc),
            VerifyError::Dcc(_) => Some(CodeKind::EuDcc),
            VerifyError::VdsNc(_) => Some(CodeKind::VdsNc),
            VerifyError::Content { kind, .. } | VerifyError::Revoked { kind } => Some(*kind),
            VerifyError::InFile { .. } => Some(CodeKind::Shc),
        }
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

// ---- The summary of each kind ----

/// A SMART Health Card's summary: the Patient and the completed Immunizations of its bundle.
/// An `exp` claim, optional in the spec, is enforced when present.
fn from_shc(card: &shc::VerifiedCard, now: DateTime<Utc>) -> Result<Verified, VerifyError> {
    let expires = card
        .payload
        .get("exp")
        .and_then(Value::as_f64)
        .and_then(|exp| DateTime::from_timestamp(exp as i64, 0));
    if let Some(exp) = expires {
        if now >= exp {
            return Err(VerifyError::ShcExpired(exp));
        }
    }
    let resources: Vec<&Value> = card.bundle()["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|e| &e["resource"]).collect())
        .unwrap_or_default();
    let patient = resources
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .ok_or(VerifyError::Content {
            kind: CodeKind::Shc,
            reason: "the bundle has no Patient",
        })?;
    let name = &patient["name"][0];
    let mut parts: Vec<&str> = name["family"].as_str().into_iter().collect();
    if let Some(given) = name["given"].as_array() {
        parts.extend(given.iter().filter_map(Value::as_str));
    }
    if parts.is_empty() {
        parts.extend(name["text"].as_str());
    }
    let doses = resources
        .iter()
        .filter(|r| r["resourceType"] == "Immunization")
        .filter(|r| r.get("status").is_none() || r["status"] == "completed")
        .map(|r| shc_dose(r))
        .collect();
    Ok(Verified {
        kind: CodeKind::Shc,
        id: card.rid().map(str::to_owned),
        issuer: card.issuer.clone(),
        holder_name: parts.join(" "),
        birth_date: patient["birthDate"].as_str().unwrap_or_default().to_owned(),
        doses,
        expires,
    })
}

fn shc_dose(immunization: &Value) -> VerifiedDose {
    let codings = immunization["vaccineCode"]["coding"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let coding = codings
        .iter()
        .find(|c| c["system"] == FHIR_CVX)
        .or_else(|| codings.first());
    let code = coding
        .and_then(|c| c["code"].as_str())
        .unwrap_or_default()
        .to_owned();
    let system = match coding.and_then(|c| c["system"].as_str()) {
        Some(FHIR_CVX) => CodeSystem::Cvx,
        Some(other) => CodeSystem::Other(other.to_owned()),
        None => CodeSystem::Other(String::new()),
    };
    let name = match system {
        CodeSystem::Cvx => name_by_cvx(&code),
        _ => coding
            .and_then(|c| c["display"].as_str())
            .map(str::to_owned),
    };
    let date = immunization["occurrenceDateTime"]
        .as_str()
        .or_else(|| immunization["occurrenceString"].as_str())
        .unwrap_or_default()
        .to_owned();
    VerifiedDose {
        dose_number: immunization["protocolApplied"][0]["doseNumberPositiveInt"]
            .as_u64()
            .and_then(|n| u8::try_from(n).ok()),
        date,
        product: DoseProduct { system, code, name },
        lot: immunization["lotNumber"].as_str().map(str::to_owned),
    }
}

/// An EU DCC's summary. The issuer is the entry's `is` (the authority) with the CWT's country.
fn from_dcc(dcc: dcc::VerifiedDcc) -> Verified {
    let entry = &dcc.payload[dcc.certificate_type.key()][0];
    let authority = entry["is"].as_str().map(str::to_owned);
    let id = entry["ci"].as_str().map(str::to_owned);
    let issuer = match (authority, dcc.iss) {
        (Some(authority), Some(country)) => format!("{authority} ({country})"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => String::new(),
    };
    let family = dcc.name.family.or(dcc.name.family_icao);
    let given = dcc.name.given.or(dcc.name.given_icao);
    let holder_name = [family, given]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let doses = dcc
        .doses
        .into_iter()
        .map(|d| VerifiedDose {
            dose_number: u8::try_from(d.dose_number).ok(),
            date: d.date,
            product: DoseProduct {
                system: CodeSystem::EuProduct,
                name: name_by_eu_product(&d.product),
                code: d.product,
            },
            lot: None,
        })
        .collect();
    Verified {
        kind: CodeKind::EuDcc,
        id,
        issuer,
        holder_name,
        birth_date: dcc.dob,
        doses,
        expires: DateTime::from_timestamp(dcc.exp, 0),
    }
}

/// A VDS-NC seal's summary. The issuer is the signer certificate's name with the issuing state.
fn from_seal(seal: vds_nc::VerifiedSeal) -> Verified {
    let issuer = match seal.signer {
        Some(signer) => format!("{signer} ({})", seal.issuing_state),
        None => seal.issuing_state,
    };
    let doses = seal
        .doses
        .into_iter()
        .map(|d| VerifiedDose {
            dose_number: Some(d.dose_number),
            date: d.date.to_string(),
            product: DoseProduct {
                system: CodeSystem::Icd11,
                code: d.vaccine_code,
                name: Some(d.product.map_or(d.product_name, |p| p.name.to_owned())),
            },
            lot: Some(d.lot).filter(|lot| !lot.is_empty()),
        })
        .collect();
    Verified {
        kind: CodeKind::VdsNc,
        id: Some(seal.uvci.clone()),
        issuer,
        holder_name: seal.holder.name().to_owned(),
        birth_date: seal.holder.birth_date().to_string(),
        doses,
        expires: None,
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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::test_pki::{pki, Pki, NOW};

    use std::path::PathBuf;

    use base64::Engine;
    use chrono::NaiveDate;
    use vrs_crypto::es256::SigningKey;
    use vrs_domain::{
        AtenaNumber, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber, MrzSex,
        MunicipalityCode,
    };

    use super::*;

    const EXAMPLE_ISSUER: &str = "https://spec.smarthealth.cards/examples/issuer";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    /// The shared public test vectors: `$VRS_SHARED_TESTDATA`, else `../shared/testdata` beside the
    /// workspace. When absent (a plain clone) the calling test skips with a message, except under
    /// CI (`CI` set) or with `VRS_REQUIRE_SHARED=1`, where it fails.
    fn shared_testdata() -> Option<PathBuf> {
        let root = std::env::var_os("VRS_SHARED_TESTDATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
            PathBuf::from,
        );
        if root.is_dir() {
            return Some(root);
        }
        let test = std::thread::current().name().unwrap_or("test").to_owned();
        let why = format!("the shared test vectors are not at {}", root.display());
        assert!(
            std::env::var_os("CI").is_none()
                && !std::env::var("VRS_REQUIRE_SHARED").is_ok_and(|v| v == "1"),
            "{test}: {why} (required under CI and with VRS_REQUIRE_SHARED=1; set VRS_SHARED_TESTDATA)"
        );
        eprintln!("skipping {test}: {why} (a clone without ../shared; set VRS_SHARED_TESTDATA)");
        None
    }

    /// A file of the shared vectors; call only after `shared_testdata()` found them.
    fn read(name: &str) -> String {
        let path = shared_testdata().unwrap().join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn shc_trust() -> Trust {
        let jwks: Value = serde_json::from_str(&read("shc/jwks.json")).unwrap();
        let mut trust = Trust::new();
        trust.add_shc_issuer(EXAMPLE_ISSUER, &jwks);
        trust
    }

    /// Draws a QR code (`scale` pixels a module, a 4-module quiet zone) and encodes the picture.
    fn picture(code: &qrcode::QrCode, scale: usize, format: ImageFormat) -> Vec<u8> {
        let (w, quiet) = (code.width(), 4);
        let colors = code.to_colors();
        let side = ((w + 2 * quiet) * scale) as u32;
        let grey = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = (x as usize / scale, y as usize / scale);
            let inside = (quiet..w + quiet).contains(&mx) && (quiet..w + quiet).contains(&my);
            let dark =
                inside && matches!(colors[(my - quiet) * w + (mx - quiet)], qrcode::Color::Dark);
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(grey)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn the_shc_example_card_verifies_as_qr_text_and_as_jws() {
        if shared_testdata().is_none() {
            return;
        }
        let text = read("shc/examples/card.qr.txt");
        let card = verify(format!("\n  {text}\n\n").as_bytes(), &shc_trust(), now()).unwrap();
        assert_eq!(card.kind, CodeKind::Shc);
        assert_eq!(card.issuer, EXAMPLE_ISSUER);
        assert_eq!(card.holder_name, "Anyperson John B.");
        assert_eq!(card.birth_date, "1951-01-20");
        assert_eq!(card.expires, None);
        assert_eq!(card.doses.len(), 3);
        let first = &card.doses[0];
        assert_eq!(first.date, "2021-01-01");
        assert_eq!(first.lot.as_deref(), Some("0000001"));
        assert_eq!(first.product.system, CodeSystem::Cvx);
        assert_eq!(first.product.code, "207");
        assert_eq!(first.product.name.as_deref(), Some("Spikevax"));
        assert_eq!(
            card.doses[2].product.to_string(),
            "Spikevax Bivalent Original/Omicron BA.4-5 (CVX 229)"
        );

        let jws = read("shc/examples/card.jws");
        assert_eq!(verify(jws.as_bytes(), &shc_trust(), now()).unwrap(), card);

        let err = verify(text.as_bytes(), &Trust::new(), now()).unwrap_err();
        assert_eq!(err.kind(), Some(CodeKind::Shc));
        assert!(err.to_string().contains("no trusted issuer"), "{err}");
    }

    #[test]
    fn a_smart_health_card_file_verifies_every_credential_in_it() {
        use serde_json::json;
        if shared_testdata().is_none() {
            return;
        }
        let jws = read("shc/examples/card.jws");
        let jws = jws.trim();
        let one = verify(jws.as_bytes(), &shc_trust(), now()).unwrap();
        let file = json!({ "verifiableCredential": [jws, jws] }).to_string();
        let all = verify_all(file.as_bytes(), &shc_trust(), now()).unwrap();
        assert_eq!(all, vec![one.clone(), one.clone()]);
        assert_eq!(verify(file.as_bytes(), &shc_trust(), now()).unwrap(), one);

        // The second credential's signature broken: refused, naming which.
        let mut bad: Vec<char> = jws.chars().collect();
        let at = bad.len() - 10;
        bad[at] = if bad[at] == 'A' { 'B' } else { 'A' };
        let bad: String = bad.into_iter().collect();
        let file = json!({ "verifiableCredential": [jws, bad] }).to_string();
        let err = verify_all(file.as_bytes(), &shc_trust(), now()).unwrap_err();
        assert!(err.to_string().starts_with("credential 2 of 2: "), "{err}");
        assert_eq!(err.kind(), Some(CodeKind::Shc));
        for empty in [
            json!({ "verifiableCredential": [] }),
            json!({ "verifiableCredential": "x" }),
            json!({ "verifiableCredential": [1] }),
        ] {
            let err = verify_all(empty.to_string().as_bytes(), &shc_trust(), now()).unwrap_err();
            assert!(err.to_string().contains(".smart-health-card"), "{err}");
        }
    }

    #[test]
    fn an_shc_card_photographed_as_png_verifies() {
        if shared_testdata().is_none() {
            return;
        }
        let jws = shc::decode_qr(&read("shc/examples/card.qr.txt")).unwrap();
        let png = picture(&shc::qr_code(&jws).unwrap(), 4, ImageFormat::Png);
        let card = verify(&png, &shc_trust(), now()).unwrap();
        assert_eq!(card.kind, CodeKind::Shc);
        assert_eq!(card.holder_name, "Anyperson John B.");
        assert_eq!(card.doses.len(), 3);
    }

    /// The DCC vector CO28 (valid in every step) with its trust and clock.
    fn dcc_vector() -> (Value, Trust, DateTime<Utc>) {
        let vector: Value = serde_json::from_str(&read("dcc/common/CO28.json")).unwrap();
        let signer =
            Certificate::from_base64(vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
        let mut trust = Trust::new();
        trust.add_document_signer(signer);
        let clock = vector["TESTCTX"]["VALIDATIONCLOCK"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap();
        (vector, trust, clock)
    }

    #[test]
    fn a_dcc_vector_verifies_from_its_text_and_from_its_png() {
        if shared_testdata().is_none() {
            return;
        }
        let (vector, trust, clock) = dcc_vector();
        let text = vector["PREFIX"].as_str().unwrap();
        let dcc = verify(text.as_bytes(), &trust, clock).unwrap();
        assert_eq!(dcc.kind, CodeKind::EuDcc);
        assert_eq!(dcc.issuer, "Swedish eHealth Agency (SE)");
        assert_eq!(dcc.holder_name, "Lövström Oscar");
        assert_eq!(dcc.birth_date, "1958-11-11");
        assert_eq!(dcc.id.as_deref(), vector["JSON"]["v"][0]["ci"].as_str());
        assert!(dcc.expires.unwrap() > clock);
        assert_eq!(
            dcc.doses,
            vec![VerifiedDose {
                dose_number: Some(2),
                date: "2021-03-18".into(),
                product: DoseProduct {
                    system: CodeSystem::EuProduct,
                    code: "EU/1/21/1529".into(),
                    name: Some("Vaxzevria".into()),
                },
                lot: None,
            }]
        );

        let png = base64::engine::general_purpose::STANDARD
            .decode(vector["2DCODE"].as_str().unwrap())
            .unwrap();
        assert_eq!(verify(&png, &trust, clock).unwrap(), dcc);

        // The same certificate long after: refused as an EU DCC, with the reason.
        let late = verify(text.as_bytes(), &trust, now()).unwrap_err();
        assert_eq!(late.kind(), Some(CodeKind::EuDcc));
        assert!(late.to_string().starts_with("EU DCC: "), "{late}");
    }

    fn seal(pki: &Pki) -> vds_nc::VdsNc {
        let chiyoda = MunicipalityCode::parse("131016").unwrap();
        let dose = |n: u8, day: &str, product: &str, lot: &str| {
            DoseRecord::now(
                Dose {
                    municipality: chiyoda,
                    atena: AtenaNumber::parse("123456789012345").unwrap(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: day.parse().unwrap(),
                    product: VaccineProduct::by_code(product).unwrap(),
                    lot_number: LotNumber::parse(lot).unwrap(),
                    site_municipality: chiyoda,
                    coupon: CouponNumber::parse("0123456789").unwrap(),
                },
                DoseSource::Tablet,
            )
        };
        let holder = vds_nc::Holder::new(
            "ERIKSSON  ANNA MARIA",
            NaiveDate::from_ymd_opt(1974, 8, 12).unwrap(),
            "L898902C3",
            Some(MrzSex::Female),
        )
        .unwrap();
        let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
        vds_nc::VdsNc::issue(
            "7K3M9Q2XWZ4H",
            &holder,
            &[
                dose(1, "2021-06-01", "comirnaty", "FA4597"),
                dose(2, "2021-06-22", "comirnaty", "FC3661"),
            ],
            &pki.dsc.certificate_der,
            &key,
        )
        .unwrap()
    }

    #[test]
    fn a_vds_nc_seal_verifies_under_its_csca_and_not_another() {
        let ours = pki();
        let seal = seal(&ours);
        let mut trust = Trust::new();
        trust.add_csca(ours.csca.clone());
        let verified = verify(seal.to_json().as_bytes(), &trust, now()).unwrap();
        assert_eq!(verified.kind, CodeKind::VdsNc);
        assert_eq!(verified.issuer, "VRS Test DS 131016 (JPN)");
        assert_eq!(verified.holder_name, "ERIKSSON  ANNA MARIA");
        assert_eq!(verified.birth_date, "1974-08-12");
        assert!(verified.id.as_deref().is_some_and(|id| !id.is_empty()));
        assert_eq!(verified.doses.len(), 2);
        assert_eq!(verified.doses[1].dose_number, Some(2));
        assert_eq!(verified.doses[1].date, "2021-06-22");
        assert_eq!(verified.doses[1].lot.as_deref(), Some("FC3661"));
        assert_eq!(verified.doses[1].product.code, "XM68M6");
        assert_eq!(verified.doses[1].product.name.as_deref(), Some("Comirnaty"));

        // A photo of its QR code, JPEG-compressed, reads back to the same seal.
        let jpeg = picture(&seal.qr_code().unwrap(), 6, ImageFormat::Jpeg);
        assert_eq!(verify(&jpeg, &trust, now()).unwrap(), verified);

        let other = pki();
        let mut wrong = Trust::new();
        wrong.add_csca(other.csca);
        let err = verify(seal.to_json().as_bytes(), &wrong, now()).unwrap_err();
        assert_eq!(err.kind(), Some(CodeKind::VdsNc));
        assert!(err.to_string().contains("trusted CSCA"), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        if shared_testdata().is_none() {
            return;
        }
        let trust = shc_trust();
        for (input, why) in [
            (&b"hello, world"[..], "unknown text"),
            (b"  \n\t ", "empty"),
            (&[0u8, 159, 146, 150][..], "binary data"),
            (br#"{"name": "not a seal"}"#, "without data and sig"),
            (b"a.b.c!", "unknown text"),
        ] {
            let err = verify(input, &trust, now()).unwrap_err();
            assert!(matches!(err, VerifyError::Unrecognised(_)), "{err}");
            assert_eq!(err.kind(), None);
            assert!(err.to_string().contains(why), "{err}");
            assert!(err.to_string().contains("not a certificate code"), "{err}");
        }
        let dcc = verify(b"HC1:not base45 ~~", &trust, now()).unwrap_err();
        assert_eq!(dcc.kind(), Some(CodeKind::EuDcc));
        let seal = verify(b"{\"data\": ", &trust, now()).unwrap_err();
        assert_eq!(seal.kind(), Some(CodeKind::VdsNc));
        let shc = verify(b"shc:/5676abc", &trust, now()).unwrap_err();
        assert_eq!(shc.kind(), Some(CodeKind::Shc));
    }

    #[test]
    fn a_truncated_image_or_one_without_a_qr_code_is_refused() {
        if shared_testdata().is_none() {
            return;
        }
        let (vector, trust, clock) = dcc_vector();
        let png = base64::engine::general_purpose::STANDARD
            .decode(vector["2DCODE"].as_str().unwrap())
            .unwrap();
        let err = verify(&png[..png.len() / 2], &trust, clock).unwrap_err();
        assert!(matches!(err, VerifyError::Image(_)), "{err}");
        assert_eq!(err.kind(), None);

        let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(blank)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        let err = verify(out.get_ref(), &trust, clock).unwrap_err();
        assert!(matches!(err, VerifyError::NoQrCode), "{err}");
    }

    /// A blank picture of `width` × `height` with `code` drawn at `scale` pixels a module from
    /// (`left`, `top`), as PNG.
    fn photo(
        code: &qrcode::QrCode,
        width: u32,
        height: u32,
        scale: u32,
        (left, top): (u32, u32),
    ) -> Vec<u8> {
        let w = code.width() as u32;
        let colors = code.to_colors();
        let grey = image::GrayImage::from_fn(width, height, |x, y| {
            let inside =
                (left..left + w * scale).contains(&x) && (top..top + w * scale).contains(&y);
            let dark = inside && {
                let (mx, my) = ((x - left) / scale, (y - top) / scale);
                matches!(colors[(my * w + mx) as usize], qrcode::Color::Dark)
            };
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(grey)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_photo_is_read_scaled_down_and_one_over_16_megapixels_is_refused() {
        if shared_testdata().is_none() {
            return;
        }
        let jws = shc::decode_qr(&read("shc/examples/card.qr.txt")).unwrap();
        let code = shc::qr_code(&jws).unwrap();
        // A 12-megapixel phone photo with the code a third of its width: read at two megapixels.
        let png = photo(&code, 4000, 3000, 12, (1400, 900));
        let card = verify(&png, &shc_trust(), now()).unwrap();
        assert_eq!(card.holder_name, "Anyperson John B.");

        // 20 megapixels: refused from the header, before anything is decoded.
        let big = photo(&code, 5000, 4000, 12, (100, 100));
        let started = std::time::Instant::now();
        let err = verify(&big, &shc_trust(), now()).unwrap_err();
        assert!(matches!(err, VerifyError::ImageTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("16 megapixels"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
