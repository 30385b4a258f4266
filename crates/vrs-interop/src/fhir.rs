//! FHIR R4 (JSON) resources from and to the system's records: `Patient` from a resident,
//! `Immunization` from a dose and back, `OperationOutcome` for every refusal, `Bundle` for search
//! results. Codes are the standard ones (CVX for the vaccine, with the VRS product code beside it).
//!
//! Ids and identifier systems:
//!
//! | | |
//! |---|---|
//! | `Patient.id` | `{自治体コード}-{宛名番号}` |
//! | `Immunization.id` | `{自治体コード}-{宛名番号}-{dose number}` |
//! | 宛名番号 | `urn:jp:vrs:atena:{自治体コード}` |
//! | 接種券番号 | `urn:jp:vrs:coupon:{自治体コード}` |
//! | VRS product code | `urn:jp:vrs:product` |

use chrono::{NaiveDate, SecondsFormat};
use serde_json::{json, Value};
use vrs_domain::{
    AtenaNumber, Dose, DoseNumber, DoseNumberError, DoseRecord, DoseSource, LotNumber,
    MunicipalityCode, Resident, Sex, VaccineProduct,
};

pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub const PRODUCT: &str = "urn:jp:vrs:product";

/// The identifier system of a municipality's 宛名番号.
pub fn atena_system(m: MunicipalityCode) -> String {
    format!("urn:jp:vrs:atena:{m}")
}

/// The identifier system of a municipality's coupon numbers.
pub fn coupon_system(m: MunicipalityCode) -> String {
    format!("urn:jp:vrs:coupon:{m}")
}

pub fn patient_id(m: MunicipalityCode, atena: &AtenaNumber) -> String {
    format!("{m}-{atena}")
}

/// Reads a `Patient.id` (or the id of a `Patient/…` reference).
pub fn parse_patient_id(id: &str) -> Option<(MunicipalityCode, AtenaNumber)> {
    let (m, atena) = id.split_once('-')?;
    Some((
        MunicipalityCode::parse(m).ok()?,
        AtenaNumber::parse(atena).ok()?,
    ))
}

/// Reads an `Immunization.id`.
pub fn parse_immunization_id(id: &str) -> Option<(MunicipalityCode, AtenaNumber, DoseNumber)> {
    let (patient, n) = id.rsplit_once('-')?;
    let (m, atena) = parse_patient_id(patient)?;
    Some((
        m,
        atena,
        n.parse::<u8>().ok().and_then(|n| DoseNumber::new(n).ok())?,
    ))
}

/// A Patient. The My Number is never part of it.
pub fn patient(p: &Resident) -> Value {
    let name = p.name.as_str();
    let (family, given) = name.split_once('　').unwrap_or((name, ""));
    let kana = p.name_kana.as_str();
    let (kana_family, kana_given) = kana.split_once('　').unwrap_or((kana, ""));
    let mut out = json!({
        "resourceType": "Patient",
        "id": patient_id(p.municipality, &p.atena),
        "identifier": [
            {"system": atena_system(p.municipality), "value": p.atena.as_str()},
            {"system": coupon_system(p.municipality), "value": p.coupon.to_string()}
        ],
        "name": [human_name(name, family, given, "IDE"), human_name(kana, kana_family, kana_given, "SYL")],
        "gender": match p.sex { Sex::Male => "male", Sex::Female => "female" },
        "birthDate": p.birth_date.to_string(),
    });
    if let Some(d) = p.deceased_on {
        out["deceasedDateTime"] = json!(d.to_string());
    }
    out
}

/// A HumanName in one representation (IDE: kanji, SYL: kana); no empty `given` array.
fn human_name(text: &str, family: &str, given: &str, representation: &str) -> Value {
    let mut name = json!({
        "use": "official",
        "text": text,
        "family": family,
        "extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation",
            "valueCode": representation
        }]
    });
    if !given.is_empty() {
        name["given"] = json!([given]);
    }
    name
}

