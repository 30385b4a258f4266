//! Backup files: one plaintext manifest and one sealed section per area.
//!
//! Each area (a municipality, or the deployment's own tables under `000000`) has a *backup key* held
//! only in the deployment's key vault, wrapped by the master key, and never written into a backup.
//! A section is sealed with a fresh random file key (AES-256-GCM); the file key is wrapped by the
//! area's backup key. Both carry the SHA-256 of the manifest and the area's code as associated data,
//! so a changed manifest, a section moved to another area, a flipped byte or a cut-off file all fail.
//! Destroying an area's backup key (crypto-shredding) leaves every old backup of it unreadable.
//!
//! Layout: `VRSBACKUP1\n` ‖ u32 manifest length ‖ manifest ‖ u32 section count ‖ sections ‖ `VRSEND`,
//! a section being 6-byte area code ‖ u32 wrapped-key length ‖ wrapped file key ‖ u64 body length ‖ body.
//! That layout (formats 1 and 2) holds each section whole; backups are now written streamed, chunk by
//! chunk ([`stream`], format 3), and the whole layout is still read.

use std::fmt;

use ring::aead;
use zeroize::Zeroizing;

use crate::field::{open_owned, open_with, seal_owned, seal_with, DataKey};
use crate::master::{random_key, KEY_LEN};
use crate::{CryptoError, MasterKey};

pub mod stream;

const MAGIC: &[u8] = b"VRSBACKUP1\n";
const TRAILER: &[u8] = b"VRSEND";

/// An area's backup key. `Debug` never shows it.
pub struct BackupKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupKey(<redacted>)")
    }
}

fn aead_key(bytes: &[u8]) -> aead::LessSafeKey {
    // Every key of this module is 32 bytes, the AES-256 key length.
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes)
        .unwrap_or_else(|_| unreachable!("AES-256 key length"));
    aead::LessSafeKey::new(unbound)
}

fn aad(label: &str, area: &str, extra: &[u8]) -> Vec<u8> {
    let mut out = format!("vrs-backup|{label}|{area}|").into_bytes();
    out.extend_from_slice(extra);
    out
}

impl BackupKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            bytes: random_key()?,
        })
    }

    /// Wraps this key for the vault; the area code is bound in.
    pub fn wrap(&self, master: &MasterKey, area: &str) -> Result<Vec<u8>, CryptoError> {
        master.seal_secret(&aad("key", area, b""), self.bytes.as_ref())
    }

    /// Unwraps a vault entry; [`CryptoError::WrongMasterKey`] when this master key did not wrap it.
    pub fn unwrap(master: &MasterKey, area: &str, wrapped: &[u8]) -> Result<Self, CryptoError> {
        let plain = Zeroizing::new(master.open_secret(&aad("key", area, b""), wrapped)?);
        if plain.len() != KEY_LEN {
            return Err(CryptoError::Decrypt);
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&plain);
        Ok(Self { bytes })
    }

    /// Wraps one of the area's data keys so it can travel inside the area's section.
    pub fn wrap_data_key(
        &self,
        area: &str,
        version: u32,
        key: &DataKey,
    ) -> Result<Vec<u8>, CryptoError> {
        seal_with(
            &aead_key(self.bytes.as_ref()),
            &aad("data-key", area, &version.to_be_bytes()),
            key.bytes(),
        )
    }

    pub fn unwrap_data_key(
        &self,
        area: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<DataKey, CryptoError> {
        let plain = open_with(
            &aead_key(self.bytes.as_ref()),
            &aad("data-key", area, &version.to_be_bytes()),
            wrapped,
        )?;
        DataKey::from_bytes(&plain)
    }
}

/// One area's sealed content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub area: String,
    wrapped_file_key: Vec<u8>,
    body: Vec<u8>,
}

impl Section {
    /// Seals `plaintext` for `area` under a fresh file key wrapped by the area's backup key.
    pub fn seal(
        key: &BackupKey,
        area: &str,
        manifest: &[u8],
        plaintext: Vec<u8>,
    ) -> Result<Self, CryptoError> {
        if area.len() != 6 {
            return Err(CryptoError::Decrypt);
        }
        let digest = crate::sha256(manifest);
        let file_key = random_key()?;
        let wrapped_file_key = seal_with(
            &aead_key(key.bytes.as_ref()),
            &aad("file-key", area, &digest),
            file_key.as_ref(),
        )?;
        let body = seal_owned(
            &aead_key(file_key.as_ref()),
            &aad("section", area, &digest),
            plaintext,
        )?;
        Ok(Self {
            area: area.to_owned(),
            wrapped_file_key,
            body,
        })
    }

    /// Opens the section; fails when anything in it or in the manifest changed, or the key is not
    /// the one it was sealed for.
    pub fn open(&self, key: &BackupKey, manifest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest = crate::sha256(manifest);
        let file_key = Zeroizing::new(open_with(
            &aead_key(key.bytes.as_ref()),
            &aad("file-key", &self.area, &digest),
            &self.wrapped_file_key,
        )?);
        if file_key.len() != KEY_LEN {
            return Err(CryptoError::Decrypt);
        }
        open_owned(
            &aead_key(&file_key),
            &aad("section", &self.area, &digest),
            &self.body,
        )
    }
}

