//! Document signers under a CSCA kept offline, as ICAO Doc 9303-12 expects of a country signing
//! CA: the deployment makes each signer's key and a PKCS#10 request for it; the CSCA, on a machine
//! apart from any network, signs the request; the deployment checks the certificate it gets back
//! before signing anything with it. Only document signer keys are ever online.

use rcgen::{DnType, KeyPair, PublicKeyData};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use zeroize::Zeroizing;

use super::{checked_name, country_value, new_key, sign_signer, PkiError, SignerSubject};
use super::{EKU_DCC_VACCINATION, EKU_VDS_NC};
use crate::x509::Certificate;

/// ecdsa-with-SHA256 (RFC 5758).
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
/// id-ecPublicKey and the P-256 curve (RFC 5480).
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";

/// A new document signer key and the request for its certificate.
pub struct SignerRequest {
    /// PKCS#10 `CertificationRequest`, DER.
    pub csr_der: Vec<u8>,
    /// The key's public point (uncompressed), as the certificate will carry it.
    pub public_key: Vec<u8>,
    /// PKCS#8 of the private key, for the caller to seal at once.
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
}

/// A new P-256 key and a request, signed with it, for a document signer certificate naming
/// `C=country, O=organization, CN=common_name`.
pub fn document_signer_request(subject: &SignerSubject<'_>) -> Result<SignerRequest, PkiError> {
    let common_name = checked_name("the signer's common name", subject.common_name)?;
    let organization = checked_name("the municipality name", subject.organization)?;
    let (key, pkcs8) = new_key()?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CountryName, country_value(subject.country)?);
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let csr = params.serialize_request(&key)?;
    Ok(SignerRequest {
        csr_der: csr.der().to_vec(),
        public_key: key.public_key_raw().to_vec(),
        private_key_pkcs8: pkcs8,
    })
}

/// What a request asks for, once its own signature is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedSigner {
    pub country: String,
    pub organization: String,
    pub common_name: String,
    /// The P-256 public point (uncompressed).
    pub public_key: Vec<u8>,
}

/// Reads a PKCS#10 request: a P-256 key, signed with that key (proof the requester holds it),
/// naming C, O and CN.
pub fn read_request(csr_der: &[u8]) -> Result<RequestedSigner, PkiError> {
    let bad = |reason: &str| PkiError::Request(reason.to_owned());
    let (rest, csr) = X509CertificationRequest::from_der(csr_der)
        .map_err(|e| PkiError::Request(format!("not a PKCS#10 request: {e}")))?;
    if !rest.is_empty() {
        return Err(bad("bytes follow the request"));
    }
    let info = &csr.certification_request_info;
    let spki = &info.subject_pki;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != EC_PUBLIC_KEY || curve.as_deref() != Some(P256) {
        return Err(bad(
            "the key is not an ECDSA P-256 key (ES256 signs every code)",
        ));
    }
    if csr.signature_algorithm.algorithm.to_id_string() != ECDSA_WITH_SHA256 {
        return Err(bad("the request is not signed with ECDSA and SHA-256"));
    }
    let public_key = spki.subject_public_key.data.to_vec();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &public_key)
        .verify(info.raw, &csr.signature_value.data)
        .map_err(|_| bad("the request's signature does not verify with its own key"))?;
    let first = |mut values: Box<dyn Iterator<Item = _> + '_>, what: &str| {
        values
            .next()
            .and_then(|atv: &x509_parser::x509::AttributeTypeAndValue<'_>| {
                atv.as_str().ok().map(str::to_owned)
            })
            .ok_or_else(|| PkiError::Request(format!("the request names no {what}")))
    };
    Ok(RequestedSigner {
        country: first(Box::new(info.subject.iter_country()), "country (C)")?,
        organization: first(
            Box::new(info.subject.iter_organization()),
            "organization (O)",
        )?,
        common_name: first(
            Box::new(info.subject.iter_common_name()),
            "common name (CN)",
        )?,
        public_key,
    })
}

/// The requested key, as rcgen signs a certificate for it.
struct RequestedKey(Vec<u8>);

