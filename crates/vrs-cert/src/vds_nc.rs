//! ICAO Visible Digital Seal for Non-Constrained environments (VDS-NC, ICAO technical report,
//! 2021), profile `icao.vacc` (proof of vaccination): the signed JSON an overseas certificate
//! carries in a QR code, as an issuer writes it ([`VdsNc::issue`]) and a verifier reads it
//! ([`verify`]).
//!
//! A seal is `{"data": {"hdr": …, "msg": …}, "sig": {"alg": "ES256", "cer": …, "sigvl": …}}`.
//! The signature is ECDSA P-256 over the RFC 8785 canonical JSON of `data`, so a verifier may
//! receive the keys in any order and with any whitespace; `cer` is the barcode signer's
//! certificate (base64url DER), issued by the deployment's CSCA ([`vrs_crypto::pki`]).
//!
//! A seal is valid only when every step holds: it is JSON of that shape; the header says
//! `icao.vacc` version 1; the algorithm is ES256; the signer certificate was signed by a trusted
//! CSCA, both are within their validity at the verifier's clock, the signer carries the VDS-NC
//! extended key usage and its country is the header's issuing state; and the signature verifies.
//!
//! Field limits are the report's: `uvci` ≤ 12, `pid.n` ≤ 39 (the MRZ name field), `pid.i` ≤ 11,
//! `adm` ≤ 20, `lot` ≤ 20 characters; `seq` is a number from 1 to 99.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::EKU_VDS_NC;
use vrs_crypto::x509::{Certificate, SignatureAlgorithm};
use vrs_domain::{DoseRecord, Mrz, MrzSex, VaccineProduct};

/// `data.hdr.t` of a proof of vaccination.
pub const TYPE_VACCINATION: &str = "icao.vacc";
/// `data.hdr.v` this module writes and reads.
pub const VERSION: u64 = 1;
/// ICD-11 extension code "COVID-19 vaccines": `des` of every product in the catalogue.
pub const ICD11_COVID19_VACCINES: &str = "XM68M6";
/// ICD-11 "COVID-19, virus identified": `dis`.
pub const ICD11_COVID19: &str = "RA01.0";

pub const UVCI_MAX: usize = 12;
pub const NAME_MAX: usize = 39;
pub const DOCUMENT_NUMBER_MAX: usize = 11;
pub const ADMINISTERING_CENTRE_MAX: usize = 20;
pub const LOT_MAX: usize = 20;
/// The largest seal read: a QR code of version 40 holds under 3 KB.
const JSON_LIMIT: usize = 8 * 1024;

/// The countries whose signer certificates this module can match to a header's issuing state:
/// X.509 names a country by ISO 3166 alpha-2, the seal by alpha-3. Extend it before trusting
/// another state's CSCA.
const COUNTRIES: &[(&str, &str)] = &[("JP", "JPN")];

/// The vaccinated person as the seal names them (`pid`): the passport's MRZ name, birth date,
/// passport number and, optionally, sex.
#[derive(Clone, PartialEq, Eq)]
pub struct Holder {
    name: String,
    birth_date: NaiveDate,
    document_number: String,
    sex: Option<MrzSex>,
}

impl Holder {
    /// A holder from parts: `name` as in the passport's MRZ (fillers as spaces, at most 39
    /// characters), the passport number (upper-case letters and digits, at most 11).
    pub fn new(
        name: &str,
        birth_date: NaiveDate,
        document_number: &str,
        sex: Option<MrzSex>,
    ) -> Result<Self, VdsNcError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX || has_control(name) {
            return Err(field("pid.n", "must be 1 to 39 characters, as in the MRZ"));
        }
        if document_number.is_empty()
            || document_number.len() > DOCUMENT_NUMBER_MAX
            || !document_number
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(field(
                "pid.i",
                "must be 1 to 11 upper-case letters and digits",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            birth_date,
            document_number: document_number.to_owned(),
            sex,
        })
    }

    /// The holder as the passport's MRZ states them.
    pub fn from_mrz(mrz: &Mrz) -> Self {
        Self {
            name: mrz.name_field().to_owned(),
            birth_date: mrz.birth_date(),
            document_number: mrz.document_number().to_owned(),
            sex: Some(mrz.sex()),
        }
    }

    /// "ERIKSSON  ANNA MARIA": surname, two spaces, given names.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn document_number(&self) -> &str {
        &self.document_number
    }

    pub fn sex(&self) -> Option<MrzSex> {
        self.sex
    }
}

