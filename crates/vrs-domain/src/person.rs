//! The two records the system keeps per municipality: the person to be vaccinated
//! (接種対象者) and each dose given (接種記録). Plain data assembled from already-validated
//! parts, so a value of these types is valid by construction.

use chrono::NaiveDate;

use crate::coupon::{AtenaNumber, CouponNumber};
use crate::dose_number::DoseNumber;
use crate::municipality::MunicipalityCode;
use crate::my_number::MyNumber;
use crate::name::{KanaName, PersonName};
use crate::sex::Sex;
use crate::vaccine::{LotNumber, VaccineProduct};

/// A person the municipality is to vaccinate. `Debug` masks the My Number (see [`MyNumber`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Resident {
    pub municipality: MunicipalityCode,
    pub atena: AtenaNumber,
    pub my_number: MyNumber,
    pub coupon: CouponNumber,
    pub name: PersonName,
    pub name_kana: KanaName,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// 転出: set when the person moved away; the record stays.
    pub moved_out_on: Option<NaiveDate>,
    /// 死亡: set when the person died; the record stays.
    pub deceased_on: Option<NaiveDate>,
    /// 転入: the municipality the person moved in from, when the resident registry says so — where
    /// doses given before the move are kept, and the only area an inquiry about them may ask.
    pub moved_in_from: Option<MunicipalityCode>,
}

impl Resident {
    /// Whether the person was neither moved out nor deceased on that day.
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.moved_out_on
            .into_iter()
            .chain(self.deceased_on)
            .all(|d| day < d)
    }
}

/// One dose, kept in the home municipality's area wherever it was given.
#[derive(Clone, Debug, PartialEq)]
pub struct Dose {
    /// The home municipality (whose area holds it).
    pub municipality: MunicipalityCode,
    pub atena: AtenaNumber,
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    /// Compared by product code.
    pub product: &'static VaccineProduct,
    pub lot_number: LotNumber,
    /// Where it was given (接種地).
    pub site_municipality: MunicipalityCode,
    pub coupon: CouponNumber,
}

/// How a dose reached the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DoseSource {
    /// Registered from a vaccination site's tablet.
    Tablet,
    /// Bulk registration from a CSV (OCR of 予診票).
    Csv,
    /// Entered or corrected by municipal staff.
    Staff,
    /// Received from another municipality through an inquiry.
    Inquiry,
    /// Received as a FHIR Immunization.
    Fhir,
    /// Received as an HL7 v2 VXU message.
    Hl7,
}

impl DoseSource {
    pub const ALL: [DoseSource; 6] = [
        Self::Tablet,
        Self::Csv,
        Self::Staff,
        Self::Inquiry,
        Self::Fhir,
        Self::Hl7,
    ];

    /// The stored and exported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tablet => "tablet",
            Self::Csv => "csv",
            Self::Staff => "staff",
            Self::Inquiry => "inquiry",
            Self::Fhir => "fhir",
            Self::Hl7 => "hl7",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A stored dose with what its registration added: the venue (接種会場名, at most 30 characters)
/// and doctor (接種医師名, at most 20) as the ledger layout carries them, when it was recorded
/// (接種履歴登録日時) and how it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct DoseRecord {
    pub dose: Dose,
    pub venue: String,
    pub doctor: String,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub source: DoseSource,
    /// For a dose received through an inquiry: the municipality that provided it.
    pub received_from: Option<MunicipalityCode>,
}

/// Why a venue or doctor name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains a control character")]
    Control,
}

impl DoseRecord {
    /// A dose recorded now, with no venue or doctor named.
    pub fn now(dose: Dose, source: DoseSource) -> Self {
        Self {
            dose,
            venue: String::new(),
            doctor: String::new(),
            recorded_at: chrono::Utc::now(),
            source,
            received_from: None,
        }
    }

    pub const VENUE_MAX: usize = 30;
    pub const DOCTOR_MAX: usize = 20;

    /// Trims a venue name and checks it fits the ledger's 30 characters.
    pub fn venue(text: &str) -> Result<String, LabelError> {
        label(text, Self::VENUE_MAX)
    }

    /// Trims a doctor's name and checks it fits the ledger's 20 characters.
    pub fn doctor(text: &str) -> Result<String, LabelError> {
        label(text, Self::DOCTOR_MAX)
    }
}

fn label(text: &str, max: usize) -> Result<String, LabelError> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(LabelError::Control);
    }
    if text.chars().count() > max {
        return Err(LabelError::TooLong { max });
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn resident() -> Resident {
        Resident {
            municipality: MunicipalityCode::parse("382060").unwrap(),
            atena: AtenaNumber::parse("000000012345").unwrap(),
            my_number: MyNumber::parse("123456789018").unwrap(),
            coupon: CouponNumber::parse("0000000001").unwrap(),
            name: PersonName::parse("西条　花子").unwrap(),
            name_kana: KanaName::parse("サイジョウ　ハナコ").unwrap(),
            birth_date: NaiveDate::from_ymd_opt(1950, 4, 1).unwrap(),
            sex: Sex::Female,
            moved_out_on: None,
            deceased_on: None,
            moved_in_from: None,
        }
    }

    #[test]
    fn resident_debug_masks_the_my_number() {
        let r = resident();
        let debug = format!("{r:?}");
        assert!(!debug.contains("123456789018"));
        assert!(!debug.contains("12345678"));
        assert!(debug.contains("****-****-9018"));
        assert!(debug.contains("PersonName(\"西条"));
    }

    #[test]
    fn flags_end_activity_from_their_date() {
        let mut r = resident();
        let day = |d| NaiveDate::from_ymd_opt(2021, 6, d).unwrap();
        assert!(r.is_active_on(day(1)));
        r.deceased_on = Some(day(2));
        assert!(r.is_active_on(day(1)));
        assert!(!r.is_active_on(day(2)));
    }

    #[test]
    fn doses_compare_their_product_by_code() {
        let dose = Dose {
            municipality: MunicipalityCode::parse("382060").unwrap(),
            atena: AtenaNumber::parse("12345").unwrap(),
            dose_number: DoseNumber::FIRST,
            administered_on: NaiveDate::from_ymd_opt(2021, 5, 27).unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: MunicipalityCode::parse("131016").unwrap(),
            coupon: CouponNumber::parse("0000000001").unwrap(),
        };
        let mut other = dose.clone();
        assert_eq!(dose, other);
        other.product = VaccineProduct::by_code("spikevax").unwrap();
        assert_ne!(dose, other);
    }
}
