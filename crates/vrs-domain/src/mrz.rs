//! The machine-readable zone of a passport (ICAO Doc 9303 Part 4, TD3: two lines of 44
//! characters), as the certificate app reads it for an overseas certificate: name, passport
//! number, nationality, birth date, sex and expiry.
//!
//! A read is accepted only when every character is an MRZ character (`A`–`Z`, `0`–`9`, `<`),
//! every field has its shape, and all five check digits hold: document number, birth date,
//! expiry, optional data and the composite over line 2. Check digits use weights 7, 3, 1
//! repeating over the field, digits count as themselves, `A`–`Z` as 10–35 and `<` as 0; the
//! digit is the sum mod 10.
//!
//! What the check digits cannot catch, by design of the standard: nationality (line 2,
//! positions 11–13) and sex (position 21) are in no check digit, and a character swapped for
//! another whose value differs by a multiple of ten (`0`, `A`, `K`, `U`, `<`) leaves every sum
//! unchanged. Field shapes catch the latter where a field admits only digits or letters.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Characters on one TD3 line.
pub const TD3_LINE_LENGTH: usize = 44;

/// A passport MRZ whose check digits all hold. `Debug` shows only the document type and the
/// issuing state: the rest is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    document_type: String,
    issuing_state: String,
    primary_identifier: String,
    secondary_identifier: String,
    name_field: String,
    document_number: String,
    nationality: String,
    birth_date: NaiveDate,
    sex: MrzSex,
    expiry_date: NaiveDate,
    optional_data: String,
}

/// Sex as the MRZ writes it: `M`, `F`, or `<` / `X` for unspecified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MrzSex {
    Male,
    Female,
    Unspecified,
}

impl MrzSex {
    /// `M`, `F` or `X` (the visual zone's letter for unspecified).
    pub fn letter(self) -> char {
        match self {
            Self::Male => 'M',
            Self::Female => 'F',
            Self::Unspecified => 'X',
        }
    }

    /// The registry's sex, when the passport states one.
    pub fn to_sex(self) -> Option<crate::Sex> {
        match self {
            Self::Male => Some(crate::Sex::Male),
            Self::Female => Some(crate::Sex::Female),
            Self::Unspecified => None,
        }
    }
}

/// The fields of line 2 that carry a check digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckedField {
    DocumentNumber,
    BirthDate,
    ExpiryDate,
    OptionalData,
    /// Line 2 positions 1–10, 14–20 and 22–43 together.
    Composite,
}

impl CheckedField {
    /// The 1-based position of the field's check digit on line 2.
    pub fn position(self) -> usize {
        match self {
            Self::DocumentNumber => 10,
            Self::BirthDate => 20,
            Self::ExpiryDate => 28,
            Self::OptionalData => 43,
            Self::Composite => 44,
        }
    }
}

impl fmt::Display for CheckedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DocumentNumber => "the document number",
            Self::BirthDate => "the birth date",
            Self::ExpiryDate => "the expiry date",
            Self::OptionalData => "the optional data",
            Self::Composite => "the composite (positions 1–10, 14–20, 22–43)",
        })
    }
}

/// Every field of a TD3 MRZ, for errors that name where the problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MrzField {
    DocumentType,
    IssuingState,
    Name,
    DocumentNumber,
    Nationality,
    BirthDate,
    Sex,
    ExpiryDate,
    OptionalData,
}

impl MrzField {
    /// (line, first position, last position), 1-based.
    pub fn span(self) -> (u8, usize, usize) {
        match self {
            Self::DocumentType => (1, 1, 2),
            Self::IssuingState => (1, 3, 5),
            Self::Name => (1, 6, 44),
            Self::DocumentNumber => (2, 1, 9),
            Self::Nationality => (2, 11, 13),
            Self::BirthDate => (2, 14, 19),
            Self::Sex => (2, 21, 21),
            Self::ExpiryDate => (2, 22, 27),
            Self::OptionalData => (2, 29, 42),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::DocumentType => "the document type",
            Self::IssuingState => "the issuing state",
            Self::Name => "the name",
            Self::DocumentNumber => "the document number",
            Self::Nationality => "the nationality",
            Self::BirthDate => "the birth date",
            Self::Sex => "the sex",
            Self::ExpiryDate => "the expiry date",
            Self::OptionalData => "the optional data",
        }
    }
}

