//! A dose as a form or a request states it ([`DoseText`]) and as it is recorded once each field
//! is valid ([`DoseInput`]): the first field that is wrong is named, with why, in both languages.

use chrono::{NaiveDate, Utc};
use vrs_domain::{
    Dose, DoseNumber, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Reason, UserFacing,
    VaccineProduct,
};
use vrs_store::CouponHolder;

/// What a registration states about the dose, before it is tied to a person.
#[derive(Clone, Debug, PartialEq)]
pub struct DoseInput {
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static VaccineProduct,
    pub lot_number: LotNumber,
    /// Where it was given (接種地): for a tablet, its account's municipality.
    pub site: MunicipalityCode,
    /// 接種会場名 (checked with [`DoseRecord::venue`]).
    pub venue: String,
    /// 接種医師名 (checked with [`DoseRecord::doctor`]).
    pub doctor: String,
}

/// A dose as a form or a request states it, before validation.
#[derive(Clone, Copy, Debug, Default)]
pub struct DoseText<'a> {
    pub dose_number: &'a str,
    pub administered_on: &'a str,
    pub product: &'a str,
    pub lot_number: &'a str,
    /// Empty for the caller's own municipality.
    pub site: &'a str,
    pub venue: &'a str,
    pub doctor: &'a str,
}

/// The first field of a [`DoseText`] that is wrong: its name (as in [`DoseText`]) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    /// Why, in both languages.
    pub reason: Reason,
}

impl FieldProblem {
    /// The field's Japanese label, for pages and messages.
    pub fn label_ja(&self) -> &'static str {
        field_label_ja(self.field)
    }
}

/// The Japanese label of a field of a dose as a form or a request names it (`dose_number`, …).
pub fn field_label_ja(field: &str) -> &'static str {
    match field {
        "coupon" => "接種券",
        "reason" => "理由",
        "body" => "送信内容",
        "Idempotency-Key" => "再送用のキー（Idempotency-Key）",
        "dose_number" => "接種回",
        "administered_on" => "接種日",
        "product" => "ワクチン",
        "lot_number" => "ロット番号",
        "site" => "接種自治体コード",
        "venue" => "接種会場名",
        "doctor" => "接種医師名",
        _ => "入力",
    }
}

impl DoseInput {
    /// Validates the fields of a dose (dates in any form [`vrs_domain::parse_date`] reads, a
    /// product by its catalogue code); an empty site is `own`.
    pub fn parse(text: &DoseText<'_>, own: MunicipalityCode) -> Result<Self, FieldProblem> {
        fn problem(field: &'static str) -> impl Fn(&dyn UserFacing) -> FieldProblem {
            move |e| FieldProblem {
                field,
                reason: Reason::of(e),
            }
        }
        let dose_number =
            DoseNumber::parse(text.dose_number).map_err(|e| problem("dose_number")(&e))?;
        let administered_on = vrs_domain::parse_date(text.administered_on)
            .map_err(|e| problem("administered_on")(&e))?;
        let product = VaccineProduct::by_code(text.product.trim()).ok_or_else(|| FieldProblem {
            field: "product",
            reason: Reason::new(
                "product_unknown",
                format!("登録されていないワクチンです: {:?}", text.product),
                format!("unknown product {:?}", text.product),
            ),
        })?;
        let lot_number =
            LotNumber::parse(text.lot_number).map_err(|e| problem("lot_number")(&e))?;
        let site = match text.site.trim() {
            "" => own,
            code => MunicipalityCode::parse(code).map_err(|e| problem("site")(&e))?,
        };
        let venue = DoseRecord::venue(text.venue).map_err(|e| problem("venue")(&e))?;
        let doctor = DoseRecord::doctor(text.doctor).map_err(|e| problem("doctor")(&e))?;
        Ok(Self {
            dose_number,
            administered_on,
            product,
            lot_number,
            site,
            venue,
            doctor,
        })
    }

    pub(crate) fn record(&self, person: &CouponHolder, source: DoseSource) -> DoseRecord {
        DoseRecord {
            dose: Dose {
                municipality: person.municipality,
                atena: person.atena.clone(),
                dose_number: self.dose_number,
                administered_on: self.administered_on,
                product: self.product,
                lot_number: self.lot_number.clone(),
                site_municipality: self.site,
                coupon: person.coupon,
            },
            venue: self.venue.clone(),
            doctor: self.doctor.clone(),
            recorded_at: Utc::now(),
            source,
            received_from: None,
        }
    }
}
