//! Revocation of EU DCCs and VDS-NC seals by a hash of their certificate identifier, in the shape
//! of the EU DCC revocation lists: per document signer (by its 8-byte key id) a list of the first
//! 128 bits of SHA-256 of each revoked identifier, base64 (hash type `"UCI"`: the UVCI exactly as
//! in the certificate's `ci`). The same shape revokes the ICAO VDS-NC seals the same signers sign,
//! under hash type `"VDS-NC-UVCI"` (the seal's `msg.uvci`), so overseas certificates can be
//! revoked too. The list names only hashes: it says nothing about a certificate one does not hold.
//!
//! Publishing the lists is the issuing side's; applying them after the signature is
//! [`crate::verify::Trust`]'s.

use std::collections::HashSet;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

/// `hashType` of lists that revoke EU DCCs by the UVCI in `ci`.
pub const HASH_TYPE_UCI: &str = "UCI";
/// `hashType` of lists that revoke VDS-NC seals by their `uvci`.
pub const HASH_TYPE_VDS_NC_UVCI: &str = "VDS-NC-UVCI";

/// What a list's hashes are of, and so which codes it revokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashType {
    /// EU DCC: the UVCI of each `v[].ci` (and `t[]`, `r[]`).
    Uci,
    /// ICAO VDS-NC: the seal's `msg.uvci`.
    VdsNcUvci,
}

impl HashType {
    /// The type a list's `hashType` names, if known.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            HASH_TYPE_UCI => Some(Self::Uci),
            HASH_TYPE_VDS_NC_UVCI => Some(Self::VdsNcUvci),
            _ => None,
        }
    }

    /// The `hashType` written in a list.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uci => HASH_TYPE_UCI,
            Self::VdsNcUvci => HASH_TYPE_VDS_NC_UVCI,
        }
    }

    /// The hash of an identifier in a list of this type.
    pub fn hash(self, uvci: &str) -> [u8; 16] {
        match self {
            Self::Uci => uci_hash(uvci),
            Self::VdsNcUvci => vds_nc_uvci_hash(uvci),
        }
    }
}

/// The EU "UCI" revocation hash of a DCC: the first 128 bits of SHA-256 of its UVCI, the string
/// exactly as in the `ci` field (e.g. `URN:UVCI:01:JP:…#C`).
pub fn uci_hash(uvci: &str) -> [u8; 16] {
    truncated_sha256(uvci)
}

/// The "VDS-NC-UVCI" revocation hash of a seal: the first 128 bits of SHA-256 of its `uvci`.
pub fn vds_nc_uvci_hash(uvci: &str) -> [u8; 16] {
    truncated_sha256(uvci)
}

fn truncated_sha256(text: &str) -> [u8; 16] {
    let digest = vrs_crypto::sha256(text.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The revoked certificates of one document signer: `kid` is base64 of the signer's 8-byte key id
/// ([`super::kid`] of its DER), `hashType` says what the entries are hashes of (`"UCI"` for EU
/// DCCs, `"VDS-NC-UVCI"` for VDS-NC seals) and `entries` are base64 of the 16-byte hashes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RevocationList {
    pub kid: String,
    #[serde(rename = "hashType")]
    pub hash_type: String,
    pub entries: Vec<String>,
}

/// Why a revocation list cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("kid is not base64 of an 8-byte key id")]
    Kid,
    #[error("hashType {0:?} is unknown (\"UCI\" and \"VDS-NC-UVCI\" are known)")]
    HashType(String),
    #[error("entries[{0}] is not base64 of a 16-byte hash")]
    Entry(usize),
}

