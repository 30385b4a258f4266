//! The My Number must not escape through formatting: `Debug` of a resident and `Display` of
//! the number itself show at most the last four digits.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

use chrono::NaiveDate;
use vrs_domain::{
    AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, PersonName, Resident, Sex,
};

const DIGITS: &str = "123456789018";

fn resident() -> Resident {
    Resident {
        municipality: MunicipalityCode::parse("382060").unwrap(),
        atena: AtenaNumber::parse("1").unwrap(),
        my_number: MyNumber::parse(DIGITS).unwrap(),
        coupon: CouponNumber::parse("0000000001").unwrap(),
        name: PersonName::parse("西条 太郎").unwrap(),
        name_kana: KanaName::parse("サイジョウ タロウ").unwrap(),
        birth_date: NaiveDate::from_ymd_opt(1945, 8, 15).unwrap(),
        sex: Sex::Male,
        moved_out_on: None,
        deceased_on: None,
        moved_in_from: None,
    }
}

#[test]
fn resident_debug_does_not_contain_the_my_number() {
    let r = resident();
    for text in [format!("{r:?}"), format!("{r:#?}")] {
        assert!(!text.contains(DIGITS), "{text}");
        assert!(!text.contains(&DIGITS[..8]), "{text}");
        assert!(text.contains("MyNumber(****-****-9018)"), "{text}");
    }
}

#[test]
fn my_number_display_and_debug_do_not_contain_the_digits() {
    let n = MyNumber::parse(DIGITS).unwrap();
    for text in [
        format!("{n}"),
        format!("{n:?}"),
        format!("{n:#?}"),
        n.masked(),
    ] {
        assert!(!text.contains(DIGITS), "{text}");
        assert!(!text.contains(&DIGITS[..8]), "{text}");
    }
    assert_eq!(n.expose(), DIGITS);
}

#[test]
fn my_number_errors_do_not_contain_the_input() {
    for input in [
        "123456789019",
        "12345678901",
        "1234567890189",
        "12345678901x",
    ] {
        let e = MyNumber::parse(input).unwrap_err();
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(&input[..8]), "{text}");
        }
    }
}
