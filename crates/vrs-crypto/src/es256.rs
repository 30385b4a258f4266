//! ES256 (ECDSA on P-256 with SHA-256) as JOSE uses it: public keys as JWK coordinates, signatures
//! as the 64-byte `r ‖ s`, and the RFC 7638 thumbprint that names a key (`kid`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};

use crate::CryptoError;

/// A P-256 public key from its JWK coordinates (base64url `x` and `y`, 32 bytes each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    point: Vec<u8>,
}

impl PublicKey {
    /// `None` when a coordinate is not 32 bytes of base64url.
    pub fn from_jwk(x: &str, y: &str) -> Option<Self> {
        let (x, y) = (B64URL.decode(x).ok()?, B64URL.decode(y).ok()?);
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Some(Self { point })
    }

    /// Whether `signature` (`r ‖ s`) signs `message` with this key.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.point)
            .verify(message, signature)
            .is_ok()
    }
}

/// An ES256 signing key. `Debug` never shows it.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid())
    }
}

impl SigningKey {
    /// A new random key and its PKCS#8 document (for storage, sealed).
    pub fn generate() -> Result<(Self, Vec<u8>), CryptoError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| CryptoError::Random)?;
        let key = Self::from_pkcs8(pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self { pair, rng })
    }

    /// A key from JWK members (base64url `d`, `x`, `y`), as published example keys are given.
    pub fn from_jwk(d: &str, x: &str, y: &str) -> Result<Self, CryptoError> {
        let d = B64URL.decode(d).map_err(|_| CryptoError::KeyFormat)?;
        let public = PublicKey::from_jwk(x, y).ok_or(CryptoError::KeyFormat)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &d,
            &public.point,
            &rng,
        )
        .map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self { pair, rng })
    }

    /// The public key's JWK coordinates (base64url `x`, `y`).
    pub fn public_jwk(&self) -> (String, String) {
        let point = self.pair.public_key().as_ref();
        (B64URL.encode(&point[1..33]), B64URL.encode(&point[33..65]))
    }

    /// The key's `kid`: its RFC 7638 thumbprint.
    pub fn kid(&self) -> String {
        let (x, y) = self.public_jwk();
        jwk_thumbprint(&x, &y)
    }

    /// The 64-byte `r ‖ s` signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Random)
    }
}

/// The RFC 7638 thumbprint of an EC P-256 JWK: base64url SHA-256 of `{"crv","kty","x","y"}`.
pub fn jwk_thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    B64URL.encode(crate::sha256(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_of_the_shc_example_key_is_its_kid() {
        // The SMART Health Cards example issuer key (spec.smarthealth.cards/examples/issuer).
        assert_eq!(
            jwk_thumbprint(
                "11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw",
                "eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8"
            ),
            "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
        );
        assert!(PublicKey::from_jwk("AAAA", "BBBB").is_none());
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_and_message() {
        let (key, pkcs8) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key.kid(), again.kid());
        let (x, y) = key.public_jwk();
        let public = PublicKey::from_jwk(&x, &y).unwrap();
        let sig = key.sign(b"card").unwrap();
        assert_eq!(sig.len(), 64);
        assert!(public.verifies(b"card", &sig));
        assert!(!public.verifies(b"cart", &sig));
        let (other, _) = SigningKey::generate().unwrap();
        assert!(!public.verifies(b"card", &other.sign(b"card").unwrap()));
    }
}