impl RevocationList {
    /// The list of signer `kid` revoking the certificates `uvcis` (each as in the code: the DCC's
    /// `ci`, or the seal's `uvci`).
    pub fn for_uvcis<'a>(
        kid: [u8; 8],
        hash_type: HashType,
        uvcis: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        Self {
            kid: STANDARD.encode(kid),
            hash_type: hash_type.name().to_owned(),
            entries: uvcis
                .into_iter()
                .map(|uvci| STANDARD.encode(hash_type.hash(uvci)))
                .collect(),
        }
    }

    /// Whether the list names `uvci` (hashed by the list's own type). A list of unknown type
    /// names nothing; entries that are not base64 of 16 bytes are skipped.
    pub fn contains(&self, uvci: &str) -> bool {
        let Some(hash_type) = HashType::parse(&self.hash_type) else {
            return false;
        };
        let hash = hash_type.hash(uvci);
        self.entries
            .iter()
            .any(|e| decode(e).is_some_and(|bytes| bytes == hash))
    }

    /// The list decoded for lookups, or the first part of it that is malformed.
    pub fn decode(&self) -> Result<DecodedList, RevocationError> {
        let kid: [u8; 8] = decode(&self.kid)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(RevocationError::Kid)?;
        let hash_type = HashType::parse(&self.hash_type)
            .ok_or_else(|| RevocationError::HashType(self.hash_type.clone()))?;
        let hashes = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                decode(e)
                    .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
                    .ok_or(RevocationError::Entry(i))
            })
            .collect::<Result<_, _>>()?;
        Ok(DecodedList {
            kid,
            hash_type,
            hashes,
        })
    }
}

/// A checked [`RevocationList`], ready for lookups by the verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedList {
    kid: [u8; 8],
    hash_type: HashType,
    hashes: HashSet<[u8; 16]>,
}

impl DecodedList {
    /// Whether this list revokes the certificate `uvci` signed by the signer with key id `kid`,
    /// the code being of the kind `hash_type` names.
    pub fn revokes(&self, kid: &[u8; 8], hash_type: HashType, uvci: &str) -> bool {
        self.kid == *kid
            && self.hash_type == hash_type
            && self.hashes.contains(&hash_type.hash(uvci))
    }
}

/// Standard base64, with or without padding.
fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const UVCI: &str = "URN:UVCI:01:JP:1310167K3M9Q2XWZ4HX#Q";

    #[test]
    fn the_uci_hash_is_the_first_128_bits_of_sha256_of_the_uvci() {
        // printf %s 'URN:UVCI:01:JP:1310167K3M9Q2XWZ4HX#Q' | sha256sum, first 32 hex digits.
        let expected = "370d38a0e5085c7e7bc110c4aaec7eb7";
        let hex: String = uci_hash(UVCI).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_eq!(vds_nc_uvci_hash("7K3M9Q2XWZ4H"), uci_hash("7K3M9Q2XWZ4H"));
        assert_ne!(
            uci_hash(UVCI),
            uci_hash("URN:UVCI:01:JP:1310167K3M9Q2XWZ4HY#Q")
        );
    }

    #[test]
    fn a_list_names_its_uvcis_and_no_other() {
        let list = RevocationList::for_uvcis([7; 8], HashType::Uci, [UVCI]);
        assert_eq!(list.kid, "BwcHBwcHBwc=");
        assert_eq!(list.hash_type, "UCI");
        assert!(list.contains(UVCI));
        assert!(!list.contains("URN:UVCI:01:JP:1310167K3M9Q2XWZ4HY#Q"));
        let decoded = list.decode().unwrap();
        assert!(decoded.revokes(&[7; 8], HashType::Uci, UVCI));
        assert!(!decoded.revokes(&[8; 8], HashType::Uci, UVCI));
        assert!(!decoded.revokes(&[7; 8], HashType::VdsNcUvci, UVCI));
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["hashType"], "UCI");
        assert_eq!(
            serde_json::from_value::<RevocationList>(json).unwrap(),
            list
        );
    }

    #[test]
    fn a_malformed_list_is_refused_naming_the_part() {
        let good = RevocationList::for_uvcis([7; 8], HashType::VdsNcUvci, ["A", "B"]);
        let mut kid = good.clone();
        kid.kid = "AAAA".into();
        assert_eq!(kid.decode(), Err(RevocationError::Kid));
        let mut hash_type = good.clone();
        hash_type.hash_type = "SIGNATURE".into();
        assert_eq!(
            hash_type.decode(),
            Err(RevocationError::HashType("SIGNATURE".into()))
        );
        assert!(!hash_type.contains("A"));
        let mut entry = good.clone();
        entry.entries[1] = "not base64!".into();
        assert_eq!(entry.decode(), Err(RevocationError::Entry(1)));
        assert!(entry.contains("A"), "the good entries still count");
    }
}
