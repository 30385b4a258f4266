//! Storage of the Vaccination Record System.
//!
//! One small trait per concern ([`ResidentStore`], [`DoseStore`], [`AuditStore`], …) gathered by
//! [`Store`], two backends: embedded SQLite (the default, WAL) and PostgreSQL. A municipality's
//! rows are reached through its [`Area`] (`store.area(code)`), which gives every area method the
//! municipality and admits the records a write names to it; each method touches only rows whose key
//! starts with that code, so nothing reaches another municipality's area. Personal fields are sealed with the
//! municipality's data key before they leave this crate's hands ([`sealed`]), so no caller can store
//! them in the clear, and every change is written together with its audit entry in one transaction.
//!
//! The backend is chosen once, by URL scheme, in [`open`].

pub mod accounts;
mod area;
pub mod audit;
pub mod backup;
pub mod certificates;
pub mod clients;
mod conflict;
pub mod doses;
mod error;
pub mod governance;
pub mod import;
mod keyring;
pub mod merge;
mod migrate;
pub mod opendata;
mod postgres;
pub mod provision;
pub mod residents;
mod rows;
pub mod sealed;
mod sqlite;
pub mod statistics;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;

use async_trait::async_trait;
use vrs_crypto::MasterKey;
use vrs_domain::MunicipalityCode;

pub use accounts::AccountStore;
pub use accounts::{Account, Application, ApplicationStatus, SessionRecord, SignedSession};
pub use area::{Area, Areas, InArea, Scoped};
pub use audit::AuditStore;
pub use audit::{AuditEntry, AuditFilter, AuditRecord, AuditScope};
pub use backup::BackupStore;
pub use backup::{
    AreaRestore, AreaRows, CarriedKey, Cell, Col, KeyedArea, RestoreSource, ShredRecord,
    SnapshotSink, TableRows, TableSpec,
};
pub use certificates::CertificateStore;
pub use certificates::{
    ActiveSigningKey, CertificateIssue, CertificateStatus, EscrowedKey, KeyPurpose,
    RevokedCertificate, SealedSigningKey, SigningKeyInfo,
};
pub use clients::{AccessToken, ClientStore, MachineClient};
pub use conflict::{ConflictKind, UniqueKey};
pub use doses::{DoseStore, HolderAndDoses, PersonDoses, SessionAndHolder};
pub use doses::{IdempotentAnswer, Registration, IDEMPOTENCY_KEY_MAX};
pub use error::StoreError;
pub use governance::GovernanceStore;
pub use governance::{Agreement, FunctionState, TermsVersion};
pub use import::{ImportRow, ImportSummary, Rejection, ResidentImport, SealedBatch, Sealer};
pub use merge::DuplicateStore;
pub use merge::{Candidate, CandidateKind, CandidateStatus, Mover, PersonMerge};
pub use opendata::{
    OpenCount, OpenCounts, OpenDataStore, OpenFileInfo, OpenGrain, OpenRow,
    PART_BYTES as OPEN_PART_BYTES,
};
pub use postgres::citus::Distribution;
pub use postgres::tls as postgres_tls;
pub use postgres::PostgresStore;
pub use provision::InquiryStore;
pub use provision::{
    InquiryJob, ProvidedDose, ProvisionFilter, ProvisionRecord, ProvisionSide,
    DEFAULT_PROVISION_LIMIT,
};
pub use residents::{CouponHolder, ResidentStore, Written, BORN_ON_LIMIT};
pub use sqlite::SqliteStore;
pub use statistics::StatisticsStore;
pub use statistics::{
    AgeCount, AreaStatistics, CoverageCount, DailyCount, MunicipalityFigures, ProductCount,
    ScopeStatistics, StatPerson, StatScope,
};
pub use vrs_crypto::backup::BackupKey;

/// The storage of every municipality's area. Implementations keep no state that matters across
/// processes except caches: two processes on one database behave as one system.
#[async_trait]
pub trait Store:
    ResidentStore
    + DoseStore
    + InquiryStore
    + GovernanceStore
    + StatisticsStore
    + AccountStore
    + AuditStore
    + CertificateStore
    + BackupStore
    + DuplicateStore
    + ClientStore
    + OpenDataStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for messages.
    fn backend(&self) -> &'static str;

    /// Opens the municipality's area (and creates its data key) if it is not open yet.
    async fn activate_municipality(&self, scope: MunicipalityCode) -> Result<(), StoreError>;

    /// The municipalities whose areas are open in this deployment.
    async fn municipalities(&self) -> Result<Vec<MunicipalityCode>, StoreError>;
}

/// Where the database is and how to reach it, parsed from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db`.
    Sqlite(std::path::PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to the driver as is.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config(
                    "a sqlite:// URL needs a file path".into(),
                ));
            }
            Ok(Self::Sqlite(path.into()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// Opens (and migrates) the database at `url` with the deployment's master key. With `init`, a new
/// database records this master key; otherwise a database not yet initialised is refused.
pub async fn open(url: &str, master: MasterKey, init: bool) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(path) => Arc::new(SqliteStore::open(&path, master, init).await?),
        DatabaseUrl::Postgres(url) => Arc::new(PostgresStore::open(&url, master, init).await?),
    })
}

/// Distributes the migrated schema over the Citus cluster whose coordinator is at `url`: every
/// table of a municipality's area by `municipality_code`, colocated; the deployment-wide tables as
/// reference tables. Tables distributed already are left alone. Refuses SQLite and a PostgreSQL
/// database without the citus extension.
pub async fn distribute_citus(url: &str) -> Result<Distribution, StoreError> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(_) => Err(StoreError::Config(
            "Citus distributes a PostgreSQL database, not SQLite".into(),
        )),
        DatabaseUrl::Postgres(url) => postgres::citus::distribute(&url).await,
    }
}
