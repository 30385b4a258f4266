//! Lot numbers (ロット番号) as printed on the vial and the lot sticker: short, upper-case
//! ASCII letters, digits and hyphens. Staff type them on tablets in every width and case, so
//! they are normalised before being stored or compared with a maker's format.

use std::fmt;
use std::str::FromStr;

use crate::serde_str::serde_via_parse;
use crate::text::normalize_digits;

/// A lot number: trimmed, 1..=20 characters of `A-Z`, `0-9` and `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LotNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LotNumberError {
    #[error("the lot number is empty")]
    Empty,
    #[error("a lot number has at most 20 characters")]
    TooLong,
    #[error("a lot number may contain only letters, digits and '-', not {ch:?}")]
    InvalidCharacter { ch: char },
}

impl LotNumber {
    /// The longest lot number accepted (the ledger export's column width).
    pub const MAX_CHARS: usize = 20;

    /// Full-width becomes ASCII, lower case becomes upper case.
    pub fn parse(s: &str) -> Result<Self, LotNumberError> {
        let s = normalize_digits(s).to_ascii_uppercase();
        if s.is_empty() {
            return Err(LotNumberError::Empty);
        }
        if let Some(ch) = s
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(LotNumberError::InvalidCharacter { ch });
        }
        if s.len() > Self::MAX_CHARS {
            return Err(LotNumberError::TooLong);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LotNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LotNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LotNumber({})", self.0)
    }
}

impl FromStr for LotNumber {
    type Err = LotNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_parse!(LotNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lot_numbers_are_normalised_to_upper_case_ascii() {
        assert_eq!(LotNumber::parse(" fa4597 ").unwrap().as_str(), "FA4597");
        assert_eq!(LotNumber::parse("ＦＡ４５９７").unwrap().as_str(), "FA4597");
        assert_eq!(LotNumber::parse("ab-12").unwrap().to_string(), "AB-12");
        assert_eq!(
            LotNumber::parse("ｆａ－４５９７").unwrap().as_str(),
            "FA-4597"
        );
    }

    #[test]
    fn lot_numbers_refuse_empty_long_and_odd_characters() {
        assert_eq!(LotNumber::parse("\u{3000}"), Err(LotNumberError::Empty));
        assert!(LotNumber::parse(&"A".repeat(20)).is_ok());
        assert_eq!(
            LotNumber::parse(&"A".repeat(21)),
            Err(LotNumberError::TooLong)
        );
        assert_eq!(
            LotNumber::parse("FA 4597"),
            Err(LotNumberError::InvalidCharacter { ch: ' ' })
        );
        assert_eq!(
            LotNumber::parse("FA_4597"),
            Err(LotNumberError::InvalidCharacter { ch: '_' })
        );
        assert_eq!(
            LotNumber::parse("ロット1"),
            Err(LotNumberError::InvalidCharacter { ch: 'ロ' })
        );
    }
}
