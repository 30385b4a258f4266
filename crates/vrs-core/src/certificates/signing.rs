//! The certificate issuers' keys: who signs (each municipality, or one national issuer), their
//! SMART Health Card keys published as a JWKS, and the EU DCC / ICAO VDS-NC document signers under
//! the deployment's CSCA. Keys are made the first time they are needed (concurrent nodes agree on the
//! first stored), rotated on the operator's command, and never deleted: a retired key keeps
//! verifying what it signed.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vrs_cert::dcc;
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{self, Csca};
use vrs_domain::{AuditAction, MunicipalityCode};
use vrs_store::{AuditScope, CertificateStore, KeyPurpose, SigningKeyInfo, StoreError};

use crate::Actor;

pub mod offline;

/// The issuer name of the one national issuer and of the deployment's CSCA.
pub const NATIONAL: &str = "national";

/// Who signs certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerMode {
    /// Each municipality signs its own residents' certificates with its own keys.
    Municipality,
    /// One national issuer signs for every municipality (as Japan's app did).
    National,
}

/// The deployment's certificate settings.
#[derive(Clone, Debug)]
pub struct IssuerSettings {
    pub mode: IssuerMode,
    /// The public base URL the SHC issuer URLs hang from, without a trailing slash
    /// (e.g. `https://vc.vrs.example.jp`).
    pub base_url: String,
    /// The deployment's name in its CSCA (e.g. "VRS Japan").
    pub deployment_name: String,
    /// Certificates for trying only (the demo): an issuer URL without https is allowed. Everywhere
    /// else a SMART Health Card is signed only under an https issuer ("Issuer URL SHALL use
    /// https"), since the URL is signed into every card for good.
    pub trial: bool,
}

impl IssuerSettings {
    /// The issuer that signs for `municipality`'s residents.
    pub fn issuer_of(&self, municipality: MunicipalityCode) -> String {
        match self.mode {
            IssuerMode::Municipality => municipality.as_str().to_owned(),
            IssuerMode::National => NATIONAL.to_owned(),
        }
    }

    /// Why certificates cannot be signed under these settings: an issuer URL that is not https
    /// outside a trial. `None` when they can.
    pub fn unfit_issuer_url(&self) -> Option<&str> {
        (!self.trial && !self.base_url.starts_with("https://")).then_some(self.base_url.as_str())
    }

    /// The SHC `iss` URL of an issuer; its key set is at `{iss}/.well-known/jwks.json`.
    pub fn shc_issuer_url(&self, issuer: &str) -> String {
        let base = self.base_url.trim_end_matches('/');
        if issuer == NATIONAL {
            format!("{base}/issuer")
        } else {
            format!("{base}/issuer/{issuer}")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key: {0}")]
    Key(String),
    /// The CSCA is held offline and `issuer` has no document signer valid now.
    #[error(
        "{0} has no document signer valid now, and the CSCA is held offline: make a request with \
         `vrs keys request --issuer {0}`, have the CSCA sign it, and load the certificate with \
         `vrs keys import-dsc`"
    )]
    OfflineCsca(String),
    /// A certificate or request given by the operator is refused.
    #[error("{0}")]
    Refused(String),
}

fn key_error(e: impl std::fmt::Display) -> SigningError {
    SigningError::Key(e.to_string())
}

fn chain_of(issuer: &str) -> AuditScope {
    MunicipalityCode::parse(issuer)
        .map(AuditScope::Area)
        .unwrap_or(AuditScope::National)
}

/// An issuer's SMART Health Card key, ready to sign.
pub struct ShcSigner {
    pub issuer_url: String,
    pub key: SigningKey,
}

/// An issuer's document signer (EU DCC and VDS-NC), ready to sign.
pub struct DocumentSigner {
    pub certificate_der: Vec<u8>,
    pub key: SigningKey,
}