/// An Immunization for a stored dose.
pub fn immunization(d: &DoseRecord) -> Value {
    let dose = &d.dose;
    let product = dose.product;
    let mut out = json!({
        "resourceType": "Immunization",
        "id": format!("{}-{}", patient_id(dose.municipality, &dose.atena), dose.dose_number),
        "status": "completed",
        "vaccineCode": {
            "coding": [
                {"system": CVX, "code": product.cvx, "display": product.name},
                {"system": PRODUCT, "code": product.code, "display": product.name_ja}
            ],
            "text": product.name_ja
        },
        "patient": {"reference": format!("Patient/{}", patient_id(dose.municipality, &dose.atena))},
        "occurrenceDateTime": dose.administered_on.to_string(),
        "recorded": d.recorded_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "primarySource": matches!(d.source, DoseSource::Tablet | DoseSource::Staff | DoseSource::Csv),
        "manufacturer": {"display": product.manufacturer.name_en()},
        "lotNumber": dose.lot_number.as_str(),
        "protocolApplied": [{
            "doseNumberPositiveInt": dose.dose_number,
            "targetDisease": [{"coding": [{"system": "http://snomed.info/sct", "code": "840539006", "display": "COVID-19"}]}]
        }]
    });
    if !d.venue.is_empty() {
        out["location"] = json!({"display": d.venue});
    }
    if !d.doctor.is_empty() {
        out["performer"] = json!([{"function": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0443", "code": "AP", "display": "Administering Provider"}]}, "actor": {"display": d.doctor}}]);
    }
    out
}

/// One problem of a resource, with the FHIRPath expression of the element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// FHIR issue type: invalid, required, value, not-found, forbidden, business-rule, processing…
    pub code: &'static str,
    pub expression: Option<String>,
    pub diagnostics: String,
}

impl Issue {
    pub fn new(code: &'static str, expression: &str, diagnostics: impl Into<String>) -> Self {
        Self {
            code,
            expression: (!expression.is_empty()).then(|| expression.to_owned()),
            diagnostics: diagnostics.into(),
        }
    }
}

/// An OperationOutcome with one error issue per problem.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut issue =
                json!({"severity": "error", "code": i.code, "diagnostics": i.diagnostics});
            if let Some(e) = &i.expression {
                issue["expression"] = json!([e]);
            }
            issue
        })
        .collect();
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// A searchset Bundle of `resources` under `base` (e.g. `http://host/fhir`).
pub fn searchset(base: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{base}/{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len()});
    // FHIR JSON has no empty arrays: a search that finds nothing has no `entry`.
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

/// A dose as an Immunization to create describes it, before the person and the rules are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewImmunization {
    pub municipality: MunicipalityCode,
    pub atena: AtenaNumber,
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static VaccineProduct,
    pub lot_number: LotNumber,
    pub venue: String,
    pub doctor: String,
}

impl NewImmunization {
    /// The record it makes for the person holding `coupon`, recorded now.
    pub fn record(&self, coupon: vrs_domain::CouponNumber) -> DoseRecord {
        let record = DoseRecord::now(
            Dose {
                municipality: self.municipality,
                atena: self.atena.clone(),
                dose_number: self.dose_number,
                administered_on: self.administered_on,
                product: self.product,
                lot_number: self.lot_number.clone(),
                site_municipality: self.municipality,
                coupon,
            },
            DoseSource::Fhir,
        );
        DoseRecord {
            venue: self.venue.clone(),
            doctor: self.doctor.clone(),
            ..record
        }
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = match p.parse::<usize>() {
            Ok(i) => at.get(i)?,
            Err(_) => at.get(*p)?,
        };
    }
    at.as_str()
}

/// The elements of an R4 Immunization (and its choice types as JSON names them): anything else in
/// a resource to create is refused, never stored or silently dropped.
const IMMUNIZATION_ELEMENTS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "status",
    "statusReason",
    "vaccineCode",
    "patient",
    "encounter",
    "occurrenceDateTime",
    "occurrenceString",
    "recorded",
    "primarySource",
    "reportOrigin",
    "location",
    "manufacturer",
    "lotNumber",
    "expirationDate",
    "site",
    "route",
    "doseQuantity",
    "performer",
    "note",
    "reasonCode",
    "reasonReference",
    "isSubpotent",
    "subpotentReason",
    "education",
    "programEligibility",
    "fundingSource",
    "reaction",
    "protocolApplied",
];

