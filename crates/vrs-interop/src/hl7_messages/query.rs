//! The immunization history query: reading a `QBP^Q11` with query `Z34`, and its answer, the
//! `RSP^K11` with the person and every dose (profile `Z32`) or `NF` when nobody matches.

use vrs_domain::{DoseRecord, Resident, Sex};

use super::person::patient;
use super::{
    answer_header, shown, Header, Incoming, PatientIds, PersonKey, Problem, Refusal,
    DOSE_NUMBER_LOINC, QUERY_TAG_MAX,
};
use crate::hl7::{Message, Segment, Separators};

pub(super) fn read_query(m: &Message, h: Header) -> Result<Incoming, Refusal> {
    let Some(qpd) = m.segment("QPD") else {
        return Err(Refusal::Error(
            Box::new(h),
            vec![Problem::new("QPD", 1, 0, 100, "the QPD segment is missing")],
        ));
    };
    if qpd.component(1, 1) != "Z34" {
        return Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "QPD",
                1,
                1,
                103,
                &format!(
                    "query {} is not supported (Z34 is)",
                    shown(qpd.component(1, 1))
                ),
            )],
        ));
    }
    let mut problems = Vec::new();
    let tag = qpd.field(2).to_owned();
    let tag_length = tag.chars().count();
    if tag.is_empty() {
        problems.push(Problem::new("QPD", 1, 2, 101, "the query tag is missing"));
    } else if tag_length > QUERY_TAG_MAX {
        problems.push(Problem::new(
            "QPD",
            1,
            2,
            102,
            &format!("the query tag has {tag_length} characters (at most {QUERY_TAG_MAX})"),
        ));
    }
    let patient = patient(qpd, 3, 6, 7, &mut problems);
    match patient {
        Some(patient) if problems.is_empty() => Ok(Incoming::Query {
            header: h,
            tag,
            patient,
        }),
        _ => Err(Refusal::Error(Box::new(h), problems)),
    }
}

fn hl7_sex(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "M",
        Sex::Female => "F",
    }
}

/// The RSP^K11 to a Z34 query: the person and every dose (Z32), or `NF` when nobody matches.
pub fn rsp(
    query: &Header,
    tag: &str,
    asked: &PatientIds,
    found: Option<(&Resident, &[DoseRecord])>,
) -> Message {
    let (status, profile) = match found {
        Some(_) => ("OK", ["Z32", "CDCPHINVS"]),
        None => ("NF", ["Z33", "CDCPHINVS"]),
    };
    let mut segments = vec![
        answer_header(Some(query), &["RSP", "K11", "RSP_K11"], Some(&profile)),
        Segment::new("MSA")
            .set(1, &["AA"])
            .set(2, &[&query.control_id]),
        Segment::new("QAK")
            .set(1, &[tag])
            .set(2, &[status])
            .set(3, &["Z34", "Request Immunization History", "CDCPHINVS"]),
    ];
    let (key_value, key_authority, key_type) = match &asked.key {
        PersonKey::Atena(m, a) => (a.to_string(), m.to_string(), "PI"),
        PersonKey::Coupon(m, c) => (c.to_string(), m.to_string(), "VN"),
    };
    segments.push(
        Segment::new("QPD")
            .set(1, &["Z34", "Request Immunization History", "CDCPHINVS"])
            .set(2, &[tag])
            .set(3, &[&key_value, "", "", &key_authority, key_type]),
    );
    if let Some((person, doses)) = found {
        let m = person.municipality.to_string();
        let atena = person.atena.to_string();
        let coupon = person.coupon.to_string();
        let mut pid = Segment::new("PID").set(1, &["1"]);
        pid.set_repetitions(
            3,
            &[&[&atena, "", "", &m, "PI"], &[&coupon, "", "", &m, "VN"]],
        );
        let name = person.name.as_str();
        let (family, given) = name.split_once('　').unwrap_or((name, ""));
        let birth = person.birth_date.format("%Y%m%d").to_string();
        segments.push(
            pid.set(5, &[family, given])
                .set(7, &[&birth])
                .set(8, &[hl7_sex(person.sex)]),
        );
        for (i, d) in doses.iter().enumerate() {
            let n = (i + 1).to_string();
            let dose = &d.dose;
            let (doctor_family, doctor_given) =
                d.doctor.split_once('　').unwrap_or((&d.doctor, ""));
            let product = dose.product;
            let maker = product.manufacturer;
            // Given at one time: the end of administration (RXA-4) is its start (RXA-3).
            let given = dose.administered_on.format("%Y%m%d").to_string();
            segments.push(
                Segment::new("ORC")
                    .set(1, &["RE"])
                    .set(3, &[&format!("{}-{}", atena, dose.dose_number), "VRS"]),
            );
            segments.push(
                Segment::new("RXA")
                    .set(1, &["0"])
                    .set(2, &["1"])
                    .set(3, &[&given])
                    .set(4, &[&given])
                    .set(
                        5,
                        &[
                            product.cvx,
                            product.name,
                            "CVX",
                            product.code,
                            product.name_ja,
                            "VRS",
                        ],
                    )
                    .set(6, &["999"])
                    .set(9, &["00", "New immunization record", "NIP001"])
                    .set(10, &["", doctor_family, doctor_given])
                    .set(11, &["", "", "", &d.venue])
                    .set(15, &[dose.lot_number.as_str()])
                    .set(17, &[maker.mvx().unwrap_or("OTH"), maker.name_en(), "MVX"])
                    .set(20, &["CP"])
                    .set(21, &["A"]),
            );
            segments.push(
                Segment::new("OBX")
                    .set(1, &[&n])
                    .set(2, &["NM"])
                    .set(3, &[DOSE_NUMBER_LOINC, "Dose number in series", "LN"])
                    .set(4, &[&n])
                    .set(5, &[&dose.dose_number.to_string()])
                    .set(11, &["F"]),
            );
        }
    }
    Message {
        separators: Separators::default(),
        segments,
    }
}
