//! EU Digital COVID Certificates (DCC), as a verifier reads them and as a Japanese municipality
//! issues them. The text in the QR code is `HC1:` + Base45 of the zlib-compressed COSE_Sign1 whose
//! payload is a CWT; the claim −260 → 1 holds the certificate (JSON schema 1.3 in CBOR).
//!
//! A certificate is valid only when every step holds, in this order: the prefix, Base45, zlib
//! (bounded), COSE_Sign1, a trusted signer found by the 8-byte key id whose key verifies the
//! signature, the CWT claims, issue and expiry times and the signer certificate's validity at the
//! caller's validation clock (never the wall clock here), the payload's structure (one of
//! vaccination, test or recovery), and the signer's extended key usage for that type. Each step is
//! public so conformance vectors can test one step on its own input.
//!
//! Issuing is in [`issue`]; the CBOR and COSE layers in [`cose`]; Base45 in [`base45`]; the
//! revocation lists by UVCI hash in [`revocation`].

use std::io::Read;

use vrs_crypto::x509::Certificate;

pub mod base45;
pub mod cose;
pub mod issue;
pub mod payload;
pub mod revocation;

pub use cose::{Algorithm, Claims, CoseSign1};
pub use issue::{issue, kid, qr_code, transliterate, vaccination_payload, Holder, Issuance, Uvci};
pub use payload::{check_key_usage, check_structure, CertificateType, DccName, VaccinationDose};

/// The context prefix of a DCC in a QR code (version 1 of the health certificate container).
pub const PREFIX: &str = "HC1:";

/// The largest inflated COSE message accepted. A DCC must fit one QR code (at most 4,296
/// alphanumeric characters, about 2.9 KB compressed) and real ones inflate to a few KB.
pub const INFLATED_LIMIT: u64 = 64 * 1024;

/// Why a DCC is refused, or could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum DccError {
    #[error("not an EU DCC: the text does not start with {PREFIX}")]
    Prefix,
    #[error("not Base45: {0}")]
    Base45(#[from] base45::Base45Error),
    #[error("not zlib-compressed: {0}")]
    Compression(String),
    #[error("the certificate inflates to more than {INFLATED_LIMIT} bytes")]
    TooLarge,
    #[error("not CBOR: {0}")]
    NotCbor(String),
    #[error("not a COSE_Sign1 message: {0}")]
    NotCose(String),
    #[error("the COSE headers name no signature algorithm")]
    NoAlgorithm,
    #[error("signature algorithm {0} is not supported (ES256 −7, ES384 −35 and PS256 −37 are)")]
    UnsupportedAlgorithm(i128),
    #[error("the COSE headers carry no key id")]
    NoKeyId,
    #[error("the key id is {0} bytes long, not 8")]
    KeyIdLength(usize),
    #[error("unknown key id {0}: no trusted signer has it")]
    UnknownKeyId(String),
    #[error("signature does not verify: the certificate was altered or not signed by its signer")]
    Signature,
    #[error("not a CWT: {0}")]
    NotCwt(String),
    #[error("the certificate has no expiry time (exp)")]
    NoExpiry,
    #[error("expired on {0}")]
    Expired(String),
    #[error("issued at {0}, after the validation clock")]
    NotYetValid(String),
    #[error(
        "the signer certificate is valid from {from} until {until}, not at the validation clock"
    )]
    SignerNotValid { from: String, until: String },
    #[error("the signer certificate may not sign {0} certificates (its extended key usage)")]
    KeyUsage(&'static str),
    #[error("not a DCC: {0}")]
    NotDcc(String),
    #[error("cannot issue: {0}")]
    Issue(String),
    #[error("signing failed: {0}")]
    Signing(#[from] vrs_crypto::CryptoError),
    #[error("too long for one QR code, or not QR alphanumeric text")]
    Qr,
}

/// The signers a verifier trusts, each under the key id a certificate names it by.
#[derive(Clone, Debug, Default)]
pub struct TrustList {
    signers: Vec<([u8; 8], Certificate)>,
}

impl TrustList {
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of one signer, under its own key id (as the test vectors give their signer).
    pub fn of(signer: Certificate) -> Self {
        let mut list = Self::new();
        list.add(signer);
        list
    }

    /// Adds a signer under its key id: the first 8 bytes of SHA-256 of its DER.
    pub fn add(&mut self, signer: Certificate) {
        let kid = kid(signer.der());
        self.add_with_kid(kid, signer);
    }

    /// Adds a signer under the key id a gateway's trust list gives it.
    pub fn add_with_kid(&mut self, kid: [u8; 8], signer: Certificate) {
        self.signers.push((kid, signer));
    }

    /// Adds every signer of another list, under the key ids it has there.
    pub fn extend(&mut self, other: TrustList) {
        self.signers.extend(other.signers);
    }

    /// The signers with this key id (ids may collide; each is tried).
    pub fn signers(&self, kid: &[u8]) -> Vec<&Certificate> {
        self.signers
            .iter()
            .filter(|(k, _)| k.as_slice() == kid)
            .map(|(_, c)| c)
            .collect()
    }
}

/// A DCC that passed every check.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedDcc {
    /// The certificate as JSON (schema 1.3).
    pub payload: serde_json::Value,
    pub kid: [u8; 8],
    /// The issuing country.
    pub iss: Option<String>,
    /// Issued at, unix seconds.
    pub iat: Option<i64>,
    /// Expires at, unix seconds.
    pub exp: i64,
    pub certificate_type: CertificateType,
    pub name: DccName,
    /// Date of birth as written: `YYYY-MM-DD`, `YYYY-MM`, `YYYY` or empty.
    pub dob: String,
    /// The vaccination entries (empty for a test or recovery certificate).
    pub doses: Vec<VaccinationDose>,
}

