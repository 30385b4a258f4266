//! Tests of reading a passport's machine-readable zone and its check digits.

use super::*;

/// The ICAO Doc 9303 Part 4 specimen (shared/testdata/mrz/README.md).
const LINE1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const LINE2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
}

fn parse2(line2: &str) -> Result<Mrz, MrzError> {
    Mrz::parse_on(LINE1, line2, today())
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";

#[test]
fn the_icao_specimen_parses_with_its_values() {
    let mrz = Mrz::parse_on(LINE1, LINE2, today()).unwrap();
    assert_eq!(mrz.document_type(), "P");
    assert_eq!(mrz.issuing_state(), "UTO");
    assert_eq!(mrz.surname(), "ERIKSSON");
    assert_eq!(mrz.given_names(), "ANNA MARIA");
    assert_eq!(mrz.name_field(), "ERIKSSON  ANNA MARIA");
    assert_eq!(mrz.document_number(), "L898902C3");
    assert_eq!(mrz.nationality(), "UTO");
    assert_eq!(
        mrz.birth_date(),
        NaiveDate::from_ymd_opt(1974, 8, 12).unwrap()
    );
    assert_eq!(mrz.sex(), MrzSex::Female);
    assert_eq!(
        mrz.expiry_date(),
        NaiveDate::from_ymd_opt(2012, 4, 15).unwrap()
    );
    assert_eq!(mrz.optional_data(), "ZE184226B");
    assert!(mrz.is_expired(NaiveDate::from_ymd_opt(2012, 4, 16).unwrap()));
    assert!(!mrz.is_expired(NaiveDate::from_ymd_opt(2012, 4, 15).unwrap()));
    // The clock-reading entry point agrees.
    assert_eq!(Mrz::parse(LINE1, LINE2).unwrap(), mrz);
}

#[test]
fn the_specimen_check_digits_are_the_published_ones() {
    assert_eq!(check_digit(b"L898902C3"), b'6');
    assert_eq!(check_digit(b"740812"), b'2');
    assert_eq!(check_digit(b"120415"), b'9');
    assert_eq!(check_digit(b"ZE184226B<<<<<"), b'1');
    let l2 = LINE2.as_bytes();
    assert_eq!(
        check_digit(&[&l2[0..10], &l2[13..20], &l2[21..43]].concat()),
        b'0'
    );
}

#[test]
fn a_wrong_check_digit_names_the_field_and_position() {
    let err = parse2("L898902C35UTO7408122F1204159ZE184226B<<<<<10").unwrap_err();
    assert_eq!(
        err.to_string(),
        "check digit of the document number (line 2, position 10) is 5, expected 6"
    );
    let err = parse2("L898902C36UTO7408123F1204159ZE184226B<<<<<10").unwrap_err();
    assert_eq!(
        err.to_string(),
        "check digit of the birth date (line 2, position 20) is 3, expected 2"
    );
}

/// A different character of a field's own kind at `position` (1-based) of line 2, chosen
/// so that its check-digit value differs by a non-multiple of ten: the substitutions the
/// check digits are there to catch.
fn substitute(position: usize, original: u8) -> u8 {
    let digit_only = matches!(position, 10 | 14..=20 | 22..=28 | 43 | 44);
    ALPHABET
        .iter()
        .copied()
        .filter(|&c| c != original && (!digit_only || c.is_ascii_digit()))
        .find(|&c| value(c) % 10 != value(original) % 10)
        .unwrap()
}

#[test]
fn changing_any_checked_character_of_line_2_is_refused() {
    for position in 1..=44 {
        if matches!(position, 11..=13 | 21) {
            continue; // nationality and sex: in no check digit (next test)
        }
        let original = LINE2.as_bytes()[position - 1];
        let mut line = LINE2.as_bytes().to_vec();
        line[position - 1] = substitute(position, original);
        let line = String::from_utf8(line).unwrap();
        assert!(
            parse2(&line).is_err(),
            "position {position}: {line} was accepted"
        );
    }
}

#[test]
fn every_single_character_change_of_line_2_is_refused_or_a_known_blind_spot() {
    // Exhaustive: every position, every other MRZ character. What passes must be one of
    // the blind spots the standard leaves (see the module documentation), and nothing else.
    for position in 1..=44 {
        let original = LINE2.as_bytes()[position - 1];
        for &c in ALPHABET.iter().filter(|&&c| c != original) {
            let mut line = LINE2.as_bytes().to_vec();
            line[position - 1] = c;
            let line = String::from_utf8(line).unwrap();
            if parse2(&line).is_err() {
                continue;
            }
            let unchecked = matches!(position, 11..=13 | 21);
            let same_sum = value(c) % 10 == value(original) % 10;
            assert!(
                unchecked || same_sum,
                "position {position}: {line} was accepted"
            );
        }
    }
    // The blind spots are real: a letter of the nationality and the sex are unchecked.
    assert!(parse2("L898902C36UTA7408122F1204159ZE184226B<<<<<10").is_ok());
    assert!(parse2("L898902C36UTO7408122M1204159ZE184226B<<<<<10").is_ok());
    // …and so is 0 → A in the document number (values 0 and 10).
    assert!(parse2("L8989A2C36UTO7408122F1204159ZE184226B<<<<<10").is_ok());
    // But a digit where only letters belong is caught by the field's shape.
    assert!(parse2("L898902C36UT07408122F1204159ZE184226B<<<<<10").is_err());
}

#[test]
fn wrong_lengths_are_refused() {
    let err = Mrz::parse_on(LINE1, &LINE2[..43], today()).unwrap_err();
    assert_eq!(err, MrzError::LineLength { line: 2, found: 43 });
    let err = Mrz::parse_on(&format!("{LINE1}<"), LINE2, today()).unwrap_err();
    assert_eq!(err, MrzError::LineLength { line: 1, found: 45 });
    assert!(Mrz::parse_on("", "", today()).is_err());
    // The TD1 (ID card) layout is three lines of 30.
    assert!(Mrz::parse_on(&LINE1[..30], &LINE2[..30], today()).is_err());
}

#[test]
fn lowercase_and_foreign_characters_are_refused_with_their_position() {
    let lower = LINE2.replacen("L898902C3", "l898902C3", 1);
    assert_eq!(
        Mrz::parse_on(LINE1, &lower, today()).unwrap_err(),
        MrzError::Character {
            line: 2,
            position: 1,
            found: 'l'
        }
    );
    let lower1 = LINE1.to_lowercase();
    assert!(matches!(
        Mrz::parse_on(&lower1, LINE2, today()),
        Err(MrzError::Character {
            line: 1,
            position: 1,
            ..
        })
    ));
    for bad in [" ", "-", "Ö", "Ｌ", "«"] {
        let line = format!("{}{bad}{}", &LINE2[..5], &LINE2[6..]);
        assert!(
            matches!(
                Mrz::parse_on(LINE1, &line, today()),
                Err(MrzError::Character { line: 2, .. })
            ),
            "{bad:?} accepted"
        );
    }
    // Surrounding whitespace from a scanner is not part of the line.
    assert!(Mrz::parse_on(&format!(" {LINE1}\n"), &format!("{LINE2}\r\n"), today()).is_ok());
}

#[test]
fn field_shapes_are_enforced() {
    // A visa (V) has another layout.
    let visa = LINE1.replacen("P<", "V<", 1);
    assert!(matches!(
        Mrz::parse_on(&visa, LINE2, today()),
        Err(MrzError::Field {
            field: MrzField::DocumentType,
            ..
        })
    ));
    // A digit inside the name.
    let digit = LINE1.replacen("ANNA", "ANN4", 1);
    let err = Mrz::parse_on(&digit, LINE2, today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the name (line 1, positions 6–44) contains a digit"
    );
}

#[test]
fn the_birth_century_keeps_the_birth_date_in_the_past() {
    let mrz = Mrz::parse_on(LINE1, LINE2, NaiveDate::from_ymd_opt(2074, 8, 12).unwrap());
    assert_eq!(
        mrz.unwrap().birth_date(),
        NaiveDate::from_ymd_opt(2074, 8, 12).unwrap()
    );
    let mrz = Mrz::parse_on(LINE1, LINE2, NaiveDate::from_ymd_opt(2074, 8, 11).unwrap());
    assert_eq!(
        mrz.unwrap().birth_date(),
        NaiveDate::from_ymd_opt(1974, 8, 12).unwrap()
    );
}

#[test]
fn the_record_decides_the_birth_century() {
    let mrz = Mrz::parse_on(LINE1, LINE2, NaiveDate::from_ymd_opt(2074, 8, 1).unwrap());
    let mrz = mrz.unwrap();
    assert_eq!(mrz.birth_date().year(), 1974);
    let record = NaiveDate::from_ymd_opt(1874, 8, 12).unwrap();
    assert_eq!(mrz.with_birth_date_of(record).unwrap().birth_date(), record);
    let record = NaiveDate::from_ymd_opt(2074, 8, 12).unwrap();
    assert_eq!(mrz.with_birth_date_of(record).unwrap().birth_date(), record);
    for other in [(1975, 8, 12), (1974, 8, 13), (1974, 9, 12)] {
        let record = NaiveDate::from_ymd_opt(other.0, other.1, other.2).unwrap();
        assert!(mrz.with_birth_date_of(record).is_none(), "{record}");
    }
}

/// Line 2 from its fields, every check digit computed.
fn line2_of(number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> String {
    let number = format!("{number:<<9}");
    let cd = |s: &str| char::from(check_digit(s.as_bytes()));
    let mut line = format!(
        "{number}{}{nationality}{birth}{}{sex}{expiry}{}{}<",
        cd(&number),
        cd(birth),
        cd(expiry),
        "<".repeat(14)
    );
    let l = line.as_bytes();
    let composite = check_digit(&[&l[0..10], &l[13..20], &l[21..43]].concat());
    line.push(char::from(composite));
    line
}

#[test]
fn a_name_without_given_names_and_a_filler_only_optional_field_are_accepted() {
    let line1 = "P<JPNYAMADA<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<";
    let line2 = line2_of("TZ1234567", "JPN", "800101", 'M', "300101");
    let mrz = Mrz::parse_on(line1, &line2, today()).unwrap();
    assert_eq!(mrz.surname(), "YAMADA");
    assert_eq!(mrz.given_names(), "");
    assert_eq!(mrz.name_field(), "YAMADA");
    assert_eq!(mrz.optional_data(), "");
    assert_eq!(mrz.sex().to_sex(), Some(crate::Sex::Male));
    assert_eq!(
        mrz.expiry_date(),
        NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
    );
    // A short passport number is padded at the end, never inside.
    let short = line2_of("AB12345", "JPN", "800101", 'M', "300101");
    assert_eq!(
        Mrz::parse_on(line1, &short, today())
            .unwrap()
            .document_number(),
        "AB12345"
    );
    let inside = line2_of("AB<12345", "JPN", "800101", 'M', "300101");
    assert!(matches!(
        Mrz::parse_on(line1, &inside, today()),
        Err(MrzError::Field {
            field: MrzField::DocumentNumber,
            ..
        })
    ));
    // 31 February has a valid check digit and is still refused.
    let impossible = line2_of("TZ1234567", "JPN", "800231", 'M', "300101");
    assert!(matches!(
        Mrz::parse_on(line1, &impossible, today()),
        Err(MrzError::Field {
            field: MrzField::BirthDate,
            ..
        })
    ));
}

#[test]
fn debug_hides_personal_fields() {
    let mrz = Mrz::parse_on(LINE1, LINE2, today()).unwrap();
    let shown = format!("{mrz:?}");
    assert!(!shown.contains("ERIKSSON") && !shown.contains("L898902C3"));
}
