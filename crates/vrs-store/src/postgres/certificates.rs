//! Certificate signing keys and the issuance history on PostgreSQL. Keys and issues are written with
//! their audit entry in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use vrs_crypto::FieldCipher;
use vrs_domain::{AtenaNumber, CertificateId, DoseRecord, MunicipalityCode};

use super::{append_audit_tx, PostgresStore};
use crate::certificates::{
    change_entry, change_reason, dose_mask, judge, person_index, revoked_row, signing_key_aad,
    stated_digest, ActiveSigningKey, CertificateIssue, CertificateStatus, EscrowedKey, IssueRow,
    KeyPurpose, Outstanding, RevokedCertificate, SealedIssue, SealedSigningKey, SigningKeyInfo,
    ISSUE_COLUMNS,
};
use crate::ConflictKind;
use crate::{AuditEntry, AuditScope, CertificateStore, StoreError};

const KEY_COLUMNS: &str = "issuer, purpose, kid, public_part, created_at, retired_at";

fn key_info(r: &Row) -> Result<SigningKeyInfo, StoreError> {
    let purpose: String = r.get(1);
    Ok(SigningKeyInfo {
        issuer: r.get(0),
        purpose: KeyPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("signing key purpose {purpose:?}")))?,
        kid: r.get(2),
        public_part: r.get(3),
        created_at: r.get(4),
        retired_at: r.get(5),
    })
}

impl PostgresStore {
    /// History rows of the area matching `filter` (SQL after `WHERE municipality_code = $1`),
    /// opened.
    async fn issues_where(
        &self,
        scope: MunicipalityCode,
        filter: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        let code = scope.as_str();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&code];
        params.extend_from_slice(args);
        let rows = client
            .query(
                &format!(
                    "SELECT {ISSUE_COLUMNS} FROM certificate_issues \
                     WHERE municipality_code = $1 {filter}"
                ),
                &params,
            )
            .await?;
        rows.iter()
            .map(|r| {
                let stated: i32 = r.get(10);
                IssueRow {
                    certificate_id: r.get(0),
                    issued_at: r.get(1),
                    channel: r.get(2),
                    kind: r.get(3),
                    sealed: SealedIssue {
                        name: r.get(4),
                        birth_date: r.get(5),
                        nationality: r.get(6),
                        passport_number: r.get(7),
                    },
                    shc_kid: r.get(8),
                    dsc_kid: r.get(9),
                    stated: stated.into(),
                    replaces: r.get(11),
                    status: r.get(12),
                    status_at: r.get(13),
                    status_reason: r.get(14),
                }
                .open(scope, &cipher)
            })
            .collect()
    }

    /// Brings the outstanding certificates of one person up to date with the doses stored now, in
    /// the caller's transaction; returns how many changed.
    pub(super) async fn refresh_tx(
        &self,
        tx: &impl GenericClient,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        cause: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let Some(cipher) = self.cipher(tx, scope, false).await? else {
            return Ok(0);
        };
        refresh_person_tx(tx, &cipher, scope, atena, cause).await
    }
}

