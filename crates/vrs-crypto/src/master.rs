//! The deployment's master key: loaded from a file (mode 0600) or the `VRS_MASTER_KEY` environment
//! variable, never stored in the database. It wraps the per-municipality data keys and yields a key
//! check value the database keeps so that a wrong key is refused at start instead of producing garbage.

use std::fmt;
use std::io::Write;
use std::path::Path;

use ring::{aead, hkdf, hmac, rand::SecureRandom};
use zeroize::Zeroizing;

use crate::field::DataKey;
use crate::CryptoError;

/// Length of every symmetric key in the system.
pub(crate) const KEY_LEN: usize = 32;

/// 32 bytes from the operating system's random source, wiped from memory when dropped.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    ring::rand::SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// The deployment master key. `Debug` never shows it.
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            bytes: random_key()?,
        })
    }

    /// Parses 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(text.trim(), bytes.as_mut()).map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self { bytes })
    }

    /// Reads a key file written by [`MasterKey::create_file`]. A file other users can read is refused.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let unreadable = |reason: String| CryptoError::KeyFileUnreadable {
            path: path.to_owned(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CryptoError::KeyFilePermissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?);
        Self::from_hex(&text)
    }

    /// Writes a new random key to `path` with mode 0600; refuses to overwrite an existing file.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        let not_created = |reason: String| CryptoError::KeyFileNotCreated {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| not_created(e.to_string()))?;
        }
        let key = Self::generate()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| not_created(e.to_string()))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.bytes.as_ref())));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| not_created(e.to_string()))?;
        Ok(key)
    }

    /// A value that identifies this key without revealing it; the database stores it at `vrs init`
    /// and compares it at every start.
    pub fn check_value(&self) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.bytes.as_ref());
        let tag = hmac::sign(&key, b"vrs master key check value v1");
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Compares a stored check value with this key's.
    pub fn verify_check_value(&self, stored: &[u8]) -> Result<(), CryptoError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.bytes.as_ref());
        hmac::verify(&key, b"vrs master key check value v1", stored)
            .map_err(|_| CryptoError::WrongMasterKey)
    }

    fn wrapping_key(&self) -> aead::LessSafeKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"vrs").extract(self.bytes.as_ref());
        crate::field::derive_aead(&prk, b"vrs data key wrap v1")
    }

    /// Wraps a municipality's data key for storage. The municipality code and key version are bound
    /// in, so a wrapped key copied to another municipality does not unwrap.
    pub fn wrap(
        &self,
        municipality: &str,
        version: u32,
        key: &DataKey,
    ) -> Result<Vec<u8>, CryptoError> {
        let aad = wrap_aad(municipality, version);
        crate::field::seal_with(&self.wrapping_key(), &aad, key.bytes())
    }

    /// Unwraps a stored data key. Fails with [`CryptoError::WrongMasterKey`] when this master key did
    /// not wrap it.
    pub fn unwrap_key(
        &self,
        municipality: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<DataKey, CryptoError> {
        let aad = wrap_aad(municipality, version);
        let plain = crate::field::open_with(&self.wrapping_key(), &aad, wrapped)
            .map_err(|_| CryptoError::WrongMasterKey)?;
        DataKey::from_bytes(&plain)
    }
}

impl MasterKey {
    /// Seals another secret (a backup key, a certificate signing key) under the master key; `aad`
    /// names what it is and whose.
    pub fn seal_secret(&self, aad: &[u8], secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crate::field::seal_with(&self.secret_wrapping_key(), aad, secret)
    }

    pub fn open_secret(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crate::field::open_with(&self.secret_wrapping_key(), aad, sealed)
            .map_err(|_| CryptoError::WrongMasterKey)
    }

    /// A keyed pseudonym of `data` for `purpose` (HMAC-SHA-256 under a key derived from the master
    /// key): the same text always gives the same pseudonym in this deployment, and nobody without
    /// the master key can test a guess against it. Used where a stranger's text must be recorded
    /// without keeping it (an unknown user ID at sign-in).
    pub fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"vrs").extract(self.bytes.as_ref());
        let info = [b"vrs pseudonym v1".as_slice()];
        let mut bytes = [0u8; 32];
        // HKDF-SHA-256 always yields 32 bytes for this length.
        if let Ok(okm) = prk.expand(&info, hkdf::HKDF_SHA256) {
            let _ = okm.fill(&mut bytes);
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let mut context = hmac::Context::with_key(&key);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(data);
        let mut out = [0u8; 32];
        out.copy_from_slice(context.sign().as_ref());
        out
    }

    fn secret_wrapping_key(&self) -> aead::LessSafeKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"vrs").extract(self.bytes.as_ref());
        crate::field::derive_aead(&prk, b"vrs vault key wrap v1")
    }
}

fn wrap_aad(municipality: &str, version: u32) -> Vec<u8> {
    let mut aad = b"vrs-data-key|".to_vec();
    aad.extend_from_slice(municipality.as_bytes());
    aad.push(b'|');
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let key = MasterKey::create_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = MasterKey::load_file(&path).unwrap();
        assert_eq!(key.check_value(), again.check_value());
        assert!(
            MasterKey::create_file(&path).is_err(),
            "an existing key is never overwritten"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            MasterKey::load_file(&path),
            Err(CryptoError::KeyFilePermissions { .. })
        ));
    }

    #[test]
    fn malformed_key_text_is_refused() {
        assert!(matches!(
            MasterKey::from_hex("abc"),
            Err(CryptoError::KeyFormat)
        ));
        assert!(matches!(
            MasterKey::from_hex(&"zz".repeat(32)),
            Err(CryptoError::KeyFormat)
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn wrong_master_key_is_refused_by_check_value_and_unwrap() {
        let right = MasterKey::generate().unwrap();
        let wrong = MasterKey::generate().unwrap();
        assert!(right.verify_check_value(&right.check_value()).is_ok());
        assert!(matches!(
            wrong.verify_check_value(&right.check_value()),
            Err(CryptoError::WrongMasterKey)
        ));
        let dk = DataKey::generate().unwrap();
        let wrapped = right.wrap("382060", 1, &dk).unwrap();
        assert!(right.unwrap_key("382060", 1, &wrapped).is_ok());
        assert!(matches!(
            wrong.unwrap_key("382060", 1, &wrapped),
            Err(CryptoError::WrongMasterKey)
        ));
        assert!(
            right.unwrap_key("131016", 1, &wrapped).is_err(),
            "bound to its municipality"
        );
        assert!(
            right.unwrap_key("382060", 2, &wrapped).is_err(),
            "bound to its version"
        );
    }
}
