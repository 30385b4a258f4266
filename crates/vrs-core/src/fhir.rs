//! The FHIR R4 services: reading a person as a `Patient` and their doses as `Immunization`s,
//! searching, and creating doses from `Immunization`s (one, or a transaction `Bundle`, all or none)
//! under the same data-quality rules and audit as every other entry point. The caller's
//! municipality comes from its session: an id or identifier of another municipality is not found.

use chrono::NaiveDate;
use serde_json::Value;
use vrs_domain::{
    AtenaNumber, DoseRecord, Function, KanaName, MunicipalityCode, MyNumber, QualityRule,
};
use vrs_interop::fhir::{
    self, atena_system, coupon_system, immunization, parse_immunization_id, parse_patient_id,
    patient, read_immunization, Issue, NewImmunization,
};
use vrs_store::{
    AuditStore, CertificateStore, DoseStore, GovernanceStore, ResidentStore, StoreError,
};

use crate::doses::batch::{BatchError, DoseBatch};
use crate::governance::{ensure_running, GovernanceError};
use crate::records::{read_person, search_people, PersonQuery};
use crate::Actor;

#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    #[error("not found")]
    NotFound,
    /// The request or resource is malformed (HTTP 400).
    #[error("invalid")]
    Invalid(Vec<Issue>),
    /// Well-formed but refused by the records or the rules (HTTP 422).
    #[error("refused")]
    Refused(Vec<Issue>),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Stopped(crate::governance::Stopped),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for FhirError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => FhirError::NotFound,
            other => FhirError::Store(other),
        }
    }
}

/// The person `id` names, in `own` only.
fn own_person(own: MunicipalityCode, id: &str) -> Result<AtenaNumber, FhirError> {
    match parse_patient_id(id) {
        Some((m, atena)) if m == own => Ok(atena),
        _ => Err(FhirError::NotFound),
    }
}

pub async fn read_patient(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    id: &str,
) -> Result<Value, FhirError> {
    let atena = own_person(own, id)?;
    let (person, _) = read_person(store, actor, own, &atena).await?;
    Ok(patient(&person))
}

/// The identifier system of the My Number: searchable from LG-WAN sessions only, never output.
pub const MY_NUMBER_SYSTEM: &str = "urn:jp:mynumber";

/// What a Patient search asks: `identifier=system|value` (宛名番号, coupon number, or — from LG-WAN —
/// My Number), or `name` (kana) with `birthdate`. `Ok(None)`: an identifier of another
/// municipality, which finds nobody.
pub fn patient_query(
    own: MunicipalityCode,
    identifier: Option<&str>,
    name: Option<&str>,
    birthdate: Option<&str>,
    lgwan: bool,
) -> Result<Option<PersonQuery>, FhirError> {
    let invalid = |m: String| FhirError::Invalid(vec![Issue::new("value", "", m)]);
    if let Some(identifier) = identifier {
        let (system, value) = identifier.split_once('|').unwrap_or(("", identifier));
        return if system == atena_system(own) {
            AtenaNumber::parse(value)
                .map(|a| Some(PersonQuery::Atena(a)))
                .map_err(|e| invalid(format!("identifier: {e}")))
        } else if system == coupon_system(own) {
            vrs_domain::CouponNumber::parse(value)
                .map(|c| Some(PersonQuery::Coupon(c)))
                .map_err(|e| invalid(format!("identifier: {e}")))
        } else if system == MY_NUMBER_SYSTEM {
            if !lgwan {
                return Err(FhirError::Forbidden(
                    "a My Number is searched only from an LG-WAN terminal",
                ));
            }
            MyNumber::parse(value)
                .map(|n| Some(PersonQuery::MyNumber(n)))
                .map_err(|e| invalid(format!("identifier: {e}")))
        } else if system.starts_with("urn:jp:vrs:") {
            Ok(None)
        } else {
            Err(FhirError::Invalid(vec![Issue::new(
                "not-supported",
                "",
                format!(
                    "identifier: the system must be {}, {} or {MY_NUMBER_SYSTEM}",
                    atena_system(own),
                    coupon_system(own)
                ),
            )]))
        };
    }
    match (name, birthdate) {
        (Some(name), Some(birth)) => {
            let kana =
                KanaName::parse(name).map_err(|e| invalid(format!("name (in kana): {e}")))?;
            let birth = NaiveDate::parse_from_str(birth, "%Y-%m-%d")
                .map_err(|_| invalid(format!("birthdate: {birth:?} is not YYYY-MM-DD")))?;
            Ok(Some(PersonQuery::KanaBirth(kana, birth)))
        }
        _ => Err(invalid(
            "search Patient by identifier=system|value, or by name (kana) and birthdate".into(),
        )),
    }
}

