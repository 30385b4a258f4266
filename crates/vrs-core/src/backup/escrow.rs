//! The key escrow: the deployment's keys that no database backup may hold, in one small file kept
//! with the master key and apart from the data backups.
//!
//! It carries the key vault's backup keys (each wrapped by the master key, bound to its area) and
//! every certificate signing key (public part, and private part sealed by the master key). With the
//! master key, an escrow file and the backup files, a deployment lost with its database comes back
//! whole: its areas open, the certificates it issued still verify against its published keys, and
//! it goes on signing with the same issuer keys. Without the master key the file opens nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vrs_domain::AuditAction;
use vrs_store::{
    AuditScope, AuditStore, BackupStore, CertificateStore, EscrowedKey, KeyPurpose,
    SealedSigningKey, SigningKeyInfo, StoreError,
};

use crate::backup::BackupError;
use crate::Actor;

/// The key escrow file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Escrow {
    pub format: String,
    pub exported_at: DateTime<Utc>,
    /// Area code → wrapped backup key (hex).
    pub keys: BTreeMap<String, String>,
    /// Every certificate signing key, oldest first (absent from files of format 1).
    #[serde(default)]
    pub signing_keys: Vec<EscrowSigningKey>,
}

/// A certificate signing key in the escrow.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EscrowSigningKey {
    /// A municipality code, or `national`.
    pub issuer: String,
    /// `shc`, `dsc` or `csca`.
    pub purpose: String,
    pub kid: String,
    /// The published part (hex): an SHC key's JWK, a signer's or the CSCA's DER certificate.
    pub public_part: String,
    /// The private part sealed by the master key (hex); empty for a key whose area was destroyed.
    pub private_sealed: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The format written; format 1 (backup keys only) is still read.
const ESCROW_FORMAT: &str = "vrs-key-escrow-2";
const ESCROW_FORMATS: [&str; 2] = ["vrs-key-escrow-1", ESCROW_FORMAT];

impl EscrowSigningKey {
    fn of(key: &SealedSigningKey) -> Self {
        let info = &key.info;
        Self {
            issuer: info.issuer.clone(),
            purpose: info.purpose.as_str().to_owned(),
            kid: info.kid.clone(),
            public_part: hex::encode(&info.public_part),
            private_sealed: hex::encode(&key.private_sealed),
            created_at: info.created_at,
            retired_at: info.retired_at,
        }
    }

    fn sealed(&self) -> Result<SealedSigningKey, BackupError> {
        let bad = |what: &str| {
            BackupError::Manifest(format!(
                "signing key {} of {}: {what}",
                self.kid, self.issuer
            ))
        };
        Ok(SealedSigningKey {
            info: SigningKeyInfo {
                issuer: self.issuer.clone(),
                purpose: KeyPurpose::parse(&self.purpose)
                    .ok_or_else(|| bad("the purpose is not shc, dsc or csca"))?,
                kid: self.kid.clone(),
                public_part: hex::decode(&self.public_part)
                    .map_err(|_| bad("the public part is not hexadecimal"))?,
                created_at: self.created_at,
                retired_at: self.retired_at,
            },
            private_sealed: hex::decode(&self.private_sealed)
                .map_err(|_| bad("the private part is not hexadecimal"))?,
        })
    }
}

/// Exports the key vault and the signing keys (audited in the national chain).
pub async fn export_escrow(
    store: &(impl AuditStore + BackupStore + CertificateStore + ?Sized),
    actor: &Actor,
) -> Result<Vec<u8>, BackupError> {
    let keys: BTreeMap<String, String> = store
        .vault_entries()
        .await?
        .into_iter()
        .map(|(area, wrapped)| (area.trim().to_owned(), hex::encode(wrapped)))
        .collect();
    let signing_keys: Vec<EscrowSigningKey> = store
        .sealed_signing_keys()
        .await?
        .iter()
        .map(EscrowSigningKey::of)
        .collect();
    let entry = actor
        .audit(AuditAction::KeysEscrowExport, "vault")
        .with_detail(format!(
            "{} backup keys, {} signing keys",
            keys.len(),
            signing_keys.len()
        ));
    let escrow = Escrow {
        format: ESCROW_FORMAT.into(),
        exported_at: Utc::now(),
        keys,
        signing_keys,
    };
    let bytes =
        serde_json::to_vec_pretty(&escrow).map_err(|e| BackupError::Manifest(e.to_string()))?;
    store.append_audit(AuditScope::National, &entry).await?;
    Ok(bytes)
}

