//! The Japanese eras (元号) from Meiji on, with the day each began.

use chrono::{Datelike, NaiveDate};

/// A date known at compile time; an impossible one fails the build, never a run.
pub(crate) const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("impossible date in a constant"),
    }
}

/// A Japanese era. Meiji is counted from 1868-10-23 (明治改元の日); the convention that
/// backdates 明治元年 to the start of that lunar year is not followed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

impl Era {
    /// Every era, oldest first.
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// The era a date falls in; `None` before 1868-10-23.
    pub fn of(d: NaiveDate) -> Option<Era> {
        Self::ALL.into_iter().rev().find(|era| d >= era.first_day())
    }

    pub fn first_day(self) -> NaiveDate {
        match self {
            Era::Meiji => ymd(1868, 10, 23),
            Era::Taisho => ymd(1912, 7, 30),
            Era::Showa => ymd(1926, 12, 25),
            Era::Heisei => ymd(1989, 1, 8),
            Era::Reiwa => ymd(2019, 5, 1),
        }
    }

    /// The last day of the era; `None` for the current one.
    pub fn last_day(self) -> Option<NaiveDate> {
        self.next().and_then(|next| next.first_day().pred_opt())
    }

    /// The era that followed this one.
    pub fn next(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// 明治 大正 昭和 平成 令和
    pub fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// M T S H R
    pub fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    /// The era named by its kanji or its letter (either case).
    pub fn from_name(name: &str) -> Option<Era> {
        Self::ALL.into_iter().find(|era| {
            name == era.kanji() || {
                let mut chars = name.chars();
                chars.next().map(|c| c.to_ascii_uppercase()) == Some(era.letter())
                    && chars.next().is_none()
            }
        })
    }

    /// The era year of a date in this era (1 = 元年); the date must not precede the era.
    pub fn year_of(self, d: NaiveDate) -> i32 {
        d.year() - self.first_day().year() + 1
    }

    /// Whether the date lies between the era's first and last day.
    pub fn contains(self, d: NaiveDate) -> bool {
        d >= self.first_day() && self.last_day().into_iter().all(|last| d <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_begin_and_end_on_the_right_days() {
        assert_eq!(Era::of(ymd(2019, 4, 30)), Some(Era::Heisei));
        assert_eq!(Era::of(ymd(2019, 5, 1)), Some(Era::Reiwa));
        assert_eq!(Era::of(ymd(1989, 1, 7)), Some(Era::Showa));
        assert_eq!(Era::of(ymd(1989, 1, 8)), Some(Era::Heisei));
        assert_eq!(Era::of(ymd(1926, 12, 24)), Some(Era::Taisho));
        assert_eq!(Era::of(ymd(1912, 7, 30)), Some(Era::Taisho));
        assert_eq!(Era::of(ymd(1868, 10, 23)), Some(Era::Meiji));
        assert_eq!(Era::of(ymd(1868, 10, 22)), None);
        assert_eq!(Era::Heisei.last_day(), Some(ymd(2019, 4, 30)));
        assert_eq!(Era::Reiwa.last_day(), None);
    }

    #[test]
    fn names_letters_and_years() {
        assert_eq!(Era::from_name("令和"), Some(Era::Reiwa));
        assert_eq!(Era::from_name("r"), Some(Era::Reiwa));
        assert_eq!(Era::from_name("S"), Some(Era::Showa));
        assert_eq!(Era::from_name("X"), None);
        assert_eq!(Era::from_name("RR"), None);
        assert_eq!(Era::Reiwa.year_of(ymd(2021, 5, 27)), 3);
        assert_eq!(Era::Showa.year_of(ymd(1989, 1, 7)), 64);
        assert_eq!(Era::Heisei.letter(), 'H');
        assert_eq!(Era::Taisho.kanji(), "大正");
    }
}
