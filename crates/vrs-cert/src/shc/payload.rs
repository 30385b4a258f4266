//! What an issuer signs into a card: the minimal FHIR Bundle of Japan's profile
//! ([`minimal_bundle`]) inside the JWS payload ([`card_payload`]).
//!
//! Both are views of the caller's records that serialise straight to JSON, not `serde_json::Value`
//! trees: building a tree (an ordered map per object, every string copied) and then writing it
//! cost more than the card's signature. Members are written in the order a `Value` tree writes them
//! (sorted by name), so a card's JSON is byte for byte what it was when the payload was a tree;
//! the spec requires minified JSON and no member order.

use std::fmt::Display;

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use vrs_domain::DoseRecord;

use super::CardName;

/// The SMART Health Card type every card carries in `vc.type`.
const HEALTH_CARD: &str = "https://smarthealth.cards#health-card";
/// The FHIR version of the bundle.
const FHIR_VERSION: &str = "4.0.1";
/// The CVX code system of `vaccineCode`.
const CVX: &str = "http://hl7.org/fhir/sid/cvx";

/// The minimal FHIR Bundle of Japan's profile: the Patient (`usual` name, birth date) as
/// `resource:0`, then one Immunization per dose (CVX, date, lot, performer). It borrows the
/// records and serialises to the bundle's JSON.
pub fn minimal_bundle<'a>(
    name: &'a CardName,
    birth_date: chrono::NaiveDate,
    doses: &'a [DoseRecord],
    performer: &'a str,
) -> Bundle<'a> {
    Bundle {
        entry: Entries {
            name,
            birth_date,
            doses,
            performer,
        },
        resource_type: "Bundle",
        kind: "collection",
    }
}

/// The JWS payload of a card: issuer, not-before (Unix seconds), the revocation ID `vc.rid` when
/// the card can be revoked (see [`super::rid`]), and the bundle (a [`Bundle`], or any JSON).
pub fn card_payload<'a, B: Serialize>(
    iss: &'a str,
    nbf: i64,
    rid: Option<&'a str>,
    bundle: B,
) -> CardPayload<'a, B> {
    CardPayload {
        iss,
        nbf,
        vc: Vc {
            credential_subject: Subject {
                fhir_bundle: bundle,
                fhir_version: FHIR_VERSION,
            },
            rid,
            kind: [HEALTH_CARD],
        },
    }
}

/// A card's JWS payload, as [`card_payload`] makes it.
#[derive(Clone, Debug, Serialize)]
pub struct CardPayload<'a, B> {
    iss: &'a str,
    nbf: i64,
    vc: Vc<'a, B>,
}

#[derive(Clone, Debug, Serialize)]
struct Vc<'a, B> {
    #[serde(rename = "credentialSubject")]
    credential_subject: Subject<B>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rid: Option<&'a str>,
    #[serde(rename = "type")]
    kind: [&'static str; 1],
}

#[derive(Clone, Debug, Serialize)]
struct Subject<B> {
    #[serde(rename = "fhirBundle")]
    fhir_bundle: B,
    #[serde(rename = "fhirVersion")]
    fhir_version: &'static str,
}

/// The bundle of a card, as [`minimal_bundle`] makes it.
#[derive(Clone, Debug, Serialize)]
pub struct Bundle<'a> {
    entry: Entries<'a>,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `entry`: the Patient, then one Immunization per dose.
#[derive(Clone, Debug)]
struct Entries<'a> {
    name: &'a CardName,
    birth_date: chrono::NaiveDate,
    doses: &'a [DoseRecord],
    performer: &'a str,
}

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.doses.len()))?;
        seq.serialize_element(&Entry {
            full_url: Shown(format_args!("resource:0")),
            resource: Patient {
                birth_date: Shown(self.birth_date),
                name: [HumanName {
                    family: &self.name.family,
                    given: [&self.name.given],
                    usage: "usual",
                }],
                resource_type: "Patient",
            },
        })?;
        for (i, d) in self.doses.iter().enumerate() {
            seq.serialize_element(&Entry {
                full_url: Shown(format_args!("resource:{}", i + 1)),
                resource: Immunization {
                    lot_number: d.dose.lot_number.as_str(),
                    occurrence_date_time: Shown(d.dose.administered_on),
                    patient: Reference {
                        reference: "resource:0",
                    },
                    performer: [Performer {
                        actor: Actor {
                            display: self.performer,
                        },
                    }],
                    resource_type: "Immunization",
                    status: "completed",
                    vaccine_code: CodeableConcept {
                        coding: [Coding {
                            code: d.dose.product.cvx,
                            system: CVX,
                        }],
                    },
                },
            })?;
        }
        seq.end()
    }
}

/// A value written as the JSON string of its `Display` form, without an intermediate `String`.
struct Shown<T>(T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[derive(Serialize)]
struct Entry<U, R> {
    #[serde(rename = "fullUrl")]
    full_url: U,
    resource: R,
}

#[derive(Serialize)]
struct Patient<'a> {
    #[serde(rename = "birthDate")]
    birth_date: Shown<chrono::NaiveDate>,
    name: [HumanName<'a>; 1],
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
}

#[derive(Serialize)]
struct HumanName<'a> {
    family: &'a str,
    given: [&'a str; 1],
    #[serde(rename = "use")]
    usage: &'static str,
}

#[derive(Serialize)]
struct Immunization<'a> {
    #[serde(rename = "lotNumber")]
    lot_number: &'a str,
    #[serde(rename = "occurrenceDateTime")]
    occurrence_date_time: Shown<chrono::NaiveDate>,
    patient: Reference,
    performer: [Performer<'a>; 1],
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    status: &'static str,
    #[serde(rename = "vaccineCode")]
    vaccine_code: CodeableConcept,
}

#[derive(Serialize)]
struct Reference {
    reference: &'static str,
}

#[derive(Serialize)]
struct Performer<'a> {
    actor: Actor<'a>,
}

