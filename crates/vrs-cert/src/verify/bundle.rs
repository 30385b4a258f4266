//! The verifier bundle: the one file an offline verifier caches — the SMART Health Card issuers with
//! their key sets and CRLs, the EU DCC document signers, the CSCAs of VDS-NC signers and the lists
//! of revoked DCC and VDS-NC identifiers — as the server publishes it at
//! `/.well-known/vrs-verifier-bundle.json`. [`Trust::from_bundle`] turns it into the trust
//! [`super::verify`] checks against, refusing a bundle with a malformed entry and naming it.

use chrono::{DateTime, Utc};
use serde_json::Value;
use vrs_crypto::x509::Certificate;

use super::Trust;
use crate::dcc::revocation::{RevocationError, RevocationList};
use crate::shc::{self, CrlError};

/// Everything an offline verifier trusts, with the revocations known at `generated_at`.
///
/// ```json
/// {"generated_at": "2026-12-01T00:00:00Z",
///  "shc_issuers": [{"iss": "https://…/issuer/131016", "jwks": {"keys": […]},
///                   "crls": [{"kid": "…", "method": "rid", "ctr": 1, "rids": ["…"]}]}],
///  "document_signers": ["<base64 DER>"], "cscas": ["<base64 DER>"],
///  "revocations": [{"kid": "<base64>", "hashType": "UCI", "entries": ["<base64>"]}]}
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerifierBundle {
    /// When the server assembled the bundle: the revocations are those known then.
    pub generated_at: DateTime<Utc>,
    #[serde(default)]
    pub shc_issuers: Vec<BundleIssuer>,
    /// EU DCC document signer certificates, base64 of their DER.
    #[serde(default)]
    pub document_signers: Vec<String>,
    /// CSCA certificates whose VDS-NC barcode signers are trusted, base64 of their DER.
    #[serde(default)]
    pub cscas: Vec<String>,
    /// Revoked EU DCC (`"UCI"`) and VDS-NC (`"VDS-NC-UVCI"`) identifiers per document signer.
    #[serde(default)]
    pub revocations: Vec<RevocationList>,
}

/// One SMART Health Card issuer in a bundle: its `iss` URL, its key set as published at
/// `/.well-known/jwks.json` (a key with `crlVersion` has a CRL) and the CRLs of its keys.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BundleIssuer {
    pub iss: String,
    pub jwks: Value,
    #[serde(default)]
    pub crls: Vec<shc::Crl>,
}

/// A bundle refused, naming the entry at fault (e.g. `revocations[2]`).
#[derive(Debug, thiserror::Error)]
#[error("{entry}: {problem}")]
pub struct BundleError {
    pub entry: String,
    pub problem: BundleProblem,
}

/// What is wrong with a bundle entry.
#[derive(Debug, thiserror::Error)]
pub enum BundleProblem {
    #[error("not a verifier bundle: {0}")]
    Json(String),
    #[error("the issuer URL is empty")]
    NoIssuer,
    #[error("the key set has no \"keys\" array")]
    NoKeySet,
    #[error("not a certificate (base64 of DER): {0}")]
    Certificate(String),
    #[error("{0}")]
    Crl(CrlError),
    #[error("{0}")]
    Revocation(RevocationError),
    #[error(
        "key {kid} announces CRL version {version}, but the bundle holds {}",
        .held.map_or("no CRL for it".to_owned(), |ctr| format!("only version {ctr}"))
    )]
    MissingCrl {
        kid: String,
        version: u64,
        held: Option<u64>,
    },
}

impl VerifierBundle {
    /// An empty bundle assembled at `generated_at`.
    pub fn new(generated_at: DateTime<Utc>) -> Self {
        Self {
            generated_at,
            shc_issuers: Vec::new(),
            document_signers: Vec::new(),
            cscas: Vec::new(),
            revocations: Vec::new(),
        }
    }

