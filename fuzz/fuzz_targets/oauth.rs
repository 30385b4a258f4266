//! What machine clients send: the public keys an operator registers (a JWK or JWK Set) and the
//! signed assertion posted to the token endpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vrs_core::clients::ClientKeys::parse(text);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let _ = vrs_core::clients::read_assertion(text, "https://vrs.example.jp/oauth/token", now);
});
