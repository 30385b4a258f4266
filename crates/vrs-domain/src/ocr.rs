//! The coupon's OCR line (MHLW 手引き 13.1版): 18 digits = 券種 (1) + 回数 (1) +
//! municipality code (6, with its own check digit) + coupon number (10).
//!
//! The same 18 digits are printed in OCR-B and, from the third-dose coupons, in a QR code.
//! The municipality code's check digit is the line's only internal guard.

use std::fmt;
use std::str::FromStr;

use crate::coupon::CouponNumber;
use crate::municipality::{MunicipalityCode, MunicipalityCodeError};
use crate::text::normalize_digits;

/// A decoded OCR line.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct OcrLine {
    /// 券種: the coupon type digit.
    pub kind: u8,
    /// 回数: the dose round digit the coupon was issued for.
    pub round: u8,
    pub municipality: MunicipalityCode,
    pub coupon: CouponNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OcrLineError {
    #[error("an OCR line must be 18 digits (got {len} characters)")]
    NotEighteenDigits { len: usize },
    #[error("the OCR line's municipality code is wrong: {0}")]
    Municipality(#[from] MunicipalityCodeError),
}

impl OcrLine {
    /// Eighteen digits (full-width accepted, whitespace trimmed).
    pub fn parse(s: &str) -> Result<Self, OcrLineError> {
        let s = normalize_digits(s);
        let b = s.as_bytes();
        if b.len() != 18 || !b.iter().all(u8::is_ascii_digit) {
            return Err(OcrLineError::NotEighteenDigits {
                len: s.chars().count(),
            });
        }
        let municipality = MunicipalityCode::parse(&s[2..8])?;
        let coupon = CouponNumber::parse(&s[8..])
            .map_err(|_| OcrLineError::NotEighteenDigits { len: 18 })?;
        Ok(Self {
            kind: b[0] - b'0',
            round: b[1] - b'0',
            municipality,
            coupon,
        })
    }

    /// The 18 digits again.
    pub fn to_digits(&self) -> String {
        format!(
            "{}{}{}{}",
            self.kind % 10,
            self.round % 10,
            self.municipality,
            self.coupon
        )
    }
}

impl fmt::Display for OcrLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_digits())
    }
}

impl FromStr for OcrLine {
    type Err = OcrLineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_its_four_parts_and_back() {
        let line = OcrLine::parse("133820601234567890").unwrap();
        assert_eq!(line.kind, 1);
        assert_eq!(line.round, 3);
        assert_eq!(line.municipality.as_str(), "382060");
        assert_eq!(line.coupon.as_str(), "1234567890");
        assert_eq!(line.to_digits(), "133820601234567890");
        assert_eq!(line.to_string(), "133820601234567890");
        assert_eq!(
            OcrLine::parse("１３３８２０６０１２３４５６７８９０"),
            Ok(line)
        );
    }

    #[test]
    fn wrong_length_reports_the_length() {
        assert_eq!(
            OcrLine::parse("1338206012345678"),
            Err(OcrLineError::NotEighteenDigits { len: 16 })
        );
        assert_eq!(
            OcrLine::parse(""),
            Err(OcrLineError::NotEighteenDigits { len: 0 })
        );
        assert_eq!(
            OcrLine::parse("13382060123456789X"),
            Err(OcrLineError::NotEighteenDigits { len: 18 })
        );
    }

    #[test]
    fn a_bad_municipality_code_is_reported_as_such() {
        assert_eq!(
            OcrLine::parse("111310171234567890"),
            Err(OcrLineError::Municipality(
                MunicipalityCodeError::CheckDigit
            ))
        );
        let e = OcrLine::parse("111310171234567890").unwrap_err();
        assert!(e.to_string().contains("check digit"));
    }
}
