//! The certificate inside a DCC, as the verifier reads it: its structure (schema 1.3: `ver`,
//! `nam`, `dob` and exactly one of `v`, `t`, `r` holding exactly one entry), the holder's name and
//! the vaccination entries; and which types a signer may sign, by its extended key usage.

use serde_json::Value;
use vrs_crypto::x509::Certificate;

use super::DccError;

/// Which of the three kinds of certificate a DCC is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateType {
    Vaccination,
    Test,
    Recovery,
}

impl CertificateType {
    /// The payload member that holds it.
    pub fn key(self) -> &'static str {
        match self {
            CertificateType::Vaccination => "v",
            CertificateType::Test => "t",
            CertificateType::Recovery => "r",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CertificateType::Vaccination => "vaccination",
            CertificateType::Test => "test",
            CertificateType::Recovery => "recovery",
        }
    }

    /// The extended key usages that allow a signer to sign this type: the DCC's OIDs, and the
    /// `1.3.6.1.4.1.0.1847…` spelling of early specifications that many signers still carry.
    fn key_usages(self) -> [&'static str; 2] {
        match self {
            CertificateType::Test => ["1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"],
            CertificateType::Vaccination => {
                ["1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"]
            }
            CertificateType::Recovery => {
                ["1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"]
            }
        }
    }

    /// The type of a payload: the one of `v`, `t` and `r` it holds.
    pub fn of(dcc: &Value) -> Result<Self, DccError> {
        let present: Vec<CertificateType> = Self::ALL
            .into_iter()
            .filter(|t| dcc.get(t.key()).is_some())
            .collect();
        match present[..] {
            [kind] => Ok(kind),
            _ => Err(DccError::NotDcc(format!(
                "it must hold exactly one of v, t and r, not {}",
                present.len()
            ))),
        }
    }

    const ALL: [CertificateType; 3] = [
        CertificateType::Vaccination,
        CertificateType::Test,
        CertificateType::Recovery,
    ];
}

/// The holder's name as the certificate gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DccName {
    /// `fn`: surname as written.
    pub family: Option<String>,
    /// `gn`: forename as written.
    pub given: Option<String>,
    /// `fnt`: surname transliterated as ICAO 9303 (A–Z and `<`).
    pub family_icao: Option<String>,
    /// `gnt`
    pub given_icao: Option<String>,
}

/// One vaccination entry (`v[0]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaccinationDose {
    /// `tg`: the disease (840539006 = COVID-19).
    pub target: String,
    /// `vp`: vaccine or prophylaxis.
    pub prophylaxis: String,
    /// `mp`: medicinal product.
    pub product: String,
    /// `ma`: marketing-authorisation holder or manufacturer.
    pub manufacturer: String,
    /// `dn`
    pub dose_number: u64,
    /// `sd`: doses in the series.
    pub series_doses: u64,
    /// `dt`
    pub date: String,
    /// `co`
    pub country: String,
    /// `is`
    pub issuer: String,
    /// `ci`: the UVCI.
    pub uvci: String,
}

type Structure = (CertificateType, DccName, String, Vec<VaccinationDose>);

/// Checks the payload's structure and reads its type, name, date of birth and vaccinations.
pub fn check_structure(dcc: &Value) -> Result<Structure, DccError> {
    let not_dcc = |why: String| DccError::NotDcc(why);
    let object = dcc
        .as_object()
        .ok_or_else(|| not_dcc("the payload is not an object".into()))?;
    text(dcc, "ver")?;
    let dob = text(dcc, "dob")?.to_owned();
    let nam = object
        .get("nam")
        .filter(|n| n.is_object())
        .ok_or_else(|| not_dcc("no name (nam)".into()))?;
    let optional = |key: &str| -> Result<Option<String>, DccError> {
        match nam.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 80 => Ok(Some(s.clone())),
            Some(_) => Err(not_dcc(format!(
                "nam.{key} is not text of at most 80 characters"
            ))),
        }
    };
    let name = DccName {
        family: optional("fn")?,
        given: optional("gn")?,
        family_icao: optional("fnt")?,
        given_icao: optional("gnt")?,
    };
    for icao in [&name.family_icao, &name.given_icao].into_iter().flatten() {
        if !icao.bytes().all(|b| b.is_ascii_uppercase() || b == b'<') {
            return Err(not_dcc(format!("{icao:?} is not ICAO 9303 (A–Z and <)")));
        }
    }
    if name.family_icao.is_none() && name.given_icao.is_none() {
        return Err(not_dcc("the name has neither fnt nor gnt".into()));
    }
    let kind = CertificateType::of(dcc)?;
    let entries = object
        .get(kind.key())
        .and_then(Value::as_array)
        .ok_or_else(|| not_dcc(format!("{} is not an array", kind.key())))?;
    let [entry] = &entries[..] else {
        return Err(not_dcc(format!(
            "{} must hold exactly one entry, not {}",
            kind.key(),
            entries.len()
        )));
    };
    text(entry, "ci")?;
    let doses = match kind {
        CertificateType::Vaccination => vec![vaccination(entry)?],
        _ => Vec::new(),
    };
    Ok((kind, name, dob, doses))
}

fn vaccination(entry: &Value) -> Result<VaccinationDose, DccError> {
    let count = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_u64)
            .filter(|n| (1..=9).contains(n))
            .ok_or_else(|| DccError::NotDcc(format!("v[0].{key} is not a dose count 1–9")))
    };
    let dose = VaccinationDose {
        target: text(entry, "tg")?.to_owned(),
        prophylaxis: text(entry, "vp")?.to_owned(),
        product: text(entry, "mp")?.to_owned(),
        manufacturer: text(entry, "ma")?.to_owned(),
        dose_number: count("dn")?,
        series_doses: count("sd")?,
        date: text(entry, "dt")?.to_owned(),
        country: text(entry, "co")?.to_owned(),
        issuer: text(entry, "is")?.to_owned(),
        uvci: text(entry, "ci")?.to_owned(),
    };
    // A date; some issuers write a date-time, whose date is what counts.
    let day = dose.date.get(..10).unwrap_or_default();
    if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
        return Err(DccError::NotDcc(format!(
            "v[0].dt {:?} is not a date",
            dose.date
        )));
    }
    Ok(dose)
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str, DccError> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| DccError::NotDcc(format!("{key} is missing or not text")))
}

/// The extended key usage of an ICAO VDS-NC barcode signer.
const VDS_NC_SIGNER: &str = "2.23.136.1.1.14.2";

/// Whether `signer` may sign a certificate of type `kind`. A signer that carries none of the DCC
/// key usages may sign every type; one that carries some may sign only those. A signer marked as
/// an ICAO VDS-NC barcode signer, and not as a DCC signer, signs another kind of document and may
/// sign no DCC.
pub fn check_key_usage(signer: &Certificate, kind: CertificateType) -> Result<(), DccError> {
    let usages = signer.extended_key_usages();
    let vds_nc_only = usages.iter().any(|u| u == VDS_NC_SIGNER);
    let restricted = CertificateType::ALL.iter().any(|t| {
        t.key_usages()
            .iter()
            .any(|oid| usages.iter().any(|u| u == oid))
    });
    let allowed = kind
        .key_usages()
        .iter()
        .any(|oid| usages.iter().any(|u| u == oid));
    if (restricted || vds_nc_only) && !allowed {
        return Err(DccError::KeyUsage(kind.as_str()));
    }
    Ok(())
}
