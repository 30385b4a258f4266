//! The cache of unwrapped per-municipality ciphers. Wrapped keys live in the database
//! (`municipality_keys`); the backends load or create them and hand them here to unwrap once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vrs_crypto::backup::BackupKey;
use vrs_crypto::{CryptoError, DataKey, FieldCipher, MasterKey};
use vrs_domain::MunicipalityCode;

use crate::backup::CarriedKey;
use crate::StoreError;

/// The data key version new municipalities start with.
pub(crate) const FIRST_KEY_VERSION: u32 = 1;

pub(crate) struct Keyring {
    master: MasterKey,
    ciphers: RwLock<HashMap<MunicipalityCode, Arc<FieldCipher>>>,
}

impl Keyring {
    pub(crate) fn new(master: MasterKey) -> Self {
        Self {
            master,
            ciphers: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn cached(&self, code: MunicipalityCode) -> Option<Arc<FieldCipher>> {
        self.ciphers.read().ok().and_then(|m| m.get(&code).cloned())
    }

    /// Unwraps a stored key and caches its cipher.
    pub(crate) fn install(
        &self,
        code: MunicipalityCode,
        version: u32,
        wrapped: &[u8],
    ) -> Result<Arc<FieldCipher>, StoreError> {
        let key = self
            .master
            .unwrap_key(code.as_str(), version, wrapped)
            .map_err(|e| match e {
                CryptoError::WrongMasterKey => StoreError::WrongMasterKey,
                other => StoreError::Integrity {
                    what: format!("data key of {code}"),
                    source: other,
                },
            })?;
        let cipher = Arc::new(FieldCipher::new(code, version, &key));
        if let Ok(mut map) = self.ciphers.write() {
            map.insert(code, cipher.clone());
        }
        Ok(cipher)
    }

    pub(crate) fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.master.pseudonym(purpose, data)
    }

    /// A new data key for `code`, wrapped for storage.
    pub(crate) fn new_wrapped(&self, code: MunicipalityCode) -> Result<Vec<u8>, StoreError> {
        let key = DataKey::generate().map_err(|e| StoreError::Other(e.to_string()))?;
        self.master
            .wrap(code.as_str(), FIRST_KEY_VERSION, &key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// A certificate signing key's private part sealed under the master key.
    pub(crate) fn seal_signing_key(&self, aad: &[u8], pkcs8: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.master
            .seal_secret(aad, pkcs8)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// Opens a sealed signing key.
    pub(crate) fn open_signing_key(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        self.master
            .open_secret(aad, sealed)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| StoreError::WrongMasterKey)
    }

    /// Drops the cached cipher of a destroyed area.
    pub(crate) fn forget(&self, code: MunicipalityCode) {
        if let Ok(mut map) = self.ciphers.write() {
            map.remove(&code);
        }
    }

    /// A new backup key for `area` and its vault form.
    pub(crate) fn new_backup_key(&self, area: &str) -> Result<(BackupKey, Vec<u8>), StoreError> {
        let key = BackupKey::generate().map_err(|e| StoreError::Other(e.to_string()))?;
        let wrapped = key
            .wrap(&self.master, area)
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok((key, wrapped))
    }

    /// Opens a vault entry.
    pub(crate) fn open_backup_key(
        &self,
        area: &str,
        wrapped: &[u8],
    ) -> Result<BackupKey, StoreError> {
        BackupKey::unwrap(&self.master, area, wrapped).map_err(|_| StoreError::WrongMasterKey)
    }

    /// The vault form of a backup key brought from elsewhere.
    pub(crate) fn wrap_backup_key(
        &self,
        area: &str,
        key: &BackupKey,
    ) -> Result<Vec<u8>, StoreError> {
        key.wrap(&self.master, area)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// A stored data key (wrapped by the master key) re-wrapped by the area's backup key.
    pub(crate) fn carry(
        &self,
        code: &str,
        version: u32,
        wrapped: &[u8],
        backup: &BackupKey,
    ) -> Result<CarriedKey, StoreError> {
        let key = self
            .master
            .unwrap_key(code, version, wrapped)
            .map_err(|_| StoreError::WrongMasterKey)?;
        let wrapped = backup
            .wrap_data_key(code, version, &key)
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(CarriedKey { version, wrapped })
    }

    /// A carried data key wrapped by this deployment's master key for `municipality_keys`.
    pub(crate) fn adopt(
        &self,
        code: &str,
        carried: &CarriedKey,
        backup: &BackupKey,
    ) -> Result<Vec<u8>, StoreError> {
        let key = backup
            .unwrap_data_key(code, carried.version, &carried.wrapped)
            .map_err(|source| StoreError::Integrity {
                what: format!("data key {} of {code} in the backup", carried.version),
                source,
            })?;
        self.master
            .wrap(code, carried.version, &key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }
}
