//! The individual number (個人番号, "My Number"): twelve digits, the last a check digit.
//!
//! The number may be shown only on LG-WAN terminals and never logged or exported, so this type
//! makes the safe thing the default: `Debug` and `Display` mask it, errors never contain it,
//! there is no `Serialize`, and the digits come out only through the explicitly named
//! [`MyNumber::expose`].

use std::fmt;
use std::str::FromStr;

use crate::text::normalize_digits;

/// A My Number with a valid check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MyNumber(String);

/// Why a My Number was refused. Deliberately carries no part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MyNumberError {
    #[error("the My Number is empty")]
    Empty,
    #[error("a My Number must be twelve digits")]
    NotTwelveDigits,
    #[error("the My Number's check digit does not match")]
    CheckDigit,
}

impl MyNumber {
    /// Twelve digits (full-width accepted, whitespace trimmed). The grouping printed on the
    /// card, `1234 5678 9018` or `1234-5678-9018`, is accepted too.
    pub fn parse(s: &str) -> Result<Self, MyNumberError> {
        let s = normalize_digits(s);
        if s.is_empty() {
            return Err(MyNumberError::Empty);
        }
        let digits = ungroup(&s).ok_or(MyNumberError::NotTwelveDigits)?;
        let check = Self::check_digit_of(&digits[..11]).ok_or(MyNumberError::NotTwelveDigits)?;
        if digits.as_bytes()[11] - b'0' != check {
            return Err(MyNumberError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// The 12 digits. The only way to get them: used for blind index, LG-WAN display, inquiry.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// "****-****-9018"
    pub fn masked(&self) -> String {
        format!("****-****-{}", self.0.get(8..).unwrap_or_default())
    }

    /// The check digit for the first eleven digits; `None` if not 11 ASCII digits.
    ///
    /// Read right to left as P1..P11 with weights Qn = n+1 (n ≤ 6) and n−5 (n ≥ 7);
    /// r = Σ Pn·Qn mod 11; the check digit is 0 when r ≤ 1, else 11 − r.
    pub fn check_digit_of(first11: &str) -> Option<u8> {
        let digits = crate::text::digits_array::<11>(first11)?;
        let r = remainder(&digits);
        Some(if r <= 1 { 0 } else { 11 - r })
    }
}

/// r = Σ Pn·Qn mod 11 of eleven ASCII digits.
pub(crate) fn remainder(first11: &[u8; 11]) -> u8 {
    let sum: u32 = first11
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(d, n)| u32::from(d - b'0') * if n <= 6 { n + 1 } else { n - 5 })
        .sum();
    (sum % 11) as u8
}

/// `dddddddddddd`, `dddd dddd dddd` or `dddd-dddd-dddd` to the bare digits.
fn ungroup(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let digits: String = match bytes.len() {
        12 => s.to_owned(),
        14 if bytes[4] == bytes[9] && matches!(bytes[4], b' ' | b'-') => {
            [&s[..4], &s[5..9], &s[10..]].concat()
        }
        _ => return None,
    };
    digits.bytes().all(|b| b.is_ascii_digit()).then_some(digits)
}

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyNumber({})", self.masked())
    }
}

impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for MyNumber {
    type Err = MyNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_number_is_valid_and_its_neighbour_is_not() {
        assert_eq!(
            MyNumber::parse("123456789018").unwrap().expose(),
            "123456789018"
        );
        assert_eq!(
            MyNumber::parse("123456789019"),
            Err(MyNumberError::CheckDigit)
        );
        assert_eq!(MyNumber::check_digit_of("12345678901"), Some(8));
    }

    #[test]
    fn check_digit_of_needs_exactly_eleven_ascii_digits() {
        assert_eq!(MyNumber::check_digit_of("1234567890"), None);
        assert_eq!(MyNumber::check_digit_of("123456789012"), None);
        assert_eq!(MyNumber::check_digit_of("1234567890a"), None);
        // r = 0 and r = 1 both give 0.
        assert_eq!(MyNumber::check_digit_of("00000000000"), Some(0));
        assert_eq!(remainder(b"00000000000"), 0);
    }

    #[test]
    fn full_width_padded_and_grouped_forms_are_accepted() {
        let n = MyNumber::parse("\u{3000}１２３４５６７８９０１８ ").unwrap();
        assert_eq!(n.expose(), "123456789018");
        assert_eq!(MyNumber::parse("1234 5678 9018"), Ok(n.clone()));
        assert_eq!(MyNumber::parse("1234-5678-9018"), Ok(n));
        assert_eq!(
            MyNumber::parse("1234-5678 9018"),
            Err(MyNumberError::NotTwelveDigits)
        );
        assert_eq!(
            MyNumber::parse("12345-678-9018"),
            Err(MyNumberError::NotTwelveDigits)
        );
    }

    #[test]
    fn malformed_numbers_name_their_fault() {
        assert_eq!(MyNumber::parse(""), Err(MyNumberError::Empty));
        assert_eq!(MyNumber::parse("\u{3000}"), Err(MyNumberError::Empty));
        assert_eq!(
            MyNumber::parse("12345678901"),
            Err(MyNumberError::NotTwelveDigits)
        );
        assert_eq!(
            MyNumber::parse("1234567890188"),
            Err(MyNumberError::NotTwelveDigits)
        );
        assert_eq!(
            MyNumber::parse("12345678901a"),
            Err(MyNumberError::NotTwelveDigits)
        );
    }

    #[test]
    fn debug_display_and_masked_hide_the_first_eight_digits() {
        let n = MyNumber::parse("123456789018").unwrap();
        assert_eq!(n.masked(), "****-****-9018");
        assert_eq!(format!("{n}"), "****-****-9018");
        assert_eq!(format!("{n:?}"), "MyNumber(****-****-9018)");
        assert!(!format!("{n:?}{n}").contains("12345678"));
    }

    #[test]
    fn error_messages_never_echo_the_input() {
        for input in ["123456789019", "12345678901", "1234567890189"] {
            let e = MyNumber::parse(input).unwrap_err();
            assert!(!e.to_string().chars().any(|c| c.is_ascii_digit()), "{e}");
        }
    }
}
