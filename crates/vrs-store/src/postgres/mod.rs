//! The PostgreSQL backend: a connection pool, the same schema and the same behaviour as SQLite.
//! Appends to a municipality's audit chain lock its `audit_heads` row, so several `vrs serve` nodes
//! on one database extend each chain one after another.

mod accounts;
mod backup;
mod certificates;
mod clients;
mod doses;
mod governance;
mod import;
mod jobs;
mod merge;
mod opendata;
mod provision;
mod registrations;
mod statistics;
pub mod tls;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use vrs_crypto::backup::BackupKey;
use vrs_crypto::{chain, FieldCipher, MasterKey};
use vrs_domain::{
    AtenaNumber, CertificateId, CouponNumber, DoseRecord, KanaName, MunicipalityCode, MyNumber,
    Resident, TermsKind,
};

use crate::accounts::{Account, Application, ApplicationStatus, SessionRecord};
use crate::audit::{AuditEntry, AuditFilter, AuditRecord, AuditScope};
use crate::backup::{AreaRestore, ShredRecord, SnapshotSink};
use crate::certificates::{
    ActiveSigningKey, CertificateIssue, EscrowedKey, KeyPurpose, RevokedCertificate,
    SealedSigningKey, SigningKeyInfo,
};
use crate::governance::{Agreement, FunctionState, TermsVersion};
use crate::import::ResidentImport;
use crate::keyring::{Keyring, FIRST_KEY_VERSION};
use crate::migrate::{self, LEDGER};
use crate::provision::{ProvisionFilter, ProvisionRecord, ProvisionSide};
use crate::sealed::{content_mac, SealedResident};
use crate::{
    rows, CouponHolder, IdempotentAnswer, PersonDoses, Registration, Store, StoreError, Written,
};

/// Pool size per process; several processes share the database.
const POOL_SIZE: usize = 16;
/// Serialises migrations of concurrently starting nodes.
const MIGRATION_LOCK: i64 = 0x5652_5300;

/// The PostgreSQL store. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    keyring: Arc<Keyring>,
    registrations: registrations::Registrations,
}

fn map_db(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if db.code() == &SqlState::UNIQUE_VIOLATION {
            return rows::unique_conflict(db.constraint().unwrap_or(db.message()));
        }
    }
    e.into()
}