/// Personal data: `Debug` shows none of it.
impl std::fmt::Debug for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Holder(..)")
    }
}

/// One dose as a verified seal states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedDose {
    /// `des`: the ICD-11 vaccine code.
    pub vaccine_code: String,
    /// `nam`: the product name.
    pub product_name: String,
    /// The catalogue's product of that English name, if any.
    pub product: Option<&'static VaccineProduct>,
    /// `dis`: the disease targeted, if given.
    pub disease: Option<String>,
    /// `dvc`
    pub date: NaiveDate,
    /// `seq`
    pub dose_number: u8,
    /// `ctr`: the country of vaccination (alpha-3).
    pub country: String,
    /// `adm`: the administering centre or authority, if given.
    pub administering_centre: Option<String>,
    /// `lot`
    pub lot: String,
}

/// What a valid seal says, and who signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSeal {
    pub uvci: String,
    /// `hdr.is`
    pub issuing_state: String,
    pub holder: Holder,
    /// In the seal's order.
    pub doses: Vec<SealedDose>,
    /// The signer certificate's common name.
    pub signer: Option<String>,
    /// The signer certificate's key id ([`crate::dcc::kid`] of its DER): the `kid` of the
    /// revocation lists that revoke this seal.
    pub signer_kid: [u8; 8],
}

/// Why a seal cannot be made, or is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VdsNcError {
    #[error("{path} {reason}")]
    Field { path: &'static str, reason: String },
    #[error("a seal needs at least one dose")]
    NoDoses,
    #[error("the seal is {0} bytes; no VDS-NC is larger than {JSON_LIMIT}")]
    TooLarge(usize),
    #[error("the seal is not JSON: {0}")]
    Json(String),
    #[error("not a proof of vaccination: data.hdr.t is {0}, expected \"icao.vacc\"")]
    Type(String),
    #[error("data.hdr.v is {0}; only version 1 is known")]
    Version(String),
    #[error("the signature algorithm must be ES256, not {0}")]
    Algorithm(String),
    #[error("the signer certificate (sig.cer) cannot be read: {0}")]
    Certificate(String),
    #[error("the signer certificate was not issued by any trusted CSCA")]
    UntrustedSigner,
    #[error("the {which} certificate is not valid at {at}: valid from {from} to {to}")]
    OutOfValidity {
        which: &'static str,
        at: String,
        from: String,
        to: String,
    },
    #[error("the signer certificate is not for VDS-NC (extended key usage {EKU_VDS_NC} missing)")]
    NotVdsSigner,
    #[error(
        "the issuing state {header:?} is not the signer certificate's country {certificate:?}"
    )]
    Country { header: String, certificate: String },
    #[error("the signer certificate's country {0:?} has no alpha-3 code known here")]
    UnknownCountry(String),
    #[error(
        "the signature does not verify: the seal was altered or not signed by its certificate"
    )]
    Signature,
    #[error("the signing key does not belong to the signer certificate")]
    KeyMismatch,
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("the seal does not fit a QR code (version 40, error correction M)")]
    QrTooLarge,
}