/// The Patients a search finds (audited like every search).
pub async fn search_patients(
    store: &(impl AuditStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    query: Option<&PersonQuery>,
) -> Result<Vec<Value>, FhirError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let people = search_people(store, actor, own, query).await?;
    Ok(people.iter().map(patient).collect())
}

pub async fn read_one_immunization(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    id: &str,
) -> Result<Value, FhirError> {
    let Some((m, atena, n)) = parse_immunization_id(id).filter(|(m, _, _)| *m == own) else {
        return Err(FhirError::NotFound);
    };
    let (_, doses) = read_person(store, actor, m, &atena).await?;
    doses
        .iter()
        .find(|d| d.dose.dose_number == n)
        .map(immunization)
        .ok_or(FhirError::NotFound)
}

/// What an Immunization search may filter on besides the patient.
#[derive(Clone, Debug, Default)]
pub struct ImmunizationFilter {
    /// `date=geYYYY-MM-DD` / `le…` / `eq…` or a bare date.
    pub date: Vec<String>,
    /// `vaccine-code=[system|]code`.
    pub vaccine_code: Option<String>,
}

fn date_matches(d: NaiveDate, filters: &[String]) -> Result<bool, FhirError> {
    for f in filters {
        let (op, text) = match f.get(..2) {
            Some(p @ ("ge" | "le" | "gt" | "lt" | "eq")) => (p, &f[2..]),
            _ => ("eq", f.as_str()),
        };
        let Ok(at) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
            return Err(FhirError::Invalid(vec![Issue::new(
                "value",
                "",
                format!("date: {f:?} is not [ge|le|gt|lt|eq]YYYY-MM-DD"),
            )]));
        };
        let ok = match op {
            "ge" => d >= at,
            "le" => d <= at,
            "gt" => d > at,
            "lt" => d < at,
            _ => d == at,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `Immunization?patient=Patient/{id}` with optional date and vaccine-code filters.
pub async fn search_immunizations(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    patient_ref: &str,
    filter: &ImmunizationFilter,
) -> Result<Vec<Value>, FhirError> {
    let id = patient_ref.strip_prefix("Patient/").unwrap_or(patient_ref);
    let atena = match own_person(own, id) {
        Ok(a) => a,
        Err(_) => return Ok(Vec::new()),
    };
    let doses = match read_person(store, actor, own, &atena).await {
        Ok((_, doses)) => doses,
        Err(StoreError::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for d in &doses {
        if !date_matches(d.dose.administered_on, &filter.date)? {
            continue;
        }
        if let Some(token) = &filter.vaccine_code {
            // FHIR token search: `code` in any system, `system|code` in that system only,
            // `system|` any code of it, `|code` a code without a system (ours always have one).
            let p = d.dose.product;
            let hit = match token.split_once('|') {
                None => p.cvx == token.as_str() || p.code == token.as_str(),
                Some((system, code)) if system == fhir::CVX => code.is_empty() || p.cvx == code,
                Some((system, code)) if system == fhir::PRODUCT => {
                    code.is_empty() || p.code == code
                }
                Some(_) => false,
            };
            if !hit {
                continue;
            }
        }
        out.push(immunization(d));
    }
    Ok(out)
}

/// Creates the doses of `entries` (each an Immunization and its FHIRPath prefix for issues), all
/// or none. Returns the stored records in order.
async fn create(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    entries: &[(String, &Value)],
    today: NaiveDate,
) -> Result<Vec<DoseRecord>, FhirError> {
    match ensure_running(store, Function::Import).await {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => return Err(FhirError::Stopped(s)),
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(FhirError::Store(StoreError::Other(e.to_string()))),
    }
    let mut invalid = Vec::new();
    let mut parsed: Vec<(String, NewImmunization)> = Vec::new();
    for (prefix, value) in entries {
        match read_immunization(value) {
            Ok(new) => parsed.push((prefix.clone(), new)),
            Err(issues) => invalid.extend(issues.into_iter().map(|i| prefixed(prefix, i))),
        }
    }
    if !invalid.is_empty() {
        return Err(FhirError::Invalid(invalid));
    }
    let mut refused = Vec::new();
    let mut batch = DoseBatch::new(own, today);
    for (prefix, new) in &parsed {
        let at = |path: &str| format!("{prefix}{path}");
        let person = match new.municipality == own {
            true => batch.person(store, &new.atena).await?,
            false => None,
        };
        let Some(holder) = person else {
            refused.push(Issue::new(
                "not-found",
                &at("Immunization.patient"),
                "no such patient in this municipality",
            ));
            continue;
        };
        let rules = batch.check(store, new.record(holder.coupon)).await?;
        if !rules.is_empty() {
            let text = rules
                .iter()
                .map(|r| r.message_en())
                .collect::<Vec<_>>()
                .join(" ");
            refused.push(Issue::new("business-rule", &at("Immunization"), text));
        }
    }
    if !refused.is_empty() {
        return Err(FhirError::Refused(refused));
    }
    batch
        .store(store, actor, "FHIR")
        .await
        .map_err(|e| match e {
            BatchError::Taken => FhirError::Refused(vec![Issue::new(
                "business-rule",
                "",
                QualityRule::DoseNumberTaken.message_en(),
            )]),
            BatchError::Store(e) => e.into(),
        })
}

/// An issue of a Bundle entry's resource, its expression rooted at the entry
/// (`Immunization.occurrence` → `Bundle.entry[1].resource.occurrence`: valid FHIRPath).
fn prefixed(prefix: &str, mut issue: Issue) -> Issue {
    if let Some(e) = &issue.expression {
        issue.expression = Some(match (prefix.is_empty(), e.strip_prefix("Immunization")) {
            (true, _) => e.clone(),
            (false, Some(rest)) => format!("{}{}", prefix.trim_end_matches('.'), rest),
            (false, None) => format!("{prefix}{e}"),
        });
    }
    issue
}

/// `POST Immunization`: the stored resource.
pub async fn create_immunization(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    body: &Value,
    today: NaiveDate,
) -> Result<Value, FhirError> {
    let stored = create(store, actor, own, &[(String::new(), body)], today).await?;
    stored.first().map(immunization).ok_or(FhirError::NotFound)
}

/// `POST /` with a transaction Bundle of `POST Immunization` entries: all stored or none; the
/// transaction-response Bundle.
pub async fn transaction(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    bundle: &Value,
    today: NaiveDate,
) -> Result<Value, FhirError> {
    if bundle["resourceType"] != "Bundle" || bundle["type"] != "transaction" {
        return Err(FhirError::Invalid(vec![Issue::new(
            "invalid",
            "Bundle.type",
            "a transaction Bundle is expected",
        )]));
    }
    let empty = Vec::new();
    let list = bundle["entry"].as_array().unwrap_or(&empty);
    let mut entries = Vec::new();
    let mut invalid = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let prefix = format!("Bundle.entry[{i}].resource.");
        if e["request"]["method"] != "POST" || e["request"]["url"] != "Immunization" {
            invalid.push(Issue::new(
                "not-supported",
                &format!("Bundle.entry[{i}].request"),
                "only POST Immunization entries are accepted",
            ));
            continue;
        }
        entries.push((prefix, &e["resource"]));
    }
    if list.is_empty() {
        invalid.push(Issue::new(
            "required",
            "Bundle.entry",
            "the Bundle has no entries",
        ));
    }
    if !invalid.is_empty() {
        return Err(FhirError::Invalid(invalid));
    }
    let stored = create(store, actor, own, &entries, today).await?;
    let responses: Vec<Value> = stored
        .iter()
        .map(|r| {
            let resource = immunization(r);
            serde_json::json!({
                "response": {
                    "status": "201 Created",
                    "location": format!("Immunization/{}", resource["id"].as_str().unwrap_or_default())
                }
            })
        })
        .collect();
    Ok(
        serde_json::json!({"resourceType": "Bundle", "type": "transaction-response", "entry": responses}),
    )
}
