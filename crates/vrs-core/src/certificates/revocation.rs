//! What verifiers are told about revoked certificates, made from the issuance history (which
//! carries no personal field into these lists):
//!
//! - per SMART Health Card key, the spec's CRL `{iss}/.well-known/crl/{kid}.json` listing the
//!   `rid` of each revoked card, and `crlVersion` on that key in the issuer's JWKS;
//! - per document signer, the EU DCC list of UVCI hashes (`hashType` `UCI`) and the same for the
//!   ICAO VDS-NC seals of overseas certificates (`VDS-NC-UVCI`);
//! - the verifier bundle: every key, signer, CSCA, CRL and list in one file that an offline
//!   verifier keeps and refreshes when it can.
//!
//! Revocation is final, so a list only grows and its `ctr` (the number of revoked certificates
//! under the key) only rises.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use vrs_cert::dcc::revocation::{HashType, RevocationList};
use vrs_cert::{dcc, shc};
use vrs_domain::CertificateKind;
use vrs_store::{CertificateStore, KeyPurpose, RevokedCertificate};

use crate::certificates::signing::{IssuerSettings, SigningError};

/// How many certificates each SHC key has revoked (its `crlVersion`), by `kid`.
pub async fn crl_versions(
    store: &(impl CertificateStore + ?Sized),
) -> Result<BTreeMap<String, u64>, SigningError> {
    Ok(versions_of(&store.revoked_certificates().await?))
}

fn versions_of(revoked: &[RevokedCertificate]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in revoked {
        *out.entry(r.shc_kid.clone()).or_insert(0) += 1;
    }
    out
}

/// The CRL of SHC key `kid` of `issuer`, or None when the issuer has no such key.
pub async fn shc_crl(
    store: &(impl CertificateStore + ?Sized),
    issuer: &str,
    kid: &str,
) -> Result<Option<shc::Crl>, SigningError> {
    let keys = store.signing_keys(KeyPurpose::Shc).await?;
    if !keys.iter().any(|k| k.issuer == issuer && k.kid == kid) {
        return Ok(None);
    }
    let revoked = store.revoked_certificates().await?;
    Ok(Some(crl_of(kid, &revoked)))
}

fn crl_of(kid: &str, revoked: &[RevokedCertificate]) -> shc::Crl {
    let rids: Vec<String> = revoked
        .iter()
        .filter(|r| r.shc_kid == kid)
        .map(|r| shc::rid(&r.certificate_id))
        .collect();
    shc::Crl {
        kid: kid.to_owned(),
        method: "rid".into(),
        ctr: rids.len() as u64,
        rids,
    }
}

/// The revocation lists of document signer `kid_hex` (its 8-byte key id in hex, as in the trust
/// list): EU DCCs by UVCI hash, and VDS-NC seals of overseas certificates. None when the kid is
/// not one of the deployment's signers.
pub async fn signer_lists(
    store: &(impl CertificateStore + ?Sized),
    kid_hex: &str,
) -> Result<Option<Vec<RevocationList>>, SigningError> {
    let signers = store.signing_keys(KeyPurpose::DocumentSigner).await?;
    if !signers.iter().any(|k| k.kid == kid_hex) {
        return Ok(None);
    }
    let revoked = store.revoked_certificates().await?;
    Ok(lists_of(kid_hex, &revoked))
}

fn lists_of(kid_hex: &str, revoked: &[RevokedCertificate]) -> Option<Vec<RevocationList>> {
    let kid: [u8; 8] = hex::decode(kid_hex).ok()?.try_into().ok()?;
    let mine: Vec<&RevokedCertificate> = revoked.iter().filter(|r| r.dsc_kid == kid_hex).collect();
    let uvcis: Vec<String> = mine
        .iter()
        .map(|r| {
            dcc::Uvci::for_certificate(&r.certificate_id)
                .as_str()
                .to_owned()
        })
        .collect();
    let seals: Vec<&str> = mine
        .iter()
        .filter(|r| r.kind == CertificateKind::Overseas)
        .map(|r| r.certificate_id.random_part())
        .collect();
    Some(vec![
        RevocationList::for_uvcis(kid, HashType::Uci, uvcis.iter().map(String::as_str)),
        RevocationList::for_uvcis(kid, HashType::VdsNcUvci, seals),
    ])
}

/// Everything an offline verifier of this deployment needs, as of `now`: each SHC issuer's keys
/// (with `crlVersion`) and CRLs, every document signer and CSCA, and the signers' revocation
/// lists — the file `vrs cert verify --bundle` reads.
pub async fn verifier_bundle(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    now: DateTime<Utc>,
) -> Result<Value, SigningError> {
    let revoked = store.revoked_certificates().await?;
    let shc_keys = store.signing_keys(KeyPurpose::Shc).await?;
    let mut issuers: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for k in &shc_keys {
        if let Ok(jwk) = serde_json::from_slice::<Value>(&k.public_part) {
            issuers.entry(k.issuer.as_str()).or_default().push(jwk);
        }
    }
    // The versions and the CRLs come from one read, so a revocation made meanwhile can never
    // leave a key announcing a CRL newer than the one the bundle holds.
    let versions = versions_of(&revoked);
    let shc_issuers: Vec<Value> = issuers
        .into_iter()
        .map(|(issuer, keys)| {
            let kids: Vec<String> = keys
                .iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                .collect();
            let crls: Vec<shc::Crl> = kids
                .iter()
                .filter(|kid| versions.contains_key(*kid))
                .map(|kid| crl_of(kid, &revoked))
                .collect();
            json!({
                "iss": settings.shc_issuer_url(issuer),
                "jwks": with_crl_versions(json!({ "keys": keys }), &versions),
                "crls": crls,
            })
        })
        .collect();
    let signers = store.signing_keys(KeyPurpose::DocumentSigner).await?;
    let cscas = store.signing_keys(KeyPurpose::Csca).await?;
    let revocations: Vec<RevocationList> = signers
        .iter()
        .filter_map(|s| lists_of(&s.kid, &revoked))
        .flatten()
        .filter(|l| !l.entries.is_empty())
        .collect();
    Ok(json!({
        "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "shc_issuers": shc_issuers,
        "document_signers": signers.iter().map(|s| B64.encode(&s.public_part)).collect::<Vec<_>>(),
        "cscas": cscas.iter().map(|c| B64.encode(&c.public_part)).collect::<Vec<_>>(),
        "revocations": revocations,
    }))
}

/// A JWKS with `crlVersion` on each key that has revoked cards.
pub fn with_crl_versions(mut jwks: Value, versions: &BTreeMap<String, u64>) -> Value {
    if let Some(keys) = jwks["keys"].as_array_mut() {
        for key in keys {
            let version = key["kid"]
                .as_str()
                .and_then(|kid| versions.get(kid))
                .copied();
            if let (Some(v), Some(obj)) = (version, key.as_object_mut()) {
                obj.insert("crlVersion".into(), json!(v));
            }
        }
    }
    jwks
}