impl PublicKeyData for RequestedKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// Signs a document signer request with the CSCA that [`super::Csca::create`] made (on the
/// offline machine that holds its key): the certificate has the document signer profile whatever
/// the request asked beyond its names and key. Returns the certificate, DER.
pub fn sign_request(
    csca_der: &[u8],
    csca_pkcs8: &[u8],
    csr_der: &[u8],
    now: i64,
) -> Result<Vec<u8>, PkiError> {
    let requested = read_request(csr_der)?;
    let subject = SignerSubject {
        country: &requested.country,
        organization: &requested.organization,
        common_name: &requested.common_name,
    };
    // The CSCA key must belong to the CSCA certificate: rcgen would otherwise sign under a name
    // whose key did not make the signature (caught after signing as well).
    let csca_key = KeyPair::try_from(csca_pkcs8).map_err(|_| PkiError::Key)?;
    let csca = Certificate::from_der(csca_der).map_err(|e| PkiError::Csca(e.to_string()))?;
    if csca.public_key() != csca_key.public_key_raw() {
        return Err(PkiError::CscaKeyMismatch);
    }
    sign_signer(
        csca_der,
        csca_pkcs8,
        &subject,
        &RequestedKey(requested.public_key),
        now,
    )
}

/// Checks a CSCA certificate given to the deployment (made by `vrs keys csca` or by the country's
/// own PKI): a CA, signed by itself, valid at `now`.
pub fn check_csca(der: &[u8], now: i64) -> Result<Certificate, PkiError> {
    let csca = Certificate::from_der(der).map_err(|e| PkiError::Csca(e.to_string()))?;
    if !csca.is_ca() {
        return Err(PkiError::Csca(
            "it is not a CA certificate (basic constraints)".into(),
        ));
    }
    if !csca.is_signed_by(&csca) {
        return Err(PkiError::Csca(
            "it is not self-signed (a CSCA is the root of its country's chain)".into(),
        ));
    }
    if now < csca.not_before() || now > csca.not_after() {
        return Err(PkiError::CscaNotValid {
            now,
            not_before: csca.not_before(),
            not_after: csca.not_after(),
        });
    }
    Ok(csca)
}

/// Why a certificate brought back for a request cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignerRefusal {
    #[error("the certificate cannot be read: {0}")]
    Unreadable(String),
    #[error("the certificate is not signed by the deployment's CSCA")]
    NotByCsca,
    #[error("the certificate is a CA certificate, not a document signer")]
    IsCa,
    #[error("the certificate is not valid now ({not_before}..={not_after}, Unix seconds)")]
    NotValid { not_before: i64, not_after: i64 },
    #[error("the certificate is for another key than the request's")]
    OtherKey,
    #[error(
        "the certificate has neither the EU DCC ({EKU_DCC_VACCINATION}) nor the VDS-NC \
         ({EKU_VDS_NC}) extended key usage"
    )]
    NoUsage,
}

