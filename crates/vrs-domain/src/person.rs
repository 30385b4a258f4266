//! The two records the system keeps per municipality: the person to be vaccinated
//! (接種対象者) and each dose given (接種記録), with what a dose states before it is tied to a
//! person ([`DoseStatement`]). Plain data assembled from already-validated parts, so a value of
//! these types is valid by construction.

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

/// What a dose states, as a registration gives it (a site's tablet, staff's form, a row of a dose
/// file) and a certificate prints it: which dose, when, which product and lot, where, and who gave
/// it. Every field is already valid; whose dose it is is not part of it ([`DoseRecord::stated`]
/// ties it to a person).
#[derive(Clone, Debug, PartialEq)]
pub struct DoseStatement {
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    /// Compared by product code.
    pub product: &'static VaccineProduct,
    /// Not checked against the maker's lot format here: the data-quality rules do that.
    pub lot_number: LotNumber,
    /// Where it was given (接種地): for a tablet, its account's municipality; may differ from the
    /// person's home municipality.
    pub site: MunicipalityCode,
    /// 接種会場名 (checked with [`DoseRecord::venue`]); empty when not given.
    pub venue: String,
    /// 接種医師名 (checked with [`DoseRecord::doctor`]); empty when not given.
    pub doctor: String,
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

    /// The dose `statement` states, recorded now for the person `atena` of `municipality` (the
    /// home municipality, whose area keeps it) on the coupon `coupon`.
    pub fn stated(
        statement: DoseStatement,
        municipality: MunicipalityCode,
        atena: AtenaNumber,
        coupon: CouponNumber,
        source: DoseSource,
    ) -> Self {
        let DoseStatement {
            dose_number,
            administered_on,
            product,
            lot_number,
            site,
            venue,
            doctor,
        } = statement;
        Self {
            dose: Dose {
                municipality,
                atena,
                dose_number,
                administered_on,
                product,
                lot_number,
                site_municipality: site,
                coupon,
            },
            venue,
            doctor,
            recorded_at: chrono::Utc::now(),
            source,
            received_from: None,
        }
    }

    /// What the stored dose states, without whose it is.
    pub fn statement(&self) -> DoseStatement {
        let d = &self.dose;
        DoseStatement {
            dose_number: d.dose_number,
            administered_on: d.administered_on,
            product: d.product,
            lot_number: d.lot_number.clone(),
            site: d.site_municipality,
            venue: self.venue.clone(),
            doctor: self.doctor.clone(),
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

    #[test]
    fn a_recorded_statement_states_the_same_dose() {
        let statement = DoseStatement {
            dose_number: DoseNumber::FIRST,
            administered_on: NaiveDate::from_ymd_opt(2021, 5, 27).unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site: MunicipalityCode::parse("131016").unwrap(),
            venue: "西条会場".into(),
            doctor: "山田".into(),
        };
        let r = resident();
        let record = DoseRecord::stated(
            statement.clone(),
            r.municipality,
            r.atena.clone(),
            r.coupon,
            DoseSource::Staff,
        );
        assert_eq!(
            (
                record.dose.municipality,
                &record.dose.atena,
                record.dose.coupon
            ),
            (r.municipality, &r.atena, r.coupon)
        );
        assert_eq!(record.dose.site_municipality, statement.site);
        assert_eq!(
            (record.source, record.received_from),
            (DoseSource::Staff, None)
        );
        assert_eq!(record.statement(), statement);
    }
}