/// A FHIR `Reference` that only names its target (`display`).
#[derive(Serialize)]
struct Actor<'a> {
    display: &'a str,
}

#[derive(Serialize)]
struct CodeableConcept {
    coding: [Coding; 1],
}

#[derive(Serialize)]
struct Coding {
    code: &'static str,
    system: &'static str,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::{json, Value};
    use vrs_domain::{Dose, DoseSource, LotNumber, MunicipalityCode, VaccineProduct};

    use super::*;

    /// The bundle as a `serde_json::Value` tree, as it was built before it was written straight
    /// from the records: the reference the borrowed view must match byte for byte.
    fn bundle_tree(
        name: &CardName,
        birth_date: chrono::NaiveDate,
        doses: &[DoseRecord],
        performer: &str,
    ) -> Value {
        let mut entries = vec![json!({
            "fullUrl": "resource:0",
            "resource": {
                "resourceType": "Patient",
                "name": [{"use": "usual", "family": name.family, "given": [name.given]}],
                "birthDate": birth_date.to_string()
            }
        })];
        for (i, d) in doses.iter().enumerate() {
            entries.push(json!({
                "fullUrl": format!("resource:{}", i + 1),
                "resource": {
                    "resourceType": "Immunization",
                    "status": "completed",
                    "vaccineCode": {"coding": [{"system": CVX, "code": d.dose.product.cvx}]},
                    "patient": {"reference": "resource:0"},
                    "occurrenceDateTime": d.dose.administered_on.to_string(),
                    "lotNumber": d.dose.lot_number.as_str(),
                    "performer": [{"actor": {"display": performer}}]
                }
            }));
        }
        json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
    }

    fn payload_tree(iss: &str, nbf: i64, rid: Option<&str>, bundle: Value) -> Value {
        let mut vc = json!({
            "type": [HEALTH_CARD],
            "credentialSubject": {"fhirVersion": FHIR_VERSION, "fhirBundle": bundle}
        });
        if let (Some(rid), Some(vc)) = (rid, vc.as_object_mut()) {
            vc.insert("rid".into(), rid.into());
        }
        json!({"iss": iss, "nbf": nbf, "vc": vc})
    }

    fn doses(n: u8) -> Vec<DoseRecord> {
        let area = MunicipalityCode::parse("382060").unwrap();
        let p = vrs_interop::Synthetic::new(area, 1, 5).next().unwrap();
        let products = ["comirnaty", "spikevax", "comirnaty"];
        (1..=n)
            .map(|i| {
                DoseRecord::now(
                    Dose {
                        municipality: area,
                        atena: p.atena.clone(),
                        dose_number: vrs_domain::DoseNumber::new(i).unwrap(),
                        administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, u32::from(i))
                            .unwrap(),
                        product: VaccineProduct::by_code(products[usize::from(i - 1) % 3]).unwrap(),
                        lot_number: LotNumber::parse(&format!("FA459{i}")).unwrap(),
                        site_municipality: area,
                        coupon: p.coupon,
                    },
                    DoseSource::Tablet,
                )
            })
            .collect()
    }

    #[test]
    fn the_payload_is_the_json_its_value_tree_was_byte_for_byte() {
        let birth = chrono::NaiveDate::from_ymd_opt(985, 4, 2).unwrap();
        for (family, given) in [("SAIJO", "HANAKO"), ("山田 \"太郎\"", "a\\b\n\u{1}")] {
            let name = CardName {
                family: family.into(),
                given: given.into(),
            };
            for n in [0, 1, 3] {
                let doses = doses(n);
                for rid in [Some("AQPCj4wwk6Mt"), None] {
                    let ours = card_payload(
                        "https://x/iss",
                        1_640_000_000,
                        rid,
                        minimal_bundle(&name, birth, &doses, "MHLW_Gov_of_JAPAN"),
                    );
                    let tree = payload_tree(
                        "https://x/iss",
                        1_640_000_000,
                        rid,
                        bundle_tree(&name, birth, &doses, "MHLW_Gov_of_JAPAN"),
                    );
                    assert_eq!(
                        serde_json::to_string(&ours).unwrap(),
                        serde_json::to_string(&tree).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn a_card_payload_carries_its_rid_in_vc_and_none_without() {
        let with = serde_json::to_value(card_payload(
            "https://x",
            5,
            Some("AQPCj4wwk6Mt"),
            json!({}),
        ))
        .unwrap();
        assert_eq!(with["vc"]["rid"], "AQPCj4wwk6Mt");
        assert_eq!(with["nbf"], 5);
        let without = serde_json::to_value(card_payload("https://x", 5, None, json!({}))).unwrap();
        assert!(without["vc"].get("rid").is_none());
        assert_eq!(without["vc"]["type"][0], HEALTH_CARD);
    }
}