fn field(path: &'static str, reason: impl Into<String>) -> VdsNcError {
    VdsNcError::Field {
        path,
        reason: reason.into(),
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The alpha-3 code of a certificate's alpha-2 country, if known.
fn alpha3(alpha2: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(two, _)| *two == alpha2)
        .map(|(_, three)| *three)
}

/// A signed `icao.vacc` seal.
#[derive(Clone, Debug, PartialEq)]
pub struct VdsNc {
    data: Value,
    sig: Value,
}

impl VdsNc {
    /// Signs the `data` of [`vaccination_data`] with the barcode signer's key; `dsc_der` is that
    /// key's certificate, which the seal carries. The issuing state is the certificate's country.
    pub fn issue(
        uvci: &str,
        holder: &Holder,
        doses: &[DoseRecord],
        dsc_der: &[u8],
        key: &SigningKey,
    ) -> Result<Self, VdsNcError> {
        let dsc =
            Certificate::from_der(dsc_der).map_err(|e| VdsNcError::Certificate(e.to_string()))?;
        let country = dsc.subject_country().unwrap_or_default();
        let issuing_state =
            alpha3(&country).ok_or_else(|| VdsNcError::UnknownCountry(country.clone()))?;
        let data = vaccination_data(uvci, issuing_state, holder, doses)?;
        let canonical = canonical(&data)?;
        let signature = key
            .sign(&canonical)
            .map_err(|e| VdsNcError::Signing(e.to_string()))?;
        if !dsc.verifies(SignatureAlgorithm::Es256, &canonical, &signature) {
            return Err(VdsNcError::KeyMismatch);
        }
        let sig = json!({
            "alg": "ES256",
            "cer": B64URL.encode(dsc_der),
            "sigvl": B64URL.encode(signature),
        });
        Ok(Self { data, sig })
    }

    /// The signed `data` member.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The seal as compact JSON: the QR code's content.
    pub fn to_json(&self) -> String {
        json!({"data": self.data, "sig": self.sig}).to_string()
    }

    /// The seal's QR code: one byte-mode segment, error correction M, in the smallest version
    /// that holds it.
    pub fn qr_code(&self) -> Result<qrcode::QrCode, VdsNcError> {
        use qrcode::bits::Bits;
        use qrcode::{EcLevel, Version};
        let text = self.to_json();
        for v in 1..=40 {
            let mut bits = Bits::new(Version::Normal(v));
            if bits.push_byte_data(text.as_bytes()).is_ok()
                && bits.push_terminator(EcLevel::M).is_ok()
            {
                return qrcode::QrCode::with_bits(bits, EcLevel::M)
                    .map_err(|_| VdsNcError::QrTooLarge);
            }
        }
        Err(VdsNcError::QrTooLarge)
    }
}

/// The `data` of an `icao.vacc` seal: header, certificate ID, holder, and the doses grouped by
/// product (`ve`), each product's doses in dose-number order (`vd`).
///
/// `adm` is the dose's venue when it fits the report's 20 characters of printable ASCII,
/// otherwise the code of the municipality where it was given (the report allows a name or a
/// code of the administering centre).
pub fn vaccination_data(
    uvci: &str,
    issuing_state: &str,
    holder: &Holder,
    doses: &[DoseRecord],
) -> Result<Value, VdsNcError> {
    if uvci.is_empty() || uvci.chars().count() > UVCI_MAX || has_control(uvci) {
        return Err(field(
            "msg.uvci",
            format!(
                "must be 1 to {UVCI_MAX} characters; {:?} has {}",
                uvci,
                uvci.chars().count()
            ),
        ));
    }
    if doses.is_empty() {
        return Err(VdsNcError::NoDoses);
    }
    let mut sorted: Vec<&DoseRecord> = doses.iter().collect();
    sorted.sort_by_key(|d| (d.dose.dose_number, d.dose.administered_on));
    let mut events: Vec<(&'static VaccineProduct, Vec<Value>)> = Vec::new();
    for record in sorted {
        let dose = &record.dose;
        let lot = dose.lot_number.as_str();
        if lot.chars().count() > LOT_MAX {
            return Err(field("vd.lot", format!("{lot:?} is longer than {LOT_MAX}")));
        }
        let vd = json!({
            "dvc": dose.administered_on.to_string(),
            "seq": dose.dose_number,
            "ctr": issuing_state,
            "adm": administering_centre(record),
            "lot": lot,
        });
        match events.iter_mut().find(|(p, _)| *p == dose.product) {
            Some((_, vds)) => vds.push(vd),
            None => events.push((dose.product, vec![vd])),
        }
    }
    let ve: Vec<Value> = events
        .into_iter()
        .map(|(product, vd)| {
            json!({
                "des": ICD11_COVID19_VACCINES,
                "nam": product.name,
                "dis": ICD11_COVID19,
                "vd": vd,
            })
        })
        .collect();
    let mut pid = Map::new();
    pid.insert("n".into(), holder.name.clone().into());
    pid.insert("dob".into(), holder.birth_date.to_string().into());
    if let Some(sex) = holder.sex {
        pid.insert("sex".into(), sex.letter().to_string().into());
    }
    pid.insert("i".into(), holder.document_number.clone().into());
    Ok(json!({
        "hdr": {"t": TYPE_VACCINATION, "v": VERSION, "is": issuing_state},
        "msg": {"uvci": uvci, "pid": pid, "ve": ve},
    }))
}

fn administering_centre(record: &DoseRecord) -> String {
    let venue = record.venue.trim();
    let fits = !venue.is_empty()
        && venue.chars().count() <= ADMINISTERING_CENTRE_MAX
        && venue.chars().all(|c| (' '..='~').contains(&c));
    if fits {
        venue.to_owned()
    } else {
        record.dose.site_municipality.as_str().to_owned()
    }
}

/// RFC 8785 canonical JSON: what the signature covers.
fn canonical(data: &Value) -> Result<Vec<u8>, VdsNcError> {
    serde_jcs::to_vec(data).map_err(|e| VdsNcError::Json(e.to_string()))
}

/// Verifies a seal's JSON against the trusted CSCA certificates at the verifier's clock `at`, and
/// returns what it says.
pub fn verify(
    json: &str,
    trusted_cscas: &[Certificate],
    at: DateTime<Utc>,
) -> Result<VerifiedSeal, VdsNcError> {
    if json.len() > JSON_LIMIT {
        return Err(VdsNcError::TooLarge(json.len()));
    }
    let seal: Value = serde_json::from_str(json).map_err(|e| VdsNcError::Json(e.to_string()))?;
    let data = seal
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| field("data", "is missing or not an object"))?;
    let hdr = object(data, "hdr", "data.hdr")?;
    let sig = object(&seal, "sig", "sig")?;

    if hdr["t"] != TYPE_VACCINATION {
        return Err(VdsNcError::Type(hdr["t"].to_string()));
    }
    if hdr["v"].as_u64() != Some(VERSION) {
        return Err(VdsNcError::Version(hdr["v"].to_string()));
    }
    let issuing_state = string(hdr, "is", "data.hdr.is")?;
    if sig["alg"] != "ES256" {
        return Err(VdsNcError::Algorithm(sig["alg"].to_string()));
    }

    let cer = decode(string(sig, "cer", "sig.cer")?)
        .ok_or_else(|| VdsNcError::Certificate("it is not base64url".into()))?;
    let dsc = Certificate::from_der(&cer).map_err(|e| VdsNcError::Certificate(e.to_string()))?;
    let csca = trusted_cscas
        .iter()
        .find(|csca| dsc.is_signed_by(csca))
        .ok_or(VdsNcError::UntrustedSigner)?;
    within_validity("CSCA", csca, at)?;
    within_validity("signer", &dsc, at)?;
    if !dsc.extended_key_usages().iter().any(|u| u == EKU_VDS_NC) {
        return Err(VdsNcError::NotVdsSigner);
    }
    let country = dsc.subject_country().unwrap_or_default();
    let known = alpha3(&country).ok_or_else(|| VdsNcError::UnknownCountry(country.clone()))?;
    if known != issuing_state {
        return Err(VdsNcError::Country {
            header: issuing_state.to_owned(),
            certificate: country,
        });
    }

    let signature = decode(string(sig, "sigvl", "sig.sigvl")?)
        .ok_or_else(|| field("sig.sigvl", "is not base64url"))?;
    if !dsc.verifies(SignatureAlgorithm::Es256, &canonical(data)?, &signature) {
        return Err(VdsNcError::Signature);
    }

    let msg = object(data, "msg", "data.msg")?;
    let (holder, doses) = read_message(msg)?;
    Ok(VerifiedSeal {
        uvci: string(msg, "uvci", "msg.uvci")?.to_owned(),
        issuing_state: issuing_state.to_owned(),
        holder,
        doses,
        signer: dsc.subject_common_name(),
        signer_kid: crate::dcc::kid(&cer),
    })
}

/// The signed message once its signature holds: holder and doses, each field checked for type.
fn read_message(msg: &Value) -> Result<(Holder, Vec<SealedDose>), VdsNcError> {
    let pid = object(msg, "pid", "msg.pid")?;
    let sex = match pid.get("sex") {
        None => None,
        Some(s) => Some(match s.as_str() {
            Some("M") => MrzSex::Male,
            Some("F") => MrzSex::Female,
            Some("X") => MrzSex::Unspecified,
            _ => return Err(field("pid.sex", "must be M, F or X")),
        }),
    };
    let holder = Holder {
        name: string(pid, "n", "pid.n")?.to_owned(),
        birth_date: date(pid, "dob", "pid.dob")?,
        document_number: optional(pid, "i", "pid.i")?.unwrap_or_default(),
        sex,
    };
    let mut doses = Vec::new();
    for event in array(msg, "ve", "msg.ve")? {
        let vaccine_code = string(event, "des", "ve.des")?.to_owned();
        let product_name = string(event, "nam", "ve.nam")?.to_owned();
        let disease = optional(event, "dis", "ve.dis")?;
        for vd in array(event, "vd", "ve.vd")? {
            let dose_number = vd["seq"]
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|n| (1..=99).contains(n))
                .ok_or_else(|| field("vd.seq", "must be a number from 1 to 99"))?;
            doses.push(SealedDose {
                vaccine_code: vaccine_code.clone(),
                product: VaccineProduct::catalogue()
                    .iter()
                    .find(|p| p.name == product_name),
                product_name: product_name.clone(),
                disease: disease.clone(),
                date: date(vd, "dvc", "vd.dvc")?,
                dose_number,
                country: string(vd, "ctr", "vd.ctr")?.to_owned(),
                administering_centre: optional(vd, "adm", "vd.adm")?,
                lot: string(vd, "lot", "vd.lot")?.to_owned(),
            });
        }
    }
    if doses.is_empty() {
        return Err(VdsNcError::NoDoses);
    }
    Ok((holder, doses))
}

