//! Storage of the Vaccination Record System.
//!
//! One [`Store`] trait, two backends: embedded SQLite (the default, WAL) and PostgreSQL. Every
//! method takes the caller's municipality (`scope`) first and touches only rows whose key starts with
//! that code; nothing reaches another municipality's area. Personal fields are sealed with the
//! municipality's data key before they leave this crate's hands ([`sealed`]), so no caller can store
//! them in the clear, and every change is written together with its audit entry in one transaction.
//!
//! The backend is chosen once, by URL scheme, in [`open`].

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod certificates;
pub mod clients;
pub mod doses;
mod error;
pub mod governance;
pub mod import;
mod keyring;
pub mod merge;
mod migrate;
pub mod opendata;
mod postgres;
pub mod provision;
mod rows;
pub mod sealed;
mod sqlite;
pub mod statistics;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::MasterKey;
use vrs_domain::{
    AtenaNumber, CertificateId, CouponNumber, DoseRecord, KanaName, MunicipalityCode, MyNumber,
    Resident, TermsKind,
};

pub use accounts::{Account, Application, ApplicationStatus, SessionRecord};
pub use audit::{AuditEntry, AuditFilter, AuditRecord, AuditScope};
pub use backup::{
    AreaRestore, AreaRows, CarriedKey, Cell, Col, KeyedArea, RestoreSource, ShredRecord,
    SnapshotSink, TableRows, TableSpec,
};
pub use certificates::{
    ActiveSigningKey, CertificateIssue, CertificateStatus, EscrowedKey, KeyPurpose,
    RevokedCertificate, SealedSigningKey, SigningKeyInfo,
};
pub use clients::{AccessToken, ClientStore, MachineClient};
pub use doses::{IdempotentAnswer, Registration, IDEMPOTENCY_KEY_MAX};
pub use error::StoreError;
pub use governance::{Agreement, FunctionState, TermsVersion};
pub use import::{ImportRow, ImportSummary, Rejection, ResidentImport, SealedBatch, Sealer};
pub use merge::{Candidate, CandidateKind, CandidateStatus, Mover, PersonMerge};
pub use opendata::{OpenCount, OpenDataStore, OpenFile, OpenFileInfo, OpenGrain, OpenRow};
pub use postgres::tls as postgres_tls;
pub use postgres::PostgresStore;
pub use provision::{
    InquiryJob, ProvidedDose, ProvisionFilter, ProvisionRecord, ProvisionSide,
    DEFAULT_PROVISION_LIMIT,
};
pub use sqlite::SqliteStore;
pub use statistics::{
    AgeCount, AreaStatistics, CoverageCount, DailyCount, MunicipalityFigures, ProductCount,
    ScopeStatistics, StatPerson, StatScope,
};
pub use vrs_crypto::backup::BackupKey;

/// One person's doses and flags, as [`Store::area_doses`] returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonDoses {
    pub atena: AtenaNumber,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
    pub doses: Vec<DoseRecord>,
}

/// The holder of a coupon as the vaccination-site path sees them: who (by 宛名番号) and the flags
/// staff set, read without opening any sealed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CouponHolder {
    pub municipality: MunicipalityCode,
    pub atena: AtenaNumber,
    pub coupon: CouponNumber,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
}

impl From<&Resident> for CouponHolder {
    fn from(r: &Resident) -> Self {
        Self {
            municipality: r.municipality,
            atena: r.atena.clone(),
            coupon: r.coupon,
            moved_out_on: r.moved_out_on,
            deceased_on: r.deceased_on,
        }
    }
}

/// What a write of a resident did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Added,
    Updated,
    Unchanged,
}

