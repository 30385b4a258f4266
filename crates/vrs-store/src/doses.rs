//! What the store keeps of dose registrations beyond the dose itself: who recorded it, and the
//! first answer to a request that carried an `Idempotency-Key`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{AtenaNumber, CouponNumber, DoseRecord, DoseSource, MunicipalityCode, UserId};

use crate::ConflictKind;
use crate::{AuditEntry, CouponHolder, InArea, SignedSession, StoreError};

/// A coupon's holder with their doses by dose number (see [`DoseStore::holder_and_doses`]).
pub type HolderAndDoses = (CouponHolder, Vec<DoseRecord>);

/// What a site's registration reads first, in one read: the signed-in request's session (as
/// [`crate::AccountStore::signed_session`]) and the holder of the coupon it registers on. The
/// holder is read only when the session was found; nothing of it may be used before the session
/// has been checked and the request authorised.
#[derive(Debug)]
pub struct SessionAndHolder {
    pub signed: SignedSession,
    /// The holder with their doses, or why not (`NotFound`: no target of the area holds the coupon).
    pub holder: Result<HolderAndDoses, StoreError>,
}

/// One dose to record, with the account that recorded it and, for a request carrying an
/// `Idempotency-Key`, the answer to keep with it (in the same transaction).
#[derive(Clone, Debug)]
pub struct Registration {
    pub record: DoseRecord,
    /// The user ID of the account that recorded the dose.
    pub recorded_by: String,
    pub answer: Option<IdempotentAnswer>,
}

impl Registration {
    /// A registration without an idempotency key.
    pub fn new(record: DoseRecord, recorded_by: &str) -> Self {
        Self {
            record,
            recorded_by: recorded_by.to_owned(),
            answer: None,
        }
    }
}

/// The first answer given to a request with an `Idempotency-Key`. Keys belong to the account and its
/// own municipality (`site`), whichever area the request wrote to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub site: MunicipalityCode,
    pub user_id: UserId,
    pub key: String,
    /// SHA-256 of the request body, so a key reused for another request is recognised.
    pub request_hash: [u8; 32],
    pub status: u16,
    pub body: String,
}

/// The longest `Idempotency-Key` kept (a UUID is 36 characters).
pub const IDEMPOTENCY_KEY_MAX: usize = 128;

/// Whether a stored dose (recorded from `source` by `stored_by` at `recorded_at`) may still be
/// undone by `by` within a window that opened at `since`.
pub(crate) fn check_undo(
    source: &str,
    stored_by: &str,
    recorded_at: DateTime<Utc>,
    by: &str,
    since: DateTime<Utc>,
) -> Result<(), StoreError> {
    if source != DoseSource::Tablet.as_str() {
        return Err(StoreError::Conflict(ConflictKind::NotFromTablet));
    }
    if stored_by != by {
        return Err(StoreError::Conflict(ConflictKind::OtherSite));
    }
    if recorded_at < since {
        return Err(StoreError::Conflict(ConflictKind::UndoWindowClosed));
    }
    Ok(())
}

/// One person's doses and flags, as [`Store::area_doses`] returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonDoses {
    pub atena: AtenaNumber,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
    pub doses: Vec<DoseRecord>,
}

/// Doses: registration (one at a time with its idempotent answer, or in bulk), correction,
/// deletion, undo, and reading an area's or a person's doses.
///
/// Callers reach these through [`crate::Area`] (`store.area(code)`), which gives the municipality
/// and admits the writes' records to it.
#[async_trait]
pub trait DoseStore: crate::Scoped + Send + Sync {
    /// Records a dose in the area it was admitted to (the person's home municipality) with its audit entry
    /// and, when given, the idempotent answer, and in the same transaction marks the person's
    /// certificates that no longer state every dose superseded (as
    /// [`crate::CertificateStore::refresh_certificates`] does, `audit` as the cause). A dose number
    /// already recorded for the person is a [`StoreError::Conflict`]; an idempotency key already
    /// used is [`StoreError::Replayed`] (and nothing is written).
    async fn add_dose(
        &self,
        registration: InArea<'_, Registration>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Records many doses of the area in one transaction, all or none, with one audit entry.
    async fn add_doses(
        &self,
        records: InArea<'_, [DoseRecord]>,
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The answer kept for an idempotency key, if any.
    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError>;

    /// Keeps an answer that wrote nothing (a refusal) for its key; false when the key already has one.
    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError>;

    /// Replaces a stored dose. `before` must be the dose as stored (all its content), or the call
    /// is a [`StoreError::Conflict`] (someone changed it meanwhile); the dose number may change if
    /// the new one is free. When and how it was first recorded is kept.
    async fn correct_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        after: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Deletes a stored dose (really: the audit entry keeps what it was). `before` as for
    /// [`Store::correct_dose`].
    async fn delete_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Undoes a dose registered from a vaccination site's tablet: deleted like
    /// [`Store::delete_dose`] (its audit entry keeps what it stated, certificates stating it are
    /// revoked in the same transaction), but only while it was recorded from a tablet by
    /// `recorded_by` at or after `recorded_since`; otherwise a [`StoreError::Conflict`] saying which.
    async fn undo_dose(
        &self,
        before: InArea<'_, DoseRecord>,
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

    /// The holder of a coupon of the area (as [`crate::ResidentStore::coupon_holder`]) with their
    /// doses by dose number, read together: what a site's registration checks its dose against.
    async fn holder_and_doses(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<HolderAndDoses, StoreError>;

    /// The session of `token_hash` (with its account and the functions stopped now) and, when it
    /// is found, the holder of a coupon of the area with their doses, read together: one round
    /// trip on PostgreSQL, one read transaction on SQLite. `NotFound` when no session has that
    /// hash (the holder is then not read).
    async fn session_and_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
        token_hash: &[u8],
    ) -> Result<SessionAndHolder, StoreError>;
}
