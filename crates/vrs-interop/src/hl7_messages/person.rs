//! The person a message names, from PID (a VXU) or QPD (a query): an identifier of theirs in a
//! municipality, and the birth date and sex given with it.

use chrono::NaiveDate;
use vrs_domain::{AtenaNumber, CouponNumber, MunicipalityCode, Sex};

use super::{shown, PatientIds, PersonKey, Problem};
use crate::hl7::Segment;

/// The person in a CX list (PID-3 or QPD-3): the first 宛名番号, else the first coupon number.
fn person_key(seg: &Segment, field: usize, problems: &mut Vec<Problem>) -> Option<PersonKey> {
    let id = &seg.id;
    let mut found = None;
    for r in 0..seg.repetitions(field) {
        let (value, authority, kind) = (
            seg.at(field, r, 1, 1),
            seg.at(field, r, 4, 1),
            seg.at(field, r, 5, 1),
        );
        if !matches!(kind, "PI" | "VN") {
            continue;
        }
        let Ok(m) = MunicipalityCode::parse(authority) else {
            problems.push(Problem::new(
                id,
                1,
                field,
                102,
                &format!(
                    "the assigning authority {} is not a municipality code",
                    shown(authority)
                ),
            ));
            return None;
        };
        let key = match kind {
            "PI" => AtenaNumber::parse(value)
                .map(|a| PersonKey::Atena(m, a))
                .map_err(|e| e.to_string()),
            _ => CouponNumber::parse(value)
                .map(|c| PersonKey::Coupon(m, c))
                .map_err(|e| e.to_string()),
        };
        match key {
            Ok(k @ PersonKey::Atena(..)) => return Some(k),
            Ok(k) => found = found.or(Some(k)),
            Err(e) => {
                problems.push(Problem::new(
                    id,
                    1,
                    field,
                    102,
                    &format!("identifier {}: {e}", shown(value)),
                ));
                return None;
            }
        }
    }
    if found.is_none() {
        problems.push(Problem::new(
            id,
            1,
            field,
            101,
            "no 宛名番号 (type PI) or coupon number (type VN) with a municipality code as assigning authority",
        ));
    }
    found
}

pub(super) fn hl7_date(text: &str) -> Option<NaiveDate> {
    let digits = text.get(..8)?;
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

pub(super) fn patient(
    seg: &Segment,
    key_field: usize,
    birth_field: usize,
    sex_field: usize,
    problems: &mut Vec<Problem>,
) -> Option<PatientIds> {
    let key = person_key(seg, key_field, problems);
    let birth = seg.field(birth_field);
    let birth_date = if birth.is_empty() {
        None
    } else {
        let d = hl7_date(birth);
        if d.is_none() {
            problems.push(Problem::new(
                &seg.id,
                1,
                birth_field,
                102,
                &format!("{} is not a date (YYYYMMDD)", shown(birth)),
            ));
        }
        d
    };
    let sex = match seg.field(sex_field) {
        "" | "U" => None,
        "M" => Some(Sex::Male),
        "F" => Some(Sex::Female),
        other => {
            problems.push(Problem::new(
                &seg.id,
                1,
                sex_field,
                103,
                &format!("sex {} is not M, F or U", shown(other)),
            ));
            None
        }
    };
    Some(PatientIds {
        key: key?,
        birth_date,
        sex,
    })
}
