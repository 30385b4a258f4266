//! Certificate signing keys and the issuance history on SQLite. Keys and issues are written through
//! the writer with their audit entry in one transaction.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use vrs_domain::{AtenaNumber, CertificateId, DoseRecord, MunicipalityCode};

use super::accounts::time;
use super::{append_audit_tx, load_cipher, SqliteStore};
use crate::audit::timestamp_text;
use crate::certificates::{
    change_entry, change_reason, dose_mask, judge, person_index, revoked_row, signing_key_aad,
    stated_digest, ActiveSigningKey, CertificateIssue, CertificateStatus, EscrowedKey, IssueRow,
    KeyPurpose, Outstanding, RevokedCertificate, SealedIssue, SealedSigningKey, SigningKeyInfo,
    ISSUE_COLUMNS,
};
use crate::keyring::Keyring;
use crate::ConflictKind;
use crate::{AuditEntry, AuditScope, CertificateStore, StoreError};

const KEY_COLUMNS: &str = "issuer, purpose, kid, public_part, created_at, retired_at";

type KeyRow = (String, String, String, Vec<u8>, String, Option<String>);

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn key_info(row: KeyRow) -> Result<SigningKeyInfo, StoreError> {
    let (issuer, purpose, kid, public_part, created, retired) = row;
    Ok(SigningKeyInfo {
        purpose: KeyPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("signing key purpose {purpose:?}")))?,
        issuer,
        kid,
        public_part,
        created_at: time(&created)?,
        retired_at: retired.as_deref().map(time).transpose()?,
    })
}

fn active_key(
    conn: &Connection,
    issuer: &str,
    purpose: KeyPurpose,
) -> Result<Option<(SigningKeyInfo, Vec<u8>)>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {KEY_COLUMNS}, private_sealed FROM signing_keys \
             WHERE issuer = ?1 AND purpose = ?2 AND retired_at IS NULL"
        ))?
        .query_row(params![issuer, purpose.as_str()], |r| {
            Ok((key_row(r)?, r.get::<_, Vec<u8>>(6)?))
        })
        .optional()?;
    found
        .map(|(row, sealed)| Ok((key_info(row)?, sealed)))
        .transpose()
}

