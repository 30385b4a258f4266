//! Property tests of the identifier parsers: valid values round-trip, and a single changed
//! digit is caught by the check digits of My Number and the municipality code.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

use proptest::prelude::*;
use vrs_domain::{
    master_list, AtenaNumber, CouponNumber, LotNumber, MunicipalityCode, MunicipalityCodeError,
    MyNumber, MyNumberError, OcrLine, PrefectureCode, Sex,
};

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect()
}

fn replace_digit(s: &str, pos: usize, digit: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    bytes[pos] = b'0' + digit;
    String::from_utf8(bytes).unwrap()
}

/// r mod 11 of a municipality code's first five digits (weights 6,5,4,3,2).
fn municipality_remainder(code: &str) -> u32 {
    code.bytes()
        .take(5)
        .zip([6, 5, 4, 3, 2])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum::<u32>()
        % 11
}

/// r of a My Number's first eleven digits (P1 is the rightmost).
fn my_number_remainder(n: &str) -> u32 {
    n.bytes()
        .take(11)
        .rev()
        .zip(1u32..)
        .map(|(d, k)| u32::from(d - b'0') * if k <= 6 { k + 1 } else { k - 5 })
        .sum::<u32>()
        % 11
}

/// What a changed municipality code must do. Changing one of the first five digits always
/// changes the remainder (weights 2..6 are prime to 11); the check digit maps remainders 0 and
/// 10 to the same digit, so exactly that swap keeps a valid check digit. Then the code must be
/// unknown or another listed code; otherwise the check digit must fail.
fn assert_changed_municipality_caught(original: &str, changed: &str, pos: usize) {
    let (r_old, r_new) = (
        municipality_remainder(original),
        municipality_remainder(changed),
    );
    let collision = pos < 5 && matches!((r_old, r_new), (0, 10) | (10, 0));
    match MunicipalityCode::parse(changed) {
        Err(MunicipalityCodeError::CheckDigit) => assert!(!collision, "{original}->{changed}"),
        Err(MunicipalityCodeError::Unknown) => assert!(collision, "{original}->{changed}"),
        Ok(other) => {
            assert!(
                collision,
                "{original}->{changed} accepted without a collision"
            );
            assert_ne!(other.as_str(), original);
        }
        Err(e) => panic!("{original}->{changed}: unexpected {e:?}"),
    }
    assert_eq!(
        MunicipalityCode::has_valid_check_digit(changed),
        collision,
        "{original}->{changed}"
    );
}

#[test]
fn every_single_digit_change_of_every_listed_code_is_caught() {
    let (mut changes, mut refused) = (0u32, 0u32);
    for m in master_list() {
        let code = m.code.as_str();
        for pos in 0..6 {
            for digit in (0..10u8).filter(|&d| d != code.as_bytes()[pos] - b'0') {
                let changed = replace_digit(code, pos, digit);
                assert_changed_municipality_caught(code, &changed, pos);
                changes += 1;
                refused += u32::from(MunicipalityCode::parse(&changed).is_err());
            }
        }
    }
    // Collisions need remainder 0 <-> 10 and then a hit in the list: rare.
    assert!(
        f64::from(refused) / f64::from(changes) > 0.99,
        "{refused}/{changes}"
    );
}

fn listed_code() -> impl Strategy<Value = MunicipalityCode> {
    (0..master_list().len()).prop_map(|i| master_list()[i].code)
}

fn valid_my_number() -> impl Strategy<Value = String> {
    "[0-9]{11}".prop_map(|first11| {
        let check = MyNumber::check_digit_of(&first11).unwrap();
        format!("{first11}{check}")
    })
}