/// Reads a key escrow file.
pub fn parse_escrow(bytes: &[u8]) -> Result<Escrow, BackupError> {
    let escrow: Escrow = serde_json::from_slice(bytes)
        .map_err(|e| BackupError::Manifest(format!("not a key escrow file: {e}")))?;
    if !ESCROW_FORMATS.contains(&escrow.format.as_str()) {
        return Err(BackupError::Manifest(format!(
            "not a key escrow file (format {:?})",
            escrow.format
        )));
    }
    Ok(escrow)
}

/// What an import put where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EscrowImport {
    pub backup_keys: usize,
    /// Signing keys stored as they were.
    pub signing_keys_added: usize,
    /// Active signing keys stored retired: this deployment already signs with another key for
    /// their issuer and purpose.
    pub signing_keys_retired: Vec<String>,
    /// Signing keys this deployment already held.
    pub signing_keys_held: usize,
}

impl std::fmt::Display for EscrowImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} backup keys are in the key vault; signing keys: {} added, {} already held",
            self.backup_keys, self.signing_keys_added, self.signing_keys_held
        )?;
        if !self.signing_keys_retired.is_empty() {
            write!(
                f,
                "; stored retired, because this deployment already signs with another key for \
                 their issuer (they still verify what they signed): {}",
                self.signing_keys_retired.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Loads a key escrow file: its backup keys into the vault and its signing keys beside this
/// deployment's. Every entry must open with this deployment's master key; nothing of a file that
/// does not is half-loaded into the vault.
pub async fn import_escrow(
    store: &(impl AuditStore + BackupStore + CertificateStore + ?Sized),
    bytes: &[u8],
    actor: &Actor,
) -> Result<EscrowImport, BackupError> {
    let escrow = parse_escrow(bytes)?;
    let mut vault = Vec::with_capacity(escrow.keys.len());
    for (area, wrapped) in &escrow.keys {
        let scope = AuditScope::parse(area)?;
        let wrapped = hex::decode(wrapped).map_err(|_| BackupError::Content {
            area: area.clone(),
            reason: "the wrapped key is not hexadecimal".into(),
        })?;
        store.open_vault_entry(scope, &wrapped)?;
        vault.push((scope, wrapped));
    }
    let signing = signing_keys_of(&escrow)?;
    for (scope, wrapped) in &vault {
        store.put_vault_entry(*scope, wrapped).await?;
    }
    let entry = actor
        .audit(AuditAction::KeysEscrowImport, "vault")
        .with_detail(format!("{} backup keys", escrow.keys.len()));
    store.append_audit(AuditScope::National, &entry).await?;
    let mut report = import_signing_keys(store, &signing, actor).await?;
    report.backup_keys = escrow.keys.len();
    Ok(report)
}

/// Stores an escrow's signing keys beside this deployment's (each audited in the national chain).
pub async fn import_signing_keys(
    store: &(impl CertificateStore + ?Sized),
    keys: &[SealedSigningKey],
    actor: &Actor,
) -> Result<EscrowImport, BackupError> {
    let mut report = EscrowImport::default();
    for key in keys {
        let info = &key.info;
        let entry = actor
            .audit(AuditAction::KeysSigningImport, &info.issuer)
            .with_detail(format!("{} {}", info.purpose.as_str(), info.kid));
        match store.put_sealed_signing_key(key, &entry).await {
            Ok(EscrowedKey::Added) => report.signing_keys_added += 1,
            Ok(EscrowedKey::AddedRetired) => report.signing_keys_retired.push(format!(
                "{} {} {}",
                info.issuer,
                info.purpose.as_str(),
                info.kid
            )),
            Ok(EscrowedKey::Held) => report.signing_keys_held += 1,
            Err(StoreError::WrongMasterKey) => {
                return Err(BackupError::Manifest(format!(
                    "signing key {} of {} does not open with this deployment's master key",
                    info.kid, info.issuer
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

/// The escrow's signing keys, ready to store (for a restore that brings the escrow along).
pub fn signing_keys_of(escrow: &Escrow) -> Result<Vec<SealedSigningKey>, BackupError> {
    escrow
        .signing_keys
        .iter()
        .map(EscrowSigningKey::sealed)
        .collect()
}
