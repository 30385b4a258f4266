//! The embedded SQLite backend: one file in WAL mode, one writer connection and a few readers.
//! Writes go to the writer thread; reads run on the blocking pool, at most one per reader at a
//! time, except point reads of a few microseconds, which run on the calling thread when a reader
//! is free.

mod accounts;
mod audit;
mod backup;
#[cfg(test)]
mod build_options;
mod certificates;
mod clients;
mod doses;
mod governance;
mod import;
mod merge;
mod opendata;
#[cfg(test)]
mod plans;
mod provision;
#[cfg(test)]
mod read_slots;
mod residents;
mod statistics;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use vrs_crypto::{chain, FieldCipher, MasterKey};
use vrs_domain::{MunicipalityCode, Resident};

use crate::audit::{timestamp_text, AuditEntry, AuditRecord, AuditScope};
use crate::keyring::{Keyring, FIRST_KEY_VERSION};
use crate::migrate::{self, LEDGER};
use crate::sealed::SealedResident;
use crate::{rows, Scoped, Store, StoreError};

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
    /// One slot per reader for the reads sent to the blocking pool (see [`SqliteStore::read`]).
    read_slots: Arc<tokio::sync::Semaphore>,
    keyring: Arc<Keyring>,
}

pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Inner {
    /// A reader no one holds, trying each once from the next in turn; `None` when all are busy.
    fn free_reader(&self) -> Option<MutexGuard<'_, Connection>> {
        (0..self.readers.len()).find_map(|_| {
            let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
            match self.readers[i].try_lock() {
                Ok(conn) => Some(conn),
                // As in `lock`: a poisoned reader is safe to take over.
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        })
    }
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
                read_slots: Arc::new(tokio::sync::Semaphore::new(READERS)),
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
        if let Some(conn) = self.inner.free_reader() {
            return f(&conn, &self.inner.keyring);
        }
        self.read(f).await
    }

    /// Runs `f` on a reader in the blocking pool. At most as many reads as there are readers go
    /// to the pool at once; the others wait here, without a thread: a thread per waiting read
    /// would grow the pool by hundreds of threads under load (each with its stack and its share
    /// of the allocator's memory), all of them only waiting for the same few connections.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let slot = self
            .inner
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Other("the readers are closed".into()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            // A point read on a Tokio worker may hold a reader for a moment: take a free one, or
            // wait for the next in turn.
            let conn = inner.free_reader().unwrap_or_else(|| {
                let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
                lock(&inner.readers[i])
            });
            f(&conn, &inner.keyring)
        })
        .await?
    }
}

/// Runs the reads of `f` in one read transaction of a reader connection: one snapshot, and the
/// reader checks once (not once per statement) whether the database changed since it last read.
pub(crate) fn read_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !conn.is_autocommit() {
        // Left open by a read that panicked on this connection.
        conn.prepare_cached("ROLLBACK")?.execute([])?;
    }
    conn.prepare_cached("BEGIN")?.execute([])?;
    let out = f(conn);
    // A read transaction has nothing to keep: it ends the same way whatever `f` answered.
    if let Err(e) = conn
        .prepare_cached("COMMIT")
        .and_then(|mut s| s.execute([]))
    {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    out
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
            birth_index: Vec::new(),
            kanji_birth_index: Vec::new(),
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

impl Scoped for SqliteStore {}

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
}
