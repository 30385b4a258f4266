//! One municipality's area of the store, as a handle: `store.area(code)`.
//!
//! Every operation on a municipality's rows goes through an [`Area`], which carries the
//! municipality (the caller's, from its session or token, or the one an inquiry rule opened) so
//! that no call can name a different one in the middle of its arguments. The writes that carry a
//! record naming its own municipality (a resident, a dose) take it as [`InArea`], which only an
//! [`Area`] makes, after checking that the record belongs to it: a backend given one needs no check
//! of its own, and no caller can reach a backend's write with a record of another area.

use std::ops::Deref;

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{
    AtenaNumber, CertificateId, CouponNumber, DoseRecord, KanaName, MunicipalityCode, MyNumber,
    Resident, Role, TermsKind, UserId,
};

use crate::{
    AccountStore, Agreement, AreaStatistics, AuditEntry, BackupStore, Candidate, CandidateStatus,
    CertificateIssue, CertificateStore, ConflictKind, CouponHolder, DoseStore, DuplicateStore,
    GovernanceStore, InquiryJob, InquiryStore, Mover, PersonDoses, PersonMerge, ProvisionFilter,
    ProvisionRecord, ProvisionSide, Registration, ResidentImport, ResidentStore, ShredRecord,
    StatPerson, StatisticsStore, StoreError, Written,
};

/// A municipality's area of a store: the store's area operations with the municipality given once.
pub struct Area<'s, S: ?Sized> {
    store: &'s S,
    code: MunicipalityCode,
}

impl<S: ?Sized> Clone for Area<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ?Sized> Copy for Area<'_, S> {}

impl<'s, S: ?Sized> Area<'s, S> {
    /// The municipality whose area this is.
    pub fn code(&self) -> MunicipalityCode {
        self.code
    }

    /// `value` as belonging to this area, when `owner` (the municipality it names) is this one;
    /// otherwise [`ConflictKind::OtherMunicipality`].
    fn admit<'a, T: ?Sized>(
        &self,
        owner: MunicipalityCode,
        value: &'a T,
    ) -> Result<InArea<'a, T>, StoreError> {
        if owner == self.code {
            Ok(InArea {
                code: self.code,
                value,
            })
        } else {
            Err(StoreError::Conflict(ConflictKind::OtherMunicipality {
                owner,
                scope: self.code,
            }))
        }
    }
}

/// Gives every store a handle on one municipality's area.
pub trait Areas {
    /// The area of municipality `code`.
    fn area(&self, code: MunicipalityCode) -> Area<'_, Self>;
}

/// Implemented by each backend, and so by `dyn Store`: what [`Areas`] is given for.
pub trait Scoped {}

impl<S: Scoped + ?Sized> Areas for S {
    fn area(&self, code: MunicipalityCode) -> Area<'_, Self> {
        Area { store: self, code }
    }
}

/// A value (a resident, a registration, a dose or several) checked to belong to one municipality's
/// area. Only [`Area`] makes one; it reads as the value itself.
#[derive(Debug)]
pub struct InArea<'a, T: ?Sized> {
    code: MunicipalityCode,
    value: &'a T,
}

impl<'a, T: ?Sized> InArea<'a, T> {
    /// The municipality whose area it belongs to.
    pub fn code(&self) -> MunicipalityCode {
        self.code
    }

    /// The value itself, for as long as it is borrowed.
    pub fn get(&self) -> &'a T {
        self.value
    }
}

impl<T: ?Sized> Deref for InArea<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

/// The writes whose records name their municipality: each checked here, once, for every backend.
impl<S: ResidentStore + ?Sized> Area<'_, S> {
    /// [`ResidentStore::put_resident`] in this area; a resident of another municipality is refused.
    pub async fn put_resident(
        self,
        resident: &Resident,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError> {
        let resident = self.admit(resident.municipality, resident)?;
        self.store.put_resident(resident, audit).await
    }
}

impl<S: DoseStore + ?Sized> Area<'_, S> {
    /// [`DoseStore::add_dose`] in this area; a dose of another municipality's person is refused.
    pub async fn add_dose(
        self,
        registration: &Registration,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let registration = self.admit(registration.record.dose.municipality, registration)?;
        self.store.add_dose(registration, audit).await
    }

    /// [`DoseStore::add_doses`] in this area; one dose of another municipality refuses them all.
    pub async fn add_doses(
        self,
        records: &[DoseRecord],
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        for r in records {
            self.admit(r.dose.municipality, r)?;
        }
        let records = InArea {
            code: self.code,
            value: records,
        };
        self.store.add_doses(records, recorded_by, audit).await
    }

    /// [`DoseStore::correct_dose`] in this area; both doses must be of it.
    pub async fn correct_dose(
        self,
        before: &DoseRecord,
        after: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let before = self.admit(before.dose.municipality, before)?;
        let after = self.admit(after.dose.municipality, after)?;
        self.store.correct_dose(before, after, audit).await
    }

    /// [`DoseStore::delete_dose`] in this area.
    pub async fn delete_dose(
        self,
        before: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let before = self.admit(before.dose.municipality, before)?;
        self.store.delete_dose(before, audit).await
    }

    /// [`DoseStore::undo_dose`] in this area.
    pub async fn undo_dose(
        self,
        before: &DoseRecord,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let before = self.admit(before.dose.municipality, before)?;
        self.store
            .undo_dose(before, recorded_by, recorded_since, audit)
            .await
    }
}