impl PostgresStore {
    /// Connects, migrates and checks the master key; with `init` a new database records the key.
    pub async fn open(url: &str, master: MasterKey, init: bool) -> Result<Self, StoreError> {
        let connection = tls::connection(url)?;
        let manager = Manager::from_config(
            connection.config,
            connection.tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Config(format!("cannot build the connection pool: {e}")))?;
        let mut client = pool.get().await?;
        client.batch_execute(LEDGER).await?;
        for m in migrate::POSTGRES {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            let done: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM vrs_migrations WHERE name = $1)",
                    &[&m.name],
                )
                .await?
                .get(0);
            if !done {
                tx.batch_execute(m.sql)
                    .await
                    .map_err(|e| StoreError::Other(format!("migration {} failed: {e}", m.name)))?;
                tx.execute(
                    "INSERT INTO vrs_migrations (name, applied_at) VALUES ($1, $2)",
                    &[&m.name, &Utc::now().to_rfc3339()],
                )
                .await?;
            }
            tx.commit().await?;
        }
        let check = client
            .query_opt("SELECT master_key_check FROM deployment WHERE id = 1", &[])
            .await?
            .map(|r| r.get::<_, Vec<u8>>(0));
        match check {
            Some(stored) => master
                .verify_check_value(&stored)
                .map_err(|_| StoreError::WrongMasterKey)?,
            None if init => {
                client
                    .execute(
                        "INSERT INTO deployment (id, master_key_check, created_at) VALUES (1, $1, now()) \
                         ON CONFLICT (id) DO NOTHING",
                        &[&master.check_value().to_vec()],
                    )
                    .await?;
                let stored: Vec<u8> = client
                    .query_one("SELECT master_key_check FROM deployment WHERE id = 1", &[])
                    .await?
                    .get(0);
                master
                    .verify_check_value(&stored)
                    .map_err(|_| StoreError::WrongMasterKey)?;
            }
            None => return Err(StoreError::NotInitialised),
        }
        drop(client);
        Ok(Self {
            registrations: registrations::Registrations::start(pool.clone()),
            pool,
            keyring: Arc::new(Keyring::new(master)),
        })
    }

    /// The cipher of `code`: cached, loaded, or (with `create`) new. Concurrent creators agree on
    /// the first key stored.
    async fn cipher(
        &self,
        client: &impl GenericClient,
        code: MunicipalityCode,
        create: bool,
    ) -> Result<Option<Arc<FieldCipher>>, StoreError> {
        if let Some(c) = self.keyring.cached(code) {
            return Ok(Some(c));
        }
        let load =
            "SELECT key_version, wrapped_key FROM municipality_keys WHERE municipality_code = $1 \
                    ORDER BY key_version DESC LIMIT 1";
        if let Some(row) = client.query_opt(load, &[&code.as_str()]).await? {
            let version: i32 = row.get(0);
            let wrapped: Vec<u8> = row.get(1);
            return self
                .keyring
                .install(code, version as u32, &wrapped)
                .map(Some);
        }
        if !create {
            return Ok(None);
        }
        client
            .execute(
                "INSERT INTO municipalities (municipality_code, activated_at) VALUES ($1, now()) \
                 ON CONFLICT DO NOTHING",
                &[&code.as_str()],
            )
            .await?;
        let wrapped = self.keyring.new_wrapped(code)?;
        client
            .execute(
                "INSERT INTO municipality_keys (municipality_code, key_version, wrapped_key, created_at) \
                 VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING",
                &[&code.as_str(), &(FIRST_KEY_VERSION as i32), &wrapped],
            )
            .await?;
        let row = client.query_one(load, &[&code.as_str()]).await?;
        let version: i32 = row.get(0);
        let wrapped: Vec<u8> = row.get(1);
        self.keyring
            .install(code, version as u32, &wrapped)
            .map(Some)
    }

    pub(crate) async fn find_resident(
        &self,
        scope: MunicipalityCode,
        column: &str,
        key: KeyParam<'_>,
    ) -> Result<Resident, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Err(StoreError::NotFound);
        };
        let index;
        let text;
        let param: &(dyn ToSql + Sync) = match key {
            KeyParam::Text(t) => {
                text = t;
                &text
            }
            KeyParam::MyNumber(n) => {
                index = cipher.blind_index(n).to_vec();
                &index
            }
        };
        let sql = format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE municipality_code = $1 AND {column} = $2");
        let stmt = client.prepare_cached(&sql).await?;
        let Some(r) = client.query_opt(&stmt, &[&scope.as_str(), param]).await? else {
            return Err(StoreError::NotFound);
        };
        sealed_from_row(&r)?.open(scope, &cipher)
    }
}

