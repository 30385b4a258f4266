//! Certificates, revocation lists and signing requests from outside: a trust list's document
//! signer, a card signer's certificate, a card issuer's CRL, a document signer's request brought
//! to the offline CSCA.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vrs_crypto::x509::Certificate::from_der(data);
    let _ = vrs_crypto::x509::RevocationList::from_der_or_pem(data);
    let _ = vrs_crypto::pki::request::read_request(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vrs_crypto::x509::Certificate::from_base64(text);
    }
});
