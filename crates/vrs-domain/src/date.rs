//! Dates as Japanese files and forms write them: Western (`2021-05-27`, `20210527`,
//! `2021/5/27`, `2021年5月27日`) and era-based (`令和3年5月27日`, `令和元年5月1日`, `R03.05.27`),
//! and the two era formats the system prints.
//!
//! A hand parser rather than a regex: the token shapes are few, and the errors can then say
//! whether the text was unreadable, the day impossible, or the era wrong.

mod era;

use chrono::{Datelike, NaiveDate};

pub(crate) use era::ymd;
pub use era::Era;

use crate::text::normalize_digits;

/// Why a date was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DateError {
    #[error("the date is empty")]
    Empty,
    #[error(
        "the date is not in a known format (e.g. 2021-05-27, 20210527, 令和3年5月27日, R03.05.27)"
    )]
    Format,
    #[error("there is no such day in the calendar")]
    Impossible,
    #[error("the date is outside the era it names")]
    OutsideEra,
    #[error("the date is before the Meiji era (1868-10-23)")]
    BeforeMeiji,
}

/// Parses any accepted form (digits may be full-width, whitespace trimmed):
///
/// * Western: `2021-05-27`, `2021/5/27`, `2021.5.27`, `20210527`, `2021年5月27日`;
///   a date before 1868-10-23 is [`DateError::BeforeMeiji`].
/// * Era: `令和3年5月27日`, `令和元年5月1日`, `R3.5.27`, `R03.05.27`, `R3/5/27`, `R3-5-27`,
///   `R030527`, `r3.5.27`, and likewise `H`, `S`, `T`, `M` / 平成 昭和 大正 明治. The date must
///   lie within the era it names (`平成31年4月30日` is valid, `平成31年5月1日` is
///   [`DateError::OutsideEra`], as is year 0).
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let s = normalize_digits(s);
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    let (era, rest) = split_era(&s);
    let (year, month, day) = fields(&tokens(rest)?, era.is_some())?;
    match era {
        None => {
            let date =
                NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(DateError::Impossible)?;
            if date < Era::Meiji.first_day() {
                return Err(DateError::BeforeMeiji);
            }
            Ok(date)
        }
        Some(era) => {
            if year == 0 {
                return Err(DateError::OutsideEra);
            }
            let western = era.first_day().year() + year as i32 - 1;
            let date = NaiveDate::from_ymd_opt(western, month, day).ok_or(DateError::Impossible)?;
            if era.contains(date) {
                Ok(date)
            } else {
                Err(DateError::OutsideEra)
            }
        }
    }
}

/// "令和3年5月27日", "令和元年5月1日". A date before Meiji is written in the Western year
/// ("1868年1月1日") since it has no era here.
pub fn format_wareki(d: NaiveDate) -> String {
    match Era::of(d) {
        Some(era) => {
            let year = era.year_of(d);
            let year = if year == 1 {
                "元".to_owned()
            } else {
                year.to_string()
            };
            format!("{}{}年{}月{}日", era.kanji(), year, d.month(), d.day())
        }
        None => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

/// "R03.05.27". A date before Meiji is written "1868.01.01".
pub fn format_wareki_short(d: NaiveDate) -> String {
    match Era::of(d) {
        Some(era) => format!(
            "{}{:02}.{:02}.{:02}",
            era.letter(),
            era.year_of(d),
            d.month(),
            d.day()
        ),
        None => format!("{:04}.{:02}.{:02}", d.year(), d.month(), d.day()),
    }
}

/// The era named at the start of the text, if any, and the rest.
fn split_era(s: &str) -> (Option<Era>, &str) {
    for era in Era::ALL {
        if let Some(rest) = s.strip_prefix(era.kanji()) {
            return (Some(era), rest);
        }
    }
    let mut chars = s.chars();
    match chars
        .next()
        .map(|c| c.to_string())
        .and_then(|c| Era::from_name(&c))
    {
        Some(era) => (Some(era), chars.as_str()),
        None => (None, s),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A run of digits: its value and how many digits it had.
    Num(u32, usize),
    /// 元 (first year of an era).
    Gan,
    Sep(char),
    Nen,
    Tsuki,
    Hi,
}

fn tokens(s: &str) -> Result<Vec<Tok>, DateError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            '0'..='9' => {
                let mut text = String::from(c);
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    text.push(d);
                    chars.next();
                }
                let value = text.parse::<u32>().ok().filter(|_| text.len() <= 8);
                Tok::Num(value.ok_or(DateError::Format)?, text.len())
            }
            '元' => Tok::Gan,
            '-' | '/' | '.' => Tok::Sep(c),
            '年' => Tok::Nen,
            '月' => Tok::Tsuki,
            '日' => Tok::Hi,
            c if c.is_whitespace() => continue,
            _ => return Err(DateError::Format),
        };
        out.push(tok);
    }
    Ok(out)
}

