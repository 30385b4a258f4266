//! JOSE signature checks for the keys machine clients register (RFC 7515, 7517, 7518): a client
//! signs its token-endpoint assertion with ES256, ES384 or RS384 (the algorithms SMART Backend
//! Services names). Keys come as JWK members (base64url); a signature is checked only with the
//! algorithm its key is for, so a key of one kind never verifies a signature claimed as another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED,
    RSA_PKCS1_2048_8192_SHA384,
};

/// A signature algorithm a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Es384,
    Rs384,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Es384, Algorithm::Rs384];

    /// The `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Rs384 => "RS384",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// A public key of a registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyingKey {
    /// An EC key: its curve's algorithm and the uncompressed point.
    Ec { alg: Algorithm, point: Vec<u8> },
    /// An RSA key (2048 bits at least): modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// Why a JWK is not a usable public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unsupported key type or curve (EC P-256, EC P-384 or RSA)")]
    Unsupported,
    #[error("a key member is not base64url or has the wrong length")]
    Encoding,
    #[error("an RSA key must have at least 2048 bits")]
    TooShort,
}

impl VerifyingKey {
    /// An EC key from its `crv`, `x` and `y`.
    pub fn ec(crv: &str, x: &str, y: &str) -> Result<Self, KeyError> {
        let (alg, size) = match crv {
            "P-256" => (Algorithm::Es256, 32),
            "P-384" => (Algorithm::Es384, 48),
            _ => return Err(KeyError::Unsupported),
        };
        let x = B64URL.decode(x).map_err(|_| KeyError::Encoding)?;
        let y = B64URL.decode(y).map_err(|_| KeyError::Encoding)?;
        if x.len() != size || y.len() != size {
            return Err(KeyError::Encoding);
        }
        let mut point = Vec::with_capacity(1 + 2 * size);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Ok(VerifyingKey::Ec { alg, point })
    }

    /// An RSA key from its `n` and `e`.
    pub fn rsa(n: &str, e: &str) -> Result<Self, KeyError> {
        let n = B64URL.decode(n).map_err(|_| KeyError::Encoding)?;
        let e = B64URL.decode(e).map_err(|_| KeyError::Encoding)?;
        let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
        if bits < 2048 {
            return Err(KeyError::TooShort);
        }
        if e.is_empty() || e.len() > 4 {
            return Err(KeyError::Encoding);
        }
        Ok(VerifyingKey::Rsa { n, e })
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::Ec { alg, .. } => *alg,
            VerifyingKey::Rsa { .. } => Algorithm::Rs384,
        }
    }

    /// Whether `signature` signs `message` with this key under `alg` (JOSE's `r ‖ s` for EC).
    pub fn verifies(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if alg != self.algorithm() {
            return false;
        }
        match self {
            VerifyingKey::Ec { point, .. } => {
                let curve = match alg {
                    Algorithm::Es256 => &ECDSA_P256_SHA256_FIXED,
                    _ => &ECDSA_P384_SHA384_FIXED,
                };
                UnparsedPublicKey::new(curve, point)
                    .verify(message, signature)
                    .is_ok()
            }
            VerifyingKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA384, message, signature)
                .is_ok(),
        }
    }
}

/// The three parts of a compact JWS, decoded: header and payload bytes, the signing input and the
/// signature. `None` when it is not three base64url parts.
pub struct Compact {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Compact {
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Compact {
            header: B64URL.decode(h).ok()?,
            payload: B64URL.decode(p).ok()?,
            signing_input: format!("{h}.{p}").into_bytes(),
            signature: B64URL.decode(s).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};

    #[test]
    fn a_p384_signature_verifies_only_as_es384_with_its_key() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let key = VerifyingKey::ec(
            "P-384",
            &B64URL.encode(&point[1..49]),
            &B64URL.encode(&point[49..]),
        )
        .unwrap();
        let signature = pair.sign(&rng, b"a.b").unwrap();
        assert!(key.verifies(Algorithm::Es384, b"a.b", signature.as_ref()));
        assert!(!key.verifies(Algorithm::Es256, b"a.b", signature.as_ref()));
        assert!(!key.verifies(Algorithm::Es384, b"a.c", signature.as_ref()));
        assert_eq!(
            VerifyingKey::ec("P-521", "AA", "AA"),
            Err(KeyError::Unsupported)
        );
        assert_eq!(
            VerifyingKey::ec("P-256", "AAAA", "AAAA"),
            Err(KeyError::Encoding)
        );
        assert_eq!(
            VerifyingKey::rsa(&B64URL.encode([0xffu8; 128]), "AQAB"),
            Err(KeyError::TooShort)
        );
    }

    #[test]
    fn a_compact_jws_has_exactly_three_parts() {
        assert!(Compact::parse("e30.e30.AAAA").is_some());
        assert!(Compact::parse("e30.e30").is_none());
        assert!(Compact::parse("e30.e30.AA.AA").is_none());
        assert!(Compact::parse("e30.e3!.AAAA").is_none());
    }
}
