//! Registering, correcting and deleting doses, and flagging people, with the data-quality rules
//! applied at every entry point.
//!
//! A dose is always recorded in the area of the person's home municipality (住所地), wherever it was
//! given. A site's tablet registers by coupon ([`register_at_site`]): it learns whether the dose was
//! recorded or why not, never who the person is, and a request retried with the same
//! `Idempotency-Key` gets the first answer again without making a second dose. Municipal staff add,
//! correct and delete doses of their own area ([`add_dose`], [`correct_dose`], [`delete_dose`]) and set
//! moved-out / deceased flags ([`set_flags`]); each change is audited with what was before and after.
//!
//! A dose as a form or a request states it is read in [`input`], a site's registration is in
//! [`site`] and staff's changes in [`staff`]; the rules and the audit detail every path shares are
//! here.

pub mod batch;
pub mod check;
pub mod export;
pub mod import;
pub mod input;
pub mod site;
pub mod staff;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use vrs_domain::{check_dose, DoseFacts, DoseRecord, PersonFacts, QualityRule};
use vrs_store::CouponHolder;

pub(crate) use input::record_for;
pub use input::{field_label_ja, parse_statement, DoseText, FieldProblem};
pub use site::{
    register_at_site, register_at_site_with, IdempotencyRequest, ReadWithSession, RegisterError,
    RuleView, SiteAnswer,
};
pub(crate) use staff::reason_text;
pub use staff::{add_dose, correct_dose, delete_dose, set_flags, ChangeError, DoseRef};

/// The rules `record` breaks against the person's other stored doses and flags.
pub fn rules_for(
    record: &DoseRecord,
    others: &[DoseRecord],
    person: &CouponHolder,
    today: NaiveDate,
) -> Vec<QualityRule> {
    let others: Vec<DoseFacts<'_>> = others.iter().map(DoseFacts::from).collect();
    let flags = PersonFacts {
        deceased_on: person.deceased_on,
        moved_out_on: person.moved_out_on,
    };
    check_dose(DoseFacts::from(record), &others, flags, today)
}

/// The audit detail of a dose: what it states, never who the person is.
pub fn dose_detail(record: &DoseRecord) -> String {
    let d = &record.dose;
    format!(
        "dose={} date={} product={} lot={} site={} coupon={} venue={:?} doctor={:?}",
        d.dose_number,
        d.administered_on,
        d.product.code,
        d.lot_number.as_str(),
        d.site_municipality,
        d.coupon.as_str(),
        record.venue,
        record.doctor
    )
}