/// The issuer's active SHC key, made when it has none.
pub async fn shc_signer(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    issuer: &str,
    actor: &Actor,
) -> Result<ShcSigner, SigningError> {
    let issuer_url = settings.shc_issuer_url(issuer);
    for _ in 0..2 {
        if let Some(active) = store.signing_key(issuer, KeyPurpose::Shc).await? {
            let key = SigningKey::from_pkcs8(&active.private_pkcs8).map_err(key_error)?;
            return Ok(ShcSigner { issuer_url, key });
        }
        new_shc_key(store, issuer, actor, false).await?;
    }
    Err(SigningError::Key(format!("no SHC key for {issuer}")))
}

async fn new_shc_key(
    store: &(impl CertificateStore + ?Sized),
    issuer: &str,
    actor: &Actor,
    rotate: bool,
) -> Result<String, SigningError> {
    let (key, pkcs8) = SigningKey::generate().map_err(key_error)?;
    let kid = key.kid();
    let (x, y) = key.public_jwk();
    let jwk = json!({"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256", "x": x, "y": y});
    let info = SigningKeyInfo {
        issuer: issuer.to_owned(),
        purpose: KeyPurpose::Shc,
        kid: kid.clone(),
        public_part: jwk.to_string().into_bytes(),
        created_at: Utc::now(),
        retired_at: None,
    };
    let action = AuditAction::signing_key(rotate);
    let audit = actor.audit(action, &format!("shc:{issuer}:{kid}"));
    store
        .put_signing_key(&info, &pkcs8, rotate, chain_of(issuer), &audit)
        .await?;
    Ok(kid)
}

