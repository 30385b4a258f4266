//! Verifying the audit log: each municipality's entries form a hash chain (see
//! `vrs_crypto::chain`), and the database keeps the newest entry's hash in `audit_heads`. Recomputing
//! the chain finds an entry changed, removed or reordered by anyone who bypassed the system (the
//! database itself refuses UPDATE and DELETE on the log).

use vrs_crypto::chain::GENESIS;
use vrs_store::{AuditScope, Store, StoreError};

const PAGE: u32 = 10_000;

/// The first place a chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    /// The sequence number of the first entry that fails (or where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// The result of recomputing one municipality's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    pub scope: AuditScope,
    /// Entries read.
    pub entries: u64,
    pub broken: Option<ChainBreak>,
}

/// Recomputes the chain of `scope` from its first entry to its recorded head.
pub async fn verify_chain(store: &dyn Store, scope: AuditScope) -> Result<ChainCheck, StoreError> {
    let mut previous = GENESIS;
    let mut expected_seq = 1i64;
    let mut entries = 0u64;
    let broken = |seq: i64, reason: &str| ChainBreak {
        seq,
        reason: reason.to_owned(),
    };
    loop {
        let page = store.audit_log(scope, expected_seq, PAGE).await?;
        let full = page.len() == PAGE as usize;
        for record in page {
            if record.seq != expected_seq {
                return Ok(ChainCheck {
                    scope,
                    entries,
                    broken: Some(broken(expected_seq, "the entry is missing")),
                });
            }
            if record.expected_hash(&previous) != record.hash {
                return Ok(ChainCheck {
                    scope,
                    entries,
                    broken: Some(broken(
                        record.seq,
                        "the entry does not match its hash (it was changed)",
                    )),
                });
            }
            previous = record.hash;
            expected_seq += 1;
            entries += 1;
        }
        if !full {
            break;
        }
    }
    let last = expected_seq - 1;
    let broken = match store.audit_head(scope).await? {
        None if last == 0 => None,
        None => Some(broken(last, "the chain's recorded head is missing")),
        Some((seq, _)) if seq > last => Some(broken(
            last + 1,
            "the entry is missing (the chain was cut short)",
        )),
        Some((seq, _)) if seq < last => Some(broken(
            seq + 1,
            "the entry is not covered by the recorded head",
        )),
        Some((_, hash)) if hash != previous => Some(broken(
            last,
            "the recorded head does not match the last entry",
        )),
        Some(_) => None,
    };
    Ok(ChainCheck {
        scope,
        entries,
        broken,
    })
}