impl fmt::Display for MrzField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, from, to) = self.span();
        if from == to {
            write!(f, "{} (line {line}, position {from})", self.label())
        } else {
            write!(f, "{} (line {line}, positions {from}–{to})", self.label())
        }
    }
}

/// Why an MRZ read is refused; each names the line, position or field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("line {line} has {found} characters; a passport (TD3) line has 44")]
    LineLength { line: u8, found: usize },
    #[error(
        "line {line}, position {position}: {found:?} is not an MRZ character \
         (only upper-case A–Z, digits 0–9 and <)"
    )]
    Character {
        line: u8,
        position: usize,
        found: char,
    },
    #[error("{field} {reason}")]
    Field {
        field: MrzField,
        reason: &'static str,
    },
    #[error("check digit of {field} (line 2, position {}) is {found}, expected {expected}", field.position())]
    CheckDigit {
        field: CheckedField,
        found: char,
        expected: char,
    },
}

fn field_error(field: MrzField, reason: &'static str) -> MrzError {
    MrzError::Field { field, reason }
}

impl Mrz {
    /// Reads the two lines of a TD3 MRZ, taking today (UTC) as the day the birth date must
    /// not be after. Surrounding whitespace is ignored; nothing else is corrected.
    pub fn parse(line1: &str, line2: &str) -> Result<Self, MrzError> {
        Self::parse_on(line1, line2, chrono::Utc::now().date_naive())
    }

    /// As [`Mrz::parse`], with the day of reading given. The two-digit birth year is placed
    /// in the latest century that keeps the birth date on or before `today`; the expiry year
    /// in the century that puts it within 50 years of `today`.
    pub fn parse_on(line1: &str, line2: &str, today: NaiveDate) -> Result<Self, MrzError> {
        let l1 = checked_line(1, line1)?;
        let l2 = checked_line(2, line2)?;

        // Check digits first: a misread character is best reported as the check digit of the
        // field it sits in.
        for (field, data) in [
            (CheckedField::DocumentNumber, &l2[0..9]),
            (CheckedField::BirthDate, &l2[13..19]),
            (CheckedField::ExpiryDate, &l2[21..27]),
        ] {
            verify_check_digit(field, data, l2[field.position() - 1], false)?;
        }
        let optional_empty = l2[28..42].iter().all(|&c| c == b'<');
        verify_check_digit(
            CheckedField::OptionalData,
            &l2[28..42],
            l2[42],
            optional_empty,
        )?;
        let composite: Vec<u8> = [&l2[0..10], &l2[13..20], &l2[21..43]].concat();
        verify_check_digit(CheckedField::Composite, &composite, l2[43], false)?;

        if l1[0] != b'P' {
            return Err(field_error(
                MrzField::DocumentType,
                "must start with P: only passports have this layout",
            ));
        }
        if l1[1] != b'<' && !l1[1].is_ascii_uppercase() {
            return Err(field_error(
                MrzField::DocumentType,
                "must be P followed by a letter or <",
            ));
        }
        let (primary_identifier, secondary_identifier) = name(&l1[5..44])?;
        let document_number = identifier(MrzField::DocumentNumber, &l2[0..9], false)?;
        let sex = match l2[20] {
            b'M' => MrzSex::Male,
            b'F' => MrzSex::Female,
            b'X' | b'<' => MrzSex::Unspecified,
            _ => return Err(field_error(MrzField::Sex, "must be M, F, X or <")),
        };
        let birth = six_digit_date(MrzField::BirthDate, &l2[13..19])?;
        let expiry = six_digit_date(MrzField::ExpiryDate, &l2[21..27])?;
        Ok(Self {
            document_type: text(&l1[0..2]).trim_end_matches('<').to_owned(),
            issuing_state: state(MrzField::IssuingState, &l1[2..5])?,
            name_field: text(&l1[5..44]).trim_end_matches('<').replace('<', " "),
            primary_identifier,
            secondary_identifier,
            document_number,
            nationality: state(MrzField::Nationality, &l2[10..13])?,
            birth_date: birth_in_past(birth, today)?,
            sex,
            expiry_date: expiry_near(expiry, today)?,
            optional_data: identifier(MrzField::OptionalData, &l2[28..42], true)?,
        })
    }

