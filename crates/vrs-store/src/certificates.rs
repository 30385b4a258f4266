//! Certificates as the database keeps them: the issuers' signing keys (private part sealed by the
//! master key, public part published) and each municipality's issuance history, whose personal
//! fields are sealed with the area's data key like a resident's.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::FieldCipher;
use vrs_domain::{
    AtenaNumber, CertificateId, CertificateKind, DoseRecord, IssueChannel, MunicipalityCode,
};
use zeroize::Zeroizing;

use crate::{AuditEntry, AuditScope, StoreError};

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

/// A signing key as the key escrow carries it: its public facts and its private part still sealed
/// by the master key (empty once the key's area was destroyed: it only verifies then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSigningKey {
    pub info: SigningKeyInfo,
    pub private_sealed: Vec<u8>,
}

/// What became of a signing key brought from a key escrow file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscrowedKey {
    /// Stored as it was (active or retired).
    Added,
    /// Stored retired: this deployment already signs with another active key for its issuer and
    /// purpose (the key still verifies what it signed).
    AddedRetired,
    /// This deployment already holds it.
    Held,
}

/// The additional data a signing key is sealed under: which key of whom it is.
pub(crate) fn signing_key_aad(issuer: &str, purpose: KeyPurpose, kid: &str) -> Vec<u8> {
    format!("signing_keys|{issuer}|{}|{kid}", purpose.as_str()).into_bytes()
}

/// One certificate issued (the issuance history): only what the history may keep
/// (docs/certificates.md).
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
    /// The SMART Health Card key (`kid`) and the document signer (EU DCC `kid`, Base64) that signed
    /// it: its revocation is published in their lists.
    pub shc_kid: String,
    pub dsc_kid: String,
    /// The dose numbers it states (bit `n` for dose `n`), as recorded at issue.
    pub stated: u32,
    /// The certificate this one was issued to replace (a re-issue).
    pub replaces: Option<CertificateId>,
    pub status: CertificateStatus,
    /// When, and why, it was superseded or revoked.
    pub status_at: Option<DateTime<Utc>>,
    pub status_reason: String,
}

/// Where a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    /// It states the person's doses as recorded.
    Valid,
    /// What it states is still true, but a later dose has been recorded: a re-issue would state more.
    Superseded,
    /// Revoked by the municipality, or because a dose it states was corrected or deleted. Final;
    /// published in the revocation lists.
    Revoked,
}

impl CertificateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "valid",
            CertificateStatus::Superseded => "superseded",
            CertificateStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(CertificateStatus::Valid),
            "superseded" => Some(CertificateStatus::Superseded),
            "revoked" => Some(CertificateStatus::Revoked),
            _ => None,
        }
    }

    /// 有効 / 更新あり / 失効, for staff.
    pub fn label_ja(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "有効",
            CertificateStatus::Superseded => {
                "更新あり（新しい接種が記録されています。再発行できます）"
            }
            CertificateStatus::Revoked => "失効",
        }
    }
}

/// The status as staff read it: in Japanese its label, in English its stored code.
impl vrs_domain::Labelled<'static> for CertificateStatus {
    fn label_ja(&self) -> &'static str {
        CertificateStatus::label_ja(*self)
    }

    fn label_en(&self) -> &'static str {
        self.as_str()
    }
}

/// A revoked certificate as the public revocation lists need it: no personal field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedCertificate {
    pub municipality: MunicipalityCode,
    pub certificate_id: CertificateId,
    pub kind: CertificateKind,
    pub shc_kid: String,
    pub dsc_kid: String,
    pub revoked_at: DateTime<Utc>,
}

/// The keyed hash (the area's search key) that links history rows to a person without naming them.
pub(crate) fn person_index(atena: &AtenaNumber, cipher: &FieldCipher) -> [u8; 32] {
    cipher.search_index("certificate_person", atena.as_str().as_bytes())
}

/// The dose numbers of `doses` as a bit set.
pub(crate) fn dose_mask(doses: &[DoseRecord]) -> u32 {
    doses.iter().fold(0, |m, d| {
        m | 1u32.checked_shl(d.dose.dose_number.into()).unwrap_or(0)
    })
}

/// The keyed hash of what the doses of `mask` state (number, date, product, lot, site), in dose
/// number order: equal exactly when a certificate stating them is still true.
pub(crate) fn stated_digest(doses: &[DoseRecord], mask: u32, cipher: &FieldCipher) -> [u8; 32] {
    let mut stated: Vec<&DoseRecord> = doses
        .iter()
        .filter(|d| mask & 1u32.checked_shl(d.dose.dose_number.into()).unwrap_or(0) != 0)
        .collect();
    stated.sort_by_key(|d| d.dose.dose_number);
    let mut bytes = b"certificate_stated".to_vec();
    for d in stated {
        let d = &d.dose;
        let line = format!(
            "|{}:{}:{}:{}:{}",
            d.dose_number,
            d.administered_on,
            d.product.code,
            d.lot_number.as_str(),
            d.site_municipality.as_str()
        );
        bytes.extend_from_slice(line.as_bytes());
    }
    cipher.content_mac(&bytes)
}

/// What becomes of an outstanding certificate (stating the doses of `mask`, hashed to `digest`)
/// when the person's doses are now `current`: revoked when a dose it states is gone or changed,
/// superseded when a dose it does not state exists, unchanged otherwise.
pub(crate) fn judge(
    status: CertificateStatus,
    mask: u32,
    digest: &[u8],
    current: &[DoseRecord],
    cipher: &FieldCipher,
) -> Option<CertificateStatus> {
    let now = dose_mask(current);
    let next = if now & mask != mask || stated_digest(current, mask, cipher)[..] != *digest {
        CertificateStatus::Revoked
    } else if now & !mask != 0 {
        CertificateStatus::Superseded
    } else {
        CertificateStatus::Valid
    };
    match (status, next) {
        (CertificateStatus::Revoked, _) => None,
        (CertificateStatus::Valid, CertificateStatus::Superseded) => Some(next),
        (_, CertificateStatus::Revoked) => Some(next),
        _ => None,
    }
}

