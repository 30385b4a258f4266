//! Certificate signing keys and the issuance history on PostgreSQL. Keys and issues are written with
//! their audit entry in one transaction.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use vrs_domain::MunicipalityCode;

use super::{append_audit_tx, PostgresStore};
use crate::certificates::{
    signing_key_aad, ActiveSigningKey, CertificateIssue, IssueRow, KeyPurpose, SealedIssue,
    SigningKeyInfo,
};
use crate::{AuditEntry, AuditScope, StoreError};

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
    pub(crate) async fn signing_key_pg(
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

    pub(crate) async fn put_signing_key_pg(
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

    pub(crate) async fn signing_keys_pg(
        &self,
        purpose: KeyPurpose,
    ) -> Result<Vec<SigningKeyInfo>, StoreError> {
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

    pub(crate) async fn record_certificate_pg(
        &self,
        issue: &CertificateIssue,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = issue.municipality;
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, true).await? else {
            return Err(StoreError::Other("no data key".into()));
        };
        let sealed = SealedIssue::seal(issue, &cipher)?;
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO certificate_issues (municipality_code, certificate_id, issued_at, \
                 channel, kind, name_enc, birth_date_enc, nationality_enc, passport_number_enc) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
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
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "certificate {} is already recorded",
                issue.certificate_id
            )));
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn certificate_issues_pg(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        let rows = client
            .query(
                "SELECT certificate_id, issued_at, channel, kind, name_enc, birth_date_enc, \
                 nationality_enc, passport_number_enc FROM certificate_issues \
                 WHERE municipality_code = $1 ORDER BY issued_at DESC, certificate_id LIMIT $2",
                &[&scope.as_str(), &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let issued_at: DateTime<Utc> = r.get(1);
                IssueRow {
                    certificate_id: r.get(0),
                    issued_at,
                    channel: r.get(2),
                    kind: r.get(3),
                    sealed: SealedIssue {
                        name: r.get(4),
                        birth_date: r.get(5),
                        nationality: r.get(6),
                        passport_number: r.get(7),
                    },
                }
                .open(scope, &cipher)
            })
            .collect()
    }
}
