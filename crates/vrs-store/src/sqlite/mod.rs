//! The embedded SQLite backend: one file in WAL mode, one writer connection and a few readers.
//! Every call runs on the blocking pool so the async server is never stalled by disk IO.

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
mod statistics;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use vrs_crypto::backup::BackupKey;
use vrs_crypto::{chain, FieldCipher, MasterKey};
use vrs_domain::{
    AtenaNumber, CertificateId, CouponNumber, DoseRecord, KanaName, MunicipalityCode, MyNumber,
    Resident, TermsKind,
};

use crate::accounts::{Account, Application, ApplicationStatus, SessionRecord};
use crate::audit::{timestamp_text, AuditEntry, AuditFilter, AuditRecord, AuditScope};
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

const READERS: usize = 4;

/// The SQLite store. Cloning shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: writer::Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    keyring: Arc<Keyring>,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection leaves no half-done transaction (it is rolled back on the
    // next BEGIN), so a poisoned lock is safe to take over.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    /// Opens the database file, creating it (and its directory) only when `init` is set.
    pub async fn open(path: &Path, master: MasterKey, init: bool) -> Result<Self, StoreError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(path, master, init)).await?
    }

    fn open_blocking(path: PathBuf, master: MasterKey, init: bool) -> Result<Self, StoreError> {
        if !init && !path.exists() {
            return Err(StoreError::NotInitialised);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        migrate_sqlite(&mut writer)?;
        let check: Option<Vec<u8>> = writer
            .query_row(
                "SELECT master_key_check FROM deployment WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match check {
            Some(stored) => master
                .verify_check_value(&stored)
                .map_err(|_| StoreError::WrongMasterKey)?,
            None if init => {
                writer.execute(
                    "INSERT INTO deployment (id, master_key_check, created_at) VALUES (1, ?1, ?2)",
                    params![master.check_value().to_vec(), timestamp_text(&Utc::now())],
                )?;
            }
            None => return Err(StoreError::NotInitialised),
        }
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let reader = Connection::open_with_flags(&path, flags)?;
            configure(&reader)?;
            readers.push(Mutex::new(reader));
        }
        let keyring = Arc::new(Keyring::new(master));
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: writer::Writer::start(writer, keyring.clone())?,
                readers,
                next_reader: AtomicUsize::new(0),
                keyring,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in the writer's transaction (committed with whatever other writes are waiting) and
    /// returns its result once the commit is on disk.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.writer.write(f).await
    }

    /// The cipher of `scope`, opening the area (in its own committed transaction) when needed.
    pub(crate) async fn ensure_cipher(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Arc<FieldCipher>, StoreError> {
        if let Some(c) = self.inner.keyring.cached(scope) {
            return Ok(c);
        }
        self.write(move |tx, keyring| {
            if load_cipher(tx, keyring, scope)?.is_none() {
                create_area(tx, keyring, scope)?;
            }
            Ok(())
        })
        .await?;
        self.read(move |conn, keyring| load_cipher(conn, keyring, scope))
            .await?
            .ok_or_else(|| StoreError::Other(format!("the data key of {scope} was not stored")))
    }

    /// Runs a point read (a few microseconds) on the calling thread: the hop to the blocking pool
    /// would cost more than the read itself. When every reader is busy it queues like [`Self::read`].
    async fn read_point<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = &self.inner.readers;
        for _ in 0..readers.len() {
            let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
            let conn = match readers[i].try_lock() {
                Ok(conn) => conn,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => continue,
            };
            return f(&conn, &self.inner.keyring);
        }
        self.read(f).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = lock(&inner.readers[i]);
            f(&conn, &inner.keyring)
        })
        .await?
    }
}

