//! Per-municipality data keys, field encryption and the My Number blind index.
//!
//! A sealed field is `0x01 ‖ key version (u32, big-endian) ‖ nonce (12) ‖ AES-256-GCM ciphertext+tag`.
//! The associated data binds the municipality code, the column and the row key, so a ciphertext
//! copied to another row, column or municipality fails authentication instead of decrypting.
//! Nonces are random (96 bits from a CSPRNG reseeded from the OS); a municipality's data key seals
//! far fewer than 2³² values over its life (a city of a million people, four fields, a few updates).

use std::fmt;

use rand::RngCore;
use ring::{aead, hkdf, hmac};
use vrs_domain::{MunicipalityCode, MyNumber};
use zeroize::Zeroizing;

use crate::master::KEY_LEN;
use crate::CryptoError;

const FORMAT: u8 = 1;
const HEADER_LEN: usize = 1 + 4 + aead::NONCE_LEN;

/// One municipality's data key (32 random bytes). Stored only wrapped by the master key.
pub struct DataKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A new random data key.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            bytes: crate::master::random_key()?,
        })
    }

    pub(crate) fn from_bytes(raw: &[u8]) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if raw.len() != KEY_LEN {
            return Err(CryptoError::Decrypt);
        }
        bytes.copy_from_slice(raw);
        Ok(Self { bytes })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

/// Encrypts and decrypts one municipality's personal fields and computes its blind index.
pub struct FieldCipher {
    municipality: MunicipalityCode,
    version: u32,
    aead: aead::LessSafeKey,
    index: hmac::Key,
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCipher")
            .field("municipality", &self.municipality)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl FieldCipher {
    /// The cipher of `municipality` for data key `version`.
    pub fn new(municipality: MunicipalityCode, version: u32, key: &DataKey) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, municipality.as_str().as_bytes())
            .extract(key.bytes());
        let aead = derive_aead(&prk, b"vrs field encryption v1");
        let mut index_key = Zeroizing::new([0u8; KEY_LEN]);
        fill_okm(&prk, b"vrs blind index v1", index_key.as_mut());
        let index = hmac::Key::new(hmac::HMAC_SHA256, index_key.as_ref());
        Self {
            municipality,
            version,
            aead,
            index,
        }
    }

    /// The municipality whose area this cipher serves.
    pub fn municipality(&self) -> MunicipalityCode {
        self.municipality
    }

    /// The data key version new values are sealed with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Seals `plaintext` for `column` of the row identified by `row`.
    pub fn seal(&self, column: &str, row: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let aad = self.aad(column, row);
        let mut nonce = [0u8; aead::NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out =
            Vec::with_capacity(HEADER_LEN + plaintext.len() + aead::AES_256_GCM.tag_len());
        out.push(FORMAT);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(HEADER_LEN);
        self.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&aad),
                &mut body,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a value sealed by [`FieldCipher::seal`] for the same municipality, column and row.
    pub fn open(&self, column: &str, row: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN || sealed[0] != FORMAT {
            return Err(CryptoError::Decrypt);
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&sealed[1..5]);
        let found = u32::from_be_bytes(version);
        if found != self.version {
            return Err(CryptoError::KeyVersion {
                expected: self.version,
                found,
            });
        }
        let mut nonce = [0u8; aead::NONCE_LEN];
        nonce.copy_from_slice(&sealed[5..HEADER_LEN]);
        let aad = self.aad(column, row);
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plain = self
            .aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&aad),
                &mut body,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }

    /// Opens a sealed UTF-8 text field.
    pub fn open_text(&self, column: &str, row: &str, sealed: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(column, row, sealed)?).map_err(|_| CryptoError::Decrypt)
    }

    /// The keyed blind index of a My Number in this municipality: equal numbers give equal indexes
    /// within one municipality, and nothing can be learned from it without the data key.
    pub fn blind_index(&self, my_number: &MyNumber) -> [u8; 32] {
        self.keyed_hash(b"my_number", my_number.expose().as_bytes())
    }

    /// A keyed hash for finding records by other fields than the My Number (e.g. kana name and
    /// birth date). `label` names what is hashed, so equal bytes of different fields never match,
    /// nor match a My Number's index.
    pub fn search_index(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut labelled = Vec::with_capacity(7 + label.len());
        labelled.extend_from_slice(b"search:");
        labelled.extend_from_slice(label.as_bytes());
        self.keyed_hash(&labelled, data)
    }

    /// A keyed hash of a record's whole content, so storage can tell "unchanged" from "updated"
    /// without decrypting what it holds.
    pub fn content_mac(&self, content: &[u8]) -> [u8; 32] {
        self.keyed_hash(b"content", content)
    }

    fn keyed_hash(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.index);
        ctx.update(label);
        ctx.update(&[0]);
        ctx.update(data);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn aad(&self, column: &str, row: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(8 + column.len() + row.len());
        aad.extend_from_slice(self.municipality.as_str().as_bytes());
        aad.push(0);
        aad.extend_from_slice(column.as_bytes());
        aad.push(0);
        aad.extend_from_slice(row.as_bytes());
        aad
    }
}

struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn fill_okm(prk: &hkdf::Prk, info: &[u8], out: &mut [u8]) {
    let infos = [info];
    // Expansion only fails for outputs longer than 255 hash lengths; ours are 32 bytes.
    if let Ok(okm) = prk.expand(&infos, OkmLen(out.len())) {
        let _ = okm.fill(out);
    }
}

pub(crate) fn derive_aead(prk: &hkdf::Prk, info: &[u8]) -> aead::LessSafeKey {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    fill_okm(prk, info, bytes.as_mut());
    // A 32-byte key is always the right length for AES-256-GCM.
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes.as_ref())
        .unwrap_or_else(|_| unreachable!("AES-256 key length"));
    aead::LessSafeKey::new(unbound)
}

/// Seals with a random nonce prepended; used to wrap data keys.
pub(crate) fn seal_with(
    key: &aead::LessSafeKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    seal_owned(key, aad, plaintext.to_vec())
}

/// Seals `body` in place (no copy of a large plaintext), the random nonce in front.
pub(crate) fn seal_owned(
    key: &aead::LessSafeKey,
    aad: &[u8],
    mut body: Vec<u8>,
) -> Result<Vec<u8>, CryptoError> {
    body.reserve(aead::NONCE_LEN + aead::AES_256_GCM.tag_len());
    let mut nonce = [0u8; aead::NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(aad),
        &mut body,
    )
    .map_err(|_| CryptoError::Decrypt)?;
    body.splice(0..0, nonce);
    Ok(body)
}

/// Opens `sealed` into one new buffer (for large bodies: one copy, no second).
pub(crate) fn open_owned(
    key: &aead::LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < aead::NONCE_LEN {
        return Err(CryptoError::Decrypt);
    }
    let mut nonce = [0u8; aead::NONCE_LEN];
    nonce.copy_from_slice(&sealed[..aead::NONCE_LEN]);
    let mut body = sealed[aead::NONCE_LEN..].to_vec();
    let len = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut body,
        )
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    body.truncate(len);
    Ok(body)
}

pub(crate) fn open_with(
    key: &aead::LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    open_owned(key, aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cipher(code: &str) -> (FieldCipher, DataKey) {
        let key = DataKey::generate().unwrap();
        let code = MunicipalityCode::parse(code).unwrap();
        (FieldCipher::new(code, 1, &key), key)
    }

    #[test]
    fn sealed_field_opens_only_in_its_place() {
        let (c, key) = cipher("382060");
        let sealed = c
            .seal("residents.name", "100001", "西条　太郎".as_bytes())
            .unwrap();
        assert_eq!(
            c.open_text("residents.name", "100001", &sealed).unwrap(),
            "西条　太郎"
        );
        assert!(
            c.open("residents.name", "100002", &sealed).is_err(),
            "another row"
        );
        assert!(
            c.open("residents.name_kana", "100001", &sealed).is_err(),
            "another column"
        );
        let other = FieldCipher::new(MunicipalityCode::parse("131016").unwrap(), 1, &key);
        assert!(
            other.open("residents.name", "100001", &sealed).is_err(),
            "another municipality"
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            c.open("residents.name", "100001", &flipped).is_err(),
            "a flipped bit"
        );
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext_and_differs_each_time() {
        let (c, _) = cipher("382060");
        let a = c.seal("residents.my_number", "1", b"123456789018").unwrap();
        let b = c.seal("residents.my_number", "1", b"123456789018").unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(12).any(|w| w == b"123456789018"));
    }

    #[test]
    fn blind_index_is_per_municipality() {
        let n = MyNumber::parse("123456789018").unwrap();
        let (a, _) = cipher("382060");
        let (b, _) = cipher("382060");
        assert_eq!(a.blind_index(&n), a.blind_index(&n));
        assert_ne!(a.blind_index(&n), b.blind_index(&n), "another data key");
    }

    #[test]
    fn key_version_mismatch_is_named() {
        let key = DataKey::generate().unwrap();
        let code = MunicipalityCode::parse("382060").unwrap();
        let v1 = FieldCipher::new(code, 1, &key);
        let v2 = FieldCipher::new(code, 2, &key);
        let sealed = v1.seal("c", "r", b"x").unwrap();
        assert!(matches!(
            v2.open("c", "r", &sealed),
            Err(CryptoError::KeyVersion {
                expected: 2,
                found: 1
            })
        ));
    }

    proptest! {
        #[test]
        fn seal_open_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200), row in "[0-9]{1,15}") {
            let (c, _) = cipher("382060");
            let sealed = c.seal("col", &row, &data).unwrap();
            prop_assert_eq!(c.open("col", &row, &sealed).unwrap(), data);
        }
    }
}
