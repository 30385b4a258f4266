//! ES256 (ECDSA on P-256 with SHA-256) as JOSE uses it: public keys as JWK coordinates, signatures
//! as the 64-byte `r ‖ s`, and the RFC 7638 thumbprint that names a key (`kid`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

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
}