pub(crate) enum KeyParam<'a> {
    Text(&'a str),
    MyNumber(&'a MyNumber),
}

const RESIDENT_COLUMNS: &str =
    "atena_number, my_number_index, my_number_enc, coupon_number, name_enc, \
     name_kana_enc, birth_date_enc, sex, moved_out_on, deceased_on, content_mac, moved_in_from";

/// A `residents` row read with [`RESIDENT_COLUMNS`].
pub(crate) fn sealed_from_row(r: &tokio_postgres::Row) -> Result<SealedResident, StoreError> {
    Ok(SealedResident {
        atena: r.get(0),
        my_number_index: r.get(1),
        my_number_enc: r.get(2),
        coupon: r.get(3),
        name_enc: r.get(4),
        name_kana_enc: r.get(5),
        birth_date_enc: r.get(6),
        sex: u8::try_from(r.get::<_, i16>(7))
            .map_err(|_| StoreError::Corrupt("residents.sex".into()))?,
        moved_out_on: r.get(8),
        deceased_on: r.get(9),
        content_mac: r.get(10),
        moved_in_from: r.get(11),
        kana_birth_index: Vec::new(),
    })
}

pub(crate) async fn append_audit_tx(
    tx: &impl GenericClient,
    scope: AuditScope,
    entry: &AuditEntry,
) -> Result<AuditRecord, StoreError> {
    let head = lock_head(tx, scope).await?;
    let record = chained(scope, head, entry);
    insert_audit(tx, &record).await?;
    save_head(tx, &record).await?;
    Ok(record)
}

/// Locks a chain's head row until the transaction ends and returns it: `(seq, hash)`.
pub(crate) async fn lock_head(
    tx: &impl GenericClient,
    scope: AuditScope,
) -> Result<(i64, [u8; 32]), StoreError> {
    let create = tx
        .prepare_cached(
            "INSERT INTO audit_heads (municipality_code, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(&create, &[&scope.code(), &chain::GENESIS.to_vec()])
        .await?;
    let select = tx
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE municipality_code = $1 FOR UPDATE")
        .await?;
    let head = tx.query_one(&select, &[&scope.code()]).await?;
    Ok((head.get(0), rows::hash32(&head.get::<_, Vec<u8>>(1))?))
}

/// The entry after `head` in the chain of `scope`.
pub(crate) fn chained(scope: AuditScope, head: (i64, [u8; 32]), entry: &AuditEntry) -> AuditRecord {
    let mut record = AuditRecord {
        scope,
        seq: head.0 + 1,
        entry: entry.clone(),
        hash: chain::GENESIS,
    };
    record.hash = record.expected_hash(&head.1);
    record
}

pub(crate) async fn insert_audit(
    tx: &impl GenericClient,
    record: &AuditRecord,
) -> Result<(), StoreError> {
    let e = &record.entry;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (municipality_code, seq, at, actor, role, terminal, action, target, outcome, detail, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &record.scope.code(),
            &record.seq,
            &e.at,
            &e.actor,
            &e.role,
            &e.terminal,
            &e.action,
            &e.target,
            &e.outcome,
            &e.detail,
            &record.hash.to_vec(),
        ],
    )
    .await?;
    Ok(())
}

/// Moves a chain's head to `record`.
pub(crate) async fn save_head(
    tx: &impl GenericClient,
    record: &AuditRecord,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached("UPDATE audit_heads SET seq = $2, hash = $3 WHERE municipality_code = $1")
        .await?;
    tx.execute(
        &stmt,
        &[&record.scope.code(), &record.seq, &record.hash.to_vec()],
    )
    .await?;
    Ok(())
}

const AUDIT_SELECT: &str =
    "SELECT seq, at, actor, role, terminal, action, target, outcome, detail, hash FROM audit_log";

fn audit_record(scope: AuditScope, r: &tokio_postgres::Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        scope,
        seq: r.get(0),
        entry: AuditEntry {
            at: r.get(1),
            actor: r.get(2),
            role: r.get(3),
            terminal: r.get(4),
            action: r.get(5),
            target: r.get(6),
            outcome: r.get(7),
            detail: r.get(8),
        },
        hash: rows::hash32(&r.get::<_, Vec<u8>>(9))?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn activate_municipality(&self, scope: MunicipalityCode) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        self.cipher(&client, scope, true).await.map(|_| ())
    }

    async fn municipalities(&self) -> Result<Vec<MunicipalityCode>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT municipality_code FROM municipalities ORDER BY municipality_code",
                &[],
            )
            .await?;
        found.iter().map(|r| rows::municipality(r.get(0))).collect()
    }

    async fn put_resident(
        &self,
        scope: MunicipalityCode,
        resident: &Resident,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError> {
        rows::check_scope(scope, resident.municipality)?;
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, true).await? else {
            return Err(StoreError::Other("no data key".into()));
        };
        let mac = content_mac(resident, &cipher);
        let tx = client.transaction().await?;
        let existing = tx
            .query_opt(
                "SELECT content_mac, moved_out_on, deceased_on FROM residents \
                 WHERE municipality_code = $1 AND atena_number = $2 FOR UPDATE",
                &[&scope.as_str(), &resident.atena.as_str()],
            )
            .await?;
        if let Some(row) = &existing {
            let stored_mac: Vec<u8> = row.get(0);
            let flags: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
                (row.get(1), row.get(2));
            if stored_mac[..] == mac[..] && flags == (resident.moved_out_on, resident.deceased_on) {
                return Ok(Written::Unchanged);
            }
        }
        let s = SealedResident::seal(resident, &cipher)?;
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO residents (municipality_code, {RESIDENT_COLUMNS}, kana_birth_index, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now()) \
                 ON CONFLICT (municipality_code, atena_number) DO UPDATE SET \
                 my_number_index = excluded.my_number_index, my_number_enc = excluded.my_number_enc, \
                 coupon_number = excluded.coupon_number, name_enc = excluded.name_enc, \
                 name_kana_enc = excluded.name_kana_enc, birth_date_enc = excluded.birth_date_enc, \
                 sex = excluded.sex, moved_out_on = excluded.moved_out_on, \
                 deceased_on = excluded.deceased_on, content_mac = excluded.content_mac, \
                 moved_in_from = excluded.moved_in_from, \
                 kana_birth_index = excluded.kana_birth_index, updated_at = excluded.updated_at"
            ))
            .await?;
        tx.execute(
            &stmt,
            &[
                &scope.as_str(),
                &s.atena,
                &s.my_number_index,
                &s.my_number_enc,
                &s.coupon,
                &s.name_enc,
                &s.name_kana_enc,
                &s.birth_date_enc,
                &i16::from(s.sex),
                &s.moved_out_on,
                &s.deceased_on,
                &s.content_mac,
                &s.moved_in_from,
                &s.kana_birth_index,
            ],
        )
        .await
        .map_err(map_db)?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(if existing.is_some() {
            Written::Updated
        } else {
            Written::Added
        })
    }

    async fn resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "atena_number", KeyParam::Text(atena.as_str()))
            .await
    }

    async fn resident_by_my_number(
        &self,
        scope: MunicipalityCode,
        my_number: &MyNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "my_number_index", KeyParam::MyNumber(my_number))
            .await
    }

    async fn resident_by_coupon(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "coupon_number", KeyParam::Text(coupon.as_str()))
            .await
    }

    async fn coupon_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<CouponHolder, StoreError> {
        self.coupon_holder_pg(scope, coupon).await
    }

    async fn count_residents(&self, scope: MunicipalityCode) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM residents WHERE municipality_code = $1",
                &[&scope.as_str()],
            )
            .await?
            .get(0);
        Ok(n.max(0) as u64)
    }

    async fn residents_by_kana_birth(
        &self,
        scope: MunicipalityCode,
        kana: &KanaName,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        self.residents_by_kana_birth_pg(scope, kana, birth_date)
            .await
    }

    async fn set_flags(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        moved_out_on: Option<NaiveDate>,
        deceased_on: Option<NaiveDate>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_flags_pg(scope, atena, moved_out_on, deceased_on, audit)
            .await
    }

    async fn add_dose(
        &self,
        scope: MunicipalityCode,
        registration: &Registration,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.add_dose_pg(scope, registration, audit).await
    }

    async fn add_doses(
        &self,
        scope: MunicipalityCode,
        records: &[DoseRecord],
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.add_doses_pg(scope, records, recorded_by, audit).await
    }

    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        self.stored_answer_pg(site, user_id, key).await
    }

    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError> {
        self.remember_answer_pg(answer).await
    }

    async fn correct_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        after: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.correct_dose_pg(scope, before, after, audit).await
    }

    async fn delete_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.delete_dose_pg(scope, before, audit).await
    }

    async fn undo_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.undo_dose_pg(scope, before, recorded_by, recorded_since, audit)
            .await
    }

    async fn area_doses(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<PersonDoses>, StoreError> {
        self.area_doses_pg(scope, after, limit).await
    }

    async fn doses_of(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<DoseRecord>, StoreError> {
        self.doses_of_pg(scope, atena).await
    }

    async fn save_inquiry_job(
        &self,
        job: &crate::InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.save_inquiry_job_pg(job, audit).await
    }

    async fn inquiry_jobs(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<crate::InquiryJob>, StoreError> {
        self.inquiry_jobs_pg(scope, limit).await
    }

    async fn inquiry_job(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<crate::InquiryJob, StoreError> {
        self.inquiry_job_pg(scope, batch).await
    }

    async fn record_inquiry(
        &self,
        inquired: &ProvisionRecord,
        inquired_audit: &AuditEntry,
        provided: Option<(&ProvisionRecord, &AuditEntry)>,
    ) -> Result<(), StoreError> {
        self.record_inquiry_pg(inquired, inquired_audit, provided)
            .await
    }

    async fn provision_records(
        &self,
        scope: MunicipalityCode,
        filter: &ProvisionFilter,
    ) -> Result<Vec<ProvisionRecord>, StoreError> {
        self.provision_records_pg(scope, filter).await
    }

    async fn provision_record(
        &self,
        scope: MunicipalityCode,
        inquiry_id: &str,
        side: ProvisionSide,
    ) -> Result<ProvisionRecord, StoreError> {
        self.provision_record_pg(scope, inquiry_id, side).await
    }

    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError> {
        self.publish_terms_pg(kind, title, body, published_by, audit)
            .await
    }

    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        self.terms_versions_pg(kind).await
    }

    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError> {
        self.signing_key_pg(issuer, purpose).await
    }

    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.put_signing_key_pg(info, private_pkcs8, rotate, chain, audit)
            .await
    }

    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError> {
        self.signing_keys_pg(purpose).await
    }

    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError> {
        self.sealed_signing_keys_pg().await
    }

    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError> {
        self.put_sealed_signing_key_pg(key, audit).await
    }

    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.record_certificate_pg(issue, atena, doses, audit).await
    }

    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.certificate_issues_pg(scope, limit).await
    }

    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.person_certificates_pg(scope, atena).await
    }

    async fn revoke_certificate(
        &self,
        scope: MunicipalityCode,
        id: &CertificateId,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.revoke_certificate_pg(scope, id, reason, audit).await
    }

    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.refresh_certificates_pg(scope, people, cause).await
    }

    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError> {
        self.revoked_certificates_pg().await
    }

    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.agree_to_terms_pg(scope, kind, version, agreed_by, audit)
            .await
    }

    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError> {
        self.agreements_pg(scope).await
    }

    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_function_pg(state, audit).await
    }

    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError> {
        self.function_states_pg().await
    }

    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<crate::StatPerson>, StoreError> {
        self.statistics_source_pg(scope, after, limit).await
    }

    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &crate::AreaStatistics,
    ) -> Result<bool, StoreError> {
        self.replace_statistics_pg(scope, stats).await
    }

    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError> {
        self.statistics_computed_pg().await
    }

    async fn scope_statistics(
        &self,
        scope: crate::StatScope,
    ) -> Result<crate::ScopeStatistics, StoreError> {
        self.scope_statistics_pg(scope).await
    }

    async fn municipality_figures(
        &self,
        scope: crate::StatScope,
    ) -> Result<Vec<crate::MunicipalityFigures>, StoreError> {
        self.municipality_figures_pg(scope).await
    }

    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError> {
        self.begin_import_postgres(scope).await
    }

    async fn create_account(
        &self,
        account: &Account,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.create_account_pg(account, scope, audit).await
    }

    async fn account(&self, user_id: &str) -> Result<Account, StoreError> {
        self.account_pg(user_id).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.accounts_pg().await
    }

    async fn login_failed(
        &self,
        user_id: &str,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        self.login_failed_pg(user_id, lock_after, lock_until).await
    }

    async fn login_succeeded(&self, user_id: &str) -> Result<(), StoreError> {
        self.login_succeeded_pg(user_id).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_password_pg(user_id, password_hash, must_change, scope, audit)
            .await
    }

    async fn apply_for_account(
        &self,
        scope: MunicipalityCode,
        applicant: &str,
        display_name: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        self.apply_for_account_pg(scope, applicant, display_name, role, audit)
            .await
    }

    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError> {
        self.applications_pg(status).await
    }

    async fn decide_application(
        &self,
        id: i64,
        decided_by: &str,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.decide_application_pg(id, decided_by, issued, audit)
            .await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.create_session_pg(session).await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError> {
        self.session_pg(token_hash).await
    }

    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        self.touch_session_pg(token_hash, at).await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.delete_session_pg(token_hash).await
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2",
                &[&idle_before, &opened_before],
            )
            .await?)
    }

    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let record = append_audit_tx(&tx, scope, entry).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        let client = self.pool.get().await?;
        let head = client
            .query_opt(
                "SELECT seq, hash FROM audit_heads WHERE municipality_code = $1 AND seq > 0",
                &[&scope.code()],
            )
            .await?;
        head.map(|r| Ok((r.get(0), rows::hash32(&r.get::<_, Vec<u8>>(1))?)))
            .transpose()
    }

    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT DISTINCT municipality_code FROM audit_log UNION \
                 SELECT municipality_code FROM audit_heads ORDER BY 1",
                &[],
            )
            .await?;
        found
            .iter()
            .map(|r| AuditScope::from_stored(r.get(0)))
            .collect()
    }

    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!("{AUDIT_SELECT} WHERE municipality_code = $1 AND seq >= $2 ORDER BY seq LIMIT $3"),
                &[&scope.code(), &from, &i64::from(limit)],
            )
            .await?;
        found.iter().map(|r| audit_record(scope, r)).collect()
    }

    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!(
                    "{AUDIT_SELECT} WHERE municipality_code = $1 AND ($2::timestamptz IS NULL OR at >= $2) \
                     AND ($3::timestamptz IS NULL OR at < $3) AND ($4::text IS NULL OR actor = $4) \
                     AND ($5::text IS NULL OR action = $5) ORDER BY seq DESC LIMIT $6"
                ),
                &[
                    &scope.code(),
                    &filter.from,
                    &filter.to,
                    &filter.actor,
                    &filter.action,
                    &i64::from(filter.limit),
                ],
            )
            .await?;
        found.iter().map(|r| audit_record(scope, r)).collect()
    }

    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError> {
        self.backup_key_pg(area, create).await
    }

    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.keyring.pseudonym(purpose, data)
    }

    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError> {
        self.keyring.open_backup_key(area.code(), wrapped)
    }

    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.vault_entries_pg().await
    }

    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError> {
        self.put_vault_entry_pg(area, wrapped).await
    }

    async fn snapshot(
        &self,
        areas: &[AuditScope],
        sink: Box<dyn SnapshotSink>,
    ) -> Result<Vec<BackupKey>, StoreError> {
        self.snapshot_pg(areas, sink).await
    }

    async fn restore_areas(&self, areas: Vec<AreaRestore>) -> Result<(), StoreError> {
        self.restore_areas_pg(areas).await
    }

    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.consent_to_shred_pg(scope, reference, audit).await
    }

    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError> {
        self.shred_area_pg(scope, audit).await
    }

    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError> {
        self.shred_record_pg(scope).await
    }

    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.delete_resident_pg(scope, atena, audit).await
    }

    // --- Duplicate people ([`crate::merge`], in merge.rs) ---

    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError> {
        self.residents_page_pg(scope, after, limit).await
    }

    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.duplicate_pairs_pg(scope).await
    }

    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<crate::Mover>, StoreError> {
        self.movers_pg(scope).await
    }

    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[crate::Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.put_candidates_pg(scope, candidates, audit).await
    }

    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<crate::CandidateStatus>,
    ) -> Result<Vec<crate::Candidate>, StoreError> {
        self.candidates_pg(scope, status).await
    }

    async fn decide_candidate(
        &self,
        scope: MunicipalityCode,
        candidate_id: &str,
        status: crate::CandidateStatus,
        decided_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.decide_candidate_pg(scope, candidate_id, status, decided_by, audit)
            .await
    }

    async fn merge_people(
        &self,
        scope: MunicipalityCode,
        kept: &AtenaNumber,
        merged: &AtenaNumber,
        merge_id: &str,
        merged_by: &str,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<crate::PersonMerge, StoreError> {
        self.merge_people_pg(scope, kept, merged, merge_id, merged_by, at, audit)
            .await
    }

    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        undone_by: &str,
        audit: &AuditEntry,
    ) -> Result<crate::PersonMerge, StoreError> {
        self.unmerge_pg(scope, merge_id, undone_by, audit).await
    }

    async fn person_merges(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<crate::PersonMerge>, StoreError> {
        self.person_merges_pg(scope).await
    }
}
