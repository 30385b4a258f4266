//! Doses that arrive together from another system (an HL7 VXU, a FHIR create or transaction):
//! each is checked against its person's stored doses and against the doses accepted before it in
//! the same batch, then all are stored or none, with one audit entry.

use chrono::NaiveDate;
use vrs_domain::{AtenaNumber, AuditAction, DoseRecord, MunicipalityCode, QualityRule};
use vrs_store::Areas;
use vrs_store::{CertificateStore, CouponHolder, DoseStore, ResidentStore, StoreError};

use crate::doses::{dose_detail, rules_for};
use crate::Actor;

pub struct DoseBatch {
    scope: MunicipalityCode,
    today: NaiveDate,
    people: Vec<(CouponHolder, Vec<DoseRecord>)>,
    accepted: Vec<DoseRecord>,
}

/// Why a batch was not stored.
#[derive(Debug)]
pub enum BatchError {
    /// A dose number was recorded by someone else meanwhile.
    Taken,
    Store(StoreError),
}

impl DoseBatch {
    pub fn new(scope: MunicipalityCode, today: NaiveDate) -> Self {
        Self {
            scope,
            today,
            people: Vec::new(),
            accepted: Vec::new(),
        }
    }

    /// The person of `atena` in the area (read once per batch), or `None`.
    pub async fn person(
        &mut self,
        store: &(impl DoseStore + ResidentStore + ?Sized),
        atena: &AtenaNumber,
    ) -> Result<Option<CouponHolder>, StoreError> {
        if let Some((holder, _)) = self.people.iter().find(|(h, _)| h.atena == *atena) {
            return Ok(Some(holder.clone()));
        }
        let resident = match store.area(self.scope).resident(atena).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let doses = store.area(self.scope).doses_of(atena).await?;
        let holder = CouponHolder::from(&resident);
        self.people.push((holder.clone(), doses));
        Ok(Some(holder))
    }

    /// Checks `record` against its person's doses; accepted when it breaks no rule. Not found when
    /// the person is not in the area.
    pub async fn check(
        &mut self,
        store: &(impl DoseStore + ResidentStore + ?Sized),
        record: DoseRecord,
    ) -> Result<Vec<QualityRule>, StoreError> {
        self.person(store, &record.dose.atena)
            .await?
            .ok_or(StoreError::NotFound)?;
        let Some((holder, doses)) = self
            .people
            .iter_mut()
            .find(|(h, _)| h.atena == record.dose.atena)
        else {
            return Err(StoreError::NotFound);
        };
        let rules = rules_for(&record, doses, holder, self.today);
        if rules.is_empty() {
            doses.push(record.clone());
            self.accepted.push(record);
        }
        Ok(rules)
    }

    /// Stores every accepted dose in one transaction with one audit entry (`doses.import`) whose
    /// detail starts with `origin`.
    pub async fn store(
        self,
        store: &(impl CertificateStore + DoseStore + ?Sized),
        actor: &Actor,
        origin: &str,
    ) -> Result<Vec<DoseRecord>, BatchError> {
        let detail = format!(
            "{origin}: {}",
            self.accepted
                .iter()
                .map(dose_detail)
                .collect::<Vec<_>>()
                .join("; ")
        );
        let target = self
            .accepted
            .first()
            .map(|r| r.dose.atena.to_string())
            .unwrap_or_default();
        let audit = actor
            .audit(AuditAction::DosesImport, &target)
            .with_detail(detail);
        match store
            .area(self.scope)
            .add_doses(&self.accepted, &actor.user, &audit)
            .await
        {
            Ok(()) => {
                let people = self.accepted.iter().map(|r| &r.dose.atena);
                crate::lifecycle::doses_added(store, self.scope, people, &audit).await;
                Ok(self.accepted)
            }
            Err(StoreError::Conflict(_)) => Err(BatchError::Taken),
            Err(e) => Err(BatchError::Store(e)),
        }
    }
}
