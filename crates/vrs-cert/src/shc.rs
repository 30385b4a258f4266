//! SMART Health Cards, as an issuer writes them ([`card_payload`], [`sign`]) and a verifier reads them: the `shc:/` numeric QR text, the compact JWS inside
//! (`zip: DEF`, `alg: ES256`, `kid` = JWK thumbprint), its raw-DEFLATE payload and the issuer's key
//! set. A card is valid only when every step holds: the numeric text decodes, the header names
//! compression and ES256, a trusted issuer's key with that `kid` verifies the signature, the payload
//! inflates to JSON whose `iss` is that issuer, and it carries a FHIR Bundle.
//!
//! Revocation follows the spec's "Revocation" section: a card carries a revocation ID `vc.rid`
//! ([`rid`], derived from the certificate ID), the issuer publishes per key a Card Revocation List
//! ([`Crl`]) and announces it with `crlVersion` on that key in its key set. Whether a verified card
//! is revoked is decided by the verifier's trust ([`crate::verify::Trust`]), after the signature.

use std::io::Read;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vrs_crypto::es256::{PublicKey, SigningKey};
use vrs_domain::CertificateId;

mod payload;

pub use payload::{card_payload, minimal_bundle, Bundle, CardPayload};

/// The largest inflated payload accepted (a card is a few kilobytes).
const PAYLOAD_LIMIT: u64 = 64 * 1024;

/// The longest JWS that fits one QR code of version 22 at error correction L (the spec's limit).
pub const SINGLE_QR_JWS_MAX: usize = 1195;

/// The holder as the card names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardName {
    pub family: String,
    pub given: String,
}

/// What is hashed with a certificate ID into its revocation ID; the version allows another
/// derivation later without colliding with this one.
const RID_CONTEXT: &str = "VRS-SHC-rid/1|";

/// The longest revocation ID the spec allows (base64url characters, no `.`).
pub const RID_MAX: usize = 24;

/// The revocation method of the spec's CRLs: the card's own `vc.rid` is listed.
pub const CRL_METHOD_RID: &str = "rid";

/// The revocation ID (`vc.rid`) of the card printed on certificate `id`: base64url (no padding) of
/// the first 9 bytes of SHA-256 of `"VRS-SHC-rid/1|" + id`, 12 characters. The ID is random and
/// printed on the certificate itself, so its hash in a public CRL tells nobody more than the card
/// does, and the issuer recomputes it from the stored certificate ID when it revokes.
pub fn rid(id: &CertificateId) -> String {
    let digest = vrs_crypto::sha256(format!("{RID_CONTEXT}{id}").as_bytes());
    B64URL.encode(&digest[..9])
}

/// An issuer's Card Revocation List for one of its keys, as the spec publishes it at
/// `<iss>/.well-known/crl/<kid>.json`: the key's `kid`, the method (`"rid"`), the update counter
/// `ctr` (the key's `crlVersion` in the key set) and the revoked cards' `rid`s. An entry
/// `rid.timestamp` revokes only the cards with that `rid` whose `nbf` is before the timestamp
/// (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Crl {
    pub kid: String,
    pub method: String,
    /// A number; the spec's template quotes it, so a string of digits is read too.
    #[serde(deserialize_with = "counter")]
    pub ctr: u64,
    pub rids: Vec<String>,
}

/// Why a CRL cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("the CRL method is {0:?}; only \"rid\" is supported")]
    Method(String),
    #[error("the CRL has no kid")]
    NoKid,
    #[error("rids[{index}] {reason}")]
    Rid { index: usize, reason: &'static str },
}

