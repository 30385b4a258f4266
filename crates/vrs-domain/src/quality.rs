//! Data-quality rules for doses: the plainly wrong records the late-2021 VRS clean-up found (a second
//! dose before the first, future dates, a dose on a person who had died) are refused at every entry
//! point — tablet, CSV, FHIR, HL7 — and reported for records already stored. Each rule has a stable
//! code and a message in Japanese and English; a check returns every rule a dose breaks, not only the
//! first.

use chrono::{Days, NaiveDate};

use crate::{Dose, DoseNumber, LotNumber, VaccineProduct};

/// One named rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QualityRule {
    /// The dose date is after today.
    FutureDate,
    /// The dose date is before the product was approved in Japan.
    BeforeApproval,
    /// The person already has a dose with this number.
    DoseNumberTaken,
    /// A lower-numbered dose is dated after this one, or a higher-numbered dose before it.
    OutOfOrder,
    /// Fewer days after the previous dose than the product's minimum interval.
    IntervalTooShort,
    /// The lot number does not fit the manufacturer's pattern.
    LotPattern,
    /// The product is not in the catalogue.
    UnknownProduct,
    /// The person had died before the dose date.
    PersonDeceased,
    /// The person had moved out before the dose date.
    PersonMovedOut,
}

impl QualityRule {
    pub fn code(self) -> &'static str {
        match self {
            QualityRule::FutureDate => "future_date",
            QualityRule::BeforeApproval => "before_approval",
            QualityRule::DoseNumberTaken => "dose_number_taken",
            QualityRule::OutOfOrder => "out_of_order",
            QualityRule::IntervalTooShort => "interval_too_short",
            QualityRule::LotPattern => "lot_pattern",
            QualityRule::UnknownProduct => "unknown_product",
            QualityRule::PersonDeceased => "person_deceased",
            QualityRule::PersonMovedOut => "person_moved_out",
        }
    }

    pub fn message_ja(self) -> &'static str {
        match self {
            QualityRule::FutureDate => "接種日が未来の日付です。",
            QualityRule::BeforeApproval => "接種日がワクチンの国内承認日より前です。",
            QualityRule::DoseNumberTaken => "この接種回は既に登録されています。",
            QualityRule::OutOfOrder => "接種回の順序と接種日の順序が合いません。",
            QualityRule::IntervalTooShort => {
                "前回の接種からの間隔がワクチンの最短間隔より短いです。"
            }
            QualityRule::LotPattern => "ロット番号がメーカーの形式に合いません。",
            QualityRule::UnknownProduct => "ワクチンの種類が登録されていません。",
            QualityRule::PersonDeceased => "接種日より前に死亡の届出があります。",
            QualityRule::PersonMovedOut => "接種日より前に転出しています。",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            QualityRule::FutureDate => "The dose date is in the future.",
            QualityRule::BeforeApproval => {
                "The dose date is before the product was approved in Japan."
            }
            QualityRule::DoseNumberTaken => "This dose number is already recorded for the person.",
            QualityRule::OutOfOrder => {
                "The dose numbers and the dose dates are not in the same order."
            }
            QualityRule::IntervalTooShort => {
                "The interval after the previous dose is shorter than the product's minimum."
            }
            QualityRule::LotPattern => "The lot number does not fit the manufacturer's pattern.",
            QualityRule::UnknownProduct => "The vaccine product is not in the catalogue.",
            QualityRule::PersonDeceased => "The person was reported deceased before the dose date.",
            QualityRule::PersonMovedOut => "The person had moved out before the dose date.",
        }
    }
}

/// A data-quality rule as a refusal: its code, 422, and both sentences.
impl crate::UserFacing for QualityRule {
    fn code(&self) -> &'static str {
        QualityRule::code(*self)
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        QualityRule::message_ja(*self).into()
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        QualityRule::message_en(*self).into()
    }
}

impl std::fmt::Display for QualityRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message_en())
    }
}

/// A dose about to be recorded (or one already stored, being re-checked).
#[derive(Clone, Copy, Debug)]
pub struct DoseFacts<'a> {
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'a VaccineProduct,
    pub lot_number: &'a LotNumber,
}

impl<'a> From<&'a Dose> for DoseFacts<'a> {
    fn from(d: &'a Dose) -> Self {
        Self {
            dose_number: d.dose_number,
            administered_on: d.administered_on,
            product: d.product,
            lot_number: &d.lot_number,
        }
    }
}