/// Brings the outstanding certificates of one person up to date with the doses stored now, in the
/// caller's transaction, under the area's cipher; returns how many changed.
pub(super) async fn refresh_person_tx(
    tx: &impl GenericClient,
    cipher: &FieldCipher,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    cause: &AuditEntry,
) -> Result<u32, StoreError> {
    let index = person_index(atena, cipher).to_vec();
    let stmt = tx
        .prepare_cached(
            "SELECT certificate_id, status, stated_doses, stated_digest FROM certificate_issues \
             WHERE municipality_code = $1 AND person_index = $2 AND status <> 'revoked' \
             FOR UPDATE",
        )
        .await?;
    let rows = tx.query(&stmt, &[&scope.as_str(), &index]).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let current = super::doses::person_doses_tx(tx, scope, atena).await?;
    let mut changed = 0;
    for r in rows {
        let id: String = r.get(0);
        let status: String = r.get(1);
        let stated: i32 = r.get(2);
        let digest: Option<Vec<u8>> = r.get(3);
        let o = Outstanding {
            status: CertificateStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("status of certificate {id}")))?,
            stated: u32::try_from(stated).unwrap_or(0),
            digest: digest.unwrap_or_default(),
            certificate_id: id,
        };
        if let Some(next) = judge(o.status, o.stated, &o.digest, &current, cipher) {
            let reason = change_reason(next);
            let entry = change_entry(cause, &o.certificate_id, next, reason);
            set_status(tx, scope, &o.certificate_id, next, reason, &entry).await?;
            append_audit_tx(tx, scope.into(), &entry).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Sets a certificate's status, with when and why.
async fn set_status(
    tx: &impl GenericClient,
    scope: MunicipalityCode,
    id: &str,
    status: CertificateStatus,
    reason: &str,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE certificate_issues SET status = $3, status_at = $4, status_reason = $5 \
             WHERE municipality_code = $1 AND certificate_id = $2",
        )
        .await?;
    tx.execute(
        &stmt,
        &[&scope.as_str(), &id, &status.as_str(), &entry.at, &reason],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl CertificateStore for PostgresStore {
    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError> {
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(
                &format!(
                    "SELECT {KEY_COLUMNS}, private_sealed FROM signing_keys \
                     WHERE issuer = $1 AND purpose = $2 AND retired_at IS NULL"
                ),
                &[&issuer, &purpose.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        let info = key_info(&row)?;
        let sealed: Vec<u8> = row.get(6);
        let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
        let private_pkcs8 = self.keyring.open_signing_key(&aad, &sealed)?;
        Ok(Some(ActiveSigningKey {
            info,
            private_pkcs8,
        }))
    }

    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
        let sealed = self.keyring.seal_signing_key(&aad, private_pkcs8)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if rotate {
            tx.execute(
                "UPDATE signing_keys SET retired_at = $3 \
                 WHERE issuer = $1 AND purpose = $2 AND retired_at IS NULL",
                &[&info.issuer, &info.purpose.as_str(), &audit.at],
            )
            .await?;
        }
        let inserted = tx
            .execute(
                "INSERT INTO signing_keys (issuer, purpose, kid, public_part, private_sealed, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &info.issuer,
                    &info.purpose.as_str(),
                    &info.kid,
                    &info.public_part,
                    &sealed,
                    &info.created_at,
                ],
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        append_audit_tx(&tx, chain, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = $1 \
                     ORDER BY created_at, issuer, kid"
                ),
                &[&purpose.as_str()],
            )
            .await?;
        rows.iter().map(key_info).collect()
    }

    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {KEY_COLUMNS}, private_sealed FROM signing_keys \
                     ORDER BY created_at, issuer, purpose, kid"
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedSigningKey {
                    info: key_info(r)?,
                    private_sealed: r.get(6),
                })
            })
            .collect()
    }

    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError> {
        let info = &key.info;
        if !key.private_sealed.is_empty() {
            let aad = signing_key_aad(&info.issuer, info.purpose, &info.kid);
            self.keyring.open_signing_key(&aad, &key.private_sealed)?;
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let purpose = info.purpose.as_str();
        // One import at a time per issuer and purpose decides which key stays active.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('signing_keys|' || $1 || '|' || $2))",
            &[&info.issuer, &purpose],
        )
        .await?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM signing_keys WHERE issuer = $1 AND purpose = $2 AND kid = $3",
                &[&info.issuer, &purpose, &info.kid],
            )
            .await?;
        if held.is_some() {
            return Ok(EscrowedKey::Held);
        }
        let other_active = tx
            .query_opt(
                "SELECT 1 FROM signing_keys WHERE issuer = $1 AND purpose = $2 AND retired_at IS NULL",
                &[&info.issuer, &purpose],
            )
            .await?;
        let (retired_at, outcome) = match (info.retired_at, other_active) {
            (None, Some(_)) => (Some(audit.at), EscrowedKey::AddedRetired),
            (at, _) => (at, EscrowedKey::Added),
        };
        tx.execute(
            "INSERT INTO signing_keys (issuer, purpose, kid, public_part, private_sealed, \
             created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &info.issuer,
                &purpose,
                &info.kid,
                &info.public_part,
                &key.private_sealed,
                &info.created_at,
                &retired_at,
            ],
        )
        .await?;
        append_audit_tx(&tx, AuditScope::National, audit).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = issue.municipality;
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, true).await? else {
            return Err(StoreError::Other("no data key".into()));
        };
        let sealed = SealedIssue::seal(issue, &cipher)?;
        let person = person_index(atena, &cipher).to_vec();
        let stated = dose_mask(doses);
        let digest = stated_digest(doses, stated, &cipher).to_vec();
        let tx = client.transaction().await?;
        if let Some(old) = &issue.replaces {
            let same: Option<Option<Vec<u8>>> = tx
                .query_opt(
                    "SELECT person_index FROM certificate_issues \
                     WHERE municipality_code = $1 AND certificate_id = $2",
                    &[&scope.as_str(), &old.as_str()],
                )
                .await?
                .map(|r| r.get(0));
            if same.flatten().as_deref() != Some(&person[..]) {
                return Err(StoreError::Conflict(
                    ConflictKind::CertificateNotThePersons(old.to_string()),
                ));
            }
        }
        let inserted = tx
            .execute(
                "INSERT INTO certificate_issues (municipality_code, certificate_id, issued_at, \
                 channel, kind, name_enc, birth_date_enc, nationality_enc, passport_number_enc, \
                 person_index, stated_doses, stated_digest, shc_kid, dsc_kid, replaces, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'valid') \
                 ON CONFLICT DO NOTHING",
                &[
                    &scope.as_str(),
                    &issue.certificate_id.as_str(),
                    &issue.issued_at,
                    &issue.channel.as_str(),
                    &issue.kind.as_str(),
                    &sealed.name,
                    &sealed.birth_date,
                    &sealed.nationality,
                    &sealed.passport_number,
                    &person,
                    &i32::try_from(stated).unwrap_or(0),
                    &digest,
                    &issue.shc_kid,
                    &issue.dsc_kid,
                    &issue.replaces.as_ref().map(|r| r.as_str()),
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(ConflictKind::CertificateRecorded(
                issue.certificate_id.to_string(),
            )));
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.issues_where(
            scope,
            "ORDER BY issued_at DESC, certificate_id LIMIT $2",
            &[&i64::from(limit)],
        )
        .await
    }

    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        drop(client);
        let index = person_index(atena, &cipher).to_vec();
        self.issues_where(
            scope,
            "AND person_index = $2 ORDER BY issued_at DESC, certificate_id",
            &[&index],
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let status: Option<String> = tx
            .query_opt(
                "SELECT status FROM certificate_issues \
                 WHERE municipality_code = $1 AND certificate_id = $2 FOR UPDATE",
                &[&scope.as_str(), &id.as_str()],
            )
            .await?
            .map(|r| r.get(0));
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
            &tx,
            scope,
            id.as_str(),
            CertificateStatus::Revoked,
            reason,
            audit,
        )
        .await?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(0);
        };
        // One query finds which of these people have outstanding certificates (after a large
        // dose import, usually none), so only those are read again.
        let indexes: Vec<Vec<u8>> = people
            .iter()
            .map(|a| person_index(a, &cipher).to_vec())
            .collect();
        let found: std::collections::HashSet<Vec<u8>> = client
            .query(
                "SELECT DISTINCT person_index FROM certificate_issues \
                 WHERE municipality_code = $1 AND status <> 'revoked' AND person_index = ANY($2)",
                &[&scope.as_str(), &indexes],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if found.is_empty() {
            return Ok(0);
        }
        let tx = client.transaction().await?;
        let mut changed = 0;
        for (atena, index) in people.iter().zip(&indexes) {
            if found.contains(index) {
                changed += self.refresh_tx(&tx, scope, atena, cause).await?;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT municipality_code, certificate_id, kind, shc_kid, dsc_kid, status_at \
                 FROM certificate_issues WHERE status = 'revoked' \
                 UNION ALL SELECT municipality_code, certificate_id, kind, shc_kid, dsc_kid, \
                 revoked_at FROM revoked_tombstones \
                 ORDER BY 6, 1, 2",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.get(0);
                let id: String = r.get(1);
                let kind: String = r.get(2);
                let at: Option<DateTime<Utc>> = r.get(5);
                revoked_row(
                    &code,
                    &id,
                    &kind,
                    r.get(3),
                    r.get(4),
                    at.unwrap_or_default(),
                )
            })
            .collect()
    }
}
