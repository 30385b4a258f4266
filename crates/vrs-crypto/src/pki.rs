//! The deployment's certificate hierarchy for signed vaccination certificates, in the shape ICAO
//! Doc 9303-12 gives passports and the EU DCC and ICAO VDS-NC reuse: one self-signed **CSCA**
//! (Country Signing CA) per deployment, and **document signers** (DSC) it certifies, one per
//! issuing municipality (or one national issuer). A verifier trusts the CSCA; each code carries or
//! names the signer certificate, so signer keys can be rotated without republishing trust.
//!
//! Every key is ECDSA P-256 (ES256). Each function returns the certificate DER and the private key
//! as PKCS#8, for the caller to seal; [`crate::es256::SigningKey::from_pkcs8`] rebuilds a signing
//! key from it. Times are Unix seconds given by the caller: nothing here reads the clock.
//!
//! Profiles:
//! * CSCA: subject `C=JP, O=<deployment>, CN=<deployment> CSCA`; CA with path length 0; key usage
//!   keyCertSign and cRLSign; subject key identifier; about ten years. No extended key usage
//!   (Doc 9303-12 forbids it on a CSCA; VDS-NC's optional "health CSCA" usage is left out so that
//!   verifiers which chain usages still accept both DCC and VDS-NC signers).
//! * Document signer: subject `C, O=<municipality>, CN=<name>`; key usage digitalSignature;
//!   authority key identifier = the CSCA's; extended key usages for EU DCC vaccination
//!   certificates and ICAO VDS-NC barcode signers; about two years, never beyond the CSCA.

pub mod request;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::es256::SigningKey;
use crate::x509::Certificate;

/// Extended key usage of an EU DCC signer of vaccination certificates (eHealth Network, DCC
/// signing certificates).
pub const EKU_DCC_VACCINATION: &str = "1.3.6.1.4.1.1847.2021.1.2";
/// Extended key usage of an ICAO VDS-NC barcode signer (VDS-NC technical report, 2021).
pub const EKU_VDS_NC: &str = "2.23.136.1.1.14.2";

const DAY: i64 = 24 * 60 * 60;
/// Ten years, counting the leap days they contain.
pub const CSCA_VALIDITY_SECS: i64 = 3653 * DAY;
/// Two years, counting a leap day.
pub const DSC_VALIDITY_SECS: i64 = 731 * DAY;

/// A certificate and its private key. `Debug` never shows the key; the key is wiped when dropped.
pub struct KeyedCertificate {
    pub certificate_der: Vec<u8>,
    /// PKCS#8 v1 of the P-256 private key, for sealing and for `SigningKey::from_pkcs8`.
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedCertificate")
            .field(
                "certificate_der",
                &format_args!("{} bytes", self.certificate_der.len()),
            )
            .field("private_key_pkcs8", &"[sealed]")
            .finish()
    }
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0} must not be empty and must have no control characters")]
    Name(&'static str),
    #[error("the country must be two capital letters (ISO 3166 alpha-2, e.g. JP), not {0:?}")]
    Country(String),
    #[error("a document signer must be of the CSCA's country {csca:?}, not {requested:?}")]
    ForeignSigner { csca: String, requested: String },
    #[error("the time {0} (Unix seconds) cannot be written in a certificate")]
    Time(i64),
    #[error("the private key is not a P-256 PKCS#8 document")]
    Key,
    #[error("the CSCA certificate cannot be read: {0}")]
    Csca(String),
    #[error(
        "the CSCA certificate is not one this system made \
         (its subject must be C, O and CN = O + \" CSCA\")"
    )]
    CscaShape,
    #[error("the CSCA is not valid at {now} (valid {not_before}..={not_after}, Unix seconds)")]
    CscaNotValid {
        now: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("the CSCA private key does not belong to the CSCA certificate")]
    CscaKeyMismatch,
    #[error("the document signer request is refused: {0}")]
    Request(String),
    #[error("no random numbers for a key or serial number")]
    Random,
    #[error("the certificate could not be made: {0}")]
    Build(String),
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        Self::Build(e.to_string())
    }
}

/// The deployment's Country Signing CA.
pub struct Csca;

impl Csca {
    /// A new self-signed CSCA for the deployment `name`, valid from `now` for ten years.
    pub fn create(name: &str, now: i64) -> Result<KeyedCertificate, PkiError> {
        let name = checked_name("the deployment name", name)?;
        let (key, pkcs8) = new_key()?;
        let mut params = csca_params(name, "JP")?;
        params.not_before = at(now)?;
        params.not_after = at(now.saturating_add(CSCA_VALIDITY_SECS))?;
        params.serial_number = Some(serial()?);
        let cert = params.self_signed(&key)?;
        Ok(KeyedCertificate {
            certificate_der: cert.der().to_vec(),
            private_key_pkcs8: pkcs8,
        })
    }
}

