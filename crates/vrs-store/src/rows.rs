//! Conversions between stored columns and domain values shared by both backends, and the errors
//! they produce. A malformed stored value is [`StoreError::Corrupt`], naming the column and key.

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{
    AtenaNumber, ConsentBasis, CouponNumber, Dose, DoseNumber, DoseRecord, DoseSource, Function,
    LotNumber, MunicipalityCode, TermsKind, VaccineProduct,
};

use crate::provision::{ProvidedDose, ProvisionRecord, ProvisionSide};
use crate::ConflictKind;
use crate::StoreError;

/// Names the unique rule a write broke, from the database's message or constraint name.
pub(crate) fn unique_conflict(detail: &str) -> StoreError {
    if detail.contains("my_number_index") {
        StoreError::Conflict(ConflictKind::MyNumberTaken)
    } else if detail.contains("coupon_number") {
        StoreError::Conflict(ConflictKind::CouponTaken)
    } else {
        StoreError::Conflict(ConflictKind::Exists)
    }
}

pub(crate) fn dose_conflict(dose_number: DoseNumber) -> StoreError {
    StoreError::Conflict(ConflictKind::DoseTaken(dose_number))
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
     site_municipality_code, coupon_number, venue, doctor, recorded_at, source, received_from";

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
    pub received_from: Option<String>,
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
                dose_number: DoseNumber::from_int(self.dose_number)
                    .map_err(|_| corrupt("dose_number"))?,
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
            received_from: self
                .received_from
                .as_deref()
                .map(municipality)
                .transpose()?,
        })
    }
}

pub(crate) fn terms_kind(code: &str) -> Result<TermsKind, StoreError> {
    TermsKind::parse(code).ok_or_else(|| StoreError::Corrupt(format!("terms kind {code:?}")))
}

pub(crate) fn function(code: &str) -> Result<Function, StoreError> {
    Function::parse(code).ok_or_else(|| StoreError::Corrupt(format!("function {code:?}")))
}

pub(crate) fn terms_version(version: i64) -> Result<u32, StoreError> {
    u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("terms version {version}")))
}

/// The columns of a `provision_records` row as [`ProvisionRow`] reads them, after
/// `municipality_code` (always the caller's scope).
pub(crate) const PROVISION_COLUMNS: &str =
    "side, inquiry_id, counterpart_code, at, actor, terminal, consent, atena_number, found";

/// The columns of a `provision_doses` row as [`ProvidedDoseRow`] reads them.
pub(crate) const PROVIDED_DOSE_COLUMNS: &str =
    "dose_number, administered_on, product_code, lot_number, coupon_number, site_municipality_code";

/// A `provision_records` row before its values are parsed.
pub(crate) struct ProvisionRow {
    pub side: String,
    pub inquiry_id: String,
    pub counterpart: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub terminal: String,
    pub consent: String,
    pub atena: Option<String>,
    pub found: bool,
}

/// A `provision_doses` row before its values are parsed.
pub(crate) struct ProvidedDoseRow {
    pub dose_number: i64,
    pub administered_on: NaiveDate,
    pub product_code: String,
    pub lot_number: String,
    pub coupon: String,
    pub site_municipality: String,
}

impl ProvisionRow {
    fn into_record(self, scope: MunicipalityCode) -> Result<ProvisionRecord, StoreError> {
        let id = &self.inquiry_id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("provision_records.{what} of {id}"));
        Ok(ProvisionRecord {
            municipality: scope,
            side: ProvisionSide::parse(&self.side).ok_or_else(|| corrupt("side"))?,
            counterpart: municipality(&self.counterpart)?,
            at: self.at,
            consent: ConsentBasis::parse(&self.consent).ok_or_else(|| corrupt("consent"))?,
            atena: self
                .atena
                .as_deref()
                .map(AtenaNumber::parse)
                .transpose()
                .map_err(|_| corrupt("atena_number"))?,
            found: self.found,
            actor: self.actor,
            terminal: self.terminal,
            doses: Vec::new(),
            inquiry_id: self.inquiry_id,
        })
    }
}

impl ProvidedDoseRow {
    fn into_dose(self, inquiry_id: &str) -> Result<ProvidedDose, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("provision_doses.{what} of {inquiry_id}"));
        Ok(ProvidedDose {
            dose_number: DoseNumber::from_int(self.dose_number)
                .map_err(|_| corrupt("dose_number"))?,
            administered_on: self.administered_on,
            product_code: self.product_code,
            lot_number: self.lot_number,
            coupon: CouponNumber::parse(self.coupon.trim())
                .map_err(|_| corrupt("coupon_number"))?,
            site_municipality: municipality(&self.site_municipality)?,
        })
    }
}

/// Records from rows of a records-left-join-doses query ordered by record, then dose number: each
/// record once, with its doses.
pub(crate) fn provision_records(
    scope: MunicipalityCode,
    joined: Vec<(ProvisionRow, Option<ProvidedDoseRow>)>,
) -> Result<Vec<ProvisionRecord>, StoreError> {
    let mut out: Vec<ProvisionRecord> = Vec::new();
    for (row, dose) in joined {
        let same = out.last().is_some_and(|last: &ProvisionRecord| {
            last.inquiry_id == row.inquiry_id && last.side.as_str() == row.side
        });
        if !same {
            out.push(row.into_record(scope)?);
        }
        if let (Some(dose), Some(record)) = (dose, out.last_mut()) {
            let dose = dose.into_dose(&record.inquiry_id)?;
            record.doses.push(dose);
        }
    }
    Ok(out)
}