/// Checks the certificate returned for a request holding `public_key`: signed by `csca`, not a
/// CA, valid at `now`, for that key, with a document signer's extended key usage.
pub fn check_document_signer(
    der: &[u8],
    csca: &Certificate,
    public_key: &[u8],
    now: i64,
) -> Result<Certificate, SignerRefusal> {
    let cert = Certificate::from_der(der).map_err(|e| SignerRefusal::Unreadable(e.to_string()))?;
    if !cert.is_signed_by(csca) {
        return Err(SignerRefusal::NotByCsca);
    }
    if cert.is_ca() {
        return Err(SignerRefusal::IsCa);
    }
    if now < cert.not_before() || now > cert.not_after() {
        return Err(SignerRefusal::NotValid {
            not_before: cert.not_before(),
            not_after: cert.not_after(),
        });
    }
    if cert.public_key() != public_key {
        return Err(SignerRefusal::OtherKey);
    }
    let usages = cert.extended_key_usages();
    if !usages
        .iter()
        .any(|u| u == EKU_DCC_VACCINATION || u == EKU_VDS_NC)
    {
        return Err(SignerRefusal::NoUsage);
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::pki::{issue_document_signer, Csca};

    const NOW: i64 = 1_790_000_000;

    fn subject() -> SignerSubject<'static> {
        SignerSubject {
            country: "JP",
            organization: "Minato City",
            common_name: "VRS DSC 131032",
        }
    }

    #[test]
    fn a_request_signed_offline_comes_back_as_a_usable_signer() {
        let csca = Csca::create("VRS", NOW).unwrap();
        let request = document_signer_request(&subject()).unwrap();
        let read = read_request(&request.csr_der).unwrap();
        assert_eq!(read.organization, "Minato City");
        assert_eq!(read.public_key, request.public_key);

        let der = sign_request(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            &request.csr_der,
            NOW,
        )
        .unwrap();
        let anchor = check_csca(&csca.certificate_der, NOW).unwrap();
        let cert = check_document_signer(&der, &anchor, &request.public_key, NOW).unwrap();
        assert_eq!(
            cert.subject_common_name().as_deref(),
            Some("VRS DSC 131032")
        );
        assert!(cert.extended_key_usages().contains(&EKU_VDS_NC.to_owned()));
        // The certificate's key signs: the request's private key makes signatures it verifies.
        let key = crate::es256::SigningKey::from_pkcs8(&request.private_key_pkcs8).unwrap();
        let signature = key.sign(b"payload").unwrap();
        assert!(cert.verifies(
            crate::x509::SignatureAlgorithm::Es256,
            b"payload",
            &signature
        ));
    }

    #[test]
    fn a_certificate_for_another_key_another_ca_a_ca_or_out_of_time_is_refused() {
        let csca = Csca::create("VRS", NOW).unwrap();
        let anchor = check_csca(&csca.certificate_der, NOW).unwrap();
        let request = document_signer_request(&subject()).unwrap();
        let signed = |csca: &super::super::KeyedCertificate| {
            sign_request(
                &csca.certificate_der,
                &csca.private_key_pkcs8,
                &request.csr_der,
                NOW,
            )
            .unwrap()
        };
        let other_ca = Csca::create("Elsewhere", NOW).unwrap();
        assert_eq!(
            check_document_signer(&signed(&other_ca), &anchor, &request.public_key, NOW)
                .unwrap_err(),
            SignerRefusal::NotByCsca
        );
        let other_key = issue_document_signer(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            "VRS DSC 131032",
            "JP",
            "Minato City",
            NOW,
        )
        .unwrap();
        assert_eq!(
            check_document_signer(
                &other_key.certificate_der,
                &anchor,
                &request.public_key,
                NOW
            )
            .unwrap_err(),
            SignerRefusal::OtherKey
        );
        assert_eq!(
            check_document_signer(&csca.certificate_der, &anchor, &request.public_key, NOW)
                .unwrap_err(),
            SignerRefusal::IsCa
        );
        let ours = signed(&csca);
        assert!(matches!(
            check_document_signer(&ours, &anchor, &request.public_key, NOW + 800 * 86_400),
            Err(SignerRefusal::NotValid { .. })
        ));
        assert!(matches!(
            check_document_signer(b"junk", &anchor, &request.public_key, NOW),
            Err(SignerRefusal::Unreadable(_))
        ));
    }

    #[test]
    fn requests_are_checked_before_anything_is_signed() {
        let csca = Csca::create("VRS", NOW).unwrap();
        let mut request = document_signer_request(&subject()).unwrap();
        // A flipped byte inside the signed part: the request's own signature no longer holds.
        let at = request.csr_der.len() / 3;
        request.csr_der[at] ^= 0x01;
        assert!(sign_request(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            &request.csr_der,
            NOW
        )
        .is_err());
        assert!(read_request(b"not a request").is_err());
        // A foreign country's request under a Japanese CSCA.
        let foreign = document_signer_request(&SignerSubject {
            country: "FR",
            ..subject()
        })
        .unwrap();
        assert!(matches!(
            sign_request(
                &csca.certificate_der,
                &csca.private_key_pkcs8,
                &foreign.csr_der,
                NOW
            ),
            Err(PkiError::ForeignSigner { .. })
        ));
        // A CSCA key that is not the CSCA certificate's.
        let other = Csca::create("VRS", NOW).unwrap();
        let genuine = document_signer_request(&subject()).unwrap();
        assert!(matches!(
            sign_request(
                &csca.certificate_der,
                &other.private_key_pkcs8,
                &genuine.csr_der,
                NOW
            ),
            Err(PkiError::CscaKeyMismatch)
        ));
        // A CSCA that is not a CA, or not valid now.
        let signer = issue_document_signer(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            "x",
            "JP",
            "y",
            NOW,
        )
        .unwrap();
        assert!(check_csca(&signer.certificate_der, NOW).is_err());
        assert!(matches!(
            check_csca(&csca.certificate_der, NOW - 10),
            Err(PkiError::CscaNotValid { .. })
        ));
    }
}
