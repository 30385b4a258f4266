//! Provision records (情報提供等の記録): both sides of every inquiry between municipalities keep one
//! — who asked, from which municipality, when, on what consent basis, and what was provided. A
//! record never holds a My Number; the asking side names its own person by 宛名番号 when it holds
//! them, the providing side names the person it provided.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{AtenaNumber, ConsentBasis, CouponNumber, DoseNumber, MunicipalityCode};

use crate::ConflictKind;
use crate::{AuditEntry, StoreError};

/// Which side of an inquiry a record is kept on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProvisionSide {
    /// 照会: this municipality asked.
    Inquired,
    /// 提供: this municipality's records were provided.
    Provided,
}

impl ProvisionSide {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionSide::Inquired => "inquired",
            ProvisionSide::Provided => "provided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inquired" => Some(ProvisionSide::Inquired),
            "provided" => Some(ProvisionSide::Provided),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            ProvisionSide::Inquired => "照会",
            ProvisionSide::Provided => "提供",
        }
    }
}

/// The side as staff read it: in Japanese 照会 or 提供, in English its stored code.
impl vrs_domain::Labelled<'static> for ProvisionSide {
    fn label_ja(&self) -> &'static str {
        ProvisionSide::label_ja(*self)
    }

    fn label_en(&self) -> &'static str {
        self.as_str()
    }
}

/// One dose as it was provided: what the answer to an inquiry carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvidedDose {
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    /// The catalogue code of the product (`VaccineProduct::code`).
    pub product_code: String,
    pub lot_number: String,
    pub coupon: CouponNumber,
    pub site_municipality: MunicipalityCode,
}

/// One side's record of an inquiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRecord {
    /// Whose record this is (the caller's scope on every read).
    pub municipality: MunicipalityCode,
    /// The same on both sides, so the two records of one inquiry can be matched. Bulk inquiries
    /// use `{batch}-{line}`.
    pub inquiry_id: String,
    pub side: ProvisionSide,
    /// The other municipality: the one asked (on the asking side) or the one asking.
    pub counterpart: MunicipalityCode,
    pub at: DateTime<Utc>,
    /// The user ID of the staff member who asked, and their terminal class.
    pub actor: String,
    pub terminal: String,
    pub consent: ConsentBasis,
    /// The asking side: its own person with this My Number, if it holds them. The providing side:
    /// the person provided.
    pub atena: Option<AtenaNumber>,
    /// Whether the person was found in the area asked (always true on the providing side).
    pub found: bool,
    pub doses: Vec<ProvidedDose>,
}

/// Which provision records to list: one side or both, a time range (from inclusive, to exclusive),
/// those of one inquiry ID prefix (a bulk batch), newest first, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvisionFilter {
    pub side: Option<ProvisionSide>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub inquiry_prefix: Option<String>,
    pub limit: u32,
}

/// How many records a listing returns when its filter sets no limit.
pub const DEFAULT_PROVISION_LIMIT: u32 = 1000;

impl ProvisionFilter {
    /// The filter's limit, or [`DEFAULT_PROVISION_LIMIT`] when it is 0.
    pub fn effective_limit(&self) -> u32 {
        if self.limit == 0 {
            DEFAULT_PROVISION_LIMIT
        } else {
            self.limit
        }
    }
}

/// Refuses records that do not describe the two sides of one inquiry: the asking side's record
/// on the inquired side, the provider's on the provided side, with the same inquiry ID and each
/// naming the other as counterpart.
pub(crate) fn check_inquiry(
    inquired: &ProvisionRecord,
    provided: Option<&ProvisionRecord>,
) -> Result<(), crate::StoreError> {
    let refuse =
        |why: &'static str| Err(crate::StoreError::Conflict(ConflictKind::InquirySides(why)));
    if inquired.side != ProvisionSide::Inquired {
        return refuse("the asking side's record must be on the inquired side");
    }
    let Some(p) = provided else {
        return Ok(());
    };
    if p.side != ProvisionSide::Provided {
        return refuse("the providing side's record must be on the provided side");
    }
    if p.inquiry_id != inquired.inquiry_id {
        return refuse("both sides of an inquiry must carry the same inquiry ID");
    }
    if p.municipality != inquired.counterpart || p.counterpart != inquired.municipality {
        return refuse("each side of an inquiry must name the other as its counterpart");
    }
    Ok(())
}

/// A bulk inquiry job as kept for its municipality: who ran it, when, its counts, and the results
/// file (UTF-8 CSV text without a BOM; never a My Number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InquiryJob {
    pub municipality: MunicipalityCode,
    /// The batch ID; each row asked is the inquiry `{batch}-{line}`.
    pub batch: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub rows: u32,
    pub found: u32,
    pub not_found: u32,
    pub refused: u32,
    pub invalid: u32,
    /// Empty in listings ([`crate::Store::inquiry_jobs`]).
    pub results_csv: String,
}

/// Inquiries between municipalities: the provision records both sides keep, and bulk inquiry jobs.
#[async_trait]
pub trait InquiryStore: crate::Scoped + Send + Sync {
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
}
