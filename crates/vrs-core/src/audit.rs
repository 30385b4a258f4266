//! Verifying the audit log: each municipality's entries form a hash chain (see
//! `vrs_crypto::chain`), and the database keeps the newest entry's hash in `audit_heads`. Recomputing
//! the chain finds an entry changed, removed or reordered by anyone who bypassed the system (the
//! database itself refuses UPDATE and DELETE on the log).

use vrs_crypto::chain::GENESIS;
use vrs_store::{AuditScope, AuditStore, BackupStore, StoreError};

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
pub async fn verify_chain(
    store: &(impl AuditStore + ?Sized),
    scope: AuditScope,
) -> Result<ChainCheck, StoreError> {
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

/// One chain's head as an anchor records it, with its MAC.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnchoredHead {
    /// The chain: a municipality's code, a prefecture's, or `000000` for the national one.
    pub chain: String,
    pub seq: i64,
    /// The hash of entry `seq`, hex.
    pub hash: String,
    /// HMAC-SHA-256 of the chain, seq and hash under a key derived from the master key, hex.
    pub mac: String,
}

/// The anchor format's name and version.
pub const ANCHOR_FORMAT: &str = "vrs-audit-anchor-1";

/// The heads of every audit chain at one moment, each with a MAC under a key derived from the
/// master key — which never lives in the database. Exported (`vrs audit anchor`) and kept apart
/// from the database, an anchor lets `vrs audit verify --anchor` catch what the chain alone cannot:
/// a database administrator who rewrites entries *and* recomputes every later hash and the head.
/// Nobody without the master key can make or alter an anchor that verifies.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub format: String,
    pub made_at: chrono::DateTime<chrono::Utc>,
    pub heads: Vec<AnchoredHead>,
}

fn anchor_mac(
    store: &(impl BackupStore + ?Sized),
    chain: &str,
    seq: i64,
    hash_hex: &str,
) -> String {
    hex::encode(store.pseudonym(
        "audit anchor v1",
        format!("{chain}|{seq}|{hash_hex}").as_bytes(),
    ))
}

/// The anchor of every chain's recorded head now.
pub async fn make_anchor(
    store: &(impl AuditStore + BackupStore + ?Sized),
) -> Result<Anchor, StoreError> {
    let mut heads = Vec::new();
    for scope in store.audit_chains().await? {
        if let Some((seq, hash)) = store.audit_head(scope).await? {
            let hash = hex::encode(hash);
            heads.push(AnchoredHead {
                chain: scope.code().to_owned(),
                seq,
                mac: anchor_mac(store, scope.code(), seq, &hash),
                hash,
            });
        }
    }
    Ok(Anchor {
        format: ANCHOR_FORMAT.into(),
        made_at: chrono::Utc::now(),
        heads,
    })
}

/// Why an anchor cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("not an audit anchor ({0})")]
    Format(String),
    #[error(
        "the anchor of chain {0} does not verify with this deployment's master key (the anchor \
         was altered, or made by another deployment)"
    )]
    Mac(String),
}

impl Anchor {
    /// Reads an anchor file and checks every MAC with this deployment's master key.
    pub fn read(store: &(impl BackupStore + ?Sized), text: &str) -> Result<Anchor, AnchorError> {
        let anchor: Anchor =
            serde_json::from_str(text).map_err(|e| AnchorError::Format(e.to_string()))?;
        if anchor.format != ANCHOR_FORMAT {
            return Err(AnchorError::Format(format!(
                "format {:?}, expected {ANCHOR_FORMAT}",
                anchor.format
            )));
        }
        for head in &anchor.heads {
            let expected = anchor_mac(store, &head.chain, head.seq, &head.hash);
            let same = expected.len() == head.mac.len()
                && expected
                    .bytes()
                    .zip(head.mac.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if !same {
                return Err(AnchorError::Mac(head.chain.clone()));
            }
        }
        Ok(anchor)
    }

    /// The anchored head of `scope`, when the anchor holds one.
    pub fn head_of(&self, scope: AuditScope) -> Option<(i64, [u8; 32])> {
        let head = self.heads.iter().find(|h| h.chain == scope.code())?;
        let bytes: [u8; 32] = hex::decode(&head.hash).ok()?.try_into().ok()?;
        Some((head.seq, bytes))
    }
}

/// Recomputes the chain of `scope` as [`verify_chain`] does, and also checks it against an
/// anchored head: entry `seq` must still carry the anchored hash, so a chain rewritten and
/// re-hashed after the anchor was made is caught at the first entry it differs from.
pub async fn verify_chain_against(
    store: &(impl AuditStore + ?Sized),
    scope: AuditScope,
    anchored: Option<(i64, [u8; 32])>,
) -> Result<ChainCheck, StoreError> {
    let mut check = verify_chain(store, scope).await?;
    let Some((seq, hash)) = anchored else {
        return Ok(check);
    };
    if check.broken.is_some() {
        return Ok(check);
    }
    let found = store.audit_log(scope, seq, 1).await?;
    let reason = match found.first() {
        Some(record) if record.seq == seq && record.hash == hash => return Ok(check),
        Some(record) if record.seq == seq => {
            "the chain differs from the anchor here or before (it was rewritten and re-hashed)"
        }
        _ => "the chain ends before the anchored entry (entries were removed)",
    };
    check.broken = Some(ChainBreak {
        seq,
        reason: reason.to_owned(),
    });
    Ok(check)
}
