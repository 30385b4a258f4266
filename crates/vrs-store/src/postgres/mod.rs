//! The PostgreSQL backend: a connection pool, the same schema and the same behaviour as SQLite.
//! Appends to a municipality's audit chain lock its `audit_heads` row, so several `vrs serve` nodes
//! on one database extend each chain one after another.

mod accounts;
mod audit;
mod backup;
mod certificates;
pub mod citus;
mod citus_import;
mod clients;
mod doses;
mod governance;
mod import;
mod merge;
mod opendata;
mod provision;
mod registrations;
mod residents;
mod statistics;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use vrs_crypto::{chain, FieldCipher, MasterKey};
use vrs_domain::{MunicipalityCode, MyNumber, Resident};

use crate::audit::{AuditEntry, AuditRecord, AuditScope};
use crate::keyring::{Keyring, FIRST_KEY_VERSION};
use crate::migrate::{self, LEDGER};
use crate::sealed::SealedResident;
use crate::{rows, Scoped, Store, StoreError};

/// Pool size per process; several processes share the database.
const POOL_SIZE: usize = 16;
/// How long one host may take to accept a connection when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a caller waits for a free connection before it is told the database is unavailable.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// How long a pooled connection may take to be checked before it is handed out again.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Serialises migrations of concurrently starting nodes.
const MIGRATION_LOCK: i64 = 0x5652_5300;

/// The PostgreSQL store. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    keyring: Arc<Keyring>,
    registrations: registrations::Registrations,
    /// The schema is distributed over a Citus cluster ([`citus`]).
    citus: bool,
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
    ///
    /// The URL may name several hosts (`postgres://…@h1:5432,h2:5432/vrs?target_session_attrs=read-write`):
    /// each new connection tries them in turn and keeps the first that takes writes. No wait is
    /// unbounded: each host has `connect_timeout` (3 s when the URL sets none) to accept, and a
    /// caller waits at most 10 s for a free connection; whatever fails there is
    /// [`StoreError::Unavailable`]. A closed connection is never handed out again, and once any
    /// connection has failed for want of the server (a failover), every connection made before
    /// that is closed instead of reused: the next ones go to whichever host takes writes now.
    pub async fn open(url: &str, master: MasterKey, init: bool) -> Result<Self, StoreError> {
        let mut connection = tls::connection(url)?;
        if connection.config.get_connect_timeout().is_none() {
            connection.config.connect_timeout(CONNECT_TIMEOUT);
        }
        let per_host = connection
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        let hosts = u32::try_from(connection.config.get_hosts().len().max(1)).unwrap_or(1);
        let manager = Manager::from_config(
            connection.config,
            connection.tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(per_host * hosts + Duration::from_secs(1)))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .pre_recycle(deadpool_postgres::Hook::sync_fn(|_, metrics| {
                match crate::error::connection_last_lost() {
                    Some(lost) if metrics.created <= lost => {
                        Err(deadpool_postgres::HookError::Message(
                            "made before a connection failed for want of the server".into(),
                        ))
                    }
                    _ => Ok(()),
                }
            }))
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
        let citus = citus::has_citus(&client).await? && citus::is_distributed(&client).await?;
        drop(client);
        Ok(Self {
            registrations: registrations::Registrations::start(pool.clone(), !citus),
            pool,
            keyring: Arc::new(Keyring::new(master)),
            citus,
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

/// How long [`confirm_replicated`] waits for the synchronous standby.
const REPLICATION_WAIT: Duration = Duration::from_secs(10);

/// Returns once everything this server has committed so far is as durable as a new commit: a
/// transaction that only takes a transaction ID commits, and its commit waits for the synchronous
/// standby (when the server has one) like any other; then [`confirm_standby`]. On a server cut off
/// from its standby, the wait is given up after [`REPLICATION_WAIT`] and the connection closed: the
/// database is unavailable.
pub(crate) async fn confirm_replicated(
    client: deadpool_postgres::Object,
) -> Result<(), StoreError> {
    let confirmed = tokio::time::timeout(REPLICATION_WAIT, async {
        client.simple_query("SELECT pg_current_xact_id()").await?;
        confirm_standby(&client).await
    })
    .await;
    match confirmed {
        Ok(Err(StoreError::Unavailable(e))) => {
            drop(deadpool_postgres::Object::take(client));
            Err(StoreError::Unavailable(e))
        }
        Ok(done) => done,
        Err(_) => {
            drop(deadpool_postgres::Object::take(client));
            Err(StoreError::Unavailable(format!(
                "no synchronous standby confirmed within {} s",
                REPLICATION_WAIT.as_secs()
            )))
        }
    }
}

/// Checks, after a commit, that the server could have had it confirmed by a standby: either it
/// asks for none (`synchronous_standby_names` empty: pg_auto_failover's `wait_primary`, a single
/// server), or a standby is connected to it. A server that asks for a synchronous standby and has
/// none connected cannot have replicated the commit, whatever the commit answered: a primary just
/// restarted after a crash, which the failover under way will discard. Its commits are not
/// acknowledged (the database is unavailable); a retry with the same key finds them, or not,
/// wherever the primary is next.
pub(crate) async fn confirm_standby(client: &impl GenericClient) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT current_setting('synchronous_standby_names') = '' \
                    OR EXISTS (SELECT 1 FROM pg_stat_replication)",
        )
        .await?;
    let row = client.query_one(&stmt, &[]).await?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "the server asks for a synchronous standby and has none connected".into(),
        ))
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
        birth_index: Vec::new(),
        kanji_birth_index: Vec::new(),
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

