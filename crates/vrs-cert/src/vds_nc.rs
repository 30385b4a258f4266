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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::test_pki::{pki, Pki, NOW};

    use super::*;
    use vrs_crypto::pki::DSC_VALIDITY_SECS;
    use vrs_domain::{Dose, DoseSource, LotNumber, MunicipalityCode};

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    fn holder() -> Holder {
        let mrz = Mrz::parse_on(
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
            NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
        )
        .unwrap();
        Holder::from_mrz(&mrz)
    }

    fn doses() -> Vec<DoseRecord> {
        let chiyoda = MunicipalityCode::parse("131016").unwrap();
        [
            (1u8, "2021-06-01", "comirnaty", "FA4597", "Chiyoda Hall"),
            (2, "2021-06-22", "comirnaty", "FC3661", ""),
            (3, "2022-01-28", "spikevax", "3004667", "千代田区役所"),
        ]
        .into_iter()
        .map(|(n, day, product, lot, venue)| {
            let mut record = DoseRecord::now(
                Dose {
                    municipality: chiyoda,
                    atena: vrs_domain::AtenaNumber::parse("123456789012345").unwrap(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: day.parse().unwrap(),
                    product: VaccineProduct::by_code(product).unwrap(),
                    lot_number: LotNumber::parse(lot).unwrap(),
                    site_municipality: chiyoda,
                    coupon: vrs_domain::CouponNumber::parse("0123456789").unwrap(),
                },
                DoseSource::Tablet,
            );
            record.venue = venue.to_owned();
            record
        })
        .collect()
    }

    fn seal(pki: &Pki) -> VdsNc {
        let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
        VdsNc::issue(
            "7K3M9Q2XWZ4H",
            &holder(),
            &doses(),
            &pki.dsc.certificate_der,
            &key,
        )
        .unwrap()
    }

    /// The seal with `data` changed by `edit`, signature untouched.
    fn tampered(seal: &VdsNc, edit: impl FnOnce(&mut Value)) -> String {
        let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
        edit(&mut value["data"]);
        value.to_string()
    }

    #[test]
    fn a_seal_round_trips_to_its_holder_and_doses() {
        let pki = pki();
        let seal = seal(&pki);
        let verified = verify(
            &seal.to_json(),
            std::slice::from_ref(&pki.csca),
            at(NOW + 60),
        )
        .unwrap();
        assert_eq!(verified.uvci, "7K3M9Q2XWZ4H");
        assert_eq!(verified.issuing_state, "JPN");
        assert_eq!(verified.holder, holder());
        assert_eq!(verified.holder.name(), "ERIKSSON  ANNA MARIA");
        assert_eq!(verified.holder.document_number(), "L898902C3");
        assert_eq!(verified.holder.sex(), Some(MrzSex::Female));
        assert_eq!(verified.signer.as_deref(), Some("VRS Test DS 131016"));
        let summary: Vec<_> = verified
            .doses
            .iter()
            .map(|d| {
                (
                    d.dose_number,
                    d.date.to_string(),
                    d.product.map(|p| p.code),
                    d.lot.as_str(),
                    d.administering_centre.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    1,
                    "2021-06-01".into(),
                    Some("comirnaty"),
                    "FA4597",
                    Some("Chiyoda Hall")
                ),
                (
                    2,
                    "2021-06-22".into(),
                    Some("comirnaty"),
                    "FC3661",
                    Some("131016")
                ),
                (
                    3,
                    "2022-01-28".into(),
                    Some("spikevax"),
                    "3004667",
                    Some("131016")
                ),
            ]
        );
        for d in &verified.doses {
            assert_eq!(d.vaccine_code, "XM68M6");
            assert_eq!(d.disease.as_deref(), Some("RA01.0"));
            assert_eq!(d.country, "JPN");
        }
    }

    #[test]
    fn the_message_has_the_reports_field_names() {
        let pki = pki();
        let data = seal(&pki).data().clone();
        assert_eq!(data["hdr"], json!({"t": "icao.vacc", "v": 1, "is": "JPN"}));
        let pid = &data["msg"]["pid"];
        assert_eq!(
            pid,
            &json!({"n": "ERIKSSON  ANNA MARIA", "dob": "1974-08-12", "sex": "F", "i": "L898902C3"})
        );
        let ve = data["msg"]["ve"].as_array().unwrap();
        assert_eq!(ve.len(), 2, "one event per product");
        assert_eq!(ve[0]["nam"], "Comirnaty");
        assert_eq!(
            ve[0]["vd"][0],
            json!({"dvc": "2021-06-01", "seq": 1, "ctr": "JPN", "adm": "Chiyoda Hall", "lot": "FA4597"})
        );
        let json: Value = serde_json::from_str(&seal(&pki).to_json()).unwrap();
        let sig = json["sig"].as_object().unwrap();
        assert_eq!(sig["alg"], "ES256");
        assert_eq!(
            decode(sig["cer"].as_str().unwrap()).unwrap(),
            pki.dsc.certificate_der
        );
        assert_eq!(decode(sig["sigvl"].as_str().unwrap()).unwrap().len(), 64);
    }

    type Edit = Box<dyn FnOnce(&mut Value)>;

    #[test]
    fn a_changed_name_or_dose_is_refused() {
        let pki = pki();
        let seal = seal(&pki);
        let trusted = [pki.csca.clone()];
        let edits: [(&str, Edit); 5] = [
            (
                "name",
                Box::new(|d: &mut Value| d["msg"]["pid"]["n"] = json!("ERIKSSON  ANNA MARIE")),
            ),
            (
                "birth date",
                Box::new(|d: &mut Value| d["msg"]["pid"]["dob"] = json!("1974-08-13")),
            ),
            (
                "lot",
                Box::new(|d: &mut Value| d["msg"]["ve"][0]["vd"][1]["lot"] = json!("FC3662")),
            ),
            (
                "dose number",
                Box::new(|d: &mut Value| d["msg"]["ve"][1]["vd"][0]["seq"] = json!(4)),
            ),
            (
                "dose removed",
                Box::new(|d: &mut Value| {
                    d["msg"]["ve"][0]["vd"].as_array_mut().unwrap().pop();
                }),
            ),
        ];
        for (what, edit) in edits {
            let json = tampered(&seal, edit);
            assert_eq!(
                verify(&json, &trusted, at(NOW)).unwrap_err(),
                VdsNcError::Signature,
                "{what}"
            );
        }
    }

    #[test]
    fn a_signer_from_another_csca_is_refused() {
        let ours = pki();
        let theirs = pki();
        let seal = seal(&theirs);
        assert_eq!(
            verify(&seal.to_json(), std::slice::from_ref(&ours.csca), at(NOW)).unwrap_err(),
            VdsNcError::UntrustedSigner
        );
        assert_eq!(
            verify(&seal.to_json(), &[], at(NOW)).unwrap_err(),
            VdsNcError::UntrustedSigner
        );
        // Trusting both finds the right one.
        assert!(verify(&seal.to_json(), &[ours.csca, theirs.csca], at(NOW)).is_ok());
    }

    #[test]
    fn an_expired_or_not_yet_valid_signer_is_refused() {
        let pki = pki();
        let json = seal(&pki).to_json();
        let trusted = [pki.csca.clone()];
        assert!(verify(&json, &trusted, at(NOW + DSC_VALIDITY_SECS)).is_ok());
        let err = verify(&json, &trusted, at(NOW + DSC_VALIDITY_SECS + 1)).unwrap_err();
        assert!(
            matches!(
                err,
                VdsNcError::OutOfValidity {
                    which: "signer",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("2026-04-02"), "{err}");
        let err = verify(&json, &trusted, at(NOW - 1)).unwrap_err();
        assert!(matches!(err, VdsNcError::OutOfValidity { .. }), "{err}");
    }

    /// Serialises with every object's keys in reverse order and generous whitespace.
    fn reordered(v: &Value, indent: usize) -> String {
        let pad = " ".repeat(indent);
        match v {
            Value::Object(map) => {
                let members: Vec<String> = map
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("\n{pad}  {} :\t{}", json!(k), reordered(v, indent + 2)))
                    .collect();
                format!("{{{}\n{pad}}}", members.join(" ,"))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|i| reordered(i, indent + 2)).collect();
                format!("[ {} ]", items.join(" , "))
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let pki = pki();
        let seal = seal(&pki);
        let original: Value = serde_json::from_str(&seal.to_json()).unwrap();
        let json = reordered(&original, 0);
        assert!(json.find("\"sig\"").unwrap() < json.find("\"data\"").unwrap());
        assert!(json.find("\"msg\"").unwrap() < json.find("\"hdr\"").unwrap());
        let verified = verify(&json, std::slice::from_ref(&pki.csca), at(NOW)).unwrap();
        assert_eq!(verified.holder, holder());
        // The canonical form is RFC 8785's: sorted keys, no whitespace.
        let canonical = String::from_utf8(canonical(seal.data()).unwrap()).unwrap();
        assert!(canonical.starts_with(r#"{"hdr":{"is":"JPN","t":"icao.vacc","v":1},"msg":{"pid":{"dob":"1974-08-12","i":"L898902C3","n":"ERIKSSON  ANNA MARIA","sex":"F"},"uvci":"7K3M9Q2XWZ4H","ve":[{"des":"XM68M6","dis":"RA01.0","nam":"Comirnaty","vd":[{"adm":"Chiyoda Hall","ctr":"JPN","dvc":"2021-06-01","lot":"FA4597","seq":1}"#));
    }

    #[test]
    fn a_wrong_header_algorithm_or_shape_is_refused_with_a_reason() {
        let pki = pki();
        let seal = seal(&pki);
        let trusted = [pki.csca.clone()];
        let json = tampered(&seal, |d| d["hdr"]["t"] = json!("icao.test"));
        assert!(matches!(
            verify(&json, &trusted, at(NOW)),
            Err(VdsNcError::Type(_))
        ));
        let json = tampered(&seal, |d| d["hdr"]["v"] = json!(2));
        assert!(matches!(
            verify(&json, &trusted, at(NOW)),
            Err(VdsNcError::Version(_))
        ));
        let json = tampered(&seal, |d| d["hdr"]["is"] = json!("FRA"));
        assert!(matches!(
            verify(&json, &trusted, at(NOW)),
            Err(VdsNcError::Country { .. })
        ));
        let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
        value["sig"]["alg"] = json!("ES384");
        assert!(matches!(
            verify(&value.to_string(), &trusted, at(NOW)),
            Err(VdsNcError::Algorithm(_))
        ));
        value["sig"]["alg"] = json!("ES256");
        value["sig"]["cer"] = json!("AAAA");
        assert!(matches!(
            verify(&value.to_string(), &trusted, at(NOW)),
            Err(VdsNcError::Certificate(_))
        ));
        assert!(matches!(
            verify("not json", &trusted, at(NOW)),
            Err(VdsNcError::Json(_))
        ));
        assert!(matches!(
            verify("{}", &trusted, at(NOW)),
            Err(VdsNcError::Field { .. })
        ));
        assert!(matches!(
            verify(&" ".repeat(JSON_LIMIT + 1), &trusted, at(NOW)),
            Err(VdsNcError::TooLarge(_))
        ));
        // A certificate signed by the CSCA but without the VDS-NC usage: the CSCA itself.
        let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
        value["sig"]["cer"] = json!(B64URL.encode(pki.csca.der()));
        assert_eq!(
            verify(&value.to_string(), &trusted, at(NOW)).unwrap_err(),
            VdsNcError::NotVdsSigner
        );
    }

    #[test]
    fn the_reports_limits_are_kept_when_issuing() {
        let pki = pki();
        let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
        let issue = |uvci: &str, doses: &[DoseRecord]| {
            VdsNc::issue(uvci, &holder(), doses, &pki.dsc.certificate_der, &key)
        };
        // A full certificate ID (20 characters) is longer than the report's 12.
        let err = issue("131016-7K3M9Q2XWZ4HX", &doses()).unwrap_err();
        assert!(
            err.to_string().starts_with("msg.uvci must be 1 to 12"),
            "{err}"
        );
        assert_eq!(issue("X", &[]).unwrap_err(), VdsNcError::NoDoses);
        assert!(Holder::new(&"A".repeat(40), holder().birth_date(), "X1", None).is_err());
        assert!(Holder::new("A B", holder().birth_date(), "x1", None).is_err());
        assert!(Holder::new("A B", holder().birth_date(), "L898902C3XYZ", None).is_err());
        // Another key than the certificate's is caught before the seal leaves.
        let (other, _) = SigningKey::generate().unwrap();
        assert_eq!(
            VdsNc::issue("X", &holder(), &doses(), &pki.dsc.certificate_der, &other).unwrap_err(),
            VdsNcError::KeyMismatch
        );
        // A holder without a stated sex leaves `sex` out.
        let h = Holder::new("YAMADA  TARO", holder().birth_date(), "TZ1234567", None).unwrap();
        let seal = VdsNc::issue("X", &h, &doses(), &pki.dsc.certificate_der, &key).unwrap();
        assert!(seal.data()["msg"]["pid"].get("sex").is_none());
        let verified = verify(&seal.to_json(), std::slice::from_ref(&pki.csca), at(NOW)).unwrap();
        assert_eq!(verified.holder.sex(), None);
    }

    /// Renders a QR code (4 pixels a module, 4-module quiet zone) and reads it back with an
    /// independent reader.
    fn read_back(code: &qrcode::QrCode) -> String {
        let (w, scale, quiet) = (code.width(), 4, 4);
        let colors = code.to_colors();
        let size = (w + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let inside = mx >= quiet && my >= quiet && mx < w + quiet && my < w + quiet;
            if inside && colors[(my - quiet) * w + (mx - quiet)] == qrcode::Color::Dark {
                0
            } else {
                255
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_three_dose_seal_fits_a_readable_qr_code() {
        let pki = pki();
        let seal = seal(&pki);
        let json = seal.to_json();
        let code = seal.qr_code().unwrap();
        let qrcode::Version::Normal(version) = code.version() else {
            panic!("a micro QR code")
        };
        println!(
            "3-dose VDS-NC: {} bytes of JSON ({} of them the signer certificate), QR version {version} ({}×{} modules), EC level M",
            json.len(),
            B64URL.encode(&pki.dsc.certificate_der).len(),
            code.width(),
            code.width()
        );
        assert!(version <= 30, "version {version}");
        assert_eq!(code.error_correction_level(), qrcode::EcLevel::M);
        assert_eq!(read_back(&code), json);
    }
}
