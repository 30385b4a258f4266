//! X.509 certificates of document signers (EU DCC, ICAO VDS-NC): the few facts a verifier needs
//! from one — validity period, subject, extended key usages, public key — and the two signature
//! checks it makes: a document signature made with the certificate's key (raw `r ‖ s` as COSE and
//! JWS carry it) and the certificate's own signature by its issuer.
//!
//! Parsing is x509-parser's; every signature is checked with ring. The parsed facts are copied out
//! at parse time, so a [`Certificate`] owns its DER and nothing borrows from the caller.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;
use x509_parser::signature_algorithm::SignatureAlgorithm as ParsedSigAlg;

/// Algorithms of a document signature, named as COSE and JOSE name them. For ECDSA the label names
/// the hash; the curve is the certificate key's (RFC 8152 §8.1 only recommends pairing SHA-256 with
/// P-256 and SHA-384 with P-384), and the signature is the raw `r ‖ s` of that curve's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA with SHA-256 (COSE −7, JOSE `ES256`).
    Es256,
    /// ECDSA with SHA-384 (COSE −35, JOSE `ES384`).
    Es384,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256 (COSE −37, JOSE `PS256`).
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE −257, JOSE `RS256`).
    Rs256,
}

#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    #[error("the certificate is not base64 or PEM")]
    Encoding,
    #[error("the certificate is not DER X.509: {0}")]
    Der(String),
    #[error("the certificate has trailing bytes after its DER")]
    TrailingBytes,
}

/// The kind of key a certificate holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyKind {
    /// An uncompressed or compressed P-256 point.
    P256,
    /// A P-384 point.
    P384,
    /// A PKCS#1 `RSAPublicKey`.
    Rsa,
    Other,
}

/// A parsed X.509 certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    not_before: i64,
    not_after: i64,
    country: Option<String>,
    common_name: Option<String>,
    extended_key_usages: Vec<String>,
    /// The certificate policy OIDs, dotted.
    policies: Vec<String>,
    /// Whether basic constraints make it a CA.
    is_ca: bool,
    /// The serial number's bytes as encoded.
    serial: Vec<u8>,
    key_kind: KeyKind,
    key: Vec<u8>,
    /// The signed part (`tbsCertificate`) as it appears in `der`.
    tbs: Vec<u8>,
    /// How the issuer signed it, or `None` for a scheme this module does not check.
    issuer_scheme: Option<IssuerScheme>,
    issuer_signature: Vec<u8>,
}

