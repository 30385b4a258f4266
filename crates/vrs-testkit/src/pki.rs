//! The test issuer: a CSCA and a document signer for 千代田区, made at one fixed time so that
//! validity periods are the same in every run.

use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{issue_document_signer, Csca, KeyedCertificate};
use vrs_crypto::x509::Certificate;

/// 2024-04-01 00:00 UTC, the tests' "now".
pub const NOW: i64 = 1_711_929_600;

pub struct Pki {
    pub csca: Certificate,
    pub dsc: KeyedCertificate,
}

impl Pki {
    /// The document signer's certificate, parsed.
    pub fn dsc_certificate(&self) -> Certificate {
        Certificate::from_der(&self.dsc.certificate_der).unwrap()
    }

    /// The document signer's private key.
    pub fn dsc_key(&self) -> SigningKey {
        SigningKey::from_pkcs8(&self.dsc.private_key_pkcs8).unwrap()
    }
}

pub fn pki() -> Pki {
    let csca = Csca::create("VRS Test", NOW).unwrap();
    let dsc = issue_document_signer(
        &csca.certificate_der,
        &csca.private_key_pkcs8,
        "VRS Test DS 131016",
        "JP",
        "Chiyoda",
        NOW,
    )
    .unwrap();
    Pki {
        csca: Certificate::from_der(&csca.certificate_der).unwrap(),
        dsc,
    }
}
