//! Finding and reading a person of the staff's own municipality. Every search and every read of a
//! person's record is audited (what was searched by, never the My Number itself; how many were found).

use chrono::NaiveDate;
use vrs_domain::{
    AtenaNumber, AuditAction, CouponNumber, DoseRecord, KanaName, MunicipalityCode, MyNumber,
    NameFragment, Resident,
};
use vrs_store::Areas;
use vrs_store::{AuditStore, DoseStore, ResidentStore, StoreError};

use crate::Actor;

/// What staff search by. The My Number search is for LG-WAN sessions only: the caller checks
/// `Action::SearchPersonByMyNumber` before building this variant.
#[derive(Clone, Debug)]
pub enum PersonQuery {
    Atena(AtenaNumber),
    Coupon(CouponNumber),
    KanaBirth(KanaName, NaiveDate),
    /// Everyone born on the day, or those of them whose name or reading holds the fragment.
    NameBirth(Option<NameFragment>, NaiveDate),
    MyNumber(MyNumber),
}

impl PersonQuery {
    /// How the search was made, for the audit log (no value of a My Number).
    pub fn audit_target(&self) -> String {
        match self {
            PersonQuery::Atena(a) => format!("atena:{a}"),
            PersonQuery::Coupon(c) => format!("coupon:{}", c.as_str()),
            PersonQuery::KanaBirth(_, birth) => format!("kana+birth:{birth}"),
            PersonQuery::NameBirth(Some(_), birth) => format!("name+birth:{birth}"),
            PersonQuery::NameBirth(None, birth) => format!("birth:{birth}"),
            PersonQuery::MyNumber(_) => "my_number".into(),
        }
    }
}

fn found(result: Result<Resident, StoreError>) -> Result<Vec<Resident>, StoreError> {
    match result {
        Ok(r) => Ok(vec![r]),
        Err(StoreError::NotFound) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The people of `scope` matching `query`, audited in the municipality's chain.
pub async fn search_people(
    store: &(impl AuditStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    query: &PersonQuery,
) -> Result<Vec<Resident>, StoreError> {
    let people = match query {
        PersonQuery::Atena(a) => found(store.area(scope).resident(a).await)?,
        PersonQuery::Coupon(c) => found(store.area(scope).resident_by_coupon(c).await)?,
        PersonQuery::KanaBirth(kana, birth) => {
            store
                .area(scope)
                .residents_by_kana_birth(kana, *birth)
                .await?
        }
        PersonQuery::NameBirth(fragment, birth) => {
            let mut people = store.area(scope).residents_born_on(*birth).await?;
            if let Some(f) = fragment {
                people.retain(|p| f.matches(&p.name, &p.name_kana));
            }
            people.sort_by(|a, b| (&a.name_kana, &a.atena).cmp(&(&b.name_kana, &b.atena)));
            people
        }
        PersonQuery::MyNumber(n) => found(store.area(scope).resident_by_my_number(n).await)?,
    };
    let action = match query {
        PersonQuery::MyNumber(_) => AuditAction::PersonSearchByMyNumber,
        _ => AuditAction::PersonSearch,
    };
    let audit = actor
        .audit(action, &query.audit_target())
        .with_detail(format!("found={}", people.len()));
    store.append_audit(scope.into(), &audit).await?;
    Ok(people)
}

/// One person of `scope` with their doses, audited as a read of personal data.
pub async fn read_person(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
) -> Result<(Resident, Vec<DoseRecord>), StoreError> {
    let person = store.area(scope).resident(atena).await?;
    let doses = store.area(scope).doses_of(atena).await?;
    store
        .append_audit(
            scope.into(),
            &actor.audit(AuditAction::PersonRead, atena.as_str()),
        )
        .await?;
    Ok((person, doses))
}