/// A document signer certificate for `municipality`, signed by the CSCA, valid from `now` for two
/// years or until the CSCA ends, whichever is first.
///
/// The CSCA must be one [`Csca::create`] made, valid at `now`, and `csca_pkcs8` its key.
pub fn issue_document_signer(
    csca_der: &[u8],
    csca_pkcs8: &[u8],
    common_name: &str,
    country: &str,
    municipality: &str,
    now: i64,
) -> Result<KeyedCertificate, PkiError> {
    let (key, pkcs8) = new_key()?;
    let subject = SignerSubject {
        country,
        organization: municipality,
        common_name,
    };
    let der = sign_signer(csca_der, csca_pkcs8, &subject, &key, now)?;
    Ok(KeyedCertificate {
        certificate_der: der,
        private_key_pkcs8: pkcs8,
    })
}

/// Who a document signer certificate names: `C`, `O` (the municipality or issuer) and `CN`.
pub struct SignerSubject<'a> {
    pub country: &'a str,
    pub organization: &'a str,
    pub common_name: &'a str,
}

/// A document signer certificate for `public_key`, in the profile above, signed by the CSCA that
/// [`Csca::create`] made (`csca_der`, `csca_pkcs8`), valid from `now` for two years or until the
/// CSCA ends.
fn sign_signer(
    csca_der: &[u8],
    csca_pkcs8: &[u8],
    subject: &SignerSubject<'_>,
    public_key: &impl rcgen::PublicKeyData,
    now: i64,
) -> Result<Vec<u8>, PkiError> {
    let common_name = checked_name("the signer's common name", subject.common_name)?;
    let municipality = checked_name("the municipality name", subject.organization)?;
    let country = subject.country;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(PkiError::Country(country.to_owned()));
    }

    let csca = Certificate::from_der(csca_der).map_err(|e| PkiError::Csca(e.to_string()))?;
    if now < csca.not_before() || now > csca.not_after() {
        return Err(PkiError::CscaNotValid {
            now,
            not_before: csca.not_before(),
            not_after: csca.not_after(),
        });
    }
    let csca_country = csca.subject_country().ok_or(PkiError::CscaShape)?;
    if csca_country != country {
        return Err(PkiError::ForeignSigner {
            csca: csca_country,
            requested: country.to_owned(),
        });
    }
    // rcgen signs with an issuer it made itself; the CSCA's subject is rebuilt from its
    // certificate exactly as `Csca::create` wrote it, so the signer's issuer name matches.
    let csca_cn = csca.subject_common_name().ok_or(PkiError::CscaShape)?;
    let deployment = csca_cn.strip_suffix(" CSCA").ok_or(PkiError::CscaShape)?;
    let csca_key = KeyPair::try_from(csca_pkcs8).map_err(|_| PkiError::Key)?;
    let issuer = csca_params(deployment, &csca_country)?.self_signed(&csca_key)?;

    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CountryName, country_value(country)?);
    params
        .distinguished_name
        .push(DnType::OrganizationName, municipality);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(arcs(EKU_DCC_VACCINATION)),
        ExtendedKeyUsagePurpose::Other(arcs(EKU_VDS_NC)),
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = at(now)?;
    params.not_after = at(now.saturating_add(DSC_VALIDITY_SECS).min(csca.not_after()))?;
    params.serial_number = Some(serial()?);
    let cert = params.signed_by(public_key, &issuer, &csca_key)?;

    let der = cert.der().to_vec();
    let issued = Certificate::from_der(&der).map_err(|e| PkiError::Build(e.to_string()))?;
    if !issued.is_signed_by(&csca) {
        return Err(PkiError::CscaKeyMismatch);
    }
    Ok(der)
}

