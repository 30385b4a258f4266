//! The cache of unwrapped per-municipality ciphers. Wrapped keys live in the database
//! (`municipality_keys`); the backends load or create them and hand them here to unwrap once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vrs_crypto::{CryptoError, DataKey, FieldCipher, MasterKey};
use vrs_domain::MunicipalityCode;

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

    /// A new data key for `code`, wrapped for storage.
    pub(crate) fn new_wrapped(&self, code: MunicipalityCode) -> Result<Vec<u8>, StoreError> {
        let key = DataKey::generate().map_err(|e| StoreError::Other(e.to_string()))?;
        self.master
            .wrap(code.as_str(), FIRST_KEY_VERSION, &key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }
}
