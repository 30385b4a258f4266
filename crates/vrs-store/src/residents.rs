//! The residents of a municipality's area (read by 宛名番号, My Number through the blind index, coupon,
//! or kana and birth date), their flags, bulk imports, paging and deletion.

use async_trait::async_trait;
use chrono::NaiveDate;
use vrs_domain::{AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, Resident};

use crate::{AuditEntry, InArea, ResidentImport, StoreError};

/// The most people one birth date's search returns: an area of millions holds a few hundred people
/// born on any one day.
pub const BORN_ON_LIMIT: usize = 2_000;

/// The people of an area (`$1`) with a kana name and birth date — `$2` their kana index, `$3` the
/// birth date's index — at most 100, by 宛名番号: the `WHERE` clause and order of the query, both
/// indexes leading the search index. Rows stored before the birth date's index have none yet and
/// are found by their kana index alone. (SQLite runs the two arms as two searches of the full key.)
pub(crate) const KANA_BIRTH_WHERE: &str = "municipality_code = $1 \
     AND (birth_index = $3 OR birth_index IS NULL) AND kana_birth_index = $2 \
     ORDER BY atena_number LIMIT 100";

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

/// The residents of a municipality's area (read by 宛名番号, My Number through the blind index, coupon,
/// or kana and birth date), their flags, bulk imports, paging and deletion.
#[async_trait]
pub trait ResidentStore: crate::Scoped + Send + Sync {
    /// Adds or updates one resident (matched by 宛名番号) and appends `audit` in the same transaction
    /// when something changed.
    async fn put_resident(
        &self,
        resident: InArea<'_, Resident>,
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

    /// The people of the area born on `birth_date` (at most [`BORN_ON_LIMIT`], by 宛名番号),
    /// through the birth date's search index; rows stored before that index existed are indexed
    /// first, once.
    async fn residents_born_on(
        &self,
        scope: MunicipalityCode,
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

    /// Starts a bulk import of residents into the area (opening it if needed); nothing is stored
    /// until [`ResidentImport::finish`].
    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError>;

    /// Deletes one person: their resident row and doses (audited). Returns the doses removed.
    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError>;

    /// A page of the area's people, opened, by 宛名番号 after `after`.
    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError>;
}
