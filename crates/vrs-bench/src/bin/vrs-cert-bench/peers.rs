//! What the peers in `bench/certs/peers/` exchange with this bench: the files `--payloads` writes
//! for them, and the `--check` of the codes they issue from those files.

use std::path::Path;

use serde_json::{json, Value};
use vrs_cert::dcc::{self, TrustList};
use vrs_cert::shc::{self, Issuer};
use vrs_crypto::es256::SigningKey;
use vrs_crypto::x509::Certificate;

use super::{Failure, ISSUER_URL};

pub(super) fn write(dir: &Path, name: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

fn read(dir: &Path, name: &str) -> Result<String, Failure> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}").into())
}

fn unpem(text: &str) -> Result<Vec<u8>, Failure> {
    Ok(vrs_crypto::x509::der_from_der_or_pem(text.as_bytes())?)
}

/// `--check`: every `out-peer.shc.*` must verify as a card of our issuer carrying our payload,
/// every `out-peer.dcc.*` as a DCC of our signer carrying our certificate JSON.
pub(super) fn check(dir: &Path) -> Result<(), Failure> {
    let key = SigningKey::from_pkcs8(&unpem(&read(dir, "shc-key.pem")?)?)?;
    let (x, y) = key.public_jwk();
    let jwks = json!({"keys": [{"kty": "EC", "kid": key.kid(), "crv": "P-256", "x": x, "y": y}]});
    let trusted = [Issuer::from_jwks(ISSUER_URL, &jwks)];
    let signer = Certificate::from_der(&unpem(&read(dir, "dsc-cert.pem")?)?)?;
    let trust = TrustList::of(signer.clone());
    let shc_payload: Value = serde_json::from_str(&read(dir, "shc-payload.json")?)?;
    let claims: Value = serde_json::from_str(&read(dir, "dcc-claims.json")?)?;
    let clock = claims["iat"].as_i64().ok_or("iat")? + 60;
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("out-peer.") && n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut failed = 0;
    for name in names {
        let text = read(dir, &name)?;
        let outcome = if name.starts_with("out-peer.shc.") {
            shc::verify_qr(&text, &trusted)
                .map_err(|e| e.to_string())
                .and_then(|card| match card.payload == shc_payload {
                    true => Ok(()),
                    false => Err("verifies, but carries another payload".into()),
                })
        } else {
            dcc::verify(&text, &trust, clock)
                .map_err(|e| e.to_string())
                .and_then(|dcc| match dcc.payload == claims["dcc"] {
                    true => Ok(()),
                    false => Err("verifies, but carries another certificate".into()),
                })
        };
        match outcome {
            Ok(()) => println!(
                "{name}: verifies with vrs, same payload ({} characters)",
                text.len()
            ),
            Err(why) => {
                failed += 1;
                println!("{name}: REFUSED: {why}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} peer codes refused").into()),
    }
}