fn migrate_sqlite(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(LEDGER)?;
    for m in migrate::SQLITE {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM vrs_migrations WHERE name = ?1)",
            [m.name],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(m.sql)
                .map_err(|e| StoreError::Other(format!("migration {} failed: {e}", m.name)))?;
            tx.execute(
                "INSERT INTO vrs_migrations (name, applied_at) VALUES (?1, ?2)",
                params![m.name, timestamp_text(&Utc::now())],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// The cipher of `code`, cached or loaded from `municipality_keys`; `None` while the area is not open.
pub(crate) fn load_cipher(
    conn: &Connection,
    keyring: &Keyring,
    code: MunicipalityCode,
) -> Result<Option<Arc<FieldCipher>>, StoreError> {
    if let Some(c) = keyring.cached(code) {
        return Ok(Some(c));
    }
    let stored: Option<(u32, Vec<u8>)> = conn
        .query_row(
            "SELECT key_version, wrapped_key FROM municipality_keys WHERE municipality_code = ?1 \
             ORDER BY key_version DESC LIMIT 1",
            [code.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    stored
        .map(|(version, wrapped)| keyring.install(code, version, &wrapped))
        .transpose()
}

/// Opens the area of `code` and stores its new wrapped data key (in the caller's transaction; the
/// key is cached only once that transaction has committed, by the next [`load_cipher`]).
fn create_area(
    tx: &Connection,
    keyring: &Keyring,
    code: MunicipalityCode,
) -> Result<(), StoreError> {
    let now = timestamp_text(&Utc::now());
    tx.execute(
        "INSERT OR IGNORE INTO municipalities (municipality_code, activated_at) VALUES (?1, ?2)",
        params![code.as_str(), now],
    )?;
    let wrapped = keyring.new_wrapped(code)?;
    tx.execute(
        "INSERT OR IGNORE INTO municipality_keys (municipality_code, key_version, wrapped_key, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![code.as_str(), FIRST_KEY_VERSION, wrapped, now],
    )?;
    Ok(())
}

pub(crate) fn append_audit_tx(
    tx: &Connection,
    scope: AuditScope,
    entry: &AuditEntry,
) -> Result<AuditRecord, StoreError> {
    let head: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE municipality_code = ?1")?
        .query_row([scope.code()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (prev_seq, prev_hash) = match head {
        Some((seq, hash)) => (seq, rows::hash32(&hash)?),
        None => (0, chain::GENESIS),
    };
    let mut record = AuditRecord {
        scope,
        seq: prev_seq + 1,
        entry: entry.clone(),
        hash: chain::GENESIS,
    };
    record.hash = record.expected_hash(&prev_hash);
    let e = &record.entry;
    tx.prepare_cached(
        "INSERT INTO audit_log (municipality_code, seq, at, actor, role, terminal, action, target, outcome, detail, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
            scope.code(),
            record.seq,
            timestamp_text(&e.at),
            e.actor,
            e.role,
            e.terminal,
            e.action,
            e.target,
            e.outcome,
            e.detail,
            record.hash.to_vec()
    ])?;
    tx.prepare_cached(
        "INSERT INTO audit_heads (municipality_code, seq, hash) VALUES (?1, ?2, ?3) \
         ON CONFLICT (municipality_code) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )?
    .execute(params![scope.code(), record.seq, record.hash.to_vec()])?;
    Ok(record)
}

/// Audit records selected by `clause` (a WHERE … ORDER BY … LIMIT tail).
fn audit_records(
    conn: &Connection,
    scope: AuditScope,
    clause: &str,
    bound: impl rusqlite::Params,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, at, actor, role, terminal, action, target, outcome, detail, hash FROM audit_log {clause}"
    ))?;
    let found = stmt.query_map(bound, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            [
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ],
            r.get::<_, Vec<u8>>(9)?,
        ))
    })?;
    found
        .map(|row| {
            let (seq, at, [actor, role, terminal, action, target, outcome, detail], hash) = row?;
            let at = DateTime::parse_from_rfc3339(&at)
                .map_err(|_| StoreError::Corrupt(format!("audit_log.at of entry {seq}")))?
                .with_timezone(&Utc);
            Ok(AuditRecord {
                scope,
                seq,
                entry: AuditEntry {
                    at,
                    actor,
                    role,
                    terminal,
                    action,
                    target,
                    outcome,
                    detail,
                },
                hash: rows::hash32(&hash)?,
            })
        })
        .collect()
}

fn map_unique(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
            return rows::unique_conflict(msg);
        }
    }
    e.into()
}

const RESIDENT_COLUMNS: &str =
    "atena_number, my_number_index, my_number_enc, coupon_number, name_enc, \
     name_kana_enc, birth_date_enc, sex, moved_out_on, deceased_on, content_mac, moved_in_from";

