//! Sex as recorded in the resident registry export: 1 = male, 2 = female (the registry's and
//! ISO/IEC 5218's codes), with the Japanese and English spellings staff actually type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::normalize_digits;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SexError {
    #[error("the sex is empty")]
    Empty,
    #[error("the sex must be 1 (male) or 2 (female)")]
    Unknown,
}

impl Sex {
    /// `1`/`2`, `男`/`女`, `男性`/`女性`, `M`/`F`, `male`/`female` (any case), full-width too.
    pub fn parse(s: &str) -> Result<Self, SexError> {
        let s = normalize_digits(s);
        match s.to_ascii_lowercase().as_str() {
            "" => Err(SexError::Empty),
            "1" | "男" | "男性" | "m" | "male" => Ok(Self::Male),
            "2" | "女" | "女性" | "f" | "female" => Ok(Self::Female),
            _ => Err(SexError::Unknown),
        }
    }

    /// 1 | 2
    pub fn code(self) -> u8 {
        match self {
            Self::Male => 1,
            Self::Female => 2,
        }
    }

    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(Self::Male),
            2 => Some(Self::Female),
            _ => None,
        }
    }

    /// 男 | 女
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
        }
    }

    /// Male | Female
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Male => "Male",
            Self::Female => "Female",
        }
    }
}

/// Shows the Japanese label (男 / 女), which [`Sex::parse`] reads back.
impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ja())
    }
}

impl FromStr for Sex {
    type Err = SexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_spelling_parses() {
        for s in ["1", "１", "男", "男性", "M", "m", "male", "Male", " MALE "] {
            assert_eq!(Sex::parse(s), Ok(Sex::Male), "{s}");
        }
        for s in ["2", "２", "女", "女性", "F", "f", "female", "Female"] {
            assert_eq!(Sex::parse(s), Ok(Sex::Female), "{s}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(Sex::parse(""), Err(SexError::Empty));
        assert_eq!(Sex::parse("\u{3000}"), Err(SexError::Empty));
        for s in ["0", "3", "9", "x", "mf", "男女"] {
            assert_eq!(Sex::parse(s), Err(SexError::Unknown), "{s}");
        }
    }

    #[test]
    fn codes_and_labels() {
        assert_eq!(Sex::Male.code(), 1);
        assert_eq!(Sex::Female.code(), 2);
        assert_eq!(Sex::from_code(2), Some(Sex::Female));
        assert_eq!(Sex::from_code(0), None);
        assert_eq!(Sex::Female.label_ja(), "女");
        assert_eq!(Sex::Male.to_string(), "男");
    }
}
