//! Property tests of date parsing: any day from Meiji's first to 2099-12-31, written in each
//! accepted form (Western and era, ASCII and full-width digits), parses back to itself.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use vrs_domain::{format_wareki, format_wareki_short, parse_date, DateError, Era};

fn meiji_first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1868, 10, 23).unwrap()
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    let last = NaiveDate::from_ymd_opt(2099, 12, 31).unwrap();
    let span = (last - meiji_first_day()).num_days() as u64;
    (0..=span).prop_map(|offset| meiji_first_day() + Days::new(offset))
}

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

/// Every accepted way to write the date.
fn forms(d: NaiveDate) -> Vec<String> {
    let era = Era::of(d).unwrap();
    let (y, m, day) = (era.year_of(d), d.month(), d.day());
    let letter = era.letter();
    let lower = letter.to_ascii_lowercase();
    let gan = if y == 1 {
        "元".to_owned()
    } else {
        y.to_string()
    };
    vec![
        d.format("%Y-%m-%d").to_string(),
        d.format("%Y%m%d").to_string(),
        d.format("%Y/%-m/%-d").to_string(),
        d.format("%Y/%m/%d").to_string(),
        d.format("%Y.%-m.%-d").to_string(),
        d.format("%Y年%-m月%-d日").to_string(),
        format_wareki(d),
        format!("{}{}年{}月{}日", era.kanji(), y, m, day),
        format!("{}{}年{}月{}日", era.kanji(), gan, m, day),
        format_wareki_short(d),
        format!("{letter}{y}.{m}.{day}"),
        format!("{letter}{y}/{m}/{day}"),
        format!("{letter}{y}-{m}-{day}"),
        format!("{lower}{y:02}.{m:02}.{day:02}"),
        format!("{letter}{y:02}{m:02}{day:02}"),
    ]
}

proptest! {
    #[test]
    fn every_form_of_a_date_parses_back_to_it(d in any_date()) {
        for form in forms(d) {
            prop_assert_eq!(parse_date(&form), Ok(d), "{}", form);
            let wide = full_width(&form);
            prop_assert_eq!(parse_date(&wide), Ok(d), "{}", wide);
            let padded = format!("\u{3000}{form} ");
            prop_assert_eq!(parse_date(&padded), Ok(d), "{}", padded);
        }
    }

    #[test]
    fn the_wareki_formats_name_the_right_era(d in any_date()) {
        let era = Era::of(d).unwrap();
        prop_assert!(format_wareki(d).starts_with(era.kanji()));
        prop_assert!(format_wareki_short(d).starts_with(era.letter()));
        prop_assert!(era.contains(d));
    }

    #[test]
    fn a_date_named_in_the_previous_era_after_it_ended_is_refused(d in any_date()) {
        // Write a date of a later era as if the earlier era had continued.
        let era = Era::of(d).unwrap();
        if let Some(previous) = Era::ALL.into_iter().rev().find(|e| *e < era) {
            let y = d.year() - previous.first_day().year() + 1;
            let form = format!("{}{}年{}月{}日", previous.kanji(), y, d.month(), d.day());
            if y <= 99 {
                prop_assert_eq!(parse_date(&form), Err(DateError::OutsideEra), "{}", form);
            }
        }
    }
}
