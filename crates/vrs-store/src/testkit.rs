//! Test databases (feature `testkit`): a fresh SQLite file or a fresh PostgreSQL database per test,
//! with raw SQL access for the tests that tamper with stored rows. Used by the conformance suite and
//! by the tests of every crate above the store.
//!
//! PostgreSQL is reached at `VRS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it cannot be reached the PostgreSQL cases are skipped with a message, except under CI
//! (`CI` set) or with `VRS_REQUIRE_POSTGRES=1`, where they fail.
//!
//! A Citus cluster is reached at `VRS_TEST_CITUS_URL` (its coordinator, in a database that has the
//! citus extension and knows its workers); each case gets a fresh database on every node, migrated
//! and distributed as `vrs init --citus` does. Without the variable the Citus cases are skipped
//! with a message, in CI too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cluster;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::{Store, StoreError};
use vrs_crypto::MasterKey;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn postgres_required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("VRS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

pub fn postgres_base_url() -> String {
    std::env::var("VRS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// The Citus coordinator of the optional Citus cases, from `VRS_TEST_CITUS_URL`.
pub fn citus_url() -> Option<String> {
    std::env::var("VRS_TEST_CITUS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The node at `host`:`port` of the cluster at `admin_url`, reached as the same role.
fn node_config(admin_url: &str, host: &str, port: u16) -> tokio_postgres::Config {
    let admin: tokio_postgres::Config = admin_url.parse().unwrap();
    let mut config = tokio_postgres::Config::new();
    config.host(host).port(port);
    if let Some(user) = admin.get_user() {
        config.user(user);
    }
    if let Some(password) = admin.get_password() {
        config.password(password);
    }
    config.dbname(admin.get_dbname().unwrap_or("postgres"));
    config
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("Citus at VRS_TEST_CITUS_URL is unreachable: {e}"));
    tokio::spawn(conn);
    client
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let prefix = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

pub enum Raw {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        db: String,
        url: String,
    },
}

pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub key_hex: String,
    pub raw: Raw,
    /// On Citus, the workers holding a database of the same name (dropped with it).
    workers: Vec<tokio_postgres::Config>,
    _dir: Option<tempfile::TempDir>,
}

/// A municipality code written in a test: `code("382060")`.
pub fn code(s: &str) -> vrs_domain::MunicipalityCode {
    vrs_domain::MunicipalityCode::parse(s).unwrap()
}

pub fn key_pair() -> (MasterKey, String) {
    let hex = hex::encode(rand::random::<[u8; 32]>());
    (MasterKey::from_hex(&hex).unwrap(), hex)
}

impl TestDb {
    pub async fn sqlite() -> Self {
        Self::sqlite_with_key(&key_pair().1).await
    }

    /// A fresh SQLite database under the master key `key_hex` (another deployment of the same
    /// operator, or the machine rebuilt after a loss).
    pub async fn sqlite_with_key(key_hex: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vrs.db");
        let url = format!("sqlite://{}", path.display());
        let key_hex = key_hex.to_owned();
        let key = MasterKey::from_hex(&key_hex).unwrap();
        let store = crate::open(&url, key, true).await.unwrap();
        Self {
            store,
            url,
            key_hex,
            raw: Raw::Sqlite(path),
            workers: Vec::new(),
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a message) when PostgreSQL is unreachable
    /// outside CI.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with_key(&key_pair().1).await
    }

    /// A fresh database of the same backend as this one, under the master key `key_hex`.
    pub async fn fresh_like(&self, key_hex: &str) -> Self {
        match self.raw {
            Raw::Sqlite(_) => Self::sqlite_with_key(key_hex).await,
            Raw::Postgres { .. } if !self.workers.is_empty() => Self::citus_with_key(key_hex)
                .await
                .expect("Citus answered a moment ago"),
            Raw::Postgres { .. } => Self::postgres_with_key(key_hex)
                .await
                .expect("PostgreSQL answered a moment ago"),
        }
    }

    /// A fresh PostgreSQL database under the master key `key_hex`, or `None` as [`Self::postgres`].
    pub async fn postgres_with_key(key_hex: &str) -> Option<Self> {
        let admin_url = postgres_base_url();
        let admin = match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                client
            }
            Err(e) if !postgres_required() => {
                eprintln!(
                    "PostgreSQL at {admin_url} unreachable ({e}); skipping the PostgreSQL case"
                );
                return None;
            }
            Err(e) => {
                panic!("PostgreSQL at {admin_url} is required here (CI) but unreachable: {e}")
            }
        };
        let db = format!(
            "vrs_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        let url = with_database(&admin_url, &db);
        let key_hex = key_hex.to_owned();
        let key = MasterKey::from_hex(&key_hex).unwrap();
        let store = crate::open(&url, key, true).await.unwrap();
        Some(Self {
            store,
            url: url.clone(),
            key_hex,
            raw: Raw::Postgres { admin_url, db, url },
            workers: Vec::new(),
            _dir: None,
        })
    }

    /// A fresh database distributed over the Citus cluster at `VRS_TEST_CITUS_URL`, or `None` (with
    /// a message) when the variable is unset.
    pub async fn citus() -> Option<Self> {
        Self::citus_with_key(&key_pair().1).await
    }

    /// A fresh Citus database under the master key `key_hex`, or `None` as [`Self::citus`].
    pub async fn citus_with_key(key_hex: &str) -> Option<Self> {
        let Some(admin_url) = citus_url() else {
            eprintln!("VRS_TEST_CITUS_URL unset; skipping the Citus case");
            return None;
        };
        let admin = connect(&admin_url.parse().unwrap()).await;
        // Adding nodes propagates the roles to the workers, which concurrent additions (from other
        // cases, other test binaries) would update at once: one database is set up at a time.
        admin
            .batch_execute("SELECT pg_advisory_lock(5652530)")
            .await
            .unwrap();
        let nodes: Vec<(String, i32, bool)> = admin
            .query(
                "SELECT nodename, nodeport, groupid = 0 FROM pg_dist_node \
                 WHERE noderole = 'primary' AND isactive ORDER BY groupid",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let db = format!(
            "vrs_c_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        let mut workers = Vec::new();
        let mut coordinator = None;
        for (host, port, is_coordinator) in &nodes {
            let mut config = node_config(&admin_url, host, *port as u16);
            connect(&config)
                .await
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .await
                .unwrap();
            config.dbname(&db);
            connect(&config)
                .await
                .batch_execute("CREATE EXTENSION citus")
                .await
                .unwrap();
            if *is_coordinator {
                coordinator = Some((host.clone(), *port));
            } else {
                workers.push(config);
            }
        }
        let (host, port) = coordinator.expect("the coordinator is in pg_dist_node");
        let url = with_database(&admin_url, &db);
        let client = connect(&url.parse().unwrap()).await;
        client
            .execute("SELECT citus_set_coordinator_host($1, $2)", &[&host, &port])
            .await
            .unwrap();
        for w in &workers {
            let (tokio_postgres::config::Host::Tcp(h), Some(p)) =
                (&w.get_hosts()[0], w.get_ports().first())
            else {
                panic!("a worker is reached over TCP")
            };
            client
                .execute("SELECT citus_add_node($1, $2)", &[h, &i32::from(*p)])
                .await
                .unwrap();
        }
        admin
            .batch_execute("SELECT pg_advisory_unlock(5652530)")
            .await
            .unwrap();
        // Few shards per table: a database per case, and each case's areas are few.
        client
            .batch_execute(&format!("ALTER DATABASE {db} SET citus.shard_count = 4"))
            .await
            .unwrap();
        let key_hex = key_hex.to_owned();
        let key = || MasterKey::from_hex(&key_hex).unwrap();
        drop(crate::open(&url, key(), true).await.unwrap());
        crate::distribute_citus(&url).await.unwrap();
        let store = crate::open(&url, key(), false).await.unwrap();
        Some(Self {
            store,
            url: url.clone(),
            key_hex,
            raw: Raw::Postgres { admin_url, db, url },
            workers,
            _dir: None,
        })
    }

    /// Opens the same database again with `key` (hex).
    pub async fn reopen(&self, key_hex: &str, init: bool) -> Result<Arc<dyn Store>, StoreError> {
        crate::open(&self.url, MasterKey::from_hex(key_hex).unwrap(), init).await
    }

    /// Runs raw SQL against the database, as someone with file or superuser access would.
    pub async fn exec(&self, sql: &str) -> Result<(), String> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                conn.execute_batch(sql).map_err(|e| e.to_string())
            }
            Raw::Postgres { url, .. } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client
                    .batch_execute(sql)
                    .await
                    .map_err(|e| match e.as_db_error() {
                        Some(db) => db.message().to_owned(),
                        None => e.to_string(),
                    })
            }
        }
    }

    /// Every stored byte of the tables that hold people, for scanning for plaintext.
    pub async fn dump(&self) -> Vec<u8> {
        match &self.raw {
            Raw::Sqlite(path) => {
                // Checkpoint so the main file holds everything, then read the file and its WAL.
                let conn = rusqlite::Connection::open(path).unwrap();
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                let mut bytes = std::fs::read(path).unwrap();
                if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
                    bytes.extend(wal);
                }
                bytes
            }
            Raw::Postgres { url, .. } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                let mut out = Vec::new();
                for table in [
                    "residents",
                    "doses",
                    "audit_log",
                    "municipality_keys",
                    "sessions",
                    "oauth_tokens",
                    "oauth_clients",
                    "accounts",
                    "provision_records",
                    "provision_doses",
                    "signing_keys",
                    "certificate_issues",
                    "duplicate_candidates",
                    "person_merges",
                ] {
                    let q = format!("SELECT t::text FROM {table} t");
                    for row in client.query(&q, &[]).await.unwrap() {
                        out.extend(row.get::<_, String>(0).into_bytes());
                    }
                }
                out
            }
        }
    }

    /// Every row of `table` as text (binary columns in hex), sorted, to compare states exactly.
    pub async fn snapshot(&self, table: &str) -> Vec<String> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
                let n = stmt.column_count();
                let mut rows: Vec<String> = stmt
                    .query_map([], |r| {
                        let mut cells = Vec::with_capacity(n);
                        for i in 0..n {
                            use rusqlite::types::ValueRef;
                            cells.push(match r.get_ref(i)? {
                                ValueRef::Null => "NULL".to_owned(),
                                ValueRef::Integer(v) => v.to_string(),
                                ValueRef::Real(v) => v.to_string(),
                                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                ValueRef::Blob(b) => hex::encode(b),
                            });
                        }
                        Ok(cells.join("|"))
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                rows.sort();
                rows
            }
            Raw::Postgres { url, .. } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                let q = format!("SELECT t::text FROM {table} t");
                let mut rows: Vec<String> = client
                    .query(&q, &[])
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect();
                rows.sort();
                rows
            }
        }
    }

    pub async fn cleanup(self) {
        if let Raw::Postgres { admin_url, db, .. } = &self.raw {
            drop(self.store);
            for worker in &self.workers {
                let mut admin = worker.clone();
                admin.dbname("postgres");
                if let Ok((client, conn)) = admin.connect(tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                        .await;
                }
            }
            if let Ok((client, conn)) =
                tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
            }
        }
    }
}