    /// Reads a bundle's JSON; a document of the wrong shape is refused with the line and column.
    pub fn from_json(text: &str) -> Result<Self, BundleError> {
        serde_json::from_str(text).map_err(|e| BundleError {
            entry: "the bundle".into(),
            problem: BundleProblem::Json(e.to_string()),
        })
    }

    /// The bundle as JSON, the form the server publishes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Trust {
    /// The trust an offline verifier keeps in its cached bundle: every issuer, signer and CSCA of
    /// the bundle, with its revocations. Refused, naming the entry, when any entry is malformed:
    /// a certificate that is not base64 DER, a CRL of another method than `"rid"` or with a bad
    /// entry, a revocation list of unknown `hashType` or with a bad entry, or an issuer key that
    /// announces a CRL (`crlVersion`) the bundle does not hold in that version.
    pub fn from_bundle(bundle: &VerifierBundle) -> Result<Trust, BundleError> {
        let mut trust = Trust::new();
        for (i, issuer) in bundle.shc_issuers.iter().enumerate() {
            let entry = format!("shc_issuers[{i}] ({})", issuer.iss);
            let bad = |problem| BundleError {
                entry: entry.clone(),
                problem,
            };
            if issuer.iss.is_empty() {
                return Err(bad(BundleProblem::NoIssuer));
            }
            if !issuer.jwks["keys"].is_array() {
                return Err(bad(BundleProblem::NoKeySet));
            }
            trust.add_shc_issuer(&issuer.iss, &issuer.jwks);
            for (j, crl) in issuer.crls.iter().enumerate() {
                trust
                    .add_shc_crl(&issuer.iss, crl.clone())
                    .map_err(|e| BundleError {
                        entry: format!("{entry}.crls[{j}]"),
                        problem: BundleProblem::Crl(e),
                    })?;
            }
            let published = shc::Issuer::from_jwks(&issuer.iss, &issuer.jwks);
            for kid in published.kids() {
                let Some(version) = published.crl_version(kid) else {
                    continue;
                };
                let held = trust.shc_crl(&issuer.iss, kid).map(|crl| crl.ctr);
                if held.is_none_or(|ctr| ctr < version) {
                    return Err(bad(BundleProblem::MissingCrl {
                        kid: kid.to_owned(),
                        version,
                        held,
                    }));
                }
            }
        }
        for (i, der) in bundle.document_signers.iter().enumerate() {
            trust.add_document_signer(certificate(der, || format!("document_signers[{i}]"))?);
        }
        for (i, der) in bundle.cscas.iter().enumerate() {
            trust.add_csca(certificate(der, || format!("cscas[{i}]"))?);
        }
        for (i, list) in bundle.revocations.iter().enumerate() {
            trust
                .add_dcc_revocations(list.clone())
                .map_err(|e| BundleError {
                    entry: format!("revocations[{i}]"),
                    problem: BundleProblem::Revocation(e),
                })?;
        }
        Ok(trust)
    }

    /// Adds everything a bundle holds to this trust (as [`Trust::from_bundle`] reads it), so a
    /// bundle and trust given otherwise combine; nothing is added when the bundle is refused.
    pub fn add_bundle(&mut self, bundle: &VerifierBundle) -> Result<&mut Self, BundleError> {
        let other = Trust::from_bundle(bundle)?;
        self.shc_issuers.extend(other.shc_issuers);
        for (iss, crl) in other.shc_crls {
            // Already checked when the bundle was read.
            let _ = self.add_shc_crl(&iss, crl);
        }
        self.dcc.extend(other.dcc);
        self.cscas.extend(other.cscas);
        self.revocations.extend(other.revocations);
        Ok(self)
    }
}

fn certificate(base64: &str, entry: impl Fn() -> String) -> Result<Certificate, BundleError> {
    Certificate::from_base64(base64).map_err(|e| BundleError {
        entry: entry(),
        problem: BundleProblem::Certificate(e.to_string()),
    })
}
