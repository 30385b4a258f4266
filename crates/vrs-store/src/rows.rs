//! Conversions between stored columns and domain values shared by both backends, and the errors
//! they produce. A malformed stored value is [`StoreError::Corrupt`], naming the column and key.

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{
    AtenaNumber, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode,
    VaccineProduct,
};

use crate::StoreError;

/// Refuses a record whose own municipality is not the caller's scope.
pub(crate) fn check_scope(
    scope: MunicipalityCode,
    owner: MunicipalityCode,
) -> Result<(), StoreError> {
    if scope == owner {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "the record belongs to municipality {owner}, not to {scope}"
        )))
    }
}

/// Names the unique rule a write broke, from the database's message or constraint name.
pub(crate) fn unique_conflict(detail: &str) -> StoreError {
    if detail.contains("my_number_index") {
        StoreError::Conflict(
            "this My Number is already registered to another person in this municipality".into(),
        )
    } else if detail.contains("coupon_number") {
        StoreError::Conflict(
            "this coupon number is already used by another person in this municipality".into(),
        )
    } else {
        StoreError::Conflict("the record already exists".into())
    }
}

pub(crate) fn dose_conflict(dose_number: u8) -> StoreError {
    StoreError::Conflict(format!(
        "dose {dose_number} is already recorded for this person"
    ))
}

pub(crate) fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("audit hash is not 32 bytes".into()))
}

pub(crate) fn date(text: &str) -> Result<NaiveDate, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("date {text:?}")))
}

pub(crate) fn opt_date(text: Option<&str>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(date).transpose()
}

pub(crate) fn municipality(code: &str) -> Result<MunicipalityCode, StoreError> {
    MunicipalityCode::parse(code.trim())
        .map_err(|_| StoreError::Corrupt(format!("municipality code {code:?}")))
}

/// The columns of a `doses` row as [`DoseRow`] reads them, after `atena_number`.
pub(crate) const DOSE_COLUMNS: &str = "dose_number, administered_on, product_code, lot_number, \
     site_municipality_code, coupon_number, venue, doctor, recorded_at, source";

/// A `doses` row before its values are parsed.
pub(crate) struct DoseRow {
    pub dose_number: i64,
    pub administered_on: NaiveDate,
    pub product_code: String,
    pub lot_number: String,
    pub site_municipality: String,
    pub coupon: String,
    pub venue: String,
    pub doctor: String,
    pub recorded_at: DateTime<Utc>,
    pub source: String,
}

impl DoseRow {
    pub(crate) fn into_record(
        self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<DoseRecord, StoreError> {
        let corrupt = |what: &str| {
            StoreError::Corrupt(format!(
                "doses.{what} of 宛名番号 {atena} dose {}",
                self.dose_number
            ))
        };
        Ok(DoseRecord {
            dose: Dose {
                municipality: scope,
                atena: atena.clone(),
                dose_number: u8::try_from(self.dose_number).map_err(|_| corrupt("dose_number"))?,
                administered_on: self.administered_on,
                product: VaccineProduct::by_code(&self.product_code)
                    .ok_or_else(|| corrupt("product_code"))?,
                lot_number: LotNumber::parse(&self.lot_number)
                    .map_err(|_| corrupt("lot_number"))?,
                site_municipality: municipality(&self.site_municipality)?,
                coupon: CouponNumber::parse(self.coupon.trim())
                    .map_err(|_| corrupt("coupon_number"))?,
            },
            source: DoseSource::parse(&self.source).ok_or_else(|| corrupt("source"))?,
            venue: self.venue,
            doctor: self.doctor,
            recorded_at: self.recorded_at,
        })
    }
}
