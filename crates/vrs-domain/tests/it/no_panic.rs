//! Every parser of outside input answers bad input with an error, never a panic: strings of every
//! length up to 48 bytes made of ASCII digits, separators and multibyte characters (full-width
//! digits, kana, a four-byte character) at every position. Regression: a 12- or 16-byte string
//! with a multibyte character was sliced by byte position (`&s[..11]`) and panicked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vrs_domain::{
    parse_date, AtenaNumber, CertificateId, CouponNumber, KanaName, LotNumber, Mrz,
    MunicipalityCode, MyNumber, OcrLine, PersonName, PrefectureCode, Sex,
};

/// A deterministic spread of awkward strings.
fn inputs() -> Vec<String> {
    let pieces = [
        "0", "1", "9", "5", "-", " ", "　", "１", "９", "あ", "ア", "𠮷", "é", "<", "A", "令",
        "和", "年", "/", ".",
    ];
    let mut seed = 11u64;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    };
    let mut out = Vec::new();
    for _ in 0..20_000 {
        let mut s = String::new();
        let target = next(49);
        while s.len() < target {
            s.push_str(pieces[next(pieces.len())]);
        }
        out.push(s);
    }
    // Strings of exactly the byte lengths parsers look for, multibyte characters included.
    let mut kept = 0;
    while kept < 20_000 {
        let mut s = String::new();
        let target = [6, 10, 12, 14, 16, 18, 20, 44][next(8)];
        while s.len() < target {
            s.push_str(pieces[next(pieces.len())]);
        }
        if s.len() == target && !s.is_ascii() {
            out.push(s);
            kept += 1;
        }
    }
    out.push("ああああ".into());
    // Digit strings with one multibyte character at each position.
    for len in [6, 10, 12, 14, 16, 18, 20] {
        for at in 0..len {
            for wide in ["あ", "１", "𠮷", "é"] {
                let mut s: String = "1".repeat(len);
                s.replace_range(at..at + 1, wide);
                out.push(s.clone());
                // The same byte length as the digit string.
                out.push(s.chars().take(len).collect());
            }
        }
    }
    out
}

#[test]
fn parsers_of_outside_input_never_panic() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    for s in inputs() {
        let _ = MyNumber::parse(&s);
        let _ = MunicipalityCode::parse(&s);
        let _ = PrefectureCode::parse(&s);
        let _ = CouponNumber::parse(&s);
        let _ = AtenaNumber::parse(&s);
        let _ = OcrLine::parse(&s);
        let _ = CertificateId::parse(&s);
        let _ = parse_date(&s);
        let _ = LotNumber::parse(&s);
        let _ = Sex::parse(&s);
        let _ = KanaName::parse(&s);
        let _ = PersonName::parse(&s);
        let _ = Mrz::parse_on(&s, &s, today);
        let padded = format!("{s:<44}");
        let _ = Mrz::parse_on(&padded, &padded, today);
    }
}