/// A certificate revocation list signed by the CSCA made by [`Csca::create`]: it revokes the
/// certificates with `revoked` serial numbers, issued at `now` and to be replaced by `next_update`.
pub fn issue_crl(
    csca_der: &[u8],
    csca_pkcs8: &[u8],
    revoked: &[&[u8]],
    now: i64,
    next_update: i64,
) -> Result<Vec<u8>, PkiError> {
    let csca = Certificate::from_der(csca_der).map_err(|e| PkiError::Csca(e.to_string()))?;
    let country = csca.subject_country().ok_or(PkiError::CscaShape)?;
    let csca_cn = csca.subject_common_name().ok_or(PkiError::CscaShape)?;
    let deployment = csca_cn.strip_suffix(" CSCA").ok_or(PkiError::CscaShape)?;
    let csca_key = KeyPair::try_from(csca_pkcs8).map_err(|_| PkiError::Key)?;
    let issuer = csca_params(deployment, &country)?.self_signed(&csca_key)?;
    let revoked_certs = revoked
        .iter()
        .map(|serial| {
            Ok(rcgen::RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: at(now)?,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let params = rcgen::CertificateRevocationListParams {
        this_update: at(now)?,
        next_update: at(next_update)?,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(&issuer, &csca_key)?.der().to_vec())
}

fn csca_params(deployment: &str, country: &str) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CountryName, country_value(country)?);
    params
        .distinguished_name
        .push(DnType::OrganizationName, deployment);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{deployment} CSCA"));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// The arcs of a dotted OID written in this module.
fn arcs(dotted: &str) -> Vec<u64> {
    dotted
        .split('.')
        .filter_map(|arc| arc.parse().ok())
        .collect()
}

/// X.520 writes a country as a PrintableString.
fn country_value(country: &str) -> Result<rcgen::DnValue, PkiError> {
    rcgen::PrintableString::try_from(country)
        .map(rcgen::DnValue::PrintableString)
        .map_err(|_| PkiError::Country(country.to_owned()))
}

fn checked_name<'a>(what: &'static str, name: &'a str) -> Result<&'a str, PkiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(PkiError::Name(what));
    }
    Ok(name)
}

/// A fresh P-256 key, as rcgen's signer and as PKCS#8.
fn new_key() -> Result<(KeyPair, Zeroizing<Vec<u8>>), PkiError> {
    let (_, pkcs8) = SigningKey::generate().map_err(|_| PkiError::Random)?;
    let pkcs8 = Zeroizing::new(pkcs8);
    let key = KeyPair::try_from(pkcs8.as_slice()).map_err(|_| PkiError::Key)?;
    Ok((key, pkcs8))
}

