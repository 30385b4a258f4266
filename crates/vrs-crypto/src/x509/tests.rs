//! Tests of document signer certificates: their facts and their signature checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384,
};

/// The signer certificate of the EU DCC vector `common/CO1.json` of the shared public test
/// vectors (`$VRS_SHARED_TESTDATA`, else `../shared/testdata` beside the workspace): RSA,
/// `CN=RSA-Me`, no country, the three DCC key usages in their early `1.3.6.1.4.1.0.1847…`
/// spelling. Without the vectors (a plain clone): `None`, and the calling test skips with a
/// message, except under CI (`CI` set) or with `VRS_REQUIRE_SHARED=1`, where it fails.
fn vector_dsc() -> Option<String> {
    let root = vrs_testkit::shared_testdata()?;
    let path = root.join("dcc/common/CO1.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    // The one `"CERTIFICATE": "…"` member, read without a JSON parser.
    let start = text.find("\"CERTIFICATE\"").unwrap();
    let value = text[start..].split('"').nth(3).unwrap();
    Some(value.to_owned())
}

/// A P-384 CA and a P-256 signer it issued with the DCC vaccination key usage.
fn ca_and_signer() -> (Certificate, Certificate, KeyPair) {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CountryName, "JP");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "VRS test CSCA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(DnType::CountryName, "JP");
    params
        .distinguished_name
        .push(DnType::CommonName, "VRS test DSC");
    params.not_before = rcgen::date_time_ymd(2021, 6, 1);
    params.not_after = rcgen::date_time_ymd(2031, 6, 1);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![
        1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2,
    ])];
    let signer = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        Certificate::from_der(ca.der()).unwrap(),
        Certificate::from_der(signer.der()).unwrap(),
        key,
    )
}

#[test]
fn a_vector_signer_certificate_parses_as_base64_and_as_pem() {
    let Some(text) = vector_dsc() else { return };
    let cert = Certificate::from_base64(&text).unwrap();
    assert_eq!(cert.subject_common_name().as_deref(), Some("RSA-Me"));
    assert_eq!(cert.subject_country(), None);
    assert_eq!(
        cert.extended_key_usages(),
        [
            "1.3.6.1.4.1.0.1847.2021.1.1",
            "1.3.6.1.4.1.0.1847.2021.1.2",
            "1.3.6.1.4.1.0.1847.2021.1.3"
        ]
    );
    assert!(cert.not_before() < cert.not_after());
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        text.as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(Certificate::from_base64(&pem).unwrap().der(), cert.der());
    assert!(Certificate::from_base64("not a certificate").is_err());
    assert!(Certificate::from_der(&cert.der()[..100]).is_err());
}

#[test]
fn the_subject_and_key_usages_are_read() {
    let (_, signer, _) = ca_and_signer();
    assert_eq!(signer.subject_country().as_deref(), Some("JP"));
    assert_eq!(
        signer.subject_common_name().as_deref(),
        Some("VRS test DSC")
    );
    assert_eq!(
        signer.extended_key_usages(),
        vec!["1.3.6.1.4.1.1847.2021.1.2".to_owned()]
    );
    assert_eq!(signer.not_before(), 1_622_505_600); // 2021-06-01T00:00:00Z
}

#[test]
fn a_signature_verifies_only_with_its_certificate_key_and_message() {
    let (ca, signer, key) = ca_and_signer();
    let signing = crate::es256::SigningKey::from_pkcs8(&key.serialize_der()).unwrap();
    let sig = signing.sign(b"payload").unwrap();
    assert!(signer.verifies(SignatureAlgorithm::Es256, b"payload", &sig));
    assert!(!signer.verifies(SignatureAlgorithm::Es256, b"payloaD", &sig));
    assert!(!signer.verifies(SignatureAlgorithm::Es384, b"payload", &sig));
    assert!(!signer.verifies(SignatureAlgorithm::Ps256, b"payload", &sig));
    // The wrong key: the CA's, and an RSA vector signer (skipped without the vectors).
    assert!(!ca.verifies(SignatureAlgorithm::Es256, b"payload", &sig));
    if let Some(rsa) = vector_dsc() {
        let rsa = Certificate::from_base64(&rsa).unwrap();
        assert!(!rsa.verifies(SignatureAlgorithm::Ps256, b"payload", &sig));
    }
}

#[test]
fn a_certificate_is_signed_by_its_issuer_only() {
    let (ca, signer, _) = ca_and_signer();
    assert!(signer.is_signed_by(&ca));
    assert!(ca.is_signed_by(&ca));
    assert!(!signer.is_signed_by(&signer));
    assert!(!ca.is_signed_by(&signer));
    // And an RSA vector signer (skipped without the vectors).
    if let Some(rsa) = vector_dsc() {
        assert!(!Certificate::from_base64(&rsa).unwrap().is_signed_by(&ca));
    }
}

#[test]
fn a_raw_ecdsa_signature_becomes_der() {
    let mut raw = vec![0u8; 64];
    raw[31] = 1;
    raw[32] = 0x80;
    let der = raw_to_der_ecdsa(&raw);
    assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x01, 0x01]);
    assert_eq!(&der[5..8], &[0x02, 0x21, 0x00]);
}
