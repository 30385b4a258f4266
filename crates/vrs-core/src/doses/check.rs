//! Checking stored doses against the data-quality rules (`vrs check doses`): the late-2021 VRS
//! clean-up found 160,000 plainly wrong records among ~100 million; this finds them in an area, a
//! page of people at a time, and audits that the check ran.

use chrono::NaiveDate;
use vrs_domain::{
    check_dose, AtenaNumber, AuditAction, DoseFacts, MunicipalityCode, PersonFacts, QualityRule,
};
use vrs_store::Areas;
use vrs_store::{AuditStore, DoseStore, StoreError};

use crate::Actor;

/// A stored dose that breaks at least one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspect {
    pub atena: AtenaNumber,
    pub dose_number: vrs_domain::DoseNumber,
    pub administered_on: NaiveDate,
    pub rules: Vec<QualityRule>,
}

/// What a check read and found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub people: u64,
    pub doses: u64,
    pub suspects: u64,
}

/// Checks every dose of the area as of `today`, `page` people at a time, handing each suspect to
/// `found` as it is found.
pub async fn check_area_doses(
    store: &(impl AuditStore + DoseStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    today: NaiveDate,
    page: u32,
    found: &mut dyn FnMut(Suspect),
) -> Result<CheckSummary, StoreError> {
    let mut summary = CheckSummary::default();
    let mut after: Option<AtenaNumber> = None;
    loop {
        let people = store
            .area(scope)
            .area_doses(after.as_ref(), page.max(1))
            .await?;
        let Some(last) = people.last() else { break };
        after = Some(last.atena.clone());
        for person in &people {
            summary.people += 1;
            let flags = PersonFacts {
                deceased_on: person.deceased_on,
                moved_out_on: person.moved_out_on,
            };
            for (i, dose) in person.doses.iter().enumerate() {
                summary.doses += 1;
                let others: Vec<DoseFacts<'_>> = person
                    .doses
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, d)| DoseFacts::from(d))
                    .collect();
                let rules = check_dose(DoseFacts::from(dose), &others, flags, today);
                if !rules.is_empty() {
                    summary.suspects += 1;
                    found(Suspect {
                        atena: person.atena.clone(),
                        dose_number: dose.dose.dose_number,
                        administered_on: dose.dose.administered_on,
                        rules,
                    });
                }
            }
        }
    }
    let audit = actor
        .audit(AuditAction::DosesCheck, &format!("{} doses", summary.doses))
        .with_detail(format!(
            "people={} doses={} suspects={}",
            summary.people, summary.doses, summary.suspects
        ));
    store.append_audit(scope.into(), &audit).await?;
    Ok(summary)
}
