//! A dose as a form or a request states it ([`DoseText`]) and as it is recorded once each field
//! is valid ([`DoseStatement`], by [`parse_statement`]): the first field that is wrong is named,
//! with why, in both languages.

use vrs_domain::{
    DoseNumber, DoseRecord, DoseSource, DoseStatement, LotNumber, MunicipalityCode, Reason,
    UserFacing, VaccineProduct,
};
use vrs_store::CouponHolder;

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

/// A form's refusal of one field: the field (its Japanese label, or its name in English), then why.
impl UserFacing for FieldProblem {
    fn code(&self) -> &'static str {
        self.reason.code
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        format!("{}: {}", self.label_ja(), self.reason.ja).into()
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        format!("{}: {}", self.field, self.reason.en).into()
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

/// Validates the fields of a dose (dates in any form [`vrs_domain::parse_date`] reads, a product by
/// its catalogue code); an empty site is `own`.
pub fn parse_statement(
    text: &DoseText<'_>,
    own: MunicipalityCode,
) -> Result<DoseStatement, FieldProblem> {
    fn problem(field: &'static str) -> impl Fn(&dyn UserFacing) -> FieldProblem {
        move |e| FieldProblem {
            field,
            reason: Reason::of(e),
        }
    }
    let dose_number =
        DoseNumber::parse(text.dose_number).map_err(|e| problem("dose_number")(&e))?;
    let administered_on =
        vrs_domain::parse_date(text.administered_on).map_err(|e| problem("administered_on")(&e))?;
    let product = VaccineProduct::by_code(text.product.trim()).ok_or_else(|| FieldProblem {
        field: "product",
        reason: Reason::new(
            "product_unknown",
            format!("登録されていないワクチンです: {:?}", text.product),
            format!("unknown product {:?}", text.product),
        ),
    })?;
    let lot_number = LotNumber::parse(text.lot_number).map_err(|e| problem("lot_number")(&e))?;
    let site = match text.site.trim() {
        "" => own,
        code => MunicipalityCode::parse(code).map_err(|e| problem("site")(&e))?,
    };
    let venue = DoseRecord::venue(text.venue).map_err(|e| problem("venue")(&e))?;
    let doctor = DoseRecord::doctor(text.doctor).map_err(|e| problem("doctor")(&e))?;
    Ok(DoseStatement {
        dose_number,
        administered_on,
        product,
        lot_number,
        site,
        venue,
        doctor,
    })
}

/// The dose `statement` states, recorded now for `person`: in the area of their home
/// municipality, on their coupon.
pub(crate) fn record_for(
    person: &CouponHolder,
    statement: DoseStatement,
    source: DoseSource,
) -> DoseRecord {
    DoseRecord::stated(
        statement,
        person.municipality,
        person.atena.clone(),
        person.coupon,
        source,
    )
}
