//! The coupon number (接種券番号, ten digits, unique within a municipality) and the
//! municipality's own person number (宛名番号, up to fifteen digits).
//!
//! Neither has a check digit, so the only guards are their shape here and a lookup in the
//! municipality's targets elsewhere.

use std::fmt;
use std::str::FromStr;

use crate::serde_str::serde_via_parse;
use crate::text::{ascii_str, digits_array, normalize_digits};

/// A ten-digit coupon number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CouponNumber([u8; 10]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CouponNumberError {
    #[error("the coupon number is empty")]
    Empty,
    #[error("a coupon number must be ten digits")]
    NotTenDigits,
}

impl CouponNumber {
    /// Exactly ten digits (full-width accepted, whitespace trimmed).
    pub fn parse(s: &str) -> Result<Self, CouponNumberError> {
        let s = normalize_digits(s);
        if s.is_empty() {
            return Err(CouponNumberError::Empty);
        }
        digits_array::<10>(&s)
            .map(Self)
            .ok_or(CouponNumberError::NotTenDigits)
    }

    pub fn as_str(&self) -> &str {
        ascii_str(&self.0)
    }
}

impl fmt::Display for CouponNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CouponNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CouponNumber({})", self.as_str())
    }
}

impl FromStr for CouponNumber {
    type Err = CouponNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_parse!(CouponNumber);

/// A 宛名番号: one to fifteen digits, leading zeros kept as given.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtenaNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum AtenaNumberError {
    #[error("the atena number is empty")]
    Empty,
    #[error("an atena number may contain digits only")]
    NotDigits,
    #[error("an atena number has at most fifteen digits")]
    TooLong,
}

impl AtenaNumber {
    /// The longest 宛名番号 accepted.
    pub const MAX_DIGITS: usize = 15;

    /// One to fifteen digits (full-width accepted, whitespace trimmed).
    pub fn parse(s: &str) -> Result<Self, AtenaNumberError> {
        let s = normalize_digits(s);
        if s.is_empty() {
            return Err(AtenaNumberError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AtenaNumberError::NotDigits);
        }
        if s.len() > Self::MAX_DIGITS {
            return Err(AtenaNumberError::TooLong);
        }
        Ok(Self(s.into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AtenaNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AtenaNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AtenaNumber({})", self.0)
    }
}

impl FromStr for AtenaNumber {
    type Err = AtenaNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_parse!(AtenaNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupon_number_is_exactly_ten_digits() {
        let c = CouponNumber::parse("0123456789").unwrap();
        assert_eq!(c.as_str(), "0123456789");
        assert_eq!(c.to_string(), "0123456789");
        assert_eq!(format!("{c:?}"), "CouponNumber(0123456789)");
        assert_eq!(CouponNumber::parse("　０１２３４５６７８９ "), Ok(c));
        assert_eq!(CouponNumber::parse(""), Err(CouponNumberError::Empty));
        assert_eq!(
            CouponNumber::parse("012345678"),
            Err(CouponNumberError::NotTenDigits)
        );
        assert_eq!(
            CouponNumber::parse("01234567890"),
            Err(CouponNumberError::NotTenDigits)
        );
        assert_eq!(
            CouponNumber::parse("01234-6789"),
            Err(CouponNumberError::NotTenDigits)
        );
    }

    #[test]
    fn atena_number_keeps_leading_zeros_and_refuses_more_than_fifteen_digits() {
        assert_eq!(AtenaNumber::parse("000123").unwrap().as_str(), "000123");
        assert_eq!(AtenaNumber::parse("１").unwrap().as_str(), "1");
        assert!(AtenaNumber::parse("123456789012345").is_ok());
        assert_eq!(
            AtenaNumber::parse("1234567890123456"),
            Err(AtenaNumberError::TooLong)
        );
        assert_eq!(AtenaNumber::parse("12a"), Err(AtenaNumberError::NotDigits));
        assert_eq!(AtenaNumber::parse("-12"), Err(AtenaNumberError::NotDigits));
        assert_eq!(AtenaNumber::parse(" "), Err(AtenaNumberError::Empty));
    }

    #[test]
    fn serde_reads_through_parse() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::Deserialize;
        let c = CouponNumber::deserialize(StrDeserializer::<Error>::new("0123456789")).unwrap();
        assert_eq!(c.as_str(), "0123456789");
        assert!(AtenaNumber::deserialize(StrDeserializer::<Error>::new("x")).is_err());
    }
}