fn sealed_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(SealedResident, Option<String>, Option<String>)> {
    Ok((
        SealedResident {
            atena: r.get(0)?,
            my_number_index: r.get(1)?,
            my_number_enc: r.get(2)?,
            coupon: r.get(3)?,
            name_enc: r.get(4)?,
            name_kana_enc: r.get(5)?,
            birth_date_enc: r.get(6)?,
            sex: r.get(7)?,
            moved_out_on: None,
            deceased_on: None,
            moved_in_from: r.get(11)?,
            content_mac: r.get(10)?,
            kana_birth_index: Vec::new(),
        },
        r.get(8)?,
        r.get(9)?,
    ))
}

pub(crate) fn find_resident(
    conn: &Connection,
    keyring: &Keyring,
    scope: MunicipalityCode,
    column: &str,
    key: &dyn rusqlite::ToSql,
) -> Result<Resident, StoreError> {
    let Some(cipher) = load_cipher(conn, keyring, scope)? else {
        return Err(StoreError::NotFound);
    };
    let sql = format!(
        "SELECT {RESIDENT_COLUMNS} FROM residents WHERE municipality_code = ?1 AND {column} = ?2"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![scope.as_str(), key], sealed_from_row)
        .optional()?;
    let Some((mut sealed, moved_out, deceased)) = found else {
        return Err(StoreError::NotFound);
    };
    sealed.moved_out_on = rows::opt_date(moved_out.as_deref())?;
    sealed.deceased_on = rows::opt_date(deceased.as_deref())?;
    sealed.open(scope, &cipher)
}

