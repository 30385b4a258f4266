//! Personal names: the name as registered (氏名, any script) and its reading in katakana
//! (フリガナ), which is what matching, sorting and the certificate's romaji start from.
//!
//! Readings arrive as hiragana, half-width katakana (CP932 exports) or katakana; they are
//! stored in one form, full-width katakana, so the same person always reads the same.

mod kana;

use std::fmt;
use std::str::FromStr;

use crate::serde_str::serde_via_parse;
use crate::text::trim;

/// The longest name, in characters, either type accepts.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a name or reading was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than 100 characters")]
    TooLong,
    #[error("the name contains a character that is not allowed: {ch:?}")]
    InvalidCharacter { ch: char },
}

/// A name as registered: trimmed, 1..=100 characters, no control or invisible formatting
/// characters (and no U+FFFD, the mark of a file decoded with the wrong encoding).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let s = trim(s);
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some(ch) = s.chars().find(|&c| !allowed_in_name(c)) {
            return Err(NameError::InvalidCharacter { ch });
        }
        if s.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn allowed_in_name(c: char) -> bool {
    !c.is_control()
        && !matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width spaces and marks
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
            | '\u{FEFF}'              // byte-order mark
            | '\u{FFFD}') // replacement character
}

/// A reading in full-width katakana (with ー, ・ and spaces), trimmed, 1..=100 characters.
/// Hiragana and half-width katakana (with its voiced marks) are converted on the way in.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KanaName(String);

impl KanaName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let s = trim(s);
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        let katakana = kana::to_katakana(s)?;
        if katakana.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        Ok(Self(katakana))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Part of a name staff type to find a person: a fragment of the registered name (kanji, any
/// script) or of its reading (katakana, or hiragana and half-width kana, read as katakana). Spaces
/// are ignored on both sides, so 「ジョウ　ハナ」 finds サイジョウ　ハナコ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFragment {
    text: String,
    kana: Option<String>,
}

fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl NameFragment {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let text = squeezed(trim(s));
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some(ch) = text.chars().find(|&c| !allowed_in_name(c)) {
            return Err(NameError::InvalidCharacter { ch });
        }
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        let kana = kana::to_katakana(&text).ok().map(|k| squeezed(&k));
        Ok(Self { text, kana })
    }

    /// Whether the person's name or reading holds this fragment.
    pub fn matches(&self, name: &PersonName, reading: &KanaName) -> bool {
        squeezed(name.as_str()).contains(&self.text)
            || self
                .kana
                .as_ref()
                .is_some_and(|k| squeezed(reading.as_str()).contains(k.as_str()))
    }
}

macro_rules! string_newtype_traits {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        serde_via_parse!($ty);
    };
}

string_newtype_traits!(PersonName);
string_newtype_traits!(KanaName);

#[cfg(test)]
mod tests {
    #[test]
    fn a_fragment_finds_the_name_or_its_reading_in_any_kana_spaces_ignored() {
        use super::{KanaName, NameFragment, PersonName};
        let name = PersonName::parse("西条 花子").unwrap();
        let reading = KanaName::parse("サイジョウ　ハナコ").unwrap();
        for hit in [
            "西条",
            "条花",
            "花子",
            "ジョウ　ハナ",
            "じょうはな",
            "ｻｲｼﾞｮｳ",
            "サイジョウハナコ",
        ] {
            let f = NameFragment::parse(hit).unwrap();
            assert!(f.matches(&name, &reading), "{hit}");
        }
        for miss in ["東条", "ハナエ", "はなこさん", "Saijo"] {
            let f = NameFragment::parse(miss).unwrap();
            assert!(!f.matches(&name, &reading), "{miss}");
        }
        assert!(NameFragment::parse(" 　").is_err());
        assert!(NameFragment::parse("西\u{202E}条").is_err());
    }

    use super::*;

