//! The identifiers and dates people type or scan: dates (和暦 and Western), coupon OCR lines and
//! references, My Number, 宛名番号, municipality codes and names, certificate IDs, user IDs (kept
//! exactly as typed when accepted), and the part of a name staff search by (matched against a name
//! and reading made from the same text).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vrs_domain::parse_date(text);
    let _ = vrs_domain::MyNumber::parse(text);
    let _ = vrs_domain::AtenaNumber::parse(text);
    let _ = vrs_domain::CouponNumber::parse(text);
    let _ = vrs_domain::MunicipalityCode::parse(text);
    let _ = vrs_domain::municipality::municipality_named(text);
    let _ = vrs_domain::CertificateId::parse(text);
    let _ = vrs_core::coupon::CouponRef::parse(text);
    let _ = vrs_domain::KanaName::parse(text);
    let _ = vrs_domain::OcrLine::parse(text);
    if let Ok(id) = vrs_domain::UserId::parse(text) {
        assert_eq!(id.as_str(), text);
    }
    if let Ok(fragment) = vrs_domain::NameFragment::parse(text) {
        if let (Ok(name), Ok(reading)) = (
            vrs_domain::PersonName::parse(text),
            vrs_domain::KanaName::parse(text),
        ) {
            // A name always holds itself.
            assert!(fragment.matches(&name, &reading));
        }
    }
});
