//! Municipal staff changing the doses and flags of their own area's people: adding, correcting
//! and deleting a dose, and setting the moved-out and deceased dates, each audited with what was
//! before and after, and a reason where something is corrected or deleted.

use chrono::NaiveDate;
use vrs_domain::{
    AtenaNumber, AuditAction, DoseNumber, DoseRecord, DoseSource, DoseStatement, MunicipalityCode,
    QualityRule,
};
use vrs_store::Areas;
use vrs_store::{ConflictKind, CouponHolder, DoseStore, Registration, ResidentStore, StoreError};

use super::{dose_detail, record_for, rules_for};
use crate::Actor;

/// Why staff's change of a dose or flag was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the change breaks data-quality rules")]
    Rules(Vec<QualityRule>),
    #[error("no such person or dose in this municipality")]
    NotFound,
    #[error("a reason is required")]
    NoReason,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChangeError::NotFound,
            other => ChangeError::Store(other),
        }
    }
}

pub(crate) fn reason_text(reason: &str) -> Result<String, ChangeError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ChangeError::NoReason);
    }
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ChangeError::Invalid(
            "the reason must be at most 200 characters on one line".into(),
        ));
    }
    Ok(reason.to_owned())
}

/// Staff record a dose for a person of their own area (`scope`).
pub async fn add_dose(
    store: &(impl DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    statement: &DoseStatement,
    today: NaiveDate,
) -> Result<DoseRecord, ChangeError> {
    let person = CouponHolder::from(&store.area(scope).resident(atena).await?);
    let record = record_for(&person, statement.clone(), DoseSource::Staff);
    let existing = store.area(scope).doses_of(atena).await?;
    let rules = rules_for(&record, &existing, &person, today);
    if !rules.is_empty() {
        return Err(ChangeError::Rules(rules));
    }
    let audit = actor
        .audit(AuditAction::DoseAdd, atena.as_str())
        .with_detail(format!("after: {}", dose_detail(&record)));
    let registration = Registration {
        record: record.clone(),
        recorded_by: actor.user.clone(),
        answer: None,
    };
    match store.area(scope).add_dose(&registration, &audit).await {
        Err(StoreError::Conflict(_)) => Err(ChangeError::Rules(vec![QualityRule::DoseNumberTaken])),
        Ok(()) => Ok(record),
        Err(e) => Err(e.into()),
    }
}

async fn stored_dose(
    store: &(impl DoseStore + ResidentStore + ?Sized),
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    dose_number: DoseNumber,
) -> Result<(CouponHolder, Vec<DoseRecord>, DoseRecord), ChangeError> {
    let person = CouponHolder::from(&store.area(scope).resident(atena).await?);
    let doses = store.area(scope).doses_of(atena).await?;
    let before = doses
        .iter()
        .find(|d| d.dose.dose_number == dose_number)
        .cloned()
        .ok_or(ChangeError::NotFound)?;
    Ok((person, doses, before))
}

/// Which stored dose: the person and the dose number.
#[derive(Clone, Copy, Debug)]
pub struct DoseRef<'a> {
    pub atena: &'a AtenaNumber,
    pub dose_number: DoseNumber,
}

/// Staff correct a dose of a person of their own area to state `statement`, with a reason. The
/// audit entry keeps the dose before and after.
pub async fn correct_dose(
    store: &(impl DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    which: DoseRef<'_>,
    statement: &DoseStatement,
    reason: &str,
    today: NaiveDate,
) -> Result<DoseRecord, ChangeError> {
    let reason = reason_text(reason)?;
    let (atena, dose_number) = (which.atena, which.dose_number);
    let (person, doses, before) = stored_dose(store, scope, atena, dose_number).await?;
    let mut after = record_for(&person, statement.clone(), before.source);
    after.dose.coupon = before.dose.coupon;
    after.recorded_at = before.recorded_at;
    after.received_from = before.received_from;
    let others: Vec<DoseRecord> = doses
        .into_iter()
        .filter(|d| d.dose.dose_number != dose_number)
        .collect();
    let rules = rules_for(&after, &others, &person, today);
    if !rules.is_empty() {
        return Err(ChangeError::Rules(rules));
    }
    let audit = actor
        .audit(AuditAction::DoseCorrect, atena.as_str())
        .with_detail(format!(
            "before: {} | after: {} | reason: {reason}",
            dose_detail(&before),
            dose_detail(&after)
        ));
    match store
        .area(scope)
        .correct_dose(&before, &after, &audit)
        .await
    {
        Err(StoreError::Conflict(ConflictKind::DoseTaken(_))) => {
            Err(ChangeError::Rules(vec![QualityRule::DoseNumberTaken]))
        }
        other => other.map(|()| after).map_err(ChangeError::from),
    }
}

/// Staff delete a dose of a person of their own area, with a reason. The record is really removed;
/// the audit entry keeps what it stated.
pub async fn delete_dose(
    store: &(impl DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    which: DoseRef<'_>,
    reason: &str,
) -> Result<DoseRecord, ChangeError> {
    let reason = reason_text(reason)?;
    let atena = which.atena;
    let (_, _, before) = stored_dose(store, scope, atena, which.dose_number).await?;
    let audit = actor
        .audit(AuditAction::DoseDelete, atena.as_str())
        .with_detail(format!(
            "before: {} | reason: {reason}",
            dose_detail(&before)
        ));
    store.area(scope).delete_dose(&before, &audit).await?;
    Ok(before)
}

/// Staff set or clear the moved-out and deceased dates of a person of their own area. Flags never
/// delete anything; the audit entry keeps the dates before and after.
pub async fn set_flags(
    store: &(impl ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    moved_out_on: Option<NaiveDate>,
    deceased_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), ChangeError> {
    if moved_out_on
        .into_iter()
        .chain(deceased_on)
        .any(|d| d > today)
    {
        return Err(ChangeError::Invalid(
            "a moved-out or deceased date cannot be in the future".into(),
        ));
    }
    let person = store.area(scope).resident(atena).await?;
    let show = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
    let audit = actor
        .audit(AuditAction::PersonFlags, atena.as_str())
        .with_detail(format!(
            "before: moved_out={} deceased={} | after: moved_out={} deceased={}",
            show(person.moved_out_on),
            show(person.deceased_on),
            show(moved_out_on),
            show(deceased_on)
        ));
    store
        .area(scope)
        .set_flags(atena, moved_out_on, deceased_on, &audit)
        .await?;
    Ok(())
}