/// Why a backup file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("not a VRS backup file (the first bytes are not the backup header)")]
    NotBackup,
    #[error("the backup file is truncated: it ends inside {0}")]
    Truncated(&'static str),
    #[error("the backup file has {0} unexpected bytes after its end marker")]
    TrailingBytes(usize),
    #[error("the backup file is damaged: {0}")]
    Damaged(&'static str),
    #[error("area {0}: a chunk failed authentication: the file was altered, cut, reordered or sealed for another key")]
    Tampered(String),
    #[error("the backup file cannot be read or written: {0}")]
    Io(String),
}

/// A parsed backup file: the manifest (not yet trusted: it is authenticated only when a section
/// opens) and its sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupFile {
    pub manifest: Vec<u8>,
    pub sections: Vec<Section>,
}

impl BackupFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self
            .sections
            .iter()
            .map(|s| 18 + s.wrapped_file_key.len() + s.body.len())
            .sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + self.manifest.len() + size + 6);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.manifest.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.manifest);
        out.extend_from_slice(&(self.sections.len() as u32).to_be_bytes());
        for s in &self.sections {
            out.extend_from_slice(s.area.as_bytes());
            out.extend_from_slice(&(s.wrapped_file_key.len() as u32).to_be_bytes());
            out.extend_from_slice(&s.wrapped_file_key);
            out.extend_from_slice(&(s.body.len() as u64).to_be_bytes());
            out.extend_from_slice(&s.body);
        }
        out.extend_from_slice(TRAILER);
        out
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FileError> {
        let mut r = Reader { bytes, at: 0 };
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
                FileError::Truncated("the header")
            } else {
                FileError::NotBackup
            });
        }
        if r.take(MAGIC.len(), "the header")? != MAGIC {
            return Err(FileError::NotBackup);
        }
        let len = r.u32("the manifest length")? as usize;
        let manifest = r.take(len, "the manifest")?.to_vec();
        let count = r.u32("the section count")?;
        let mut sections = Vec::new();
        for _ in 0..count {
            let area = std::str::from_utf8(r.take(6, "a section header")?)
                .map_err(|_| FileError::Damaged("a section's area code is not text"))?
                .to_owned();
            let len = r.u32("a section header")? as usize;
            let wrapped_file_key = r.take(len, "a section header")?.to_vec();
            let len = usize::try_from(r.u64("a section header")?)
                .map_err(|_| FileError::Truncated("a section"))?;
            let body = r.take(len, "a section")?.to_vec();
            sections.push(Section {
                area,
                wrapped_file_key,
                body,
            });
        }
        if r.take(TRAILER.len(), "the end marker")? != TRAILER {
            return Err(FileError::Damaged("the end marker is wrong"));
        }
        match bytes.len() - r.at {
            0 => Ok(Self { manifest, sections }),
            n => Err(FileError::TrailingBytes(n)),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FileError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(FileError::Truncated(what))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FileError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, FileError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (BackupKey, BackupFile) {
        let key = BackupKey::generate().unwrap();
        let manifest = br#"{"scope":"382060"}"#.to_vec();
        let section =
            Section::seal(&key, "382060", &manifest, b"rows of the area".to_vec()).unwrap();
        (
            key,
            BackupFile {
                manifest,
                sections: vec![section],
            },
        )
    }

    #[test]
    fn round_trips_and_survives_the_vault() {
        let master = MasterKey::generate().unwrap();
        let (key, file) = sample();
        let wrapped = key.wrap(&master, "382060").unwrap();
        let key = BackupKey::unwrap(&master, "382060", &wrapped).unwrap();
        let parsed = BackupFile::parse(&file.to_bytes()).unwrap();
        assert_eq!(parsed, file);
        assert_eq!(
            parsed.sections[0].open(&key, &parsed.manifest).unwrap(),
            b"rows of the area"
        );
        assert!(BackupKey::unwrap(&master, "131016", &wrapped).is_err());
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let (key, file) = sample();
        let bytes = file.to_bytes();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let opened = BackupFile::parse(&bad)
                .ok()
                .and_then(|f| f.sections.first().map(|s| s.open(&key, &f.manifest)));
            assert!(
                !matches!(opened, Some(Ok(_))),
                "a flip at byte {i} still opened"
            );
        }
    }

    #[test]
    fn every_truncation_is_refused_by_name() {
        let (_, file) = sample();
        let bytes = file.to_bytes();
        for cut in 1..bytes.len() {
            let err = BackupFile::parse(&bytes[..cut]).unwrap_err();
            assert!(matches!(err, FileError::Truncated(_)), "cut {cut}: {err}");
        }
        assert_eq!(BackupFile::parse(b"PK\x03\x04"), Err(FileError::NotBackup));
    }

    #[test]
    fn data_keys_travel_wrapped_by_area_and_version() {
        let key = BackupKey::generate().unwrap();
        let data = DataKey::generate().unwrap();
        let wrapped = key.wrap_data_key("382060", 1, &data).unwrap();
        assert_eq!(
            key.unwrap_data_key("382060", 1, &wrapped).unwrap().bytes(),
            data.bytes()
        );
        assert!(key.unwrap_data_key("382060", 2, &wrapped).is_err());
        let other = BackupKey::generate().unwrap();
        assert!(other.unwrap_data_key("382060", 1, &wrapped).is_err());
    }
}