/// What a case run by [`on_both_backends!`](crate::on_both_backends) is given, made over a fresh
/// database: the database itself, or a crate's own fixture (a running server over it).
pub trait Fixture: Sized {
    fn open(db: TestDb) -> impl std::future::Future<Output = Self>;
    /// Stops what `open` started and drops the database.
    fn close(self) -> impl std::future::Future<Output = ()>;
}

impl Fixture for TestDb {
    async fn open(db: TestDb) -> Self {
        db
    }

    async fn close(self) {
        self.cleanup().await;
    }
}

/// One `#[tokio::test]` per case and backend: each `async fn case(fixture: &F)` runs on a fresh
/// SQLite database and on a fresh PostgreSQL database (skipped with a message where PostgreSQL is
/// unreachable, except under CI), in modules `sqlite` and `postgres` beside the cases; and on a
/// fresh Citus database in module `citus` (skipped with a message unless `VRS_TEST_CITUS_URL` is
/// set).
///
/// - `on_both_backends!(a, b)`: the cases take `&TestDb`;
/// - `on_both_backends!(F: a, b)`: the cases take `&F`, made by [`Fixture::open`];
/// - `on_both_backends!(owned: a, b)`: the cases take the `TestDb` itself and clean it up.
#[macro_export]
macro_rules! on_both_backends {
    (@both $run:tt; $($case:ident),*) => {
        $crate::on_both_backends!(@mod sqlite,
            async { Some($crate::testkit::TestDb::sqlite().await) }, $run; $($case),*);
        $crate::on_both_backends!(@mod postgres,
            $crate::testkit::TestDb::postgres(), $run; $($case),*);
        $crate::on_both_backends!(@mod citus,
            $crate::testkit::TestDb::citus(), $run; $($case),*);
    };
    (@mod $name:ident, $open:expr, $run:tt; $($case:ident),*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $open.await else { return };
                    $crate::on_both_backends!(@run $run db, super::$case);
                }
            )*
        }
    };
    (@run [shared $fixture:ty] $db:ident, $case:path) => {
        let fixture = <$fixture as $crate::testkit::Fixture>::open($db).await;
        $case(&fixture).await;
        $crate::testkit::Fixture::close(fixture).await;
    };
    (@run [owned] $db:ident, $case:path) => {
        $case($db).await;
    };
    (owned: $($case:ident),* $(,)?) => {
        $crate::on_both_backends!(@both [owned]; $($case),*);
    };
    ($($case:ident),* $(,)?) => {
        $crate::on_both_backends!(@both [shared $crate::testkit::TestDb]; $($case),*);
    };
    ($fixture:ty: $($case:ident),* $(,)?) => {
        $crate::on_both_backends!(@both [shared $fixture]; $($case),*);
    };
}