impl Certificate {
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| X509Error::Der(e.to_string()))?;
        if !rest.is_empty() {
            return Err(X509Error::TrailingBytes);
        }
        let validity = cert.validity();
        let subject = cert.subject();
        let first_text = |mut it: Box<dyn Iterator<Item = _> + '_>| -> Option<String> {
            it.next()
                .and_then(|atv: &x509_parser::x509::AttributeTypeAndValue<'_>| {
                    atv.as_str().ok().map(str::to_owned)
                })
        };
        let country = first_text(Box::new(subject.iter_country()));
        let common_name = first_text(Box::new(subject.iter_common_name()));
        let extended_key_usages = match cert.extended_key_usage() {
            Ok(Some(eku)) => eku_oids(eku.value),
            Ok(None) => Vec::new(),
            Err(e) => return Err(X509Error::Der(e.to_string())),
        };
        let is_ca = match cert.basic_constraints() {
            Ok(Some(bc)) => bc.value.ca,
            Ok(None) => false,
            Err(e) => return Err(X509Error::Der(e.to_string())),
        };
        let policies = cert
            .extensions()
            .iter()
            .filter_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::CertificatePolicies(policies) => Some(
                    policies
                        .iter()
                        .map(|p| p.policy_id.to_id_string())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        let spki = cert.public_key();
        let key_kind = key_kind(
            &spki.algorithm.algorithm,
            spki.algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok()),
        );
        Ok(Self {
            der: der.to_vec(),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            country,
            common_name,
            extended_key_usages,
            policies,
            is_ca,
            serial: cert.raw_serial().to_vec(),
            key_kind,
            key: spki.subject_public_key.data.to_vec(),
            tbs: cert.tbs_certificate.as_ref().to_vec(),
            issuer_scheme: IssuerScheme::of(&cert.signature_algorithm),
            issuer_signature: cert.signature_value.data.to_vec(),
        })
    }

    /// A certificate given as PEM (one `CERTIFICATE` block) or as bare base64 of its DER, as trust
    /// lists and test vectors publish them. Whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, X509Error> {
        Self::from_der(&base64_body(text)?)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Start of validity, unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of validity, unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The subject's country (`C`), as written.
    pub fn subject_country(&self) -> Option<String> {
        self.country.clone()
    }

    /// The subject's common name (`CN`).
    pub fn subject_common_name(&self) -> Option<String> {
        self.common_name.clone()
    }

    /// The certificate policies as dotted OIDs; empty when the extension is absent.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Whether the certificate is a CA's (basic constraints `cA`).
    /// The subject's public key as the certificate carries it (for P-256, the uncompressed point).
    pub fn public_key(&self) -> &[u8] {
        &self.key
    }

    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The serial number's bytes as the certificate encodes them.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The extended key usages as dotted OIDs; empty when the extension is absent.
    pub fn extended_key_usages(&self) -> Vec<String> {
        self.extended_key_usages.clone()
    }

    /// ECDSA signatures as raw r‖s (COSE/JWS form).
    ///
    /// `false` also when the algorithm does not fit the key (an RSA label on an EC key, a curve
    /// ring cannot check, an RSA key under 2048 bits).
    pub fn verifies(&self, alg: SignatureAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        use SignatureAlgorithm::*;
        let field = match self.key_kind {
            KeyKind::P256 => 32,
            KeyKind::P384 => 48,
            _ => 0,
        };
        let (algorithm, signature): (&'static dyn VerificationAlgorithm, Vec<u8>) =
            match (alg, &self.key_kind) {
                (Es256 | Es384, KeyKind::P256 | KeyKind::P384) => {
                    if signature.len() != 2 * field {
                        return false;
                    }
                    let algorithm = match (alg, &self.key_kind) {
                        (Es256, KeyKind::P256) => &signature::ECDSA_P256_SHA256_ASN1,
                        (Es384, KeyKind::P256) => &signature::ECDSA_P256_SHA384_ASN1,
                        (Es256, _) => &signature::ECDSA_P384_SHA256_ASN1,
                        _ => &signature::ECDSA_P384_SHA384_ASN1,
                    };
                    (algorithm, raw_to_der_ecdsa(signature))
                }
                (Ps256, KeyKind::Rsa) => (&signature::RSA_PSS_2048_8192_SHA256, signature.to_vec()),
                (Rs256, KeyKind::Rsa) => {
                    (&signature::RSA_PKCS1_2048_8192_SHA256, signature.to_vec())
                }
                _ => return false,
            };
        UnparsedPublicKey::new(algorithm, &self.key)
            .verify(message, &signature)
            .is_ok()
    }

    /// Whether `issuer`'s key signed this certificate (ECDSA P-256/P-384 with SHA-256/384, RSA).
    ///
    /// Only the signature is checked: not the issuer's name, validity or CA flag.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        let Some(algorithm) = self
            .issuer_scheme
            .and_then(|scheme| scheme.ring(&issuer.key_kind))
        else {
            return false;
        };
        UnparsedPublicKey::new(algorithm, &issuer.key)
            .verify(&self.tbs, &self.issuer_signature)
            .is_ok()
    }
}

/// The DER of a document given as DER (a SEQUENCE), as PEM (one block of any label) or as bare
/// base64; whitespace in the text forms is ignored.
pub fn der_from_der_or_pem(bytes: &[u8]) -> Result<Vec<u8>, X509Error> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    base64_body(std::str::from_utf8(bytes).map_err(|_| X509Error::Encoding)?)
}

fn base64_body(text: &str) -> Result<Vec<u8>, X509Error> {
    let body: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(body).map_err(|_| X509Error::Encoding)
}

/// `der` as a PEM block labelled `label` (`CERTIFICATE`, `CERTIFICATE REQUEST`, `PRIVATE KEY`,
/// `X509 CRL`), 64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    let text = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A certificate revocation list (RFC 5280): who signed it, when it must be replaced, and the
/// serial numbers it revokes.
#[derive(Clone, Debug)]
pub struct RevocationList {
    tbs: Vec<u8>,
    scheme: Option<IssuerScheme>,
    signature: Vec<u8>,
    next_update: Option<i64>,
    revoked: Vec<Vec<u8>>,
}

impl RevocationList {
    /// A CRL as DER, or as PEM (`X509 CRL`).
    pub fn from_der_or_pem(bytes: &[u8]) -> Result<Self, X509Error> {
        let der = der_from_der_or_pem(bytes)?;
        let (rest, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
            .map_err(|e| X509Error::Der(e.to_string()))?;
        if !rest.is_empty() {
            return Err(X509Error::TrailingBytes);
        }
        Ok(Self {
            tbs: crl.tbs_cert_list.as_ref().to_vec(),
            scheme: IssuerScheme::of(&crl.signature_algorithm),
            signature: crl.signature_value.data.to_vec(),
            next_update: crl.next_update().map(|t| t.timestamp()),
            revoked: crl
                .iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .collect(),
        })
    }

    /// Whether `issuer`'s key signed this list.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        let Some(algorithm) = self.scheme.and_then(|s| s.ring(&issuer.key_kind)) else {
            return false;
        };
        UnparsedPublicKey::new(algorithm, &issuer.key)
            .verify(&self.tbs, &self.signature)
            .is_ok()
    }

    /// When the issuer promised the next list (unix seconds); a list used after it is stale.
    pub fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    /// Whether the list revokes the certificate with this serial.
    pub fn revokes(&self, serial: &[u8]) -> bool {
        self.revoked.iter().any(|s| s == serial)
    }
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";