proptest! {
    #[test]
    fn a_changed_municipality_digit_is_caught(code in listed_code(), pos in 0usize..6, step in 1u8..10) {
        let s = code.as_str();
        let digit = (s.as_bytes()[pos] - b'0' + step) % 10;
        assert_changed_municipality_caught(s, &replace_digit(s, pos, digit), pos);
    }

    #[test]
    fn municipality_codes_round_trip(code in listed_code()) {
        prop_assert_eq!(MunicipalityCode::parse(code.as_str()), Ok(code));
        prop_assert_eq!(MunicipalityCode::parse(&code.to_string()), Ok(code));
        prop_assert_eq!(MunicipalityCode::parse(&full_width(code.as_str())), Ok(code));
        let pref = code.prefecture();
        prop_assert_eq!(PrefectureCode::parse(&pref.to_string()), Ok(pref));
        prop_assert_eq!(PrefectureCode::parse(pref.info().code.as_str()), Ok(pref));
    }

    #[test]
    fn a_changed_my_number_digit_is_caught(n in valid_my_number(), pos in 0usize..12, step in 1u8..10) {
        let digit = (n.as_bytes()[pos] - b'0' + step) % 10;
        let changed = replace_digit(&n, pos, digit);
        // A changed digit among the first eleven always changes r (weights 2..7 are prime to
        // 11); remainders 0 and 1 both give check digit 0, so only that pair can collide.
        let (r_old, r_new) = (my_number_remainder(&n), my_number_remainder(&changed));
        prop_assert!(pos == 11 || r_old != r_new);
        let collision = pos < 11 && r_old <= 1 && r_new <= 1;
        if collision {
            prop_assert!(MyNumber::parse(&changed).is_ok());
        } else {
            prop_assert_eq!(MyNumber::parse(&changed), Err(MyNumberError::CheckDigit));
        }
    }

    #[test]
    fn my_numbers_round_trip(n in valid_my_number()) {
        let parsed = MyNumber::parse(&n).unwrap();
        prop_assert_eq!(parsed.expose(), n.as_str());
        prop_assert_eq!(MyNumber::parse(&full_width(&n)), Ok(parsed.clone()));
        let grouped = format!("{} {} {}", &n[..4], &n[4..8], &n[8..]);
        prop_assert_eq!(MyNumber::parse(&grouped), Ok(parsed));
    }

    #[test]
    fn coupon_numbers_round_trip(s in "[0-9]{10}") {
        let c = CouponNumber::parse(&s).unwrap();
        prop_assert_eq!(c.as_str(), s.as_str());
        prop_assert_eq!(CouponNumber::parse(&c.to_string()), Ok(c));
        prop_assert_eq!(CouponNumber::parse(&full_width(&s)), Ok(c));
    }

    #[test]
    fn coupon_numbers_of_other_lengths_are_refused(s in "[0-9]{0,9}|[0-9]{11,14}") {
        prop_assert!(CouponNumber::parse(&s).is_err());
    }

    #[test]
    fn atena_numbers_round_trip(s in "[0-9]{1,15}") {
        let a = AtenaNumber::parse(&s).unwrap();
        prop_assert_eq!(a.as_str(), s.as_str());
        prop_assert_eq!(AtenaNumber::parse(&a.to_string()), Ok(a));
    }

    #[test]
    fn ocr_lines_round_trip(kind in 0u8..10, round in 0u8..10, code in listed_code(), coupon in "[0-9]{10}") {
        let digits = format!("{kind}{round}{code}{coupon}");
        let line = OcrLine::parse(&digits).unwrap();
        prop_assert_eq!((line.kind, line.round, line.municipality), (kind, round, code));
        prop_assert_eq!(line.coupon.as_str(), coupon.as_str());
        prop_assert_eq!(line.to_digits(), digits.clone());
        prop_assert_eq!(OcrLine::parse(&full_width(&digits)), Ok(line));
    }

    #[test]
    fn lot_numbers_round_trip(s in "[A-Z0-9-]{1,20}") {
        let lot = LotNumber::parse(&s).unwrap();
        prop_assert_eq!(lot.as_str(), s.as_str());
        prop_assert_eq!(LotNumber::parse(&lot.to_string()), Ok(lot.clone()));
        prop_assert_eq!(LotNumber::parse(&s.to_ascii_lowercase()), Ok(lot));
    }

    #[test]
    fn sex_round_trips_through_display_and_code(code in 1u8..=2) {
        let sex = Sex::from_code(code).unwrap();
        prop_assert_eq!(Sex::parse(&sex.to_string()), Ok(sex));
        prop_assert_eq!(Sex::parse(&sex.code().to_string()), Ok(sex));
        prop_assert_eq!(Sex::parse(&full_width(&code.to_string())), Ok(sex));
    }
}
