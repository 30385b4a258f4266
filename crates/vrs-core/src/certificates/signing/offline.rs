//! A CSCA held offline. The deployment keeps only the CSCA's certificate; each document signer's
//! key is made here and sealed under the master key, its request (PKCS#10) goes to the machine
//! that holds the CSCA, and the certificate that comes back is checked against the CSCA, the
//! sealed key and the time before it signs anything. Nothing here reads files or the clock.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vrs_cert::dcc;
use vrs_crypto::pki::request::{self, SignerRequest};
use vrs_crypto::pki::SignerSubject;
use vrs_crypto::x509::{self, Certificate};
use vrs_crypto::MasterKey;
use vrs_domain::{AuditAction, MunicipalityCode};
use vrs_store::{AuditScope, CertificateStore, KeyPurpose, SigningKeyInfo};

use super::{chain_of, signer_names, IssuerSettings, SigningError, NATIONAL};
use crate::Actor;

/// The format name written in every sealed request key file.
const FORMAT: &str = "vrs-dsc-request/1";

/// A document signer's key waiting for its certificate: the file `vrs keys request` writes beside
/// the request. The private key is sealed under the master key (worthless without it) and bound to
/// the issuer and the public key.
#[derive(Serialize, Deserialize)]
pub struct PendingSigner {
    pub format: String,
    pub issuer: String,
    /// The public point, base64.
    pub public_key: String,
    /// The PKCS#8 private key sealed under the master key, base64.
    pub sealed_key: String,
    pub requested_at: DateTime<Utc>,
}

fn aad(issuer: &str, public_key_b64: &str) -> Vec<u8> {
    format!("vrs dsc request|{issuer}|{public_key_b64}").into_bytes()
}

fn refused(reason: impl std::fmt::Display) -> SigningError {
    SigningError::Refused(reason.to_string())
}

fn checked_issuer(issuer: &str) -> Result<(), SigningError> {
    if issuer == NATIONAL || MunicipalityCode::parse(issuer).is_ok() {
        Ok(())
    } else {
        Err(refused(format!(
            "the issuer {issuer:?} is neither a municipality code nor {NATIONAL}"
        )))
    }
}

/// A new key for `issuer`'s document signer: the request (DER) for the CSCA, and the key sealed
/// under `master` as the JSON of a [`PendingSigner`].
pub fn request_signer(
    master: &MasterKey,
    settings: &IssuerSettings,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<u8>, Vec<u8>), SigningError> {
    checked_issuer(issuer)?;
    let (common_name, organization) = signer_names(settings, issuer);
    let SignerRequest {
        csr_der,
        public_key,
        private_key_pkcs8,
    } = request::document_signer_request(&SignerSubject {
        country: "JP",
        organization: &organization,
        common_name: &common_name,
    })
    .map_err(refused)?;
    let public_key = B64.encode(public_key);
    let sealed = master
        .seal_secret(&aad(issuer, &public_key), &private_key_pkcs8)
        .map_err(refused)?;
    let pending = PendingSigner {
        format: FORMAT.to_owned(),
        issuer: issuer.to_owned(),
        public_key,
        sealed_key: B64.encode(sealed),
        requested_at: now,
    };
    let file = serde_json::to_vec_pretty(&pending).map_err(refused)?;
    Ok((csr_der, file))
}

/// Makes the CSCA certificate `certificate` (DER or PEM, made offline) the deployment's CSCA. The
/// CSCA before it, if any, stays published, retired, so that what its signers signed still
/// verifies. From now on document signers come only from requests the CSCA signs. Returns its ID.
pub async fn import_csca(
    store: &(impl CertificateStore + ?Sized),
    certificate: &[u8],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, SigningError> {
    let der = x509::der_from_der_or_pem(certificate).map_err(refused)?;
    let csca = request::check_csca(&der, now.timestamp()).map_err(refused)?;
    let kid = hex::encode(dcc::kid(csca.der()));
    if store
        .signing_keys(KeyPurpose::Csca)
        .await?
        .iter()
        .any(|k| k.kid == kid)
    {
        return Err(refused(format!(
            "the deployment already holds the CSCA {kid}"
        )));
    }
    let info = SigningKeyInfo {
        issuer: NATIONAL.to_owned(),
        purpose: KeyPurpose::Csca,
        kid: kid.clone(),
        public_part: der,
        created_at: now,
        retired_at: None,
    };
    let audit = actor.audit(AuditAction::KeyRotate, &format!("csca:{kid}"));
    // No private part: the CSCA's key never comes here.
    store
        .put_signing_key(&info, &[], true, AuditScope::National, &audit)
        .await?;
    Ok(kid)
}

/// Loads the certificate the CSCA signed for a pending key: it must chain to the deployment's
/// active CSCA, be valid at `now`, be for the pending key and carry a document signer's usage. It
/// then signs the issuer's codes; its former signer stays published, retired. Returns its ID.
pub async fn import_document_signer(
    store: &(impl CertificateStore + ?Sized),
    master: &MasterKey,
    pending: &[u8],
    certificate: &[u8],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, SigningError> {
    let pending: PendingSigner = serde_json::from_slice(pending)
        .map_err(|e| refused(format!("the request key file cannot be read: {e}")))?;
    if pending.format != FORMAT {
        return Err(refused(format!(
            "the request key file is of format {:?}; this version reads {FORMAT:?}",
            pending.format
        )));
    }
    checked_issuer(&pending.issuer)?;
    let sealed = B64
        .decode(&pending.sealed_key)
        .map_err(|_| refused("the request key file's sealed key is not base64"))?;
    let pkcs8 = zeroize::Zeroizing::new(
        master
            .open_secret(&aad(&pending.issuer, &pending.public_key), &sealed)
            .map_err(|_| {
                refused(
                    "the request key file does not open under this deployment's master key \
                     (another deployment's, or altered)",
                )
            })?,
    );
    let public_key = B64
        .decode(&pending.public_key)
        .map_err(|_| refused("the request key file's public key is not base64"))?;

    let Some(csca) = store.signing_key(NATIONAL, KeyPurpose::Csca).await? else {
        return Err(refused(
            "the deployment has no CSCA: import it first with `vrs keys import-csca`",
        ));
    };
    let anchor = Certificate::from_der(&csca.info.public_part).map_err(refused)?;
    let der = x509::der_from_der_or_pem(certificate).map_err(refused)?;
    let signer = request::check_document_signer(&der, &anchor, &public_key, now.timestamp())
        .map_err(refused)?;
    let kid = hex::encode(dcc::kid(signer.der()));
    if store
        .signing_keys(KeyPurpose::DocumentSigner)
        .await?
        .iter()
        .any(|k| k.kid == kid)
    {
        return Err(refused(format!(
            "the deployment already holds the document signer {kid}"
        )));
    }
    let rotate = store
        .signing_key(&pending.issuer, KeyPurpose::DocumentSigner)
        .await?
        .is_some();
    let info = SigningKeyInfo {
        issuer: pending.issuer.clone(),
        purpose: KeyPurpose::DocumentSigner,
        kid: kid.clone(),
        public_part: der,
        created_at: now,
        retired_at: None,
    };
    let action = AuditAction::signing_key(rotate);
    let audit = actor.audit(action, &format!("dsc:{}:{kid}", pending.issuer));
    store
        .put_signing_key(&info, &pkcs8, rotate, chain_of(&pending.issuer), &audit)
        .await?;
    Ok(kid)
}
