//! The one summary a valid code gives, whatever its kind: the holder, the issuer and the doses,
//! with each dose's product named when its code identifies one.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{name_by_cvx, name_by_eu_product, CodeKind, VerifyError};
use crate::{dcc, shc, vds_nc};

const FHIR_CVX: &str = "http://hl7.org/fhir/sid/cvx";

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

/// A SMART Health Card's summary: the Patient and the completed Immunizations of its bundle.
/// An `exp` claim, optional in the spec, is enforced when present.
pub(super) fn from_shc(
    card: &shc::VerifiedCard,
    now: DateTime<Utc>,
) -> Result<Verified, VerifyError> {
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
pub(super) fn from_dcc(dcc: dcc::VerifiedDcc) -> Verified {
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
pub(super) fn from_seal(seal: vds_nc::VerifiedSeal) -> Verified {
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