/// Locks a chain's head row until the transaction ends and returns it: `(seq, hash)`. One
/// statement when the head exists, as it does once the chain has any entry; created first
/// otherwise (a concurrent creator is waited for by the insert's conflict check).
pub(crate) async fn lock_head(
    tx: &impl GenericClient,
    scope: AuditScope,
) -> Result<(i64, [u8; 32]), StoreError> {
    let select = tx
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE municipality_code = $1 FOR UPDATE")
        .await?;
    if let Some(head) = tx.query_opt(&select, &[&scope.code()]).await? {
        return Ok((head.get(0), rows::hash32(&head.get::<_, Vec<u8>>(1))?));
    }
    let create = tx
        .prepare_cached(
            "INSERT INTO audit_heads (municipality_code, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(&create, &[&scope.code(), &chain::GENESIS.to_vec()])
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

const INSERT_AUDITS: &str =
    "INSERT INTO audit_log (municipality_code, seq, at, actor, role, terminal, action, target, outcome, detail, hash) \
     SELECT * FROM unnest($1::bpchar[], $2::int8[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[])";

/// Appends `records` in one statement (the group of registrations writes its entries so; each
/// record is already chained, so their order in the statement does not matter).
pub(crate) async fn insert_audits(
    tx: &impl GenericClient,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare_cached(INSERT_AUDITS).await?;
    let column =
        |f: fn(&AuditEntry) -> &str| -> Vec<&str> { records.iter().map(|r| f(&r.entry)).collect() };
    let scopes: Vec<&str> = records.iter().map(|r| r.scope.code()).collect();
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let ats: Vec<DateTime<Utc>> = records.iter().map(|r| r.entry.at).collect();
    let hashes: Vec<&[u8]> = records.iter().map(|r| r.hash.as_slice()).collect();
    tx.execute(
        &stmt,
        &[
            &scopes,
            &seqs,
            &ats,
            &column(|e| &e.actor),
            &column(|e| &e.role),
            &column(|e| &e.terminal),
            &column(|e| &e.action),
            &column(|e| &e.target),
            &column(|e| &e.outcome),
            &column(|e| &e.detail),
            &hashes,
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

impl Scoped for PostgresStore {}

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
}