/// The deployment's CSCA: its certificate, and its key unless the CSCA is held offline.
struct ActiveCsca {
    der: Vec<u8>,
    key: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// The deployment's CSCA, made (with its key kept here) when there is none. A CSCA imported with
/// [`import_csca`] has no key here: its document signers come from requests it signs offline.
async fn csca(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ActiveCsca, SigningError> {
    for _ in 0..2 {
        if let Some(active) = store.signing_key(NATIONAL, KeyPurpose::Csca).await? {
            let key = (!active.private_pkcs8.is_empty()).then_some(active.private_pkcs8);
            return Ok(ActiveCsca {
                der: active.info.public_part,
                key,
            });
        }
        let made = Csca::create(&settings.deployment_name, now.timestamp()).map_err(key_error)?;
        let info = SigningKeyInfo {
            issuer: NATIONAL.to_owned(),
            purpose: KeyPurpose::Csca,
            kid: hex::encode(dcc::kid(&made.certificate_der)),
            public_part: made.certificate_der.clone(),
            created_at: now,
            retired_at: None,
        };
        let audit = actor.audit(AuditAction::KeyCreate, &format!("csca:{}", info.kid));
        store
            .put_signing_key(
                &info,
                &made.private_key_pkcs8,
                false,
                AuditScope::National,
                &audit,
            )
            .await?;
    }
    Err(SigningError::Key("no CSCA".into()))
}

/// The issuer's active document signer, made (with the CSCA, when needed) when it has none or
/// when its certificate has ended.
pub async fn document_signer(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    issuer: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<DocumentSigner, SigningError> {
    for attempt in 0..2 {
        if let Some(active) = store
            .signing_key(issuer, KeyPurpose::DocumentSigner)
            .await?
        {
            let cert = vrs_crypto::x509::Certificate::from_der(&active.info.public_part)
                .map_err(key_error)?;
            if cert.not_after() > now.timestamp() || attempt > 0 {
                let key = SigningKey::from_pkcs8(&active.private_pkcs8).map_err(key_error)?;
                return Ok(DocumentSigner {
                    certificate_der: active.info.public_part,
                    key,
                });
            }
            new_document_signer(store, settings, issuer, actor, now, true).await?;
            continue;
        }
        new_document_signer(store, settings, issuer, actor, now, false).await?;
    }
    Err(SigningError::Key(format!(
        "no document signer for {issuer}"
    )))
}

async fn new_document_signer(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    issuer: &str,
    actor: &Actor,
    now: DateTime<Utc>,
    rotate: bool,
) -> Result<String, SigningError> {
    let csca = csca(store, settings, actor, now).await?;
    let Some(csca_key) = csca.key else {
        return Err(SigningError::OfflineCsca(issuer.to_owned()));
    };
    let (common_name, organization) = signer_names(settings, issuer);
    let made = pki::issue_document_signer(
        &csca.der,
        &csca_key,
        &common_name,
        "JP",
        &organization,
        now.timestamp(),
    )
    .map_err(key_error)?;
    let kid = hex::encode(dcc::kid(&made.certificate_der));
    let info = SigningKeyInfo {
        issuer: issuer.to_owned(),
        purpose: KeyPurpose::DocumentSigner,
        kid: kid.clone(),
        public_part: made.certificate_der.clone(),
        created_at: now,
        retired_at: None,
    };
    let action = AuditAction::signing_key(rotate);
    let audit = actor.audit(action, &format!("dsc:{issuer}:{kid}"));
    store
        .put_signing_key(
            &info,
            &made.private_key_pkcs8,
            rotate,
            chain_of(issuer),
            &audit,
        )
        .await?;
    Ok(kid)
}

/// The common name and organisation of `issuer`'s document signer certificate.
fn signer_names(settings: &IssuerSettings, issuer: &str) -> (String, String) {
    let organization = match MunicipalityCode::parse(issuer) {
        Ok(code) => code.info().name_en(),
        Err(_) => format!("{} national issuer", settings.deployment_name),
    };
    (
        format!("{} DSC {}", settings.deployment_name, issuer),
        organization,
    )
}

/// Replaces the issuer's active key of `purpose` (SHC key or document signer) with a new one; the
/// old one is kept, retired, for verification. Returns the new key's ID.
pub async fn rotate(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    issuer: &str,
    purpose: KeyPurpose,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, SigningError> {
    match purpose {
        KeyPurpose::Shc => new_shc_key(store, issuer, actor, true).await,
        KeyPurpose::DocumentSigner => {
            new_document_signer(store, settings, issuer, actor, now, true).await
        }
        KeyPurpose::Csca => Err(SigningError::Key(
            "the CSCA is not rotated: import a new one with `vrs keys import-csca`".into(),
        )),
    }
}

/// The SHC key set of `issuer` (or of every issuer with `None`), active and retired keys, as served
/// at `{iss}/.well-known/jwks.json`; a key that has revoked cards carries `crlVersion`.
pub async fn jwks(
    store: &(impl CertificateStore + ?Sized),
    issuer: Option<&str>,
) -> Result<Value, SigningError> {
    let keys = store.signing_keys(KeyPurpose::Shc).await?;
    let keys: Vec<Value> = keys
        .iter()
        .filter(|k| match issuer {
            Some(i) => k.issuer == i,
            None => true,
        })
        .filter_map(|k| serde_json::from_slice(&k.public_part).ok())
        .collect();
    let versions = crate::certificates::revocation::crl_versions(store).await?;
    Ok(crate::certificates::revocation::with_crl_versions(
        json!({ "keys": keys }),
        &versions,
    ))
}

/// The deployment's CSCA certificates and every document signer certificate (DER), for verifiers.
pub async fn trust_list(
    store: &(impl CertificateStore + ?Sized),
) -> Result<(Vec<Vec<u8>>, Vec<SigningKeyInfo>), SigningError> {
    let cscas = store.signing_keys(KeyPurpose::Csca).await?;
    let signers = store.signing_keys(KeyPurpose::DocumentSigner).await?;
    Ok((cscas.into_iter().map(|k| k.public_part).collect(), signers))
}

/// What a verifier of this deployment trusts: every issuer's SMART Health Card key set (under its
/// `iss` URL), every document signer and the CSCA — the published keys, active and retired — and
/// every revocation, exactly as the offline verifier bundle carries them.
pub async fn verifier_trust(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
) -> Result<vrs_cert::verify::Trust, SigningError> {
    let bundle =
        crate::certificates::revocation::verifier_bundle(store, settings, chrono::Utc::now())
            .await?;
    let bundle: vrs_cert::verify::VerifierBundle =
        serde_json::from_value(bundle).map_err(key_error)?;
    vrs_cert::verify::Trust::from_bundle(&bundle).map_err(key_error)
}
