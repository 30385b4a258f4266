//! Municipality and prefecture codes (全国地方公共団体コード): the six-digit code with its check
//! digit, checked against the embedded master list, and the two-digit prefecture number.
//!
//! Every row a municipality owns carries its code, so this is the key the whole system is
//! partitioned by; a code that parses is guaranteed to name a row of the master list.

mod master;
mod named;

use std::fmt;
use std::str::FromStr;

pub use master::{master_list, municipalities_of, wards_of, Municipality, MunicipalityKind};
pub use named::{choices, municipality_named, MunicipalityNameError};

use crate::serde_str::serde_via_parse;
use crate::text::normalize_digits;

/// A six-digit municipality code that is in the master list.
///
/// Holds the digits and the row of the master list they name, so [`MunicipalityCode::info`]
/// is a plain index and never a failed lookup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MunicipalityCode {
    digits: &'static str,
    row: u16,
}

/// Why a municipality (or prefecture) code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MunicipalityCodeError {
    #[error("the municipality code is empty")]
    Empty,
    #[error("a municipality code must be six digits")]
    NotSixDigits,
    #[error("the municipality code's check digit does not match")]
    CheckDigit,
    #[error("the municipality code is not in the master list")]
    Unknown,
}

/// The check digit of the first five digits: weights 6,5,4,3,2, `(11 - sum % 11) % 10`.
pub(crate) fn check_digit(first5: &[u8; 5]) -> u8 {
    let sum: u32 = first5
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

/// Six ASCII digits whose last one is the check digit of the first five.
fn valid_six(s: &str) -> Option<[u8; 6]> {
    let digits = crate::text::digits_array::<6>(s)?;
    let mut first5 = [0u8; 5];
    first5.copy_from_slice(&digits[..5]);
    (check_digit(&first5) == digits[5] - b'0').then_some(digits)
}

impl MunicipalityCode {
    /// Six digits (full-width accepted, whitespace trimmed), a valid check digit, and a row
    /// of the master list.
    pub fn parse(s: &str) -> Result<Self, MunicipalityCodeError> {
        let s = normalize_digits(s);
        if s.is_empty() {
            return Err(MunicipalityCodeError::Empty);
        }
        if crate::text::digits_array::<6>(&s).is_none() {
            return Err(MunicipalityCodeError::NotSixDigits);
        }
        if valid_six(&s).is_none() {
            return Err(MunicipalityCodeError::CheckDigit);
        }
        master::lookup(&s).ok_or(MunicipalityCodeError::Unknown)
    }

    /// Only the check digit, not the master list (used by OcrLine error reporting & tests).
    /// Expects exactly six ASCII digits after the usual normalisation.
    pub fn has_valid_check_digit(s: &str) -> bool {
        valid_six(&normalize_digits(s)).is_some()
    }

    pub fn as_str(&self) -> &str {
        self.digits
    }

    /// The master-list row of this code.
    pub fn info(&self) -> &'static Municipality {
        master::row(self.row)
    }

    pub fn prefecture(&self) -> PrefectureCode {
        self.info().prefecture
    }

    /// Built only by the master-list loader, which owns the row numbering.
    pub(crate) fn from_master(digits: &'static str, row: u16) -> Self {
        Self { digits, row }
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.digits)
    }
}

impl fmt::Debug for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MunicipalityCode({})", self.digits)
    }
}

impl FromStr for MunicipalityCode {
    type Err = MunicipalityCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_parse!(MunicipalityCode);

/// A prefecture number, 1 (北海道) to 47 (沖縄県), whose row is in the master list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PrefectureCode(u8);

impl PrefectureCode {
    /// Accepts `"38"`, `"8"` or the prefecture's own six-digit code `"380008"`.
    /// A six-digit code of a municipality (e.g. `"382060"`) is not a prefecture: `Unknown`.
    pub fn parse(s: &str) -> Result<Self, MunicipalityCodeError> {
        let s = normalize_digits(s);
        if s.is_empty() {
            return Err(MunicipalityCodeError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MunicipalityCodeError::NotSixDigits);
        }
        let number = match s.len() {
            1 | 2 => s
                .parse::<u8>()
                .map_err(|_| MunicipalityCodeError::NotSixDigits)?,
            6 => {
                let digits = valid_six(&s).ok_or(MunicipalityCodeError::CheckDigit)?;
                if &digits[2..5] != b"000" {
                    return Err(MunicipalityCodeError::Unknown);
                }
                (digits[0] - b'0') * 10 + (digits[1] - b'0')
            }
            _ => return Err(MunicipalityCodeError::NotSixDigits),
        };
        if master::has_prefecture(number) {
            Ok(Self(number))
        } else {
            Err(MunicipalityCodeError::Unknown)
        }
    }

    pub fn number(&self) -> u8 {
        self.0
    }

    /// The prefecture's own row of the master list (e.g. 380008 愛媛県).
    pub fn info(&self) -> &'static Municipality {
        master::prefecture_row(self.0)
    }