    /// `P`, or `P` and the state's second letter (e.g. `PD` for a diplomatic passport).
    pub fn document_type(&self) -> &str {
        &self.document_type
    }

    /// The issuing state's ICAO code (ISO 3166 alpha-3 or an ICAO code such as `D`).
    pub fn issuing_state(&self) -> &str {
        &self.issuing_state
    }

    /// The surname(s), components separated by single spaces ("ERIKSSON").
    pub fn surname(&self) -> &str {
        &self.primary_identifier
    }

    /// The given names, separated by single spaces ("ANNA MARIA"); empty when the passport
    /// has none.
    pub fn given_names(&self) -> &str {
        &self.secondary_identifier
    }

    /// The name field as printed in the MRZ with fillers as spaces and trailing fillers removed:
    /// surname, two spaces, given names ("ERIKSSON  ANNA MARIA"). At most 39 characters, and
    /// truncated exactly as the passport truncates it.
    pub fn name_field(&self) -> &str {
        &self.name_field
    }

    /// The passport number, trailing fillers removed ("L898902C3").
    pub fn document_number(&self) -> &str {
        &self.document_number
    }

    pub fn nationality(&self) -> &str {
        &self.nationality
    }

    /// The birth date, its century chosen to put it in the past on the day the zone was read.
    /// The zone itself gives only two digits of the year (ICAO 9303): a person of 101 read as a
    /// baby. Against a record, use [`Mrz::with_birth_date_of`].
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The zone with its birth date's century taken from `record` when the zone's two-digit year,
    /// month and day agree with it (ICAO 9303 leaves the century to whoever knows the person);
    /// `None` when they do not agree.
    pub fn with_birth_date_of(&self, record: NaiveDate) -> Option<Mrz> {
        let agrees = self.birth_date.year().rem_euclid(100) == record.year().rem_euclid(100)
            && self.birth_date.month() == record.month()
            && self.birth_date.day() == record.day();
        agrees.then(|| Mrz {
            birth_date: record,
            ..self.clone()
        })
    }

    pub fn sex(&self) -> MrzSex {
        self.sex
    }

    pub fn expiry_date(&self) -> NaiveDate {
        self.expiry_date
    }

    /// The optional data (a personal number in some states), trailing fillers removed.
    pub fn optional_data(&self) -> &str {
        &self.optional_data
    }

    /// Whether the passport had expired on that day (it is valid through its expiry date).
    pub fn is_expired(&self, on: NaiveDate) -> bool {
        on > self.expiry_date
    }
}

impl fmt::Debug for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("document_type", &self.document_type)
            .field("issuing_state", &self.issuing_state)
            .finish_non_exhaustive()
    }
}

/// The value of an MRZ character in a check-digit sum.
fn value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'Z' => u32::from(c - b'A') + 10,
        _ => 0,
    }
}

/// The ICAO 9303 check digit of `data`: weights 7, 3, 1 repeating, sum mod 10.
pub fn check_digit(data: &[u8]) -> u8 {
    let sum: u32 = data
        .iter()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(&c, &w)| value(c) * w)
        .sum();
    // `sum % 10` is below 10.
    b'0' + (sum % 10) as u8
}

fn verify_check_digit(
    field: CheckedField,
    data: &[u8],
    found: u8,
    filler_allowed: bool,
) -> Result<(), MrzError> {
    let expected = check_digit(data);
    if found == expected || (filler_allowed && found == b'<') {
        return Ok(());
    }
    Err(MrzError::CheckDigit {
        field,
        found: char::from(found),
        expected: char::from(expected),
    })
}

