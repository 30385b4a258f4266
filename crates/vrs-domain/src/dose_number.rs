//! 接種回: which dose of a person's series a record is. One type and one range for every way a
//! dose comes in (the tablet, the staff's form, CSV, FHIR, HL7 v2, an inquiry's answer), so a
//! number outside it is refused where it is read, with the same words everywhere.

use std::fmt;
use std::ops::RangeInclusive;

use crate::text::normalize_digits;

/// A dose number (接種回) from 1 to 10. Valid by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DoseNumber(u8);

/// Why a dose number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DoseNumberError {
    #[error("the dose number is empty")]
    Empty,
    #[error("the dose number must be {} to {}", DoseNumber::RANGE.start(), DoseNumber::RANGE.end())]
    OutOfRange,
}

impl DoseNumber {
    /// The numbers a record may carry.
    pub const RANGE: RangeInclusive<u8> = 1..=10;
    /// The first dose.
    pub const FIRST: DoseNumber = DoseNumber(1);

    pub fn new(n: u8) -> Result<Self, DoseNumberError> {
        if Self::RANGE.contains(&n) {
            Ok(Self(n))
        } else {
            Err(DoseNumberError::OutOfRange)
        }
    }

    /// From any integer a format carries (a JSON number, a database column).
    pub fn from_int(n: impl TryInto<u8>) -> Result<Self, DoseNumberError> {
        n.try_into()
            .map_err(|_| DoseNumberError::OutOfRange)
            .and_then(Self::new)
    }

    /// From text as a person or a file writes it: full-width digits and surrounding blanks allowed.
    pub fn parse(text: &str) -> Result<Self, DoseNumberError> {
        let digits = normalize_digits(text);
        let digits = digits.trim();
        if digits.is_empty() {
            return Err(DoseNumberError::Empty);
        }
        digits
            .parse::<u8>()
            .map_err(|_| DoseNumberError::OutOfRange)
            .and_then(Self::new)
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Every dose number, in order.
    pub fn all() -> impl Iterator<Item = DoseNumber> {
        Self::RANGE.map(DoseNumber)
    }

    /// The number after this one, if there is one.
    pub fn next(self) -> Option<DoseNumber> {
        Self::new(self.0 + 1).ok()
    }
}

impl fmt::Display for DoseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<DoseNumber> for u8 {
    fn from(n: DoseNumber) -> u8 {
        n.0
    }
}

impl From<DoseNumber> for u32 {
    fn from(n: DoseNumber) -> u32 {
        u32::from(n.0)
    }
}

impl From<DoseNumber> for i64 {
    fn from(n: DoseNumber) -> i64 {
        i64::from(n.0)
    }
}

impl From<DoseNumber> for i16 {
    fn from(n: DoseNumber) -> i16 {
        i16::from(n.0)
    }
}

impl PartialEq<u8> for DoseNumber {
    fn eq(&self, other: &u8) -> bool {
        self.0 == *other
    }
}

impl PartialOrd<u8> for DoseNumber {
    fn partial_cmp(&self, other: &u8) -> Option<std::cmp::Ordering> {
        self.0.partial_cmp(other)
    }
}

/// A JSON number, as the API and the files have always carried it.
impl serde::Serialize for DoseNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DoseNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = <u64 as serde::Deserialize>::deserialize(deserializer)?;
        DoseNumber::from_int(n).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::UserFacing;

    #[test]
    fn one_to_ten_and_nothing_else() {
        assert_eq!(DoseNumber::all().count(), 10);
        assert!(DoseNumber::new(0).is_err());
        assert_eq!(DoseNumber::new(10).unwrap().get(), 10);
        assert_eq!(DoseNumber::new(11), Err(DoseNumberError::OutOfRange));
        assert_eq!(
            DoseNumber::from_int(300_i64),
            Err(DoseNumberError::OutOfRange)
        );
        assert_eq!(
            DoseNumber::from_int(-1_i64),
            Err(DoseNumberError::OutOfRange)
        );
        assert_eq!(DoseNumber::new(10).unwrap().next(), None);
        assert_eq!(DoseNumber::FIRST.next(), Some(DoseNumber::new(2).unwrap()));
    }

    #[test]
    fn text_as_people_write_it() {
        assert_eq!(DoseNumber::parse(" ３ ").unwrap(), 3);
        assert_eq!(DoseNumber::parse(""), Err(DoseNumberError::Empty));
        assert_eq!(DoseNumber::parse("2回"), Err(DoseNumberError::OutOfRange));
        assert_eq!(DoseNumber::parse("99999"), Err(DoseNumberError::OutOfRange));
        assert!(DoseNumberError::OutOfRange.message_ja().contains("1から10"));
        assert!(DoseNumberError::OutOfRange.to_string().contains("1 to 10"));
    }

    #[test]
    fn a_json_number_with_the_range_checked() {
        let n: DoseNumber = serde_json::from_str("4").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "4");
        assert!(serde_json::from_str::<DoseNumber>("11").is_err());
        assert!(serde_json::from_str::<DoseNumber>("\"4\"").is_err());
    }
}