/// Verifies an `HC1:` text at `clock` (unix seconds) against the trusted signers.
pub fn verify(text: &str, trust: &TrustList, clock: i64) -> Result<VerifiedDcc, DccError> {
    let compressed = base45::decode(unprefix(text)?)?;
    verify_cose(&inflate(&compressed)?, trust, clock)
}

/// Verifies a COSE_Sign1 DCC (every step after zlib) at `clock` (unix seconds).
pub fn verify_cose(cose: &[u8], trust: &TrustList, clock: i64) -> Result<VerifiedDcc, DccError> {
    let message = CoseSign1::decode(cose)?;
    let (kid, signer) = check_signature(&message, trust)?;
    let claims = message.claims()?;
    let exp = check_times(&claims, signer, clock)?;
    let payload = claims.dcc_json()?;
    let (certificate_type, name, dob, doses) = check_structure(&payload)?;
    check_key_usage(signer, certificate_type)?;
    Ok(VerifiedDcc {
        payload,
        kid,
        iss: claims.iss,
        iat: claims.iat,
        exp,
        certificate_type,
        name,
        dob,
        doses,
    })
}

/// The Base45 text after the `HC1:` prefix (surrounding whitespace ignored).
pub fn unprefix(text: &str) -> Result<&str, DccError> {
    text.trim().strip_prefix(PREFIX).ok_or(DccError::Prefix)
}

/// Inflates zlib data, refusing more than [`INFLATED_LIMIT`] bytes.
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DccError> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(INFLATED_LIMIT + 1)
        .read_to_end(&mut out)
        .map_err(|e| DccError::Compression(e.to_string()))?;
    if out.len() as u64 > INFLATED_LIMIT {
        return Err(DccError::TooLarge);
    }
    Ok(out)
}

/// Compresses with zlib at the best level (the QR code is the constraint).
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    crate::compress::zlib(bytes)
}

/// Finds the trusted signer named by the message's key id whose key verifies its signature.
pub fn check_signature<'a>(
    message: &CoseSign1,
    trust: &'a TrustList,
) -> Result<([u8; 8], &'a Certificate), DccError> {
    let kid_bytes = message.kid().ok_or(DccError::NoKeyId)?;
    let kid: [u8; 8] = kid_bytes
        .try_into()
        .map_err(|_| DccError::KeyIdLength(kid_bytes.len()))?;
    let candidates = trust.signers(&kid);
    if candidates.is_empty() {
        return Err(DccError::UnknownKeyId(hex(&kid)));
    }
    for signer in candidates {
        if message.is_signed_by(signer)? {
            return Ok((kid, signer));
        }
    }
    Err(DccError::Signature)
}

/// Checks the CWT's issue and expiry times (an `iat` after the clock is refused; a missing `iat` is
/// not, as the CWT makes it optional) and the signer certificate's validity at `clock`;
/// returns the expiry.
pub fn check_times(claims: &Claims, signer: &Certificate, clock: i64) -> Result<i64, DccError> {
    if let Some(iat) = claims.iat {
        if clock < iat {
            return Err(DccError::NotYetValid(utc(iat)));
        }
    }
    let exp = claims.exp.ok_or(DccError::NoExpiry)?;
    // Valid through the `exp` second itself, as the EU's reference verifiers and the conformance
    // vectors (which set the validation clock to `exp`) have it.
    if clock > exp {
        return Err(DccError::Expired(utc(exp)));
    }
    if clock < signer.not_before() || clock > signer.not_after() {
        return Err(DccError::SignerNotValid {
            from: utc(signer.not_before()),
            until: utc(signer.not_after()),
        });
    }
    Ok(exp)
}

fn utc(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("unix time {seconds}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
