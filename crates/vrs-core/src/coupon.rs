//! Reading a coupon at a vaccination site: the tablet sends the coupon's OCR line (or the
//! municipality code and coupon number) and learns only what it needs to confirm the coupon — the
//! home municipality, the doses already recorded and the next dose number. No My Number, no name, no
//! birth date, no address. A coupon that does not exist in that municipality's targets is refused
//! (the 2021 reservation-site incident accepted invented numbers), and so is a deceased person's.

use chrono::NaiveDate;
use serde::Serialize;
use vrs_domain::{AuditAction, CouponNumber, MunicipalityCode, OcrLine};
use vrs_store::Areas;
use vrs_store::{AuditStore, DoseStore, ResidentStore, StoreError};

use crate::Actor;

/// Which coupon: parsed from an 18-digit OCR line, or `CODE-COUPON` / 16 digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CouponRef {
    pub municipality: MunicipalityCode,
    pub coupon: CouponNumber,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CouponRefError {
    #[error("the OCR line is not valid: {0}")]
    Ocr(vrs_domain::Reason),
    #[error("give the 18-digit OCR line, or the municipality code and the coupon number")]
    Shape,
}

impl vrs_domain::UserFacing for CouponRefError {
    fn code(&self) -> &'static str {
        match self {
            CouponRefError::Ocr(reason) => reason.code,
            CouponRefError::Shape => "coupon_shape",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CouponRefError::Ocr(reason) => format!("OCR行が正しくありません: {}", reason.ja).into(),
            CouponRefError::Shape => {
                "OCR行の18桁、または自治体コードと接種券番号を入力してください。".into()
            }
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

impl CouponRef {
    pub fn parse(text: &str) -> Result<Self, CouponRefError> {
        let digits: String = vrs_domain::normalize_digits(text)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        match digits.len() {
            18 => OcrLine::parse(&digits)
                .map(|l| CouponRef {
                    municipality: l.municipality,
                    coupon: l.coupon,
                })
                .map_err(|e| CouponRefError::Ocr(vrs_domain::Reason::of(&e))),
            16 => {
                // Sixteen bytes need not be sixteen characters: split only on a boundary.
                let (code, number) = digits.split_at_checked(6).ok_or(CouponRefError::Shape)?;
                let municipality = MunicipalityCode::parse(code)
                    .map_err(|e| CouponRefError::Ocr(vrs_domain::Reason::of(&e)))?;
                let coupon = CouponNumber::parse(number).map_err(|_| CouponRefError::Shape)?;
                Ok(CouponRef {
                    municipality,
                    coupon,
                })
            }
            _ => Err(CouponRefError::Shape),
        }
    }
}

/// One recorded dose, as the site sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedDose {
    pub dose_number: vrs_domain::DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static str,
    pub product_name: &'static str,
}

/// What the site learns of a valid coupon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CouponAnswer {
    pub municipality_code: MunicipalityCode,
    pub municipality_name: String,
    pub coupon_number: CouponNumber,
    pub valid: bool,
    pub doses: Vec<RecordedDose>,
    pub next_dose_number: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error("no target of this municipality holds this coupon")]
    Unknown,
    /// The holder is reported deceased: answered to the site exactly as [`CouponError::Unknown`]
    /// (a site must not learn who has died); only the audit entry says which.
    #[error("no target of this municipality holds this coupon")]
    Deceased,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CouponError {
    pub fn code(&self) -> &'static str {
        match self {
            CouponError::Unknown | CouponError::Deceased => "unknown_coupon",
            CouponError::Store(_) => "internal",
        }
    }

    pub fn message_ja(&self) -> &'static str {
        match self {
            CouponError::Unknown | CouponError::Deceased => {
                "この接種券は自治体の接種対象者に登録されていません。"
            }
            CouponError::Store(_) => "処理に失敗しました。",
        }
    }
}

/// A coupon a site cannot use: 404 `unknown_coupon` (the same for an unknown and a deceased holder).
impl vrs_domain::UserFacing for CouponError {
    fn code(&self) -> &'static str {
        CouponError::code(self)
    }
    fn status(&self) -> u16 {
        match self {
            CouponError::Unknown | CouponError::Deceased => 404,
            CouponError::Store(_) => 500,
        }
    }
    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        CouponError::message_ja(self).into()
    }
    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

/// Reads a coupon for a site; the read is audited in the home municipality's chain. The caller has
/// checked that the actor may read coupons (`Action::ReadCoupon`).
pub async fn read_coupon(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    coupon: CouponRef,
) -> Result<CouponAnswer, CouponError> {
    let scope = coupon.municipality;
    let audit = |outcome: &str| {
        actor
            .audit(AuditAction::CouponRead, coupon.coupon.as_str())
            .with_outcome(outcome)
    };
    let person = match store.area(scope).coupon_holder(&coupon.coupon).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            store
                .append_audit(scope.into(), &audit("unknown_coupon"))
                .await?;
            return Err(CouponError::Unknown);
        }
        Err(e) => return Err(e.into()),
    };
    if person.deceased_on.is_some() {
        store.append_audit(scope.into(), &audit("deceased")).await?;
        return Err(CouponError::Deceased);
    }
    let doses: Vec<RecordedDose> = store
        .area(scope)
        .doses_of(&person.atena)
        .await?
        .into_iter()
        .map(|r| r.dose)
        .map(|d| RecordedDose {
            dose_number: d.dose_number,
            administered_on: d.administered_on,
            product: d.product.code,
            product_name: d.product.name_ja,
        })
        .collect();
    store.append_audit(scope.into(), &audit("ok")).await?;
    let next = doses
        .iter()
        .map(|d| d.dose_number.get())
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    Ok(CouponAnswer {
        municipality_code: scope,
        municipality_name: scope.info().full_name(),
        coupon_number: coupon.coupon,
        valid: true,
        doses,
        next_dose_number: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a 16-byte reference with a multibyte character (`38206あ00000000`) was split
    /// by byte and panicked; the tablet API and revoke/re-issue reach this parser.
    #[test]
    fn a_reference_with_multibyte_characters_is_refused_not_a_panic() {
        for text in ["38206あ00000000", "382あ0000000001", "あああああ1"] {
            assert_eq!(text.len(), 16);
            assert!(CouponRef::parse(text).is_err(), "{text}");
        }
        assert!(CouponRef::parse("3820600000000001").is_ok());
    }

    #[test]
    fn coupon_references() {
        let ocr = CouponRef::parse("133820600000000123").unwrap();
        assert_eq!(
            (ocr.municipality.as_str(), ocr.coupon.as_str()),
            ("382060", "0000000123")
        );
        let pair = CouponRef::parse("382060-0000000123").unwrap();
        assert_eq!(pair, ocr);
        assert!(matches!(
            CouponRef::parse("133820610000000123"),
            Err(CouponRefError::Ocr(_))
        ));
        assert_eq!(CouponRef::parse("12345"), Err(CouponRefError::Shape));
    }
}
