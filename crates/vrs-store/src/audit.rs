//! Audit entries as storage keeps them, and their canonical bytes for the hash chain.
//! A target names a record by its key (宛名番号, coupon, dose), never by a raw My Number.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use vrs_domain::MunicipalityCode;

use crate::StoreError;

/// What happened, by whom, from where, to what, with which outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub terminal: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
}

impl AuditEntry {
    /// An entry stamped now (to the microsecond, as both backends store it).
    pub fn now(actor: &str, role: &str, terminal: &str, action: &str, target: &str) -> Self {
        let at = Utc::now();
        let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        Self {
            at,
            actor: actor.into(),
            role: role.into(),
            terminal: terminal.into(),
            action: action.into(),
            target: target.into(),
            outcome: "ok".into(),
            detail: String::new(),
        }
    }

    pub fn with_outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.into();
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The bytes the chain hashes: every field, length-prefixed, in a fixed order, with the
    /// municipality and sequence number so an entry cannot be moved within or between chains.
    pub fn canonical_bytes(&self, scope: AuditScope, seq: i64) -> Vec<u8> {
        let at = self.at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let fields: [&str; 9] = [
            scope.code(),
            &at,
            &self.actor,
            &self.role,
            &self.terminal,
            &self.action,
            &self.target,
            &self.outcome,
            &self.detail,
        ];
        // Sized once: grown in steps, the buffer is reallocated on the writer thread of every
        // registration, whose allocations contend with the request threads'.
        let len = 8 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&seq.to_be_bytes());
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }
}

/// Whose chain an entry belongs to: a municipality's (or a prefecture's, by the prefecture's own
/// code), or the national operator's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditScope {
    National,
    Area(MunicipalityCode),
}

/// The code the national chain is stored under (no local government has it).
const NATIONAL: &str = "000000";

impl AuditScope {
    /// The 6-digit code the chain is stored under.
    pub fn code(&self) -> &str {
        match self {
            AuditScope::National => NATIONAL,
            AuditScope::Area(c) => c.as_str(),
        }
    }

    /// A readable name: the municipality's or prefecture's, or 国 (national).
    pub fn name(&self) -> &'static str {
        match self {
            AuditScope::National => "国",
            AuditScope::Area(c) => c.info().name,
        }
    }

    /// Reads a stored or written chain code (`000000` is the national chain).
    pub fn parse(code: &str) -> Result<Self, crate::StoreError> {
        Self::from_stored(code)
    }

    pub(crate) fn from_stored(code: &str) -> Result<Self, crate::StoreError> {
        match code.trim() {
            NATIONAL => Ok(AuditScope::National),
            other => crate::rows::municipality(other).map(AuditScope::Area),
        }
    }
}

impl From<MunicipalityCode> for AuditScope {
    fn from(code: MunicipalityCode) -> Self {
        AuditScope::Area(code)
    }
}

impl std::fmt::Display for AuditScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An entry as stored: its place in the chain and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub scope: AuditScope,
    pub seq: i64,
    pub entry: AuditEntry,
    pub hash: [u8; 32],
}

impl AuditRecord {
    /// The hash this record must carry, given the previous record's hash.
    pub fn expected_hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        vrs_crypto::chain::link(previous, &self.entry.canonical_bytes(self.scope, self.seq))
    }
}

/// Formats a timestamp the way SQLite stores it (RFC 3339, microseconds, `Z`).
pub(crate) fn timestamp_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What to look for in a chain: a time range (from inclusive, to exclusive), an actor and an action
/// (exact), newest first, at most `limit` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: u32,
    /// Only entries older than this sequence number: the next page of a newest-first listing.
    pub before_seq: Option<i64>,
}

/// The audit chains: one hash-linked log per municipality (and one for the deployment).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry to the municipality's audit chain.
    async fn append_audit(
        &self,
        scope: AuditScope,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, StoreError>;

    /// Entries of a chain matching `filter`, newest first.
    async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// The newest entry of the municipality's audit chain as the database records it
    /// (`audit_heads`): its sequence number and hash, or `None` for an empty chain.
    async fn audit_head(&self, scope: AuditScope) -> Result<Option<(i64, [u8; 32])>, StoreError>;

    /// Every municipality that has an audit chain.
    async fn audit_chains(&self) -> Result<Vec<AuditScope>, StoreError>;

    /// The municipality's audit chain from sequence number `from` (1-based), at most `limit` entries.
    async fn audit_log(
        &self,
        scope: AuditScope,
        from: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
