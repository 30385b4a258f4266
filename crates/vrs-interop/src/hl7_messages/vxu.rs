//! Reading a `VXU^V04`: the person's doses, one RXA each with its dose number in the OBX after
//! it.

use vrs_domain::{DoseNumber, DoseRecord, LotNumber, VaccineProduct};

use super::person::{hl7_date, patient};
use super::{shown, Header, Incoming, Problem, Refusal, VxuDose, DOSE_NUMBER_LOINC};
use crate::hl7::{Message, Segment};

/// The product of RXA-5: the VRS code given as alternate identifier, else the one product of the CVX.
fn product(rxa: &Segment) -> Result<&'static VaccineProduct, String> {
    if rxa.component(5, 6) == "VRS" {
        return VaccineProduct::by_code(rxa.component(5, 4)).ok_or_else(|| {
            format!(
                "VRS product {} is not in the catalogue",
                shown(rxa.component(5, 4))
            )
        });
    }
    if rxa.component(5, 3) != "CVX" {
        return Err("the product must be coded in CVX (RXA-5.3 = CVX)".into());
    }
    let cvx = rxa.component(5, 1);
    let matching: Vec<&'static VaccineProduct> = VaccineProduct::catalogue()
        .iter()
        .filter(|p| p.cvx == cvx)
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "CVX {} is not a COVID-19 vaccine of the catalogue",
            shown(cvx)
        )),
        many => Err(format!(
            "CVX {} covers several products ({}); give the product as alternate identifier with coding system VRS",
            shown(cvx),
            many.iter().map(|p| p.code).collect::<Vec<_>>().join(", ")
        )),
    }
}

pub(super) fn read_vxu(m: &Message, h: Header) -> Result<Incoming, Refusal> {
    let mut problems = Vec::new();
    let Some(pid) = m.segment("PID") else {
        return Err(Refusal::Error(
            Box::new(h),
            vec![Problem::new("PID", 1, 0, 100, "the PID segment is missing")],
        ));
    };
    let patient = patient(pid, 3, 7, 8, &mut problems);
    let mut doses = Vec::new();
    let mut occurrence = 0;
    for (i, seg) in m.segments.iter().enumerate() {
        if seg.id != "RXA" {
            continue;
        }
        occurrence += 1;
        let n = occurrence;
        let before = problems.len();
        let mut problem = |field: usize, code: u16, reason: String| {
            problems.push(Problem::new("RXA", n, field, code, &reason))
        };
        if matches!(seg.field(20), "NA" | "RE") || seg.field(21) == "D" {
            problem(
                20,
                207,
                "only completed doses to add are accepted (RXA-20 CP or PA, RXA-21 A)".into(),
            );
            continue;
        }
        let administered_on = hl7_date(seg.field(3));
        if administered_on.is_none() {
            problem(
                3,
                if seg.field(3).is_empty() { 101 } else { 102 },
                format!("{} is not a date (YYYYMMDD)", shown(seg.field(3))),
            );
        }
        let product = product(seg).map_err(|e| problem(5, 103, e)).ok();
        let lot = LotNumber::parse(seg.field(15))
            .map_err(|e| {
                problem(
                    15,
                    if seg.field(15).is_empty() { 101 } else { 102 },
                    format!("lot {}: {e}", shown(seg.field(15))),
                )
            })
            .ok();
        // The dose number: the OBX 30973-2 before the next RXA.
        let number = m.segments[i + 1..]
            .iter()
            .take_while(|s| s.id != "RXA" && s.id != "ORC")
            .find(|s| s.id == "OBX" && s.component(3, 1) == DOSE_NUMBER_LOINC)
            .map(|s| s.field(5).to_owned());
        let dose_number = match number.as_deref().map(DoseNumber::parse) {
            Some(Ok(number)) => Some(number),
            Some(Err(e)) => {
                problems.push(Problem::new("OBX", n, 5, 102, &e.to_string()));
                None
            }
            None => {
                problems.push(Problem::new(
                    "OBX",
                    n,
                    3,
                    101,
                    &format!("RXA {n} has no OBX with LOINC {DOSE_NUMBER_LOINC} (dose number)"),
                ));
                None
            }
        };
        let venue = DoseRecord::venue(seg.component(11, 4))
            .map_err(|e| problems.push(Problem::new("RXA", n, 11, 102, &format!("the venue: {e}"))))
            .unwrap_or_default();
        let doctor_name = [seg.component(10, 2), seg.component(10, 3)]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("　");
        let doctor = DoseRecord::doctor(&doctor_name)
            .map_err(|e| {
                problems.push(Problem::new("RXA", n, 10, 102, &format!("the doctor: {e}")))
            })
            .unwrap_or_default();
        if problems.len() > before {
            continue;
        }
        if let (Some(administered_on), Some(product), Some(lot_number), Some(dose_number)) =
            (administered_on, product, lot, dose_number)
        {
            doses.push(VxuDose {
                occurrence: n,
                dose_number,
                administered_on,
                product,
                lot_number,
                venue,
                doctor,
            });
        }
    }
    if occurrence == 0 {
        problems.push(Problem::new(
            "RXA",
            1,
            0,
            100,
            "the message holds no RXA segment",
        ));
    }
    match patient {
        Some(patient) if problems.is_empty() => Ok(Incoming::Vxu {
            header: h,
            patient,
            doses,
        }),
        _ => Err(Refusal::Error(Box::new(h), problems)),
    }
}
