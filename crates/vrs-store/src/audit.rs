//! Audit entries as storage keeps them, and their canonical bytes for the hash chain.
//! A target names a record by its key (宛名番号, coupon, dose), never by a raw My Number.

use chrono::{DateTime, SecondsFormat, Utc};
use vrs_domain::MunicipalityCode;

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
    pub fn canonical_bytes(&self, municipality: MunicipalityCode, seq: i64) -> Vec<u8> {
        let at = self.at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let fields: [&str; 9] = [
            municipality.as_str(),
            &at,
            &self.actor,
            &self.role,
            &self.terminal,
            &self.action,
            &self.target,
            &self.outcome,
            &self.detail,
        ];
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&seq.to_be_bytes());
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }
}

/// An entry as stored: its place in the chain and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub municipality: MunicipalityCode,
    pub seq: i64,
    pub entry: AuditEntry,
    pub hash: [u8; 32],
}

impl AuditRecord {
    /// The hash this record must carry, given the previous record's hash.
    pub fn expected_hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        vrs_crypto::chain::link(
            previous,
            &self.entry.canonical_bytes(self.municipality, self.seq),
        )
    }
}

/// Formats a timestamp the way SQLite stores it (RFC 3339, microseconds, `Z`).
pub(crate) fn timestamp_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}