impl SqliteStore {
    /// History rows of the area matching `filter` (SQL after WHERE municipality_code = ?1; `?2` is
    /// `arg`), opened.
    async fn issues_where(
        &self,
        scope: MunicipalityCode,
        filter: &'static str,
        arg: rusqlite::types::Value,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let cipher = self.ensure_cipher(scope).await?;
        let rows = self
            .read(move |conn, _| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {ISSUE_COLUMNS} FROM certificate_issues \
                     WHERE municipality_code = ?1 {filter}"
                ))?;
                let rows = stmt.query_map(params![scope.as_str(), arg], |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ),
                        SealedIssue {
                            name: r.get(4)?,
                            birth_date: r.get(5)?,
                            nationality: r.get(6)?,
                            passport_number: r.get(7)?,
                        },
                        (
                            r.get::<_, String>(8)?,
                            r.get::<_, String>(9)?,
                            r.get::<_, i64>(10)?,
                        ),
                        (
                            r.get::<_, Option<String>>(11)?,
                            r.get::<_, String>(12)?,
                            r.get::<_, Option<String>>(13)?,
                            r.get::<_, String>(14)?,
                        ),
                    ))
                })?;
                rows.map(|r| {
                    let (
                        (certificate_id, at, channel, kind),
                        sealed,
                        (shc_kid, dsc_kid, stated),
                        rest,
                    ) = r?;
                    let (replaces, status, status_at, status_reason) = rest;
                    Ok(IssueRow {
                        certificate_id,
                        issued_at: time(&at)?,
                        channel,
                        kind,
                        sealed,
                        shc_kid,
                        dsc_kid,
                        stated,
                        replaces,
                        status,
                        status_at: status_at.as_deref().map(time).transpose()?,
                        status_reason,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        rows.into_iter().map(|r| r.open(scope, &cipher)).collect()
    }
}

/// Sets a certificate's status, with when and why, and audits it (`entry` in the area's chain).
fn set_status(
    tx: &Connection,
    scope: MunicipalityCode,
    id: &str,
    status: CertificateStatus,
    reason: &str,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE certificate_issues SET status = ?3, status_at = ?4, status_reason = ?5 \
         WHERE municipality_code = ?1 AND certificate_id = ?2",
    )?
    .execute(params![
        scope.as_str(),
        id,
        status.as_str(),
        timestamp_text(&entry.at),
        reason
    ])?;
    Ok(())
}

/// Brings the outstanding certificates of one person up to date with the doses stored now, in the
/// caller's transaction; returns how many changed.
pub(super) fn refresh_tx(
    tx: &Connection,
    keyring: &Keyring,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    cause: &AuditEntry,
) -> Result<u32, StoreError> {
    let Some(cipher) = load_cipher(tx, keyring, scope)? else {
        return Ok(0);
    };
    let index = person_index(atena, &cipher).to_vec();
    let outstanding = tx
        .prepare_cached(
            "SELECT certificate_id, status, stated_doses, stated_digest FROM certificate_issues \
             WHERE municipality_code = ?1 AND person_index = ?2 AND status <> 'revoked'",
        )?
        .query_map(params![scope.as_str(), index], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if outstanding.is_empty() {
        return Ok(0);
    }
    let current = super::doses::person_doses_tx(tx, scope, atena)?;
    let mut changed = 0;
    for (id, status, stated, digest) in outstanding {
        let o = Outstanding {
            status: CertificateStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("status of certificate {id}")))?,
            stated: u32::try_from(stated).unwrap_or(0),
            digest: digest.unwrap_or_default(),
            certificate_id: id,
        };
        if let Some(next) = judge(o.status, o.stated, &o.digest, &current, &cipher) {
            let reason = change_reason(next);
            let entry = change_entry(cause, &o.certificate_id, next, reason);
            set_status(tx, scope, &o.certificate_id, next, reason, &entry)?;
            append_audit_tx(tx, scope.into(), &entry)?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[async_trait]
impl CertificateStore for SqliteStore {
    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError> {
        let issuer = issuer.to_owned();
        self.read(move |conn, keyring| {
            let Some((info, sealed)) = active_key(conn, &issuer, purpose)? else {
                return Ok(None);
            };
            let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
            let private_pkcs8 = keyring.open_signing_key(&aad, &sealed)?;
            Ok(Some(ActiveSigningKey {
                info,
                private_pkcs8,
            }))
        })
        .await
    }

    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let info = info.clone();
        let pkcs8 = zeroize::Zeroizing::new(private_pkcs8.to_vec());
        let audit = audit.clone();
        self.write(move |tx, keyring| {
            let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
            let sealed = keyring.seal_signing_key(&aad, &pkcs8)?;
            if rotate {
                tx.execute(
                    "UPDATE signing_keys SET retired_at = ?3 \
                     WHERE issuer = ?1 AND purpose = ?2 AND retired_at IS NULL",
                    params![
                        info.issuer,
                        info.purpose.as_str(),
                        timestamp_text(&audit.at)
                    ],
                )?;
            }
            let inserted = tx.execute(
                "INSERT INTO signing_keys (issuer, purpose, kid, public_part, private_sealed, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                params![
                    info.issuer,
                    info.purpose.as_str(),
                    info.kid,
                    info.public_part,
                    sealed,
                    timestamp_text(&info.created_at)
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            append_audit_tx(tx, chain, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = ?1 \
                 ORDER BY created_at, issuer, kid"
            ))?;
            let rows = stmt.query_map([purpose.as_str()], key_row)?;
            rows.map(|r| key_info(r?)).collect()
        })
        .await
    }

    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS}, private_sealed FROM signing_keys \
                 ORDER BY created_at, issuer, purpose, kid"
            ))?;
            let rows = stmt.query_map([], |r| Ok((key_row(r)?, r.get::<_, Vec<u8>>(6)?)))?;
            rows.map(|r| {
                let (row, private_sealed) = r?;
                Ok(SealedSigningKey {
                    info: key_info(row)?,
                    private_sealed,
                })
            })
            .collect()
        })
        .await
    }

    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError> {
        let (key, audit) = (key.clone(), audit.clone());
        self.write(move |tx, keyring| {
            let info = &key.info;
            if !key.private_sealed.is_empty() {
                let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
                keyring.open_signing_key(&aad, &key.private_sealed)?;
            }
            let held: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM signing_keys WHERE issuer = ?1 AND purpose = ?2 AND kid = ?3",
                    params![info.issuer, info.purpose.as_str(), info.kid],
                    |r| r.get(0),
                )
                .optional()?;
            if held.is_some() {
                return Ok(EscrowedKey::Held);
            }
            let other_active: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM signing_keys \
                     WHERE issuer = ?1 AND purpose = ?2 AND retired_at IS NULL",
                    params![info.issuer, info.purpose.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let (retired_at, outcome) = match (info.retired_at, other_active) {
                (None, Some(_)) => (Some(audit.at), EscrowedKey::AddedRetired),
                (at, _) => (at, EscrowedKey::Added),
            };
            tx.execute(
                "INSERT INTO signing_keys (issuer, purpose, kid, public_part, private_sealed, \
                 created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    info.issuer,
                    info.purpose.as_str(),
                    info.kid,
                    info.public_part,
                    key.private_sealed,
                    timestamp_text(&info.created_at),
                    retired_at.as_ref().map(timestamp_text)
                ],
            )?;
            append_audit_tx(tx, AuditScope::National, &audit)?;
            Ok(outcome)
        })
        .await
    }

    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = issue.municipality;
        let cipher = self.ensure_cipher(scope).await?;
        let sealed = SealedIssue::seal(issue, &cipher)?;
        let person = person_index(atena, &cipher).to_vec();
        let stated = dose_mask(doses);
        let digest = stated_digest(doses, stated, &cipher).to_vec();
        let issue = issue.clone();
        let audit = audit.clone();
        self.write(move |tx, _| {
            if let Some(old) = &issue.replaces {
                let same: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT person_index FROM certificate_issues \
                         WHERE municipality_code = ?1 AND certificate_id = ?2",
                        params![scope.as_str(), old.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?
                    .flatten();
                if same.as_deref() != Some(&person[..]) {
                    return Err(StoreError::Conflict(ConflictKind::CertificateNotThePersons(old.to_string())));
                }
            }
            let inserted = tx.execute(
                "INSERT INTO certificate_issues (municipality_code, certificate_id, issued_at, \
                 channel, kind, name_enc, birth_date_enc, nationality_enc, passport_number_enc, \
                 person_index, stated_doses, stated_digest, shc_kid, dsc_kid, replaces, status) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'valid') \
                 ON CONFLICT DO NOTHING",
                params![
                    scope.as_str(),
                    issue.certificate_id.as_str(),
                    timestamp_text(&issue.issued_at),
                    issue.channel.as_str(),
                    issue.kind.as_str(),
                    sealed.name,
                    sealed.birth_date,
                    sealed.nationality,
                    sealed.passport_number,
                    person,
                    stated,
                    digest,
                    issue.shc_kid,
                    issue.dsc_kid,
                    issue.replaces.as_ref().map(|r| r.as_str().to_owned()),
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(ConflictKind::CertificateRecorded(issue.certificate_id.to_string())));
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.issues_where(
            scope,
            "ORDER BY issued_at DESC, certificate_id LIMIT ?2",
            i64::from(limit).into(),
        )
        .await
    }

    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let cipher = self.ensure_cipher(scope).await?;
        let index = person_index(atena, &cipher).to_vec();
        self.issues_where(
            scope,
            "AND person_index = ?2 ORDER BY issued_at DESC, certificate_id",
            index.into(),
        )
        .await
    }

    async fn revoke_certificate(
        &self,
        scope: MunicipalityCode,
        id: &CertificateId,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (id, reason, audit) = (id.clone(), reason.to_owned(), audit.clone());
        self.write(move |tx, _| {
            let status: Option<String> = tx
                .query_row(
                    "SELECT status FROM certificate_issues \
                     WHERE municipality_code = ?1 AND certificate_id = ?2",
                    params![scope.as_str(), id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            match status.as_deref() {
                None => return Err(StoreError::NotFound),
                Some("revoked") => {
                    return Err(StoreError::Conflict(ConflictKind::CertificateRevoked(
                        id.to_string(),
                    )))
                }
                Some(_) => {}
            }
            set_status(
                tx,
                scope,
                id.as_str(),
                CertificateStatus::Revoked,
                &reason,
                &audit,
            )?;
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let (people, cause) = (people.to_vec(), cause.clone());
        // Read on the calling thread: after every tablet registration, usually finding none.
        let outstanding = self
            .read_point(move |conn, _| {
                Ok(conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM certificate_issues \
                         WHERE municipality_code = ?1 AND status <> 'revoked')",
                    )?
                    .query_row([scope.as_str()], |r| r.get::<_, bool>(0))?)
            })
            .await?;
        if !outstanding {
            return Ok(0);
        }
        self.write(move |tx, keyring| {
            let mut changed = 0;
            for atena in &people {
                changed += refresh_tx(tx, keyring, scope, atena, &cause)?;
            }
            Ok(changed)
        })
        .await
    }

    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT municipality_code, certificate_id, kind, shc_kid, dsc_kid, status_at \
                 FROM certificate_issues WHERE status = 'revoked' \
                 UNION ALL SELECT municipality_code, certificate_id, kind, shc_kid, dsc_kid, \
                 revoked_at FROM revoked_tombstones \
                 ORDER BY 6, 1, 2",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            rows.map(|r| {
                let (code, id, kind, shc_kid, dsc_kid, at) = r?;
                revoked_row(
                    &code,
                    &id,
                    &kind,
                    shc_kid,
                    dsc_kid,
                    time(at.as_deref().unwrap_or_default())?,
                )
            })
            .collect()
        })
        .await
    }
}