impl<'a> From<&'a crate::DoseRecord> for DoseFacts<'a> {
    fn from(r: &'a crate::DoseRecord) -> Self {
        Self::from(&r.dose)
    }
}

/// What is known of the person at the dose date.
#[derive(Clone, Copy, Debug, Default)]
pub struct PersonFacts {
    pub deceased_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
}

/// Every rule `dose` breaks, given the person's other doses (`others` must not include `dose`
/// itself), the person's flags and today's date.
pub fn check_dose(
    dose: DoseFacts<'_>,
    others: &[DoseFacts<'_>],
    person: PersonFacts,
    today: NaiveDate,
) -> Vec<QualityRule> {
    let mut broken = Vec::new();
    let date = dose.administered_on;
    if date > today {
        broken.push(QualityRule::FutureDate);
    }
    if date < dose.product.approved_in_japan {
        broken.push(QualityRule::BeforeApproval);
    }
    if others.iter().any(|o| o.dose_number == dose.dose_number) {
        broken.push(QualityRule::DoseNumberTaken);
    }
    let out_of_order = others.iter().any(|o| {
        (o.dose_number < dose.dose_number && o.administered_on > date)
            || (o.dose_number > dose.dose_number && o.administered_on < date)
    });
    if out_of_order {
        broken.push(QualityRule::OutOfOrder);
    }
    // The interval is measured from the latest earlier-numbered dose.
    let previous = others
        .iter()
        .filter(|o| o.dose_number < dose.dose_number)
        .max_by_key(|o| o.dose_number);
    if let Some(prev) = previous {
        let earliest = prev
            .administered_on
            .checked_add_days(Days::new(u64::from(dose.product.min_interval_days)));
        if earliest.is_some_and(|e| date < e) && prev.administered_on <= date {
            broken.push(QualityRule::IntervalTooShort);
        }
    }
    if !dose.product.lot_number_fits(dose.lot_number.as_str()) {
        broken.push(QualityRule::LotPattern);
    }
    if person.deceased_on.is_some_and(|d| d < date) {
        broken.push(QualityRule::PersonDeceased);
    }
    if person.moved_out_on.is_some_and(|d| d < date) {
        broken.push(QualityRule::PersonMovedOut);
    }
    broken
}

/// The product of a code, or [`QualityRule::UnknownProduct`].
pub fn product(code: &str) -> Result<&'static VaccineProduct, QualityRule> {
    VaccineProduct::by_code(code).ok_or(QualityRule::UnknownProduct)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn comirnaty() -> &'static VaccineProduct {
        VaccineProduct::by_code("comirnaty").unwrap()
    }

    fn lot(s: &str) -> LotNumber {
        LotNumber::parse(s).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2021, 12, 1);

    fn check(
        n: u8,
        date: NaiveDate,
        others: &[(u8, NaiveDate)],
        person: PersonFacts,
    ) -> Vec<QualityRule> {
        let l = lot("FA4597");
        let other_lot = lot("EY0573");
        let others: Vec<DoseFacts<'_>> = others
            .iter()
            .map(|(n, date)| DoseFacts {
                dose_number: DoseNumber::new(*n).unwrap(),
                administered_on: *date,
                product: comirnaty(),
                lot_number: &other_lot,
            })
            .collect();
        let dose = DoseFacts {
            dose_number: DoseNumber::new(n).unwrap(),
            administered_on: date,
            product: comirnaty(),
            lot_number: &l,
        };
        check_dose(dose, &others, person, d(TODAY.0, TODAY.1, TODAY.2))
    }

    #[test]
    fn a_plausible_second_dose_passes() {
        assert!(check(
            2,
            d(2021, 6, 22),
            &[(1, d(2021, 6, 1))],
            PersonFacts::default()
        )
        .is_empty());
    }

    #[test]
    fn future_date_is_refused_and_today_is_legal() {
        assert_eq!(
            check(1, d(2021, 12, 2), &[], PersonFacts::default()),
            [QualityRule::FutureDate]
        );
        assert!(check(1, d(2021, 12, 1), &[], PersonFacts::default()).is_empty());
    }

    #[test]
    fn date_before_approval_is_refused_and_the_approval_day_is_legal() {
        assert_eq!(
            check(1, d(2021, 2, 13), &[], PersonFacts::default()),
            [QualityRule::BeforeApproval]
        );
        assert!(check(1, d(2021, 2, 14), &[], PersonFacts::default()).is_empty());
    }

    #[test]
    fn a_dose_number_already_recorded_is_refused() {
        let broken = check(
            1,
            d(2021, 7, 1),
            &[(1, d(2021, 6, 1))],
            PersonFacts::default(),
        );
        assert!(broken.contains(&QualityRule::DoseNumberTaken));
    }

    #[test]
    fn a_second_dose_before_the_first_is_refused() {
        let broken = check(
            2,
            d(2021, 5, 1),
            &[(1, d(2021, 6, 1))],
            PersonFacts::default(),
        );
        assert_eq!(broken, [QualityRule::OutOfOrder]);
        // Entering the first dose after a later-dated second is caught the same way.
        let broken = check(
            1,
            d(2021, 7, 1),
            &[(2, d(2021, 6, 1))],
            PersonFacts::default(),
        );
        assert_eq!(broken, [QualityRule::OutOfOrder]);
    }

    #[test]
    fn an_interval_shorter_than_the_minimum_is_refused_and_the_minimum_is_legal() {
        let first = d(2021, 6, 1);
        let minimum = u64::from(comirnaty().min_interval_days);
        let too_soon = first.checked_add_days(Days::new(minimum - 1)).unwrap();
        let just = first.checked_add_days(Days::new(minimum)).unwrap();
        assert_eq!(
            check(2, too_soon, &[(1, first)], PersonFacts::default()),
            [QualityRule::IntervalTooShort]
        );
        assert!(check(2, just, &[(1, first)], PersonFacts::default()).is_empty());
    }

    #[test]
    fn a_lot_that_does_not_fit_the_maker_is_refused() {
        let moderna_lot = lot("3001652");
        let dose = DoseFacts {
            dose_number: DoseNumber::FIRST,
            administered_on: d(2021, 6, 1),
            product: comirnaty(),
            lot_number: &moderna_lot,
        };
        assert_eq!(
            check_dose(dose, &[], PersonFacts::default(), d(2021, 12, 1)),
            [QualityRule::LotPattern]
        );
        let spikevax = VaccineProduct::by_code("spikevax").unwrap();
        let dose = DoseFacts {
            dose_number: DoseNumber::FIRST,
            administered_on: d(2021, 6, 1),
            product: spikevax,
            lot_number: &moderna_lot,
        };
        assert!(check_dose(dose, &[], PersonFacts::default(), d(2021, 12, 1)).is_empty());
    }

    #[test]
    fn an_unknown_product_is_refused() {
        assert_eq!(
            product("sputnik-v").unwrap_err(),
            QualityRule::UnknownProduct
        );
        assert!(product("comirnaty").is_ok());
    }

    #[test]
    fn a_dose_after_death_or_moving_out_is_refused_and_the_same_day_is_legal() {
        let dead = PersonFacts {
            deceased_on: Some(d(2021, 6, 1)),
            moved_out_on: None,
        };
        assert_eq!(
            check(1, d(2021, 6, 2), &[], dead),
            [QualityRule::PersonDeceased]
        );
        assert!(check(1, d(2021, 6, 1), &[], dead).is_empty());
        let moved = PersonFacts {
            deceased_on: None,
            moved_out_on: Some(d(2021, 6, 1)),
        };
        assert_eq!(
            check(1, d(2021, 6, 2), &[], moved),
            [QualityRule::PersonMovedOut]
        );
        assert!(check(1, d(2021, 6, 1), &[], moved).is_empty());
    }

    #[test]
    fn every_rule_has_a_code_and_both_messages() {
        let all = [
            QualityRule::FutureDate,
            QualityRule::BeforeApproval,
            QualityRule::DoseNumberTaken,
            QualityRule::OutOfOrder,
            QualityRule::IntervalTooShort,
            QualityRule::LotPattern,
            QualityRule::UnknownProduct,
            QualityRule::PersonDeceased,
            QualityRule::PersonMovedOut,
        ];
        let mut codes: Vec<_> = all.iter().map(|r| r.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all
            .iter()
            .all(|r| !r.message_ja().is_empty() && r.message_en().ends_with('.')));
    }
}
