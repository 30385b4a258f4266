//! Certificates as the database keeps them: the issuers' signing keys (private part sealed by the
//! master key, public part published) and each municipality's issuance history, whose personal
//! fields are sealed with the area's data key like a resident's.

use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::FieldCipher;
use vrs_domain::{CertificateId, CertificateKind, IssueChannel, MunicipalityCode};
use zeroize::Zeroizing;

use crate::StoreError;

/// What a signing key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// A SMART Health Card issuer key (ES256; public part a JWK).
    Shc,
    /// A document signer for EU DCC and ICAO VDS-NC codes (ES256; public part its X.509
    /// certificate, signed by the deployment's CSCA).
    DocumentSigner,
    /// The deployment's country signing CA (public part its self-signed certificate).
    Csca,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Shc => "shc",
            KeyPurpose::DocumentSigner => "dsc",
            KeyPurpose::Csca => "csca",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "shc" => Some(KeyPurpose::Shc),
            "dsc" => Some(KeyPurpose::DocumentSigner),
            "csca" => Some(KeyPurpose::Csca),
            _ => None,
        }
    }
}

/// A signing key's public facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// A municipality code, or `national` for the one national issuer (and the CSCA).
    pub issuer: String,
    pub purpose: KeyPurpose,
    pub kid: String,
    /// The JWK (JSON) of an SHC key, the DER certificate of a document signer or CSCA.
    pub public_part: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// When it stopped signing; it still verifies what it signed.
    pub retired_at: Option<DateTime<Utc>>,
}

/// The active key of an issuer, opened for signing.
pub struct ActiveSigningKey {
    pub info: SigningKeyInfo,
    /// PKCS#8 of the private key.
    pub private_pkcs8: Zeroizing<Vec<u8>>,
}

/// The additional data a signing key is sealed under: which key of whom it is.
pub(crate) fn signing_key_aad(issuer: &str, purpose: KeyPurpose, kid: &str) -> Vec<u8> {
    format!("signing_keys|{issuer}|{}|{kid}", purpose.as_str()).into_bytes()
}

/// One certificate issued (the issuance history): only what DESIGN §4.6 allows to be kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIssue {
    pub municipality: MunicipalityCode,
    pub certificate_id: CertificateId,
    pub issued_at: DateTime<Utc>,
    pub channel: IssueChannel,
    pub kind: CertificateKind,
    /// The name on the certificate (the passport's for an overseas one).
    pub name: String,
    pub birth_date: NaiveDate,
    pub nationality: Option<String>,
    pub passport_number: Option<String>,
}

pub(crate) const ISSUE_NAME: &str = "certificate_issues.name";
pub(crate) const ISSUE_BIRTH_DATE: &str = "certificate_issues.birth_date";
pub(crate) const ISSUE_NATIONALITY: &str = "certificate_issues.nationality";
pub(crate) const ISSUE_PASSPORT: &str = "certificate_issues.passport_number";

/// A `certificate_issues` row's sealed fields.
pub(crate) struct SealedIssue {
    pub name: Vec<u8>,
    pub birth_date: Vec<u8>,
    pub nationality: Option<Vec<u8>>,
    pub passport_number: Option<Vec<u8>>,
}

impl SealedIssue {
    pub(crate) fn seal(issue: &CertificateIssue, cipher: &FieldCipher) -> Result<Self, StoreError> {
        let row = issue.certificate_id.as_str();
        let seal = |column: &str, plain: &str| {
            cipher
                .seal(column, row, plain.as_bytes())
                .map_err(|e| StoreError::Other(e.to_string()))
        };
        Ok(SealedIssue {
            name: seal(ISSUE_NAME, &issue.name)?,
            birth_date: seal(ISSUE_BIRTH_DATE, &issue.birth_date.to_string())?,
            nationality: issue
                .nationality
                .as_deref()
                .map(|n| seal(ISSUE_NATIONALITY, n))
                .transpose()?,
            passport_number: issue
                .passport_number
                .as_deref()
                .map(|n| seal(ISSUE_PASSPORT, n))
                .transpose()?,
        })
    }
}

/// A stored row, as read, before opening.
pub(crate) struct IssueRow {
    pub certificate_id: String,
    pub issued_at: DateTime<Utc>,
    pub channel: String,
    pub kind: String,
    pub sealed: SealedIssue,
}

impl IssueRow {
    pub(crate) fn open(
        self,
        municipality: MunicipalityCode,
        cipher: &FieldCipher,
    ) -> Result<CertificateIssue, StoreError> {
        let row = self.certificate_id.as_str();
        let open = |column: &str, sealed: &[u8]| {
            cipher
                .open_text(column, row, sealed)
                .map_err(|source| StoreError::Integrity {
                    what: format!("{column} of certificate {row} in {municipality}"),
                    source,
                })
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of certificate {row}"));
        let birth = open(ISSUE_BIRTH_DATE, &self.sealed.birth_date)?;
        Ok(CertificateIssue {
            municipality,
            certificate_id: CertificateId::parse(row).map_err(|_| corrupt("ID"))?,
            issued_at: self.issued_at,
            channel: IssueChannel::parse(&self.channel).ok_or_else(|| corrupt("channel"))?,
            kind: CertificateKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            name: open(ISSUE_NAME, &self.sealed.name)?,
            birth_date: birth.parse().map_err(|_| corrupt("birth date"))?,
            nationality: self
                .sealed
                .nationality
                .as_deref()
                .map(|s| open(ISSUE_NATIONALITY, s))
                .transpose()?,
            passport_number: self
                .sealed
                .passport_number
                .as_deref()
                .map(|s| open(ISSUE_PASSPORT, s))
                .transpose()?,
        })
    }
}
