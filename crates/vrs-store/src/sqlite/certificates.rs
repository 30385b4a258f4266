//! Certificate signing keys and the issuance history on SQLite. Keys and issues are written through
//! the writer with their audit entry in one transaction.

use rusqlite::{params, Connection, OptionalExtension};
use vrs_domain::MunicipalityCode;

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::certificates::{
    signing_key_aad, ActiveSigningKey, CertificateIssue, IssueRow, KeyPurpose, SealedIssue,
    SigningKeyInfo,
};
use crate::{AuditEntry, AuditScope, StoreError};

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
    pub(crate) async fn signing_key_sqlite(
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

    pub(crate) async fn put_signing_key_sqlite(
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

    pub(crate) async fn signing_keys_sqlite(
        &self,
        purpose: KeyPurpose,
    ) -> Result<Vec<SigningKeyInfo>, StoreError> {
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

    pub(crate) async fn record_certificate_sqlite(
        &self,
        issue: &CertificateIssue,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = issue.municipality;
        let cipher = self.ensure_cipher(scope).await?;
        let sealed = SealedIssue::seal(issue, &cipher)?;
        let issue = issue.clone();
        let audit = audit.clone();
        self.write(move |tx, _| {
            let inserted = tx.execute(
                "INSERT INTO certificate_issues (municipality_code, certificate_id, issued_at, \
                 channel, kind, name_enc, birth_date_enc, nationality_enc, passport_number_enc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                params![
                    scope.as_str(),
                    issue.certificate_id.as_str(),
                    timestamp_text(&issue.issued_at),
                    issue.channel.as_str(),
                    issue.kind.as_str(),
                    sealed.name,
                    sealed.birth_date,
                    sealed.nationality,
                    sealed.passport_number
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!(
                    "certificate {} is already recorded",
                    issue.certificate_id
                )));
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn certificate_issues_sqlite(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let cipher = self.ensure_cipher(scope).await?;
        let rows = self
            .read(move |conn, _| {
                let mut stmt = conn.prepare_cached(
                    "SELECT certificate_id, issued_at, channel, kind, name_enc, birth_date_enc, \
                     nationality_enc, passport_number_enc FROM certificate_issues \
                     WHERE municipality_code = ?1 ORDER BY issued_at DESC, certificate_id LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![scope.as_str(), limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        SealedIssue {
                            name: r.get(4)?,
                            birth_date: r.get(5)?,
                            nationality: r.get(6)?,
                            passport_number: r.get(7)?,
                        },
                    ))
                })?;
                rows.map(|r| {
                    let (certificate_id, at, channel, kind, sealed) = r?;
                    Ok(IssueRow {
                        certificate_id,
                        issued_at: time(&at)?,
                        channel,
                        kind,
                        sealed,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        rows.into_iter().map(|r| r.open(scope, &cipher)).collect()
    }
}