pub(crate) fn text_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn activate_municipality(&self, scope: MunicipalityCode) -> Result<(), StoreError> {
        self.ensure_cipher(scope).await.map(|_| ())
    }

    async fn municipalities(&self) -> Result<Vec<MunicipalityCode>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(
                "SELECT municipality_code FROM municipalities ORDER BY municipality_code",
            )?;
            let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
            codes.map(|c| rows::municipality(&c?)).collect()
        })
        .await
    }

    async fn put_resident(
        &self,
        scope: MunicipalityCode,
        resident: &Resident,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError> {
        rows::check_scope(scope, resident.municipality)?;
        let cipher = self.ensure_cipher(scope).await?;
        let resident = resident.clone();
        let audit = audit.clone();
        self.write(move |tx, _| {
            let mac = content_mac(&resident, &cipher);
            let existing: Option<(Vec<u8>, Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT content_mac, moved_out_on, deceased_on FROM residents \
                     WHERE municipality_code = ?1 AND atena_number = ?2",
                    params![scope.as_str(), resident.atena.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((stored_mac, moved_out, deceased)) = &existing {
                let flags = (rows::opt_date(moved_out.as_deref())?, rows::opt_date(deceased.as_deref())?);
                if stored_mac[..] == mac[..] && flags == (resident.moved_out_on, resident.deceased_on) {
                    return Ok(Written::Unchanged);
                }
            }
            let s = SealedResident::seal(&resident, &cipher)?;
            let now = timestamp_text(&Utc::now());
            tx.execute(
                &format!(
                    "INSERT INTO residents (municipality_code, {RESIDENT_COLUMNS}, kana_birth_index, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                     ON CONFLICT (municipality_code, atena_number) DO UPDATE SET \
                     my_number_index = excluded.my_number_index, my_number_enc = excluded.my_number_enc, \
                     coupon_number = excluded.coupon_number, name_enc = excluded.name_enc, \
                     name_kana_enc = excluded.name_kana_enc, birth_date_enc = excluded.birth_date_enc, \
                     sex = excluded.sex, moved_out_on = excluded.moved_out_on, \
                     deceased_on = excluded.deceased_on, content_mac = excluded.content_mac, \
                     moved_in_from = excluded.moved_in_from, \
                     kana_birth_index = excluded.kana_birth_index, updated_at = excluded.updated_at"
                ),
                params![
                    scope.as_str(),
                    s.atena,
                    s.my_number_index,
                    s.my_number_enc,
                    s.coupon,
                    s.name_enc,
                    s.name_kana_enc,
                    s.birth_date_enc,
                    s.sex,
                    text_date(s.moved_out_on),
                    text_date(s.deceased_on),
                    s.content_mac,
                    s.moved_in_from,
                    s.kana_birth_index,
                    now
                ],
            )
            .map_err(map_unique)?;
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(if existing.is_some() { Written::Updated } else { Written::Added })
        })
        .await
    }

    async fn resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Resident, StoreError> {
        let atena = atena.as_str().to_owned();
        self.read_point(move |conn, keyring| {
            find_resident(conn, keyring, scope, "atena_number", &atena)
        })
        .await
    }

    async fn resident_by_my_number(
        &self,
        scope: MunicipalityCode,
        my_number: &MyNumber,
    ) -> Result<Resident, StoreError> {
        let my_number = my_number.clone();
        self.read_point(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Err(StoreError::NotFound);
            };
            let index = cipher.blind_index(&my_number).to_vec();
            find_resident(conn, keyring, scope, "my_number_index", &index)
        })
        .await
    }

    async fn resident_by_coupon(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<Resident, StoreError> {
        let coupon = coupon.as_str().to_owned();
        self.read_point(move |conn, keyring| {
            find_resident(conn, keyring, scope, "coupon_number", &coupon)
        })
        .await
    }

    async fn coupon_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<CouponHolder, StoreError> {
        self.coupon_holder_sqlite(scope, coupon).await
    }

    async fn count_residents(&self, scope: MunicipalityCode) -> Result<u64, StoreError> {
        self.read(move |conn, _| {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM residents WHERE municipality_code = ?1",
                [scope.as_str()],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn residents_by_kana_birth(
        &self,
        scope: MunicipalityCode,
        kana: &KanaName,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        self.residents_by_kana_birth_sqlite(scope, kana, birth_date)
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
        self.set_flags_sqlite(scope, atena, moved_out_on, deceased_on, audit)
            .await
    }

    async fn add_dose(
        &self,
        scope: MunicipalityCode,
        registration: &Registration,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.add_dose_sqlite(scope, registration, audit).await
    }

    async fn add_doses(
        &self,
        scope: MunicipalityCode,
        records: &[DoseRecord],
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.add_doses_sqlite(scope, records, recorded_by, audit)
            .await
    }

    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        self.stored_answer_sqlite(site, user_id, key).await
    }

    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError> {
        self.remember_answer_sqlite(answer).await
    }

    async fn correct_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        after: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.correct_dose_sqlite(scope, before, after, audit).await
    }

    async fn delete_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.delete_dose_sqlite(scope, before, audit).await
    }

    async fn undo_dose(
        &self,
        scope: MunicipalityCode,
        before: &DoseRecord,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.undo_dose_sqlite(scope, before, recorded_by, recorded_since, audit)
            .await
    }

    async fn area_doses(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<PersonDoses>, StoreError> {
        self.area_doses_sqlite(scope, after, limit).await
    }

    async fn doses_of(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<DoseRecord>, StoreError> {
        self.doses_of_sqlite(scope, atena).await
    }

    async fn save_inquiry_job(
        &self,
        job: &crate::InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.save_inquiry_job_sqlite(job, audit).await
    }

    async fn inquiry_jobs(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<crate::InquiryJob>, StoreError> {
        self.inquiry_jobs_sqlite(scope, limit).await
    }

    async fn inquiry_job(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<crate::InquiryJob, StoreError> {
        self.inquiry_job_sqlite(scope, batch).await
    }

    async fn record_inquiry(
        &self,
        inquired: &ProvisionRecord,
        inquired_audit: &AuditEntry,
        provided: Option<(&ProvisionRecord, &AuditEntry)>,
    ) -> Result<(), StoreError> {
        self.record_inquiry_sqlite(inquired, inquired_audit, provided)
            .await
    }

    async fn provision_records(
        &self,
        scope: MunicipalityCode,
        filter: &ProvisionFilter,
    ) -> Result<Vec<ProvisionRecord>, StoreError> {
        self.provision_records_sqlite(scope, filter).await
    }

    async fn provision_record(
        &self,
        scope: MunicipalityCode,
        inquiry_id: &str,
        side: ProvisionSide,
    ) -> Result<ProvisionRecord, StoreError> {
        self.provision_record_sqlite(scope, inquiry_id, side).await
    }

    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError> {
        self.publish_terms_sqlite(kind, title, body, published_by, audit)
            .await
    }

    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        self.terms_versions_sqlite(kind).await
    }

    async fn signing_key(
        &self,
        issuer: &str,
        purpose: KeyPurpose,
    ) -> Result<Option<ActiveSigningKey>, StoreError> {
        self.signing_key_sqlite(issuer, purpose).await
    }

    async fn put_signing_key(
        &self,
        info: &SigningKeyInfo,
        private_pkcs8: &[u8],
        rotate: bool,
        chain: AuditScope,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.put_signing_key_sqlite(info, private_pkcs8, rotate, chain, audit)
            .await
    }

    async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<SigningKeyInfo>, StoreError> {
        self.signing_keys_sqlite(purpose).await
    }

    async fn sealed_signing_keys(&self) -> Result<Vec<SealedSigningKey>, StoreError> {
        self.sealed_signing_keys_sqlite().await
    }

    async fn put_sealed_signing_key(
        &self,
        key: &SealedSigningKey,
        audit: &AuditEntry,
    ) -> Result<EscrowedKey, StoreError> {
        self.put_sealed_signing_key_sqlite(key, audit).await
    }

    async fn record_certificate(
        &self,
        issue: &CertificateIssue,
        atena: &AtenaNumber,
        doses: &[DoseRecord],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.record_certificate_sqlite(issue, atena, doses, audit)
            .await
    }

    async fn certificate_issues(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.certificate_issues_sqlite(scope, limit).await
    }

    async fn person_certificates(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<CertificateIssue>, StoreError> {
        self.person_certificates_sqlite(scope, atena).await
    }

    async fn revoke_certificate(
        &self,
        scope: MunicipalityCode,
        id: &CertificateId,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.revoke_certificate_sqlite(scope, id, reason, audit)
            .await
    }

    async fn refresh_certificates(
        &self,
        scope: MunicipalityCode,
        people: &[AtenaNumber],
        cause: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.refresh_certificates_sqlite(scope, people, cause).await
    }

    async fn revoked_certificates(&self) -> Result<Vec<RevokedCertificate>, StoreError> {
        self.revoked_certificates_sqlite().await
    }

    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.agree_to_terms_sqlite(scope, kind, version, agreed_by, audit)
            .await
    }

    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError> {
        self.agreements_sqlite(scope).await
    }

    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_function_sqlite(state, audit).await
    }

    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError> {
        self.function_states_sqlite().await
    }

    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<crate::StatPerson>, StoreError> {
        self.statistics_source_sqlite(scope, after, limit).await
    }

    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &crate::AreaStatistics,
    ) -> Result<bool, StoreError> {
        self.replace_statistics_sqlite(scope, stats).await
    }

    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError> {
        self.statistics_computed_sqlite().await
    }

    async fn scope_statistics(
        &self,
        scope: crate::StatScope,
    ) -> Result<crate::ScopeStatistics, StoreError> {
        self.scope_statistics_sqlite(scope).await
    }

    async fn municipality_figures(
        &self,
        scope: crate::StatScope,
    ) -> Result<Vec<crate::MunicipalityFigures>, StoreError> {
        self.municipality_figures_sqlite(scope).await
    }

    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError> {
        self.begin_import_sqlite(scope).await
    }

    async fn create_account(
        &self,
        account: &Account,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.create_account_sqlite(account, scope, audit).await
    }

    async fn account(&self, user_id: &str) -> Result<Account, StoreError> {
        self.account_sqlite(user_id).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.accounts_sqlite().await
    }

    async fn login_failed(
        &self,
        user_id: &str,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        self.login_failed_sqlite(user_id, lock_after, lock_until)
            .await
    }

    async fn login_succeeded(&self, user_id: &str) -> Result<(), StoreError> {
        self.login_succeeded_sqlite(user_id).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.set_password_sqlite(user_id, password_hash, must_change, scope, audit)
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
        self.apply_for_account_sqlite(scope, applicant, display_name, role, audit)
            .await
    }

    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError> {
        self.applications_sqlite(status).await
    }

    async fn decide_application(
        &self,
        id: i64,
        decided_by: &str,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.decide_application_sqlite(id, decided_by, issued, audit)
            .await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.create_session_sqlite(session).await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError> {
        self.session_sqlite(token_hash).await
    }

    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        self.touch_session_sqlite(token_hash, at).await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.delete_session_sqlite(token_hash).await
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (idle, opened) = (timestamp_text(&idle_before), timestamp_text(&opened_before));
        self.write(move |tx, _| {
            let n = tx.execute(
                "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
                params![idle, opened],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError> {
        let entry = entry.clone();
        self.write(move |tx, _| append_audit_tx(tx, scope, &entry))
            .await
    }

    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        self.read(move |conn, _| {
            let head: Option<(i64, Vec<u8>)> = conn
                .query_row(
                    "SELECT seq, hash FROM audit_heads WHERE municipality_code = ?1",
                    [scope.code()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            head.map(|(seq, hash)| Ok((seq, rows::hash32(&hash)?)))
                .transpose()
        })
        .await
    }

    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT municipality_code FROM audit_log UNION \
                 SELECT municipality_code FROM audit_heads ORDER BY 1",
            )?;
            let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
            codes.map(|c| AuditScope::from_stored(&c?)).collect()
        })
        .await
    }

    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(move |conn, _| {
            audit_records(
                conn,
                scope,
                "WHERE municipality_code = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
                params![scope.code(), from, limit],
            )
        })
        .await
    }

    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let f = filter.clone();
        self.read(move |conn, _| {
            audit_records(
                conn,
                scope,
                "WHERE municipality_code = ?1 AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3) \
                 AND (?4 IS NULL OR actor = ?4) AND (?5 IS NULL OR action = ?5) ORDER BY seq DESC LIMIT ?6",
                params![
                    scope.code(),
                    f.from.as_ref().map(timestamp_text),
                    f.to.as_ref().map(timestamp_text),
                    f.actor,
                    f.action,
                    f.limit
                ],
            )
        })
        .await
    }

    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError> {
        self.backup_key_sqlite(area, create).await
    }

    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.inner.keyring.pseudonym(purpose, data)
    }

    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError> {
        self.inner.keyring.open_backup_key(area.code(), wrapped)
    }

    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.vault_entries_sqlite().await
    }

    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError> {
        self.put_vault_entry_sqlite(area, wrapped).await
    }

    async fn snapshot(
        &self,
        areas: &[AuditScope],
        sink: Box<dyn SnapshotSink>,
    ) -> Result<Vec<BackupKey>, StoreError> {
        self.snapshot_sqlite(areas, sink).await
    }

    async fn restore_areas(&self, areas: Vec<AreaRestore>) -> Result<(), StoreError> {
        self.restore_areas_sqlite(areas).await
    }

    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.consent_to_shred_sqlite(scope, reference, audit).await
    }

    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError> {
        self.shred_area_sqlite(scope, audit).await
    }

    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError> {
        self.shred_record_sqlite(scope).await
    }

    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.delete_resident_sqlite(scope, atena, audit).await
    }

    // --- Duplicate people ([`crate::merge`], in merge.rs) ---

    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError> {
        self.residents_page_sqlite(scope, after, limit).await
    }

    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.duplicate_pairs_sqlite(scope).await
    }

    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<crate::Mover>, StoreError> {
        self.movers_sqlite(scope).await
    }

    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[crate::Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        self.put_candidates_sqlite(scope, candidates, audit).await
    }

    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<crate::CandidateStatus>,
    ) -> Result<Vec<crate::Candidate>, StoreError> {
        self.candidates_sqlite(scope, status).await
    }

    async fn decide_candidate(
        &self,
        scope: MunicipalityCode,
        candidate_id: &str,
        status: crate::CandidateStatus,
        decided_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.decide_candidate_sqlite(scope, candidate_id, status, decided_by, audit)
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
        self.merge_people_sqlite(scope, kept, merged, merge_id, merged_by, at, audit)
            .await
    }

    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        undone_by: &str,
        audit: &AuditEntry,
    ) -> Result<crate::PersonMerge, StoreError> {
        self.unmerge_sqlite(scope, merge_id, undone_by, audit).await
    }

    async fn person_merges(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<crate::PersonMerge>, StoreError> {
        self.person_merges_sqlite(scope).await
    }
}