/// The line as bytes once its length and alphabet are right.
fn checked_line(line: u8, s: &str) -> Result<&[u8], MrzError> {
    let s = s.trim();
    let count = s.chars().count();
    if count != TD3_LINE_LENGTH {
        return Err(MrzError::LineLength { line, found: count });
    }
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'))
    {
        return Err(MrzError::Character {
            line,
            position: i + 1,
            found: c,
        });
    }
    // Only ASCII is left, so characters and bytes coincide.
    Ok(s.as_bytes())
}

/// Bytes already known to be ASCII as text.
fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A state code: letters, then fillers only ("JPN", "D<<").
fn state(field: MrzField, bytes: &[u8]) -> Result<String, MrzError> {
    let code = text(bytes);
    let letters = code.trim_end_matches('<');
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(field_error(
            field,
            "must be letters, padded with < at the end",
        ));
    }
    Ok(letters.to_owned())
}

/// A document number or optional data: letters and digits, fillers only at the end.
fn identifier(field: MrzField, bytes: &[u8], may_be_empty: bool) -> Result<String, MrzError> {
    let value = text(bytes);
    let value = value.trim_end_matches('<');
    if value.contains('<') {
        return Err(field_error(field, "has a filler < before its end"));
    }
    if value.is_empty() && !may_be_empty {
        return Err(field_error(field, "is empty"));
    }
    Ok(value.to_owned())
}

/// Primary and secondary identifiers from the 39-character name field.
fn name(bytes: &[u8]) -> Result<(String, String), MrzError> {
    if bytes.iter().any(u8::is_ascii_digit) {
        return Err(field_error(MrzField::Name, "contains a digit"));
    }
    let field = text(bytes);
    let field = field.trim_end_matches('<');
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let words = |s: &str| {
        s.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let primary = words(primary);
    if primary.is_empty() || field.starts_with('<') {
        return Err(field_error(MrzField::Name, "must start with the surname"));
    }
    Ok((primary, words(secondary)))
}

/// YYMMDD as (two-digit year, month, day), the month and day checked against a leap year so
/// that 29 February is decided once the century is known.
fn six_digit_date(field: MrzField, bytes: &[u8]) -> Result<(u32, u32, u32), MrzError> {
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(field_error(field, "must be six digits YYMMDD"));
    }
    let two = |i: usize| value(bytes[i]) * 10 + value(bytes[i + 1]);
    let (yy, mm, dd) = (two(0), two(2), two(4));
    if NaiveDate::from_ymd_opt(2000, mm, dd).is_none() {
        return Err(field_error(field, "is not a calendar date"));
    }
    Ok((yy, mm, dd))
}

fn in_century(century: i32, (yy, mm, dd): (u32, u32, u32)) -> Option<NaiveDate> {
    // `yy` is two digits, so the conversion cannot fail.
    let year = century + i32::try_from(yy).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, mm, dd)
}

fn birth_in_past(ymd: (u32, u32, u32), today: NaiveDate) -> Result<NaiveDate, MrzError> {
    let century = today.year() - today.year().rem_euclid(100);
    [century, century - 100]
        .into_iter()
        .filter_map(|c| in_century(c, ymd))
        .find(|d| *d <= today)
        .ok_or_else(|| field_error(MrzField::BirthDate, "is not a calendar date"))
}

fn expiry_near(ymd: (u32, u32, u32), today: NaiveDate) -> Result<NaiveDate, MrzError> {
    let century = today.year() - today.year().rem_euclid(100);
    [century, century + 100, century - 100]
        .into_iter()
        .filter_map(|c| in_century(c, ymd))
        .min_by_key(|d| (*d - today).num_days().abs())
        .ok_or_else(|| field_error(MrzField::ExpiryDate, "is not a calendar date"))
}

#[cfg(test)]
mod tests;