/// A positive 128-bit random serial number.
fn serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn at(unix: i64) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(unix).map_err(|_| PkiError::Time(unix))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::x509::SignatureAlgorithm;
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

    fn ski(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            })
    }

    fn aki(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|id| id.0.to_vec())
                }
                _ => None,
            })
    }

    /// 2024-04-01T00:00:00Z.
    const NOW: i64 = 1_711_929_600;

    fn csca() -> KeyedCertificate {
        Csca::create("VRS Test", NOW).unwrap()
    }

    fn dsc(csca: &KeyedCertificate) -> KeyedCertificate {
        issue_document_signer(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            "VRS Test DS 131016",
            "JP",
            "Chiyoda",
            NOW,
        )
        .unwrap()
    }

    #[test]
    fn the_csca_is_a_self_signed_ca_for_ten_years() {
        let csca = csca();
        let cert = Certificate::from_der(&csca.certificate_der).unwrap();
        assert!(cert.is_signed_by(&cert));
        assert_eq!(cert.subject_country().as_deref(), Some("JP"));
        assert_eq!(cert.subject_common_name().as_deref(), Some("VRS Test CSCA"));
        assert_eq!(cert.not_before(), NOW);
        assert_eq!(cert.not_after() - NOW, CSCA_VALIDITY_SECS);
        assert!(cert.extended_key_usages().is_empty());

        let (_, parsed) = X509Certificate::from_der(&csca.certificate_der).unwrap();
        assert_eq!(
            parsed.subject().to_string(),
            "C=JP, O=VRS Test, CN=VRS Test CSCA"
        );
        let bc = parsed.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = parsed.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        assert!(ski(&parsed).is_some());
        // Its key comes back as an ES256 signing key.
        assert!(SigningKey::from_pkcs8(&csca.private_key_pkcs8).is_ok());
    }

    #[test]
    fn a_document_signer_is_signed_by_its_csca_and_its_key_signs() {
        let csca = csca();
        let dsc = dsc(&csca);
        let csca_cert = Certificate::from_der(&csca.certificate_der).unwrap();
        let cert = Certificate::from_der(&dsc.certificate_der).unwrap();
        assert!(cert.is_signed_by(&csca_cert));
        assert!(!cert.is_signed_by(&cert));
        let other = Csca::create("VRS Test", NOW).unwrap();
        assert!(!cert.is_signed_by(&Certificate::from_der(&other.certificate_der).unwrap()));

        let key = SigningKey::from_pkcs8(&dsc.private_key_pkcs8).unwrap();
        let sig = key.sign(b"icao.vacc").unwrap();
        assert!(cert.verifies(SignatureAlgorithm::Es256, b"icao.vacc", &sig));
        assert!(!cert.verifies(SignatureAlgorithm::Es256, b"icao.vacd", &sig));

        assert_eq!(cert.not_before(), NOW);
        assert_eq!(cert.not_after() - NOW, DSC_VALIDITY_SECS);
        assert_eq!(cert.subject_country().as_deref(), Some("JP"));
        assert_eq!(
            cert.subject_common_name().as_deref(),
            Some("VRS Test DS 131016")
        );
        assert_eq!(
            cert.extended_key_usages(),
            [EKU_DCC_VACCINATION, EKU_VDS_NC]
        );
    }

    #[test]
    fn the_signer_names_its_csca_as_issuer_and_carries_the_document_signer_profile() {
        let csca = csca();
        let dsc = dsc(&csca);
        let (_, ca) = X509Certificate::from_der(&csca.certificate_der).unwrap();
        let (_, ds) = X509Certificate::from_der(&dsc.certificate_der).unwrap();
        // Byte-identical names, so path building by name works in any verifier.
        assert_eq!(ds.issuer().as_raw(), ca.subject().as_raw());
        assert_eq!(
            ds.subject().to_string(),
            "C=JP, O=Chiyoda, CN=VRS Test DS 131016"
        );
        assert_eq!(aki(&ds), ski(&ca));
        assert!(ski(&ds).is_none(), "VDS-NC barcode signers carry no SKI");
        let ku = ds.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        assert!(ds.basic_constraints().unwrap().is_none());
        assert_ne!(ds.raw_serial(), ca.raw_serial());
    }

    #[test]
    fn a_signer_never_outlives_its_csca_and_an_expired_csca_signs_nothing() {
        let csca = csca();
        let late = NOW + CSCA_VALIDITY_SECS - 100 * DAY;
        let dsc = issue_document_signer(
            &csca.certificate_der,
            &csca.private_key_pkcs8,
            "late",
            "JP",
            "Chiyoda",
            late,
        )
        .unwrap();
        let cert = Certificate::from_der(&dsc.certificate_der).unwrap();
        assert_eq!(cert.not_after(), NOW + CSCA_VALIDITY_SECS);

        for when in [NOW - 1, NOW + CSCA_VALIDITY_SECS + 1] {
            let err = issue_document_signer(
                &csca.certificate_der,
                &csca.private_key_pkcs8,
                "x",
                "JP",
                "Chiyoda",
                when,
            )
            .unwrap_err();
            assert!(matches!(err, PkiError::CscaNotValid { .. }), "{err}");
        }
    }

    #[test]
    fn a_csca_certificate_with_another_key_is_refused() {
        let csca = csca();
        let other = Csca::create("VRS Test", NOW).unwrap();
        let err = issue_document_signer(
            &csca.certificate_der,
            &other.private_key_pkcs8,
            "x",
            "JP",
            "Chiyoda",
            NOW,
        )
        .unwrap_err();
        assert!(matches!(err, PkiError::CscaKeyMismatch), "{err}");
    }

    #[test]
    fn bad_names_countries_and_keys_are_refused() {
        let csca = csca();
        let issue = |cn: &str, c: &str, m: &str, key: &[u8]| {
            issue_document_signer(&csca.certificate_der, key, cn, c, m, NOW)
        };
        let key = csca.private_key_pkcs8.as_slice();
        assert!(matches!(issue("", "JP", "m", key), Err(PkiError::Name(_))));
        assert!(matches!(
            issue("cn", "JP", "a\nb", key),
            Err(PkiError::Name(_))
        ));
        assert!(matches!(
            issue("cn", "JPN", "m", key),
            Err(PkiError::Country(_))
        ));
        assert!(matches!(
            issue("cn", "jp", "m", key),
            Err(PkiError::Country(_))
        ));
        assert!(matches!(
            issue("cn", "FR", "m", key),
            Err(PkiError::ForeignSigner { .. })
        ));
        assert!(matches!(
            issue("cn", "JP", "m", b"junk"),
            Err(PkiError::Key)
        ));
        assert!(matches!(
            issue_document_signer(b"junk", key, "cn", "JP", "m", NOW),
            Err(PkiError::Csca(_))
        ));
        assert!(matches!(Csca::create("  ", NOW), Err(PkiError::Name(_))));
        let shown = format!("{csca:?}");
        assert!(shown.contains("[sealed]"));
    }
}