impl Crl {
    /// Checks that the CRL can be applied: method `"rid"`, a `kid`, and each entry a `rid` of 1 to
    /// 24 base64url characters, optionally followed by `.` and a timestamp of digits.
    pub fn check(&self) -> Result<(), CrlError> {
        if self.method != CRL_METHOD_RID {
            return Err(CrlError::Method(self.method.clone()));
        }
        if self.kid.is_empty() {
            return Err(CrlError::NoKid);
        }
        for (index, entry) in self.rids.iter().enumerate() {
            let bad = |reason| CrlError::Rid { index, reason };
            let (rid, timestamp) = match entry.split_once('.') {
                Some((rid, t)) => (rid, Some(t)),
                None => (entry.as_str(), None),
            };
            if rid.is_empty() || rid.len() > RID_MAX || !is_base64url(rid) {
                return Err(bad("is not a rid of 1 to 24 base64url characters"));
            }
            if let Some(t) = timestamp {
                if t.is_empty()
                    || !t.bytes().all(|b| b.is_ascii_digit())
                    || t.parse::<i64>().is_err()
                {
                    return Err(bad(
                        "has a timestamp after the dot that is not Unix seconds",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether this list revokes a card with revocation ID `rid` and not-before `nbf` (Unix
    /// seconds): the `rid` is listed bare, or listed with a timestamp after `nbf`. A timestamped
    /// entry revokes a card without `nbf`, and an entry whose timestamp cannot be read revokes
    /// every card with its `rid` ([`Crl::check`] refuses such lists before they are trusted).
    pub fn revokes(&self, rid: &str, nbf: Option<i64>) -> bool {
        self.rids.iter().any(|entry| match entry.split_once('.') {
            None => entry == rid,
            Some((listed, timestamp)) => {
                listed == rid
                    && match (timestamp.parse::<i64>(), nbf) {
                        (Ok(t), Some(nbf)) => nbf < t,
                        _ => true,
                    }
            }
        })
    }
}

fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `ctr` as a number or a string of digits.
fn counter<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Counter {
        Number(u64),
        Text(String),
    }
    match Counter::deserialize(deserializer)? {
        Counter::Number(n) => Ok(n),
        Counter::Text(t) => t
            .parse()
            .map_err(|_| serde::de::Error::custom("ctr is not a counter")),
    }
}

/// Signs a payload (a [`CardPayload`], or any JSON) into a compact JWS: minified JSON, raw
/// DEFLATE, header `zip: DEF`, `alg: ES256` and `kid` = the key's thumbprint.
pub fn sign(payload: &impl Serialize, key: &SigningKey) -> Result<String, vrs_crypto::CryptoError> {
    /// The JWS header, members in the order of the JSON object it was written from before.
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        kid: &'a str,
        zip: &'static str,
    }
    let kid = key.kid();
    let header = serde_json::to_vec(&Header {
        alg: "ES256",
        kid: &kid,
        zip: "DEF",
    })
    .unwrap_or_default();
    let json = serde_json::to_vec(payload).unwrap_or_default();
    let compressed = crate::compress::raw(&json);
    let mut jws = String::with_capacity((header.len() + compressed.len() + 64) * 4 / 3 + 4);
    B64URL.encode_string(&header, &mut jws);
    jws.push('.');
    B64URL.encode_string(&compressed, &mut jws);
    let signature = key.sign(jws.as_bytes())?;
    jws.push('.');
    B64URL.encode_string(signature, &mut jws);
    Ok(jws)
}

/// Why a card is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShcError {
    #[error("not a SMART Health Card QR text (it must start with shc:/ followed by digits)")]
    NotShc,
    #[error("a card split over several QR codes (shc:/n/m/…) must be joined first")]
    Chunked,
    #[error("the numeric text is damaged: {0}")]
    Numeric(&'static str),
    #[error("not a compact JWS: {0}")]
    Jws(&'static str),
    #[error("the JWS header must have zip DEF (raw DEFLATE)")]
    NotCompressed,
    #[error("the JWS algorithm must be ES256, not {0:?}")]
    Algorithm(String),
    #[error("no trusted issuer has a key with kid {0:?}")]
    UnknownKey(String),
    #[error("the signature does not verify: the card was altered or not signed by its issuer")]
    Signature,
    #[error("the payload does not inflate to JSON: {0}")]
    Payload(String),
    #[error("the payload's issuer {found:?} is not the issuer of the key ({expected:?})")]
    Issuer { found: String, expected: String },
    #[error("the payload carries no FHIR Bundle (vc.credentialSubject.fhirBundle)")]
    NoBundle,
    #[error("a JWS of {0} characters does not fit one QR code of version 22")]
    TooLarge(usize),
}

/// The compact JWS a `shc:/` text holds: each pair of digits is a character code minus 45.
pub fn decode_qr(text: &str) -> Result<String, ShcError> {
    let digits = text.trim().strip_prefix("shc:/").ok_or(ShcError::NotShc)?;
    if digits.contains('/') {
        return Err(ShcError::Chunked);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ShcError::NotShc);
    }
    if digits.len() % 2 != 0 {
        return Err(ShcError::Numeric("an odd number of digits"));
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let n = (pair[0] - b'0') * 10 + (pair[1] - b'0');
            if n > 77 {
                return Err(ShcError::Numeric("a pair above 77"));
            }
            Ok(char::from(n + 45))
        })
        .collect()
}

/// The QR code of a card as the spec requires: a byte segment `shc:/` then one numeric segment,
/// error correction L, in the smallest version that holds it, no larger than 22.
pub fn qr_code(jws: &str) -> Result<qrcode::QrCode, ShcError> {
    use qrcode::bits::Bits;
    use qrcode::{EcLevel, Version};
    let text = encode_qr(jws);
    let digits = &text.as_bytes()["shc:/".len()..];
    for v in 1..=22 {
        let mut bits = Bits::new(Version::Normal(v));
        let fits = bits.push_byte_data(b"shc:/").is_ok()
            && bits.push_numeric_data(digits).is_ok()
            && bits.push_terminator(EcLevel::L).is_ok();
        if fits {
            return qrcode::QrCode::with_bits(bits, EcLevel::L)
                .map_err(|_| ShcError::Numeric("the QR code could not be built"));
        }
    }
    Err(ShcError::TooLarge(jws.len()))
}

/// The `shc:/` text of a compact JWS.
pub fn encode_qr(jws: &str) -> String {
    const PREFIX: &[u8] = b"shc:/";
    let mut out = vec![0; PREFIX.len() + jws.len() * 2];
    let (prefix, digits) = out.split_at_mut(PREFIX.len());
    prefix.copy_from_slice(PREFIX);
    for (pair, b) in digits.chunks_exact_mut(2).zip(jws.bytes()) {
        let n = b.saturating_sub(45);
        pair[0] = b'0' + n / 10;
        pair[1] = b'0' + n % 10;
    }
    // Every byte written is ASCII (at most b'0' + 21), so the text is always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// One trusted issuer: its URL (`iss`) and its ES256 keys by `kid`, each with the `crlVersion`
/// the key set gives it when the issuer publishes a CRL for that key.
#[derive(Clone, Debug)]
pub struct Issuer {
    pub url: String,
    keys: Vec<IssuerKey>,
}

#[derive(Clone, Debug)]
struct IssuerKey {
    kid: String,
    key: PublicKey,
    crl_version: Option<u64>,
}

impl Issuer {
    /// An issuer from its published key set (`/.well-known/jwks.json`); keys that are not EC P-256
    /// signing keys are ignored.
    pub fn from_jwks(url: &str, jwks: &Value) -> Self {
        let keys = jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter(|k| k["kty"] == "EC" && k["crv"] == "P-256")
                    .filter_map(|k| {
                        Some(IssuerKey {
                            kid: k["kid"].as_str()?.to_owned(),
                            key: PublicKey::from_jwk(k["x"].as_str()?, k["y"].as_str()?)?,
                            crl_version: k["crlVersion"].as_u64(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            url: url.to_owned(),
            keys,
        }
    }

    /// The `kid`s of the issuer's usable keys.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The `crlVersion` the key set gives key `kid`: present when the issuer publishes a CRL for
    /// it, which a verifier must then hold (at least that version) to see its revocations.
    pub fn crl_version(&self, kid: &str) -> Option<u64> {
        self.keys
            .iter()
            .find(|k| k.kid == kid)
            .and_then(|k| k.crl_version)
    }
}

/// A verified card: who issued it and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedCard {
    pub issuer: String,
    pub kid: String,
    pub payload: Value,
}

impl VerifiedCard {
    /// The FHIR Bundle the card carries.
    pub fn bundle(&self) -> &Value {
        &self.payload["vc"]["credentialSubject"]["fhirBundle"]
    }

    /// The card's revocation ID `vc.rid`; a card without one cannot be revoked individually.
    pub fn rid(&self) -> Option<&str> {
        self.payload["vc"]["rid"].as_str()
    }

    /// The card's not-before time `nbf` in whole Unix seconds (a fractional `nbf` rounds down,
    /// which keeps "before a timestamp" exact for the whole seconds CRLs use).
    pub fn nbf(&self) -> Option<i64> {
        self.payload["nbf"].as_f64().map(|nbf| nbf.floor() as i64)
    }
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, ShcError> {
    B64URL.decode(part).map_err(|_| ShcError::Jws(what))
}

/// Verifies a compact JWS against the trusted issuers.
pub fn verify_jws(jws: &str, trusted: &[Issuer]) -> Result<VerifiedCard, ShcError> {
    let mut parts = jws.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ShcError::Jws("it must have three parts"));
    };
    let header: Value = serde_json::from_slice(&b64(h, "the header is not base64url")?)
        .map_err(|_| ShcError::Jws("the header is not JSON"))?;
    if header["zip"] != "DEF" {
        return Err(ShcError::NotCompressed);
    }
    if header["alg"] != "ES256" {
        return Err(ShcError::Algorithm(header["alg"].to_string()));
    }
    let kid = header["kid"].as_str().unwrap_or_default().to_owned();
    let (issuer, key) = trusted
        .iter()
        .find_map(|i| i.keys.iter().find(|k| k.kid == kid).map(|k| (i, &k.key)))
        .ok_or_else(|| ShcError::UnknownKey(kid.clone()))?;
    let signature = b64(s, "the signature is not base64url")?;
    let signing_input = &jws.trim()[..h.len() + 1 + p.len()];
    if !key.verifies(signing_input.as_bytes(), &signature) {
        return Err(ShcError::Signature);
    }
    let compressed = b64(p, "the payload is not base64url")?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice())
        .take(PAYLOAD_LIMIT)
        .read_to_end(&mut json)
        .map_err(|e| ShcError::Payload(e.to_string()))?;
    let payload: Value =
        serde_json::from_slice(&json).map_err(|e| ShcError::Payload(e.to_string()))?;
    let iss = payload["iss"].as_str().unwrap_or_default();
    if iss != issuer.url {
        return Err(ShcError::Issuer {
            found: iss.to_owned(),
            expected: issuer.url.clone(),
        });
    }
    let card = VerifiedCard {
        issuer: issuer.url.clone(),
        kid,
        payload,
    };
    if card.bundle()["resourceType"] != "Bundle" {
        return Err(ShcError::NoBundle);
    }
    Ok(card)
}

/// Verifies the text of a card's QR code.
pub fn verify_qr(text: &str, trusted: &[Issuer]) -> Result<VerifiedCard, ShcError> {
    verify_jws(&decode_qr(text)?, trusted)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Renders a QR code in grey levels (4 pixels a module, a 4-module quiet zone) and reads it
    /// back with an independent QR reader.
    fn read_back(code: &qrcode::QrCode) -> String {
        let (w, scale, quiet) = (code.width(), 4, 4);
        let colors = code.to_colors();
        let size = (w + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            if mx < quiet || my < quiet || mx >= w + quiet || my >= w + quiet {
                return 255;
            }
            match colors[(my - quiet) * w + (mx - quiet)] {
                qrcode::Color::Dark => 0,
                qrcode::Color::Light => 255,
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_card_qr_code_is_byte_then_numeric_and_reads_back() {
        let jws = format!("eyJ6aXAiOiJERUYifQ.{}.sig", "A".repeat(900));
        let code = qr_code(&jws).unwrap();
        let qrcode::Version::Normal(v) = code.version() else {
            panic!("a normal QR version");
        };
        assert!(v <= 22, "version {v}");
        assert_eq!(read_back(&code), encode_qr(&jws));
        assert!(matches!(
            qr_code(&"A".repeat(1300)),
            Err(ShcError::TooLarge(1300))
        ));
    }

    fn crl(rids: &[&str]) -> Crl {
        Crl {
            kid: "kid-1".into(),
            method: CRL_METHOD_RID.into(),
            ctr: 2,
            rids: rids.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn a_crl_revokes_listed_rids_and_timestamped_ones_before_their_time() {
        // The spec's example: AQPCj4wwk6Mt always, lHKzqFUMjhs when issued before 2021-11-15 12:00.
        let list = crl(&["AQPCj4wwk6Mt", "lHKzqFUMjhs.1636977600"]);
        list.check().unwrap();
        assert!(list.revokes("AQPCj4wwk6Mt", Some(1_700_000_000)));
        assert!(list.revokes("AQPCj4wwk6Mt", None));
        assert!(list.revokes("lHKzqFUMjhs", Some(1_636_977_599)));
        assert!(!list.revokes("lHKzqFUMjhs", Some(1_636_977_600)));
        assert!(!list.revokes("lHKzqFUMjhs", Some(1_636_977_601)));
        assert!(list.revokes("lHKzqFUMjhs", None), "no nbf: revoked");
        assert!(
            !list.revokes("AQPCj4wwk6M", Some(0)),
            "a prefix is another rid"
        );
        assert!(!list.revokes("other", Some(0)));
    }

    #[test]
    fn a_crl_has_the_spec_field_names_and_a_quoted_counter_is_read() {
        let list = crl(&["AQPCj4wwk6Mt"]);
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(
            json,
            json!({"kid": "kid-1", "method": "rid", "ctr": 2, "rids": ["AQPCj4wwk6Mt"]})
        );
        let quoted: Crl = serde_json::from_value(
            json!({"kid": "kid-1", "method": "rid", "ctr": "2", "rids": ["AQPCj4wwk6Mt"]}),
        )
        .unwrap();
        assert_eq!(quoted, list);
        assert!(serde_json::from_value::<Crl>(
            json!({"kid": "k", "method": "rid", "ctr": "two", "rids": []})
        )
        .is_err());
    }

    #[test]
    fn a_crl_of_another_method_or_with_a_bad_rid_is_refused() {
        let mut other = crl(&[]);
        other.method = "hash-fhir".into();
        assert_eq!(other.check(), Err(CrlError::Method("hash-fhir".into())));
        for (bad, index) in [
            (vec!["ok", "has space"], 1),
            (vec!["A".repeat(25).as_str(), "ok"], 0),
            (vec!["ok", ""], 1),
            (vec!["ok.12x"], 0),
            (vec!["ok."], 0),
            (vec!["ok.1.2"], 0),
        ] {
            let err = crl(&bad).check().unwrap_err();
            assert!(
                matches!(err, CrlError::Rid { index: i, .. } if i == index),
                "{bad:?}: {err}"
            );
        }
        crl(&["A".repeat(24).as_str(), "a-b_c.0"]).check().unwrap();
    }

    #[test]
    fn the_numeric_text_round_trips_and_refuses_damage() {
        let jws = "eyJ.abc-_.xyz";
        assert_eq!(decode_qr(&encode_qr(jws)).unwrap(), jws);
        // Each character as its code minus 45, two digits (the spec's numeric encoding).
        assert_eq!(encode_qr("-.AZaz09_"), "shc:/000120455277031250");
        assert_eq!(decode_qr("HC1:abc"), Err(ShcError::NotShc));
        assert_eq!(decode_qr("shc:/1/2/5676"), Err(ShcError::Chunked));
        assert_eq!(
            decode_qr("shc:/567"),
            Err(ShcError::Numeric("an odd number of digits"))
        );
        assert_eq!(
            decode_qr("shc:/99"),
            Err(ShcError::Numeric("a pair above 77"))
        );
    }
}