    #[test]
    fn a_name_is_trimmed_and_keeps_inner_spaces() {
        let n = PersonName::parse("\u{3000}山田　太郎 ").unwrap();
        assert_eq!(n.as_str(), "山田　太郎");
        assert_eq!(n.to_string(), "山田　太郎");
        assert_eq!(
            PersonName::parse("John SMITH").unwrap().as_str(),
            "John SMITH"
        );
    }

    #[test]
    fn a_name_refuses_empty_overlong_and_control_characters() {
        assert_eq!(PersonName::parse(" \u{3000} "), Err(NameError::Empty));
        assert!(PersonName::parse(&"山".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse(&"山".repeat(101)),
            Err(NameError::TooLong)
        );
        assert_eq!(
            PersonName::parse("山田\n太郎"),
            Err(NameError::InvalidCharacter { ch: '\n' })
        );
        assert_eq!(
            PersonName::parse("山\u{0}田"),
            Err(NameError::InvalidCharacter { ch: '\u{0}' })
        );
        assert_eq!(
            PersonName::parse("a\u{202E}b"),
            Err(NameError::InvalidCharacter { ch: '\u{202E}' })
        );
        assert_eq!(
            PersonName::parse("山\u{FFFD}"),
            Err(NameError::InvalidCharacter { ch: '\u{FFFD}' })
        );
    }

    #[test]
    fn katakana_is_kept_and_hiragana_is_converted() {
        assert_eq!(
            KanaName::parse("ヤマダ　タロウ").unwrap().as_str(),
            "ヤマダ　タロウ"
        );
        assert_eq!(
            KanaName::parse("やまだ たろう").unwrap().as_str(),
            "ヤマダ タロウ"
        );
        assert_eq!(
            KanaName::parse("ゔぃくとりあ・すみす").unwrap().as_str(),
            "ヴィクトリア・スミス"
        );
        assert_eq!(
            KanaName::parse("さとう　けーこ").unwrap().as_str(),
            "サトウ　ケーコ"
        );
    }

    #[test]
    fn half_width_katakana_is_widened_with_its_voiced_marks() {
        assert_eq!(
            KanaName::parse("ﾔﾏﾀﾞ ﾀﾛｳ").unwrap().as_str(),
            "ヤマダ タロウ"
        );
        assert_eq!(KanaName::parse("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ").unwrap().as_str(), "パピプペポ");
        assert_eq!(
            KanaName::parse("ｳﾞｨｯｷｰ･ｼﾞｮｰﾝｽﾞ").unwrap().as_str(),
            "ヴィッキー・ジョーンズ"
        );
        assert_eq!(KanaName::parse("ｦﾝ").unwrap().as_str(), "ヲン");
    }

    #[test]
    fn combining_voiced_marks_are_composed() {
        assert_eq!(KanaName::parse("カ\u{3099}ク").unwrap().as_str(), "ガク");
        assert_eq!(KanaName::parse("は\u{309A}").unwrap().as_str(), "パ");
    }

    #[test]
    fn a_reading_refuses_kanji_latin_and_stray_marks() {
        assert_eq!(
            KanaName::parse("山田"),
            Err(NameError::InvalidCharacter { ch: '山' })
        );
        assert_eq!(
            KanaName::parse("YAMADA"),
            Err(NameError::InvalidCharacter { ch: 'Y' })
        );
        assert_eq!(
            KanaName::parse("ﾞｱ"),
            Err(NameError::InvalidCharacter { ch: 'ﾞ' })
        );
        assert_eq!(
            KanaName::parse("ｱﾟ"),
            Err(NameError::InvalidCharacter { ch: 'ﾟ' })
        );
        assert_eq!(KanaName::parse(""), Err(NameError::Empty));
        assert_eq!(KanaName::parse(&"ア".repeat(101)), Err(NameError::TooLong));
        // 200 half-width characters that fold into 100 full-width ones are fine.
        assert!(KanaName::parse(&"ｶﾞ".repeat(100)).is_ok());
    }

    #[test]
    fn debug_shows_the_type() {
        assert_eq!(
            format!("{:?}", PersonName::parse("山田").unwrap()),
            "PersonName(\"山田\")"
        );
    }
}