/// Reads an Immunization to create. Every problem is named by its element.
pub fn read_immunization(v: &Value) -> Result<NewImmunization, Vec<Issue>> {
    let mut issues = Vec::new();
    if v["resourceType"] != "Immunization" {
        return Err(vec![Issue::new(
            "invalid",
            "",
            "the resource is not an Immunization",
        )]);
    }
    if let Some(members) = v.as_object() {
        for name in members.keys() {
            // `_element` carries an element's id and extensions in FHIR JSON.
            let element = name.strip_prefix('_').unwrap_or(name);
            if !IMMUNIZATION_ELEMENTS.contains(&element) {
                // Named when it is a plain word; other keys are the sender's text, not repeated.
                let plain = (1..=64).contains(&element.len())
                    && element.bytes().all(|b| b.is_ascii_alphabetic());
                let expression = if plain {
                    format!("Immunization.{element}")
                } else {
                    "Immunization".to_owned()
                };
                issues.push(Issue::new(
                    "structure",
                    &expression,
                    "not an element of Immunization in FHIR R4: unknown elements are refused, not stored",
                ));
            }
        }
    }
    if v["status"] != "completed" {
        issues.push(Issue::new(
            "value",
            "Immunization.status",
            "only completed immunizations are recorded",
        ));
    }
    let patient = text(v, &["patient", "reference"])
        .and_then(|r| r.strip_prefix("Patient/"))
        .and_then(parse_patient_id);
    if patient.is_none() {
        issues.push(Issue::new(
            "required",
            "Immunization.patient",
            "the patient must be a reference Patient/{自治体コード}-{宛名番号}",
        ));
    }
    let codings = v["vaccineCode"]["coding"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_vrs = codings
        .iter()
        .find(|c| c["system"] == PRODUCT)
        .and_then(|c| c["code"].as_str())
        .map(|code| {
            VaccineProduct::by_code(code).ok_or(format!("product {code:?} is not in the catalogue"))
        });
    let product = by_vrs.unwrap_or_else(|| {
        let cvx = codings
            .iter()
            .find(|c| c["system"] == CVX)
            .and_then(|c| c["code"].as_str());
        let Some(cvx) = cvx else {
            return Err("vaccineCode needs a CVX or VRS product coding".to_owned());
        };
        let matching: Vec<_> = VaccineProduct::catalogue()
            .iter()
            .filter(|p| p.cvx == cvx)
            .collect();
        match matching.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("CVX {cvx} is not a vaccine of the catalogue")),
            _ => Err(format!(
                "CVX {cvx} covers several products; add a coding of system {PRODUCT}"
            )),
        }
    });
    let product = product
        .map_err(|e| issues.push(Issue::new("value", "Immunization.vaccineCode", e)))
        .ok();
    let date = text(v, &["occurrenceDateTime"])
        .and_then(|d| d.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    if date.is_none() {
        issues.push(Issue::new(
            "required",
            "Immunization.occurrence",
            "occurrenceDateTime must be a date (YYYY-MM-DD)",
        ));
    }
    let lot = text(v, &["lotNumber"])
        .ok_or_else(|| "the lot number is required".to_owned())
        .and_then(|l| LotNumber::parse(l).map_err(|e| e.to_string()));
    let lot = lot
        .map_err(|e| issues.push(Issue::new("value", "Immunization.lotNumber", e)))
        .ok();
    let number = v["protocolApplied"][0]["doseNumberPositiveInt"]
        .as_u64()
        .ok_or(DoseNumberError::Empty)
        .and_then(DoseNumber::from_int)
        .map_err(|e| {
            issues.push(Issue::new(
                "required",
                "Immunization.protocolApplied.doseNumber",
                format!("doseNumberPositiveInt: {e}"),
            ))
        })
        .ok();
    let venue = DoseRecord::venue(text(v, &["location", "display"]).unwrap_or_default())
        .map_err(|e| issues.push(Issue::new("value", "Immunization.location", e.to_string())))
        .unwrap_or_default();
    let doctor =
        DoseRecord::doctor(text(v, &["performer", "0", "actor", "display"]).unwrap_or_default())
            .map_err(|e| issues.push(Issue::new("value", "Immunization.performer", e.to_string())))
            .unwrap_or_default();
    match (patient, product, date, lot, number) {
        (
            Some((municipality, atena)),
            Some(product),
            Some(administered_on),
            Some(lot_number),
            Some(dose_number),
        ) if issues.is_empty() => Ok(NewImmunization {
            municipality,
            atena,
            dose_number,
            administered_on,
            product,
            lot_number,
            venue,
            doctor,
        }),
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Synthetic;

    fn dose() -> DoseRecord {
        let p = Synthetic::new(MunicipalityCode::parse("382060").unwrap(), 1, 3)
            .next()
            .unwrap();
        let d = DoseRecord::now(
            Dose {
                municipality: p.municipality,
                atena: p.atena.clone(),
                dose_number: DoseNumber::new(2).unwrap(),
                administered_on: NaiveDate::from_ymd_opt(2021, 6, 22).unwrap(),
                product: VaccineProduct::by_code("spikevax").unwrap(),
                lot_number: LotNumber::parse("3003734").unwrap(),
                site_municipality: p.municipality,
                coupon: p.coupon,
            },
            DoseSource::Tablet,
        );
        DoseRecord {
            venue: "西条市総合体育館".into(),
            doctor: "山田　太郎".into(),
            ..d
        }
    }

    #[test]
    fn a_dose_round_trips_through_an_immunization() {
        let d = dose();
        let back = read_immunization(&immunization(&d)).unwrap();
        let again = back.record(d.dose.coupon);
        assert_eq!(again.dose, d.dose);
        assert_eq!(
            (again.venue.as_str(), again.doctor.as_str()),
            ("西条市総合体育館", "山田　太郎")
        );
        assert_eq!(again.source, DoseSource::Fhir);
        let id = immunization(&d)["id"].as_str().unwrap().to_owned();
        assert_eq!(
            parse_immunization_id(&id),
            Some((
                d.dose.municipality,
                d.dose.atena.clone(),
                DoseNumber::new(2).unwrap()
            ))
        );
    }

    #[test]
    fn every_problem_of_an_immunization_is_named_by_its_element() {
        let mut v = immunization(&dose());
        v["status"] = json!("entered-in-error");
        v["patient"]["reference"] = json!("Patient/xyz");
        v["lotNumber"] = json!("");
        v["protocolApplied"][0]["doseNumberPositiveInt"] = json!(0);
        v["occurrenceDateTime"] = json!("2021-13-40");
        v["vaccineCode"]["coding"] = json!([{"system": CVX, "code": "213"}]);
        let issues = read_immunization(&v).unwrap_err();
        let paths: Vec<_> = issues.iter().filter_map(|i| i.expression.clone()).collect();
        assert_eq!(
            paths,
            [
                "Immunization.status",
                "Immunization.patient",
                "Immunization.vaccineCode",
                "Immunization.occurrence",
                "Immunization.lotNumber",
                "Immunization.protocolApplied.doseNumber"
            ]
        );
        assert!(issues[2].diagnostics.contains("several products"));
        let outcome = operation_outcome(&issues);
        assert_eq!(outcome["issue"].as_array().unwrap().len(), 6);
        assert_eq!(outcome["issue"][0]["severity"], "error");
    }

    #[test]
    fn a_patient_carries_no_my_number() {
        let p = Synthetic::new(MunicipalityCode::parse("382060").unwrap(), 1, 3)
            .next()
            .unwrap();
        let text = patient(&p).to_string();
        assert!(!text.contains(p.my_number.expose()));
        assert!(text.contains(&atena_system(p.municipality)));
    }
}
