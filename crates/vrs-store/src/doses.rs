//! What the store keeps of dose registrations beyond the dose itself: who recorded it, and the
//! first answer to a request that carried an `Idempotency-Key`.

use chrono::{DateTime, Utc};
use vrs_domain::{DoseRecord, DoseSource, MunicipalityCode};

use crate::StoreError;

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
    pub user_id: String,
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
        return Err(StoreError::Conflict(
            "the dose was not registered from a tablet".into(),
        ));
    }
    if stored_by != by {
        return Err(StoreError::Conflict(
            "the dose was registered by another site".into(),
        ));
    }
    if recorded_at < since {
        return Err(StoreError::Conflict("the undo window has closed".into()));
    }
    Ok(())
}
