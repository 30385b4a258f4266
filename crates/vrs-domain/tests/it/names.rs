//! Property tests of the name parsers: valid names round-trip, and readings in hiragana or
//! half-width katakana come out as the same full-width katakana.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

use proptest::prelude::*;
use vrs_domain::{KanaName, NameError, PersonName};

/// Full-width katakana without small, rare or voiced forms (so the half-width form exists).
const BASIC: &str =
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";
const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ";

fn katakana_word() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..BASIC.chars().count(), 1..20)
}

fn pick(table: &str, indices: &[usize]) -> String {
    indices
        .iter()
        .map(|&i| table.chars().nth(i).unwrap())
        .collect()
}

fn hiragana(katakana: &str) -> String {
    katakana
        .chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap(),
            _ => c,
        })
        .collect()
}

proptest! {
    #[test]
    fn person_names_round_trip(name in "[一-龥ぁ-んァ-ヶA-Za-z][一-龥ぁ-んァ-ヶA-Za-z　 ]{0,60}[一-龥ぁ-んァ-ヶA-Za-z]") {
        let parsed = PersonName::parse(&name).unwrap();
        prop_assert_eq!(parsed.as_str(), name.as_str());
        prop_assert_eq!(PersonName::parse(&parsed.to_string()), Ok(parsed));
    }

    #[test]
    fn person_names_with_a_control_character_are_refused(a in "[一-龥]{1,5}", c in 0u32..0x20, b in "[一-龥]{1,5}") {
        let ch = char::from_u32(c).unwrap();
        prop_assert_eq!(PersonName::parse(&format!("{a}{ch}{b}")), Err(NameError::InvalidCharacter { ch }));
    }

    #[test]
    fn kana_names_round_trip_and_fold_to_katakana(family in katakana_word(), given in katakana_word()) {
        let katakana = format!("{}　{}", pick(BASIC, &family), pick(BASIC, &given));
        let parsed = KanaName::parse(&katakana).unwrap();
        prop_assert_eq!(parsed.as_str(), katakana.as_str());
        prop_assert_eq!(KanaName::parse(&parsed.to_string()), Ok(parsed.clone()));
        prop_assert_eq!(KanaName::parse(&hiragana(&katakana)), Ok(parsed.clone()));
        let half = format!("{}\u{3000}{}", pick(HALF, &family), pick(HALF, &given));
        prop_assert_eq!(KanaName::parse(&half), Ok(parsed));
    }

    #[test]
    fn voiced_half_width_kana_fold_like_their_full_width_forms(i in 5usize..30) {
        // カ..ホ (indices 5..30 of BASIC) all take a dakuten, except the nasal row ナ..ノ.
        prop_assume!(!(20..25).contains(&i));
        let plain = BASIC.chars().nth(i).unwrap();
        let voiced = char::from_u32(plain as u32 + 1).unwrap();
        let half = format!("{}ﾞ", HALF.chars().nth(i).unwrap());
        let parsed = KanaName::parse(&half).unwrap();
        prop_assert_eq!(parsed.as_str(), voiced.to_string());
    }
}