/// Year, month and day from the token shapes; an era year is 1–2 digits or 元, a Western
/// year exactly 4 digits; month and day 1–2 digits.
fn fields(toks: &[Tok], era: bool) -> Result<(u32, u32, u32), DateError> {
    use Tok::*;
    let year_ok = |n: usize| if era { (1..=2).contains(&n) } else { n == 4 };
    let year = |t: Tok| match t {
        Num(v, n) if year_ok(n) => Some(v),
        Gan if era => Some(1),
        _ => None,
    };
    let md = |t: Tok| match t {
        Num(v, 1 | 2) => Some(v),
        _ => None,
    };
    let found = match *toks {
        [y, Nen, m, Tsuki, d, Hi] => year(y).zip(md(m)).zip(md(d)),
        [y, Sep(a), m, Sep(b), d] if a == b => year(y).zip(md(m)).zip(md(d)),
        [Num(v, 8)] if !era => Some(((v / 10000, v / 100 % 100), v % 100)),
        [Num(v, 6)] if era => Some(((v / 10000, v / 100 % 100), v % 100)),
        _ => None,
    };
    found.map(|((y, m), d)| (y, m, d)).ok_or(DateError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_spec_form_of_27_may_2021_parses() {
        let forms = [
            "2021-05-27",
            "20210527",
            "2021/5/27",
            "2021/05/27",
            "2021.5.27",
            "2021年5月27日",
            "令和3年5月27日",
            "R3.5.27",
            "R03.05.27",
            "R3/5/27",
            "R3-5-27",
            "r3.5.27",
            "R030527",
            "２０２１－０５－２７",
            "令和３年５月２７日",
            "Ｒ０３．０５．２７",
            " 令和 3年 5月 27日 ",
            "\u{3000}2021/05/27\u{3000}",
            "R3年5月27日",
            "令和3.5.27",
        ];
        for f in forms {
            assert_eq!(parse_date(f), Ok(d(2021, 5, 27)), "{f}");
        }
    }

    #[test]
    fn other_eras_parse() {
        assert_eq!(parse_date("S45/1/2"), Ok(d(1970, 1, 2)));
        assert_eq!(parse_date("昭和45年1月2日"), Ok(d(1970, 1, 2)));
        assert_eq!(parse_date("h1.1.8"), Ok(d(1989, 1, 8)));
        assert_eq!(parse_date("T1.7.30"), Ok(d(1912, 7, 30)));
        assert_eq!(parse_date("M45.7.29"), Ok(d(1912, 7, 29)));
        assert_eq!(parse_date("明治元年10月23日"), Ok(d(1868, 10, 23)));
    }

    #[test]
    fn first_year_is_written_gan_nen() {
        assert_eq!(parse_date("令和元年5月1日"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_date("令和1年5月1日"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_date("R元.5.1"), Ok(d(2019, 5, 1)));
        assert_eq!(format_wareki(d(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(format_wareki(d(2021, 5, 27)), "令和3年5月27日");
        assert_eq!(format_wareki_short(d(2021, 5, 27)), "R03.05.27");
        assert_eq!(format_wareki_short(d(2019, 5, 1)), "R01.05.01");
    }

    #[test]
    fn era_boundaries_are_enforced() {
        assert_eq!(parse_date("平成31年4月30日"), Ok(d(2019, 4, 30)));
        assert_eq!(parse_date("平成31年5月1日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("昭和64年1月7日"), Ok(d(1989, 1, 7)));
        assert_eq!(parse_date("昭和64年1月8日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("令和1年4月30日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("平成0年1月8日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("R0.5.1"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("明治元年1月1日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("大正15年12月25日"), Err(DateError::OutsideEra));
        assert_eq!(parse_date("大正15年12月24日"), Ok(d(1926, 12, 24)));
    }

    #[test]
    fn impossible_days_are_not_format_errors() {
        assert_eq!(parse_date("2021-02-30"), Err(DateError::Impossible));
        assert_eq!(parse_date("令和3年2月30日"), Err(DateError::Impossible));
        assert_eq!(parse_date("20211301"), Err(DateError::Impossible));
        assert_eq!(parse_date("2021/0/1"), Err(DateError::Impossible));
        assert_eq!(parse_date("2020-02-29"), Ok(d(2020, 2, 29)));
        assert_eq!(parse_date("2021-02-29"), Err(DateError::Impossible));
    }

    #[test]
    fn unreadable_text_is_a_format_error() {
        for s in [
            "2021-05/27",
            "21-05-27",
            "2021-005-27",
            "R123.5.27",
            "X3.5.27",
            "2021年5月27",
            "令和3年5月",
            "yesterday",
            "2021-05-27T00:00",
            "202105271",
            "元年5月1日",
            "R3..5.27",
            "2021 05 27",
            "99999999999999",
        ] {
            assert_eq!(parse_date(s), Err(DateError::Format), "{s}");
        }
        assert_eq!(parse_date("  "), Err(DateError::Empty));
    }

    #[test]
    fn western_dates_before_meiji_are_refused() {
        assert_eq!(parse_date("1868-10-22"), Err(DateError::BeforeMeiji));
        assert_eq!(parse_date("1868-10-23"), Ok(d(1868, 10, 23)));
        assert_eq!(format_wareki(d(1868, 1, 1)), "1868年1月1日");
        assert_eq!(format_wareki_short(d(1868, 1, 1)), "1868.01.01");
    }
}