    /// Built only by the master-list loader for numbers it has verified.
    pub(crate) fn from_master(number: u8) -> Self {
        Self(number)
    }
}

impl fmt::Display for PrefectureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl FromStr for PrefectureCode {
    type Err = MunicipalityCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_parse!(PrefectureCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saijo_is_valid_and_in_ehime() {
        let code = MunicipalityCode::parse("382060").unwrap();
        assert_eq!(code.as_str(), "382060");
        assert_eq!(code.info().name, "西条市");
        assert_eq!(code.prefecture().number(), 38);
        assert_eq!(code.prefecture().info().name, "愛媛県");
        assert_eq!(code.info().full_name(), "愛媛県西条市");
    }

    #[test]
    fn chiyoda_is_valid_and_a_changed_check_digit_is_not() {
        assert_eq!(
            MunicipalityCode::parse("131016").unwrap().info().name,
            "千代田区"
        );
        assert!(MunicipalityCode::has_valid_check_digit("131016"));
        assert!(!MunicipalityCode::has_valid_check_digit("131017"));
        assert_eq!(
            MunicipalityCode::parse("131017"),
            Err(MunicipalityCodeError::CheckDigit)
        );
    }

    #[test]
    fn full_width_and_padded_codes_are_accepted() {
        let code = MunicipalityCode::parse("\u{3000}３８２０６０ ").unwrap();
        assert_eq!(code.to_string(), "382060");
    }

    #[test]
    fn malformed_codes_name_their_fault() {
        assert_eq!(
            MunicipalityCode::parse(" "),
            Err(MunicipalityCodeError::Empty)
        );
        assert_eq!(
            MunicipalityCode::parse("38206"),
            Err(MunicipalityCodeError::NotSixDigits)
        );
        assert_eq!(
            MunicipalityCode::parse("3820600"),
            Err(MunicipalityCodeError::NotSixDigits)
        );
        assert_eq!(
            MunicipalityCode::parse("38206a"),
            Err(MunicipalityCodeError::NotSixDigits)
        );
        // 990000 + check digit: well formed but no such municipality.
        let fake = format!("99000{}", check_digit(b"99000"));
        assert!(MunicipalityCode::has_valid_check_digit(&fake));
        assert_eq!(
            MunicipalityCode::parse(&fake),
            Err(MunicipalityCodeError::Unknown)
        );
    }

    #[test]
    fn debug_and_display_show_the_digits() {
        let code = MunicipalityCode::parse("382060").unwrap();
        assert_eq!(format!("{code:?}"), "MunicipalityCode(382060)");
        assert_eq!(format!("{code}"), "382060");
        assert_eq!("382060".parse::<MunicipalityCode>(), Ok(code));
    }

    #[test]
    fn codes_order_by_their_digits() {
        let a = MunicipalityCode::parse("131016").unwrap();
        let b = MunicipalityCode::parse("382060").unwrap();
        assert!(a < b);
    }

    #[test]
    fn prefecture_accepts_short_and_six_digit_forms() {
        let ehime = PrefectureCode::parse("38").unwrap();
        assert_eq!(ehime.number(), 38);
        assert_eq!(PrefectureCode::parse("380008"), Ok(ehime));
        assert_eq!(PrefectureCode::parse("３８"), Ok(ehime));
        assert_eq!(PrefectureCode::parse("8").unwrap().to_string(), "08");
        assert_eq!(PrefectureCode::parse("08").unwrap().info().name, "茨城県");
        assert_eq!(ehime.to_string(), "38");
        assert_eq!(format!("{ehime:?}"), "PrefectureCode(38)");
    }

    #[test]
    fn prefecture_refuses_unknown_and_municipality_codes() {
        assert_eq!(
            PrefectureCode::parse("0"),
            Err(MunicipalityCodeError::Unknown)
        );
        assert_eq!(
            PrefectureCode::parse("48"),
            Err(MunicipalityCodeError::Unknown)
        );
        assert_eq!(
            PrefectureCode::parse("382060"),
            Err(MunicipalityCodeError::Unknown)
        );
        assert_eq!(
            PrefectureCode::parse("380009"),
            Err(MunicipalityCodeError::CheckDigit)
        );
        assert_eq!(
            PrefectureCode::parse("380"),
            Err(MunicipalityCodeError::NotSixDigits)
        );
        assert_eq!(
            PrefectureCode::parse("x"),
            Err(MunicipalityCodeError::NotSixDigits)
        );
        assert_eq!(PrefectureCode::parse(""), Err(MunicipalityCodeError::Empty));
    }

    #[test]
    fn serde_reads_codes_through_parse() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::Deserialize;
        let ok = MunicipalityCode::deserialize(StrDeserializer::<Error>::new("382060"));
        assert_eq!(ok.unwrap().as_str(), "382060");
        let bad = MunicipalityCode::deserialize(StrDeserializer::<Error>::new("131017"));
        assert!(bad.is_err());
    }
}