/// The area's other operations: each a store method whose first argument is the municipality.
macro_rules! in_area {
    ($( $store:ident { $( fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )* } )*) => {$(
        impl<S: $store + ?Sized> Area<'_, S> {$(
            #[doc = concat!("[`", stringify!($store), "::", stringify!($name), "`] in this area.")]
            pub async fn $name(self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                self.store.$name(self.code, $($arg),*).await
            }
        )*}
    )*};
}

in_area! {
    ResidentStore {
        fn resident(atena: &AtenaNumber) -> Resident;
        fn resident_by_my_number(my_number: &MyNumber) -> Resident;
        fn resident_by_coupon(coupon: &CouponNumber) -> Resident;
        fn coupon_holder(coupon: &CouponNumber) -> CouponHolder;
        fn count_residents() -> u64;
        fn residents_by_kana_birth(kana: &KanaName, birth_date: NaiveDate) -> Vec<Resident>;
        fn residents_born_on(birth_date: NaiveDate) -> Vec<Resident>;
        fn set_flags(
            atena: &AtenaNumber,
            moved_out_on: Option<NaiveDate>,
            deceased_on: Option<NaiveDate>,
            audit: &AuditEntry
        ) -> ();
        fn begin_import() -> Box<dyn ResidentImport>;
        fn delete_resident(atena: &AtenaNumber, audit: &AuditEntry) -> u32;
        fn residents_page(after: Option<&AtenaNumber>, limit: u32) -> Vec<Resident>;
    }
    DoseStore {
        fn area_doses(after: Option<&AtenaNumber>, limit: u32) -> Vec<PersonDoses>;
        fn doses_of(atena: &AtenaNumber) -> Vec<DoseRecord>;
        fn holder_and_doses(coupon: &CouponNumber) -> crate::HolderAndDoses;
        fn session_and_holder(coupon: &CouponNumber, token_hash: &[u8]) -> crate::SessionAndHolder;
    }
    InquiryStore {
        fn provision_records(filter: &ProvisionFilter) -> Vec<ProvisionRecord>;
        fn provision_record(inquiry_id: &str, side: ProvisionSide) -> ProvisionRecord;
        fn inquiry_jobs(limit: u32) -> Vec<InquiryJob>;
        fn inquiry_job(batch: &str) -> InquiryJob;
    }
    GovernanceStore {
        fn agree_to_terms(
            kind: TermsKind,
            version: u32,
            agreed_by: &str,
            audit: &AuditEntry
        ) -> bool;
        fn agreements() -> Vec<Agreement>;
    }
    StatisticsStore {
        fn statistics_source(after: Option<&AtenaNumber>, limit: u32) -> Vec<StatPerson>;
        fn replace_statistics(stats: &AreaStatistics) -> bool;
        fn statistics_still_current() -> bool;
    }
    AccountStore {
        fn apply_for_account(
            applicant: &UserId,
            display_name: &str,
            role: Role,
            audit: &AuditEntry
        ) -> i64;
    }
    CertificateStore {
        fn certificate_issues(limit: u32) -> Vec<CertificateIssue>;
        fn person_certificates(atena: &AtenaNumber) -> Vec<CertificateIssue>;
        fn revoke_certificate(id: &CertificateId, reason: &str, audit: &AuditEntry) -> ();
        fn refresh_certificates(people: &[AtenaNumber], cause: &AuditEntry) -> u32;
    }
    BackupStore {
        fn consent_to_shred(reference: &str, audit: &AuditEntry) -> ();
        fn shred_area(audit: &AuditEntry) -> ShredRecord;
        fn shred_record() -> Option<ShredRecord>;
    }
    DuplicateStore {
        fn duplicate_pairs_by_kana_birth_sex() -> Vec<(AtenaNumber, AtenaNumber)>;
        fn duplicate_pairs_by_kanji_birth_sex() -> Vec<(AtenaNumber, AtenaNumber)>;
        fn movers() -> Vec<Mover>;
        fn put_duplicate_candidates(candidates: &[Candidate], audit: &AuditEntry) -> u32;
        fn duplicate_candidates(status: Option<CandidateStatus>) -> Vec<Candidate>;
        fn decide_candidate(
            candidate_id: &str,
            status: CandidateStatus,
            decided_by: &str,
            audit: &AuditEntry
        ) -> ();
        fn merge_people(
            kept: &AtenaNumber,
            merged: &AtenaNumber,
            merge_id: &str,
            merged_by: &str,
            at: DateTime<Utc>,
            audit: &AuditEntry
        ) -> PersonMerge;
        fn unmerge(merge_id: &str, undone_by: &str, audit: &AuditEntry) -> PersonMerge;
        fn person_merges() -> Vec<PersonMerge>;
    }
}
