//! Whatever a holder shows the verifier: SMART Health Card (shc:/ or JWS, and the
//! .smart-health-card file), EU DCC (HC1: base45, zlib, COSE, CBOR), VDS-NC JSON, or a PNG or
//! JPEG picture of a QR code — against an empty trust, at a fixed time.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrs_cert::verify::{verify_all, Trust};

fuzz_target!(|data: &[u8]| {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let _ = verify_all(data, &Trust::new(), at);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vrs_cert::shc::decode_qr(text);
    }
});