fn within_validity(
    which: &'static str,
    cert: &Certificate,
    at: DateTime<Utc>,
) -> Result<(), VdsNcError> {
    let now = at.timestamp();
    if (cert.not_before()..=cert.not_after()).contains(&now) {
        return Ok(());
    }
    let show = |t: i64| {
        DateTime::<Utc>::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| t.to_string())
    };
    Err(VdsNcError::OutOfValidity {
        which,
        at: at.to_rfc3339(),
        from: show(cert.not_before()),
        to: show(cert.not_after()),
    })
}

/// base64url with or without padding.
fn decode(text: &str) -> Option<Vec<u8>> {
    B64URL.decode(text.trim_end_matches('=')).ok()
}

fn object<'a>(v: &'a Value, key: &str, path: &'static str) -> Result<&'a Value, VdsNcError> {
    v.get(key)
        .filter(|o| o.is_object())
        .ok_or_else(|| field(path, "is missing or not an object"))
}

fn array<'a>(v: &'a Value, key: &str, path: &'static str) -> Result<&'a Vec<Value>, VdsNcError> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| field(path, "is missing or not a list"))
}

fn string<'a>(v: &'a Value, key: &str, path: &'static str) -> Result<&'a str, VdsNcError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| field(path, "is missing or not text"))
}

fn optional(v: &Value, key: &str, path: &'static str) -> Result<Option<String>, VdsNcError> {
    match v.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(field(path, "is not text")),
    }
}

fn date(v: &Value, key: &str, path: &'static str) -> Result<NaiveDate, VdsNcError> {
    let text = string(v, key, path)?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| field(path, format!("{text:?} is not a date YYYY-MM-DD")))
}

#[cfg(test)]
mod tests;