/// The storage of every municipality's area. Implementations keep no state that matters across
/// processes except caches: two processes on one database behave as one system.
#[async_trait]
pub trait Store: ClientStore + OpenDataStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`, for messages.
    fn backend(&self) -> &'static str;

    /// Opens the municipality's area (and creates its data key) if it is not open yet.
    async fn activate_municipality(&self, scope: MunicipalityCode) -> Result<(), StoreError>;

    /// The municipalities whose areas are open in this deployment.
    async fn municipalities(&self) -> Result<Vec<MunicipalityCode>, StoreError>;

    /// Adds or updates one resident (matched by 宛名番号) and appends `audit` in the same transaction
    /// when something changed.
    async fn put_resident(
        &self,
        scope: MunicipalityCode,
        resident: &Resident,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError>;

    /// One resident by 宛名番号.
    async fn resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Resident, StoreError>;

    /// One resident by My Number, through the municipality's blind index.
    async fn resident_by_my_number(
        &self,
        scope: MunicipalityCode,
        my_number: &MyNumber,
    ) -> Result<Resident, StoreError>;

    /// One resident by coupon number.
    async fn resident_by_coupon(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<Resident, StoreError>;

    /// The holder of a coupon, without opening any sealed field (the site's path never needs a
    /// name or a My Number).
    async fn coupon_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<CouponHolder, StoreError>;

    /// How many residents the area holds.
    async fn count_residents(&self, scope: MunicipalityCode) -> Result<u64, StoreError>;

    /// The people of the area with this kana name (spaces ignored) and birth date, through the
    /// municipality's search index.
    async fn residents_by_kana_birth(
        &self,
        scope: MunicipalityCode,
        kana: &KanaName,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError>;

    /// Sets or clears a person's moved-out and deceased dates (the record and its doses stay), with
    /// its audit entry.
    async fn set_flags(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        moved_out_on: Option<NaiveDate>,
        deceased_on: Option<NaiveDate>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records a dose in the area of the person's home municipality (`scope`) with its audit entry
    /// and, when given, the idempotent answer. A dose number already recorded for the person is a
    /// [`StoreError::Conflict`]; an idempotency key already used is [`StoreError::Replayed`] (and
    /// nothing is written).
    async fn add_dose(
        &self,
        scope: MunicipalityCode,
        registration: &Registration,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records many doses of the area in one transaction, all or none, with one audit entry.
    async fn add_doses(
        &self,
        scope: MunicipalityCode,
        records: &[DoseRecord],
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The answer kept for an idempotency key, if any.
    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError>;

    /// Keeps an answer that wrote nothing (a refusal) for its key; false when the key already has one.
    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError>;

    /// Replaces a stored dose. `before` must be the dose as stored (all its content), or the call
    /// is a [`StoreError::Conflict`] (someone changed it meanwhile); the dose number may change if
    /// the new one is free. When and how it was first recorded is kept.
    async fn correct_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        after: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Deletes a stored dose (really: the audit entry keeps what it was). `before` as for
    /// [`Store::correct_dose`].
    async fn delete_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Undoes a dose registered from a vaccination site's tablet: deleted like
    /// [`Store::delete_dose`] (its audit entry keeps what it stated, certificates stating it are
    /// revoked in the same transaction), but only while it was recorded from a tablet by
    /// `recorded_by` at or after `recorded_since`; otherwise a [`StoreError::Conflict`] saying which.
    async fn undo_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// A page of the area's people who have doses, by 宛名番号 after `after`: each with the flags
    /// staff set and the doses by dose number. For checking stored records without loading a whole
    /// area at once.
    async fn area_doses(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<PersonDoses>, StoreError>;

    /// A person's doses, by dose number.
    async fn doses_of(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<DoseRecord>, StoreError>;

    /// Records both sides of an inquiry in one transaction: the asking side's record with its audit
    /// entry (in its chain), and, when the person was found, the providing side's record with its
    /// audit entry (in the provider's chain). An inquiry ID already recorded on a side is a
    /// [`StoreError::Conflict`] and nothing is written.
    async fn record_inquiry(
        &self,
        inquired: &ProvisionRecord,
        inquired_audit: &AuditEntry,
        provided: Option<(&ProvisionRecord, &AuditEntry)>,
    ) -> Result<(), StoreError>;

    /// The area's provision records matching `filter`, newest first.
    async fn provision_records(
        &self,
        scope: MunicipalityCode,
        filter: &ProvisionFilter,
    ) -> Result<Vec<ProvisionRecord>, StoreError>;

    /// One of the area's provision records by inquiry ID and side.
    async fn provision_record(
        &self,
        scope: MunicipalityCode,
        inquiry_id: &str,
        side: ProvisionSide,
    ) -> Result<ProvisionRecord, StoreError>;

    /// Keeps a finished bulk inquiry job of `job.municipality` with its audit entry in that
    /// municipality's chain. A batch ID already kept is a [`StoreError::Conflict`].
    async fn save_inquiry_job(
        &self,
        job: &InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The area's bulk inquiry jobs, newest first, at most `limit`, without their results file.
    async fn inquiry_jobs(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<InquiryJob>, StoreError>;

    /// One of the area's bulk inquiry jobs with its results file.
    async fn inquiry_job(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<InquiryJob, StoreError>;

    /// Publishes the next version of a terms document (1 for the first) with its audit entry in the
    /// national chain; returns the version as stored.
    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError>;

    /// Every published version, by kind then version; of one kind only when given.
    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError>;

    /// Records the municipality's agreement to a published version, with its audit entry in the
    /// municipality's chain. An unpublished version is [`StoreError::NotFound`]; agreeing again to
    /// the same version changes nothing and returns false.
    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// The municipality's agreements, by kind then version.
    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError>;

    /// Stops or resumes a function, with its audit entry in the national chain. Takes effect for
    /// every process on the database at once: nothing caches it.
    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The state of every function the operator ever switched (a function without a row runs).
    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError>;

    /// A page of the area's people for the statistics job, by 宛名番号 after `after`: each with
    /// the birth date opened, sex, flags and doses. Only the statistics job calls it; what it
    /// returns never leaves the job.
    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<StatPerson>, StoreError>;

    /// Replaces the municipality's statistics as a whole, unless those stored were computed from a
    /// later (or the same) audit head: returns whether it replaced them.
    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &AreaStatistics,
    ) -> Result<bool, StoreError>;

    /// The audit head each municipality's stored statistics were computed from, and when.
    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError>;

    /// The sums over the municipalities of `scope`.
    async fn scope_statistics(&self, scope: StatScope) -> Result<ScopeStatistics, StoreError>;

    /// Each municipality of `scope` with statistics, with its headline figures, by code.
    async fn municipality_figures(
        &self,
        scope: StatScope,
    ) -> Result<Vec<MunicipalityFigures>, StoreError>;

    /// Starts a bulk import of residents into the area (opening it if needed); nothing is stored
    /// until [`ResidentImport::finish`].
    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError>;

    /// Stores a new account and appends `audit` to `audit_scope`'s chain in the same transaction.
    /// An existing user ID is a [`StoreError::Conflict`].
    async fn create_account(
        &self,
        account: &Account,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// One account by user ID.
    async fn account(&self, user_id: &str) -> Result<Account, StoreError>;

    /// Every account, by user ID.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Counts a failed login; at `lock_after` consecutive failures the account is locked until
    /// `lock_until`. Returns the account as it now stands.
    async fn login_failed(
        &self,
        user_id: &str,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Account, StoreError>;

    /// Clears the failure count after a successful login.
    async fn login_succeeded(&self, user_id: &str) -> Result<(), StoreError>;

    /// Replaces the password hash (and whether it must be changed at the next login), with its
    /// audit entry; every session of the account ends.
    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
        audit_scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records a municipality's application for a staff account; returns its number.
    async fn apply_for_account(
        &self,
        scope: MunicipalityCode,
        applicant: &str,
        display_name: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    /// Applications, newest first; only those with `status` when given.
    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError>;

    /// Decides a pending application: with `issued` the account is created in the same transaction
    /// (approval), without it the application is rejected. A decided application is a conflict.
    async fn decide_application(
        &self,
        id: i64,
        decided_by: &str,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Stores a new session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// One session by the hash of its token.
    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError>;

    /// Marks a session as used now.
    async fn touch_session(
        &self,
        token_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;

    /// Ends a session.
    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    /// Deletes every session last used before `idle_before` or opened before `opened_before`
    /// (expired ones nobody came back to); returns how many.
    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Appends an entry to the municipality's audit chain.
    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError>;

    /// Entries of a chain matching `filter`, newest first.
    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// The newest entry of the municipality's audit chain as the database records it
    /// (`audit_heads`): its sequence number and hash, or `None` for an empty chain.
    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError>;

    /// Every municipality that has an audit chain.
    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError>;

    /// The municipality's audit chain from sequence number `from` (1-based), at most `limit` entries.
    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    // --- Certificates ([`certificates`]) ---

    /// The active signing key of `issuer` for `purpose`, opened with the master key.
    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError>;

    /// Stores a new signing key (its private part sealed by the master key) with its audit entry in
    /// `chain`. With `rotate` the active key of the issuer and purpose is retired in the same
    /// transaction; without it the key is stored only when the issuer has no active key for the
    /// purpose (false: another node made one first; read that one).
    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Every signing key of `purpose`, active and retired (their public parts, for publishing and
    /// verifying), oldest first.
    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError>;

    /// Every signing key of every purpose as stored, private parts still sealed by the master key
    /// (for the key escrow), oldest first.
    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError>;

    /// Stores a signing key brought from a key escrow file, with its audit entry in the national
    /// chain. Its private part must open with this deployment's master key. A key already held
    /// (same issuer, purpose and kid) is left as it is; an active key is stored retired when this
    /// deployment already has another active key for its issuer and purpose.
    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError>;

    /// Keeps one certificate in the issuance history of its municipality with its audit entry,
    /// linked to the person of `atena` only by a keyed hash, with which of `doses` (the person's
    /// doses it states, by dose number) and a keyed hash of their content. An ID already kept is a
    /// [`StoreError::Conflict`]; so is `issue.replaces` naming a certificate that is not this
    /// person's in this area.
    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The area's issuance history, newest first, at most `limit`.
    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError>;

    /// The certificates issued to the person of `atena`, newest first.
    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError>;

    /// Revokes a certificate of the area with `reason` and its audit entry. Unknown in the area is
    /// [`StoreError::NotFound`]; already revoked is a [`StoreError::Conflict`].
    async fn revoke_certificate(
        &self,
        scope: MunicipalityCode,
        id: &CertificateId,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Brings the certificates of these people up to date with their doses as stored: revoked when
    /// a dose one states was corrected or deleted, superseded when a later dose was recorded. Each
    /// change is audited (actor and time of `cause`). Corrections and deletions of doses do this in
    /// their own transaction; additions call it after. Returns how many certificates changed.
    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError>;

    /// Every revoked certificate of the deployment (no personal field: the public lists are made
    /// from it), oldest revocation first.
    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError>;

    // --- Backups and crypto-shredding ([`backup`]) ---

    /// The area's backup key from the key vault; with `create`, a missing one is made and stored.
    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError>;

    /// Opens a vault entry from a key escrow file with this deployment's master key.
    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError>;

    /// A keyed pseudonym of a stranger's text (under the master key): recorded where the text
    /// itself must not be kept.
    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32];

    /// Every key-vault entry as stored (area code, backup key wrapped by the master key).
    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Stores a vault entry brought from a key escrow file; it must unwrap with this deployment's
    /// master key. An existing entry for the area is left as it is.
    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError>;

    /// Every row of `areas`, read in one transaction (a consistent snapshot while others write) and
    /// handed to `sink` as it is read, with each area's data keys re-wrapped by its backup key
    /// (created when missing). Returns the areas' backup keys, in order.
    async fn snapshot(
        &self,
        areas: &[AuditScope],
        sink: Box<dyn SnapshotSink>,
    ) -> Result<Vec<BackupKey>, StoreError>;

    /// Writes `areas` in one transaction, pulling their rows from each source: each area must be
    /// empty here; the data keys are unwrapped with the carried backup key and stored wrapped by this
    /// deployment's master key, and the backup key joins this deployment's vault. Nothing is written
    /// when any part fails.
    async fn restore_areas(&self, areas: Vec<AreaRestore>) -> Result<(), StoreError>;

    /// Records the municipality's consent to the destruction of its area (audited in its chain).
    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Destroys the municipality's area in one transaction: every row, its data keys and its backup
    /// key; appends `audit` (with the counts and the area chain's last head added to its detail) to
    /// the national chain. Refused without a recorded consent.
    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError>;

    /// The consent and (once done) the destruction recorded for the municipality's area.
    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError>;

    /// Deletes one person: their resident row and doses (audited). Returns the doses removed.
    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError>;

    // --- Duplicate people: detection, review queue, reversible merge ([`merge`]) ---

    /// A page of the area's people, opened, by 宛名番号 after `after` (the duplicate scan compares
    /// kanji names; what it returns stays in the scan).
    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError>;

    /// Pairs of the area's people with the same kana name (spaces ignored), birth date and sex,
    /// lower 宛名番号 first, found through the search index without opening any sealed field.
    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError>;

    /// The area's people who moved in from another municipality (the resident registry's
    /// `moved_in_from`) and hold no dose received from there: whom a duplicate scan asks their
    /// former area about, one by one through the inquiry. Reads this area only.
    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<Mover>, StoreError>;

    /// Puts candidates on the area's review queue: new ones open, known ones (same ID) keep their
    /// status. Returns how many were new; `audit` (with that count added) is appended.
    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError>;

    /// The area's queue, newest finding first; only those with `status` when given.
    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<CandidateStatus>,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Decides an open candidate (dismissal only; merges decide through [`Store::merge_people`]).
    /// Unknown: [`StoreError::NotFound`]; already decided: a conflict.
    async fn decide_candidate(
        &self,
        scope: MunicipalityCode,
        candidate_id: &str,
        status: CandidateStatus,
        decided_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Merges `merged` into `kept` in one transaction: both people's rows are kept as stored in the
    /// merge's snapshot, the doses move to `kept` renumbered by date, `merged`'s row is deleted and
    /// an open candidate naming the pair is marked merged. A conflict (nothing written) when either
    /// person is missing, they are the same, or the doses together would break the dose-number
    /// limit or fall two on one day.
    #[allow(clippy::too_many_arguments)]
    async fn merge_people(
        &self,
        scope: MunicipalityCode,
        kept: &AtenaNumber,
        merged: &AtenaNumber,
        merge_id: &str,
        merged_by: &str,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError>;

    /// Undoes a merge: both people's rows and doses as they were, byte for byte; the candidate is
    /// open again. A conflict when already undone, when the kept person's doses changed since, or
    /// when the merged person's 宛名番号, coupon or My Number has been taken meanwhile.
    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        undone_by: &str,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError>;

    /// The area's merges, newest first.
    async fn person_merges(&self, scope: MunicipalityCode) -> Result<Vec<PersonMerge>, StoreError>;
}

/// Where the database is and how to reach it, parsed from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db`.
    Sqlite(std::path::PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to the driver as is.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config(
                    "a sqlite:// URL needs a file path".into(),
                ));
            }
            Ok(Self::Sqlite(path.into()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// Opens (and migrates) the database at `url` with the deployment's master key. With `init`, a new
/// database records this master key; otherwise a database not yet initialised is refused.
pub async fn open(url: &str, master: MasterKey, init: bool) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(path) => Arc::new(SqliteStore::open(&path, master, init).await?),
        DatabaseUrl::Postgres(url) => Arc::new(PostgresStore::open(&url, master, init).await?),
    })
}