fn key_kind(algorithm: &Oid<'_>, curve: Option<Oid<'_>>) -> KeyKind {
    let curve = curve.map(|c| c.to_id_string());
    match (algorithm.to_id_string().as_str(), curve.as_deref()) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256)) => KeyKind::P256,
        (OID_EC_PUBLIC_KEY, Some(OID_P384)) => KeyKind::P384,
        (OID_RSA | OID_RSA_PSS, _) => KeyKind::Rsa,
        _ => KeyKind::Other,
    }
}

/// How an issuer signed a certificate: the hash, and ECDSA or one of the RSA paddings. The curve of
/// an ECDSA signature is the issuer key's, known only when the issuer is at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IssuerScheme {
    Ecdsa(Hash),
    RsaPkcs1(Hash),
    RsaPss(Hash),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl IssuerScheme {
    fn of(algorithm: &x509_parser::x509::AlgorithmIdentifier<'_>) -> Option<Self> {
        let oid = algorithm.algorithm.to_id_string();
        match ParsedSigAlg::try_from(algorithm).ok()? {
            ParsedSigAlg::ECDSA => match oid.as_str() {
                "1.2.840.10045.4.3.2" => Some(Self::Ecdsa(Hash::Sha256)),
                "1.2.840.10045.4.3.3" => Some(Self::Ecdsa(Hash::Sha384)),
                "1.2.840.10045.4.3.4" => Some(Self::Ecdsa(Hash::Sha512)),
                _ => None,
            },
            ParsedSigAlg::RSA => match oid.as_str() {
                "1.2.840.113549.1.1.11" => Some(Self::RsaPkcs1(Hash::Sha256)),
                "1.2.840.113549.1.1.12" => Some(Self::RsaPkcs1(Hash::Sha384)),
                "1.2.840.113549.1.1.13" => Some(Self::RsaPkcs1(Hash::Sha512)),
                _ => None,
            },
            ParsedSigAlg::RSASSA_PSS(params) => {
                match params.hash_algorithm_oid().to_id_string().as_str() {
                    "2.16.840.1.101.3.4.2.1" => Some(Self::RsaPss(Hash::Sha256)),
                    "2.16.840.1.101.3.4.2.2" => Some(Self::RsaPss(Hash::Sha384)),
                    "2.16.840.1.101.3.4.2.3" => Some(Self::RsaPss(Hash::Sha512)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The ring algorithm for this scheme with a key of `kind`, if ring has one.
    fn ring(self, kind: &KeyKind) -> Option<&'static dyn VerificationAlgorithm> {
        use signature::*;
        Some(match (self, kind) {
            (Self::Ecdsa(Hash::Sha256), KeyKind::P256) => &ECDSA_P256_SHA256_ASN1,
            (Self::Ecdsa(Hash::Sha384), KeyKind::P256) => &ECDSA_P256_SHA384_ASN1,
            (Self::Ecdsa(Hash::Sha256), KeyKind::P384) => &ECDSA_P384_SHA256_ASN1,
            (Self::Ecdsa(Hash::Sha384), KeyKind::P384) => &ECDSA_P384_SHA384_ASN1,
            (Self::RsaPkcs1(Hash::Sha256), KeyKind::Rsa) => &RSA_PKCS1_2048_8192_SHA256,
            (Self::RsaPkcs1(Hash::Sha384), KeyKind::Rsa) => &RSA_PKCS1_2048_8192_SHA384,
            (Self::RsaPkcs1(Hash::Sha512), KeyKind::Rsa) => &RSA_PKCS1_2048_8192_SHA512,
            (Self::RsaPss(Hash::Sha256), KeyKind::Rsa) => &RSA_PSS_2048_8192_SHA256,
            (Self::RsaPss(Hash::Sha384), KeyKind::Rsa) => &RSA_PSS_2048_8192_SHA384,
            (Self::RsaPss(Hash::Sha512), KeyKind::Rsa) => &RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }
}

/// The dotted OIDs of an extended key usage extension, the well-known ones included.
fn eku_oids(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let known = [
        (eku.any, "2.5.29.37.0"),
        (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
        (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ];
    known
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, oid)| (*oid).to_owned())
        .chain(eku.other.iter().map(|oid| oid.to_id_string()))
        .collect()
}

/// A raw `r ‖ s` ECDSA signature as the DER `SEQUENCE { INTEGER r, INTEGER s }` ring's ASN.1
/// variants take (ring's fixed variants exist only for the curve-matching hashes).
fn raw_to_der_ecdsa(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let mut body = bytes[start..].to_vec();
        if !matches!(body.first(), Some(b) if b & 0x80 == 0) {
            body.insert(0, 0);
        }
        let mut out = vec![0x02];
        push_len(&mut out, body.len());
        out.extend(body);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = integer(r);
    body.extend(integer(s));
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend(body);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
}

#[cfg(test)]
mod tests;