/// A revoked certificate from its stored columns.
pub(crate) fn revoked_row(
    code: &str,
    id: &str,
    kind: &str,
    shc_kid: String,
    dsc_kid: String,
    revoked_at: DateTime<Utc>,
) -> Result<RevokedCertificate, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of certificate {id}"));
    Ok(RevokedCertificate {
        municipality: MunicipalityCode::parse(code.trim()).map_err(|_| corrupt("municipality"))?,
        certificate_id: CertificateId::parse(id).map_err(|_| corrupt("ID"))?,
        kind: CertificateKind::parse(kind).ok_or_else(|| corrupt("kind"))?,
        shc_kid,
        dsc_kid,
        revoked_at,
    })
}

/// One outstanding certificate of a person, as the lifecycle update reads it.
pub(crate) struct Outstanding {
    pub certificate_id: String,
    pub status: CertificateStatus,
    pub stated: u32,
    pub digest: Vec<u8>,
}

/// Why a certificate changed status along with a change of doses, for its audit entry.
pub(crate) fn change_entry(
    cause: &crate::AuditEntry,
    id: &str,
    next: CertificateStatus,
    reason: &str,
) -> crate::AuditEntry {
    let mut entry = cause.clone();
    entry.action = format!("certificate.{}", next.as_str());
    entry.target = id.to_owned();
    entry.outcome = "ok".into();
    entry.detail = format!("reason: {reason} | because: {}", cause.action);
    entry
}

/// The reason stated for a status change made by a change of doses.
pub(crate) fn change_reason(next: CertificateStatus) -> &'static str {
    match next {
        CertificateStatus::Revoked => {
            "記載の接種記録が訂正・削除された (a dose it states was corrected or deleted)"
        }
        _ => "新しい接種が記録された (a later dose was recorded)",
    }
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
    pub shc_kid: String,
    pub dsc_kid: String,
    pub stated: i64,
    pub replaces: Option<String>,
    pub status: String,
    pub status_at: Option<DateTime<Utc>>,
    pub status_reason: String,
}

/// The columns of a history row, in [`IssueRow`]'s order (the dates as each backend reads them).
pub(crate) const ISSUE_COLUMNS: &str = "certificate_id, issued_at, channel, kind, name_enc, \
    birth_date_enc, nationality_enc, passport_number_enc, shc_kid, dsc_kid, stated_doses, replaces, \
    status, status_at, status_reason";

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
            shc_kid: self.shc_kid,
            dsc_kid: self.dsc_kid,
            stated: u32::try_from(self.stated).map_err(|_| corrupt("stated doses"))?,
            replaces: self
                .replaces
                .as_deref()
                .map(CertificateId::parse)
                .transpose()
                .map_err(|_| corrupt("replaces"))?,
            status: CertificateStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            status_at: self.status_at,
            status_reason: self.status_reason,
        })
    }
}

/// Signing keys and the certificate issuance history with its revocations.
#[async_trait]
pub trait CertificateStore: crate::Scoped + Send + Sync {
    /// The active signing key of `issuer` for `purpose`, opened with the master key.
    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError>;

    /// Stores a new signing key (its private part sealed by the master key) with its audit entry in
    /// `chain`. With `rotate` the active key of the issuer and purpose is retired in the same
    /// transaction; without it the key is stored only when the issuer has no active key for the
    /// purpose (false: another node made one first; read that one).
    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Every signing key of `purpose`, active and retired (their public parts, for publishing and
    /// verifying), oldest first.
    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError>;

    /// Every signing key of every purpose as stored, private parts still sealed by the master key
    /// (for the key escrow), oldest first.
    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError>;

    /// Stores a signing key brought from a key escrow file, with its audit entry in the national
    /// chain. Its private part must open with this deployment's master key. A key already held
    /// (same issuer, purpose and kid) is left as it is; an active key is stored retired when this
    /// deployment already has another active key for its issuer and purpose.
    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError>;

    /// Keeps one certificate in the issuance history of its municipality with its audit entry,
    /// linked to the person of `atena` only by a keyed hash, with which of `doses` (the person's
    /// doses it states, by dose number) and a keyed hash of their content. An ID already kept is a
    /// [`StoreError::Conflict`]; so is `issue.replaces` naming a certificate that is not this
    /// person's in this area.
    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The area's issuance history, newest first, at most `limit`.
    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError>;

    /// The certificates issued to the person of `atena`, newest first.
    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError>;

    /// Revokes a certificate of the area with `reason` and its audit entry. Unknown in the area is
    /// [`StoreError::NotFound`]; already revoked is a [`StoreError::Conflict`].
    async fn revoke_certificate(
        &self,
        scope: MunicipalityCode,
        id: &CertificateId,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Brings the certificates of these people up to date with their doses as stored: revoked when
    /// a dose one states was corrected or deleted, superseded when a later dose was recorded. Each
    /// change is audited (actor and time of `cause`). Corrections and deletions of doses, and a
    /// single added dose, do this in their own transaction; batches of added doses call it after.
    /// Returns how many certificates changed.
    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError>;

    /// Every revoked certificate of the deployment (no personal field: the public lists are made
    /// from it), oldest revocation first.
    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError>;
}
