//! TLS from the configured files: the web listener's certificate and key, and what the MLLP
//! listener admits — client certificates of its CA, the senders by fingerprint, the peer networks.

use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;

use super::{read_error, ConfigError, Settings};

/// A system that sends HL7 v2 over MLLP: its client certificate's SHA-256 (hex; colons allowed)
/// and the account it acts as.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MllpSender {
    pub certificate_sha256: String,
    pub account: String,
}

impl MllpSender {
    /// The fingerprint as 32 bytes, or `None` when it is not 64 hex digits.
    pub fn fingerprint(&self) -> Option<[u8; 32]> {
        let clean: String = self
            .certificate_sha256
            .chars()
            .filter(|c| *c != ':')
            .collect();
        hex::decode(clean).ok()?.try_into().ok()
    }
}

/// The certificate chain and private key of PEM files.
fn identity(
    certificate: &Path,
    key: &Path,
) -> Result<
    (
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    ConfigError,
> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .map_err(|e| read_error(certificate, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_error(certificate, e.to_string()))?;
    if chain.is_empty() {
        return Err(read_error(
            certificate,
            "no PEM certificate in the file".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| read_error(key, e.to_string()))?;
    Ok((chain, private))
}

/// A server configuration builder on ring with TLS 1.2 and 1.3.
fn tls_builder(
    certificate: &Path,
) -> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>, ConfigError> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| read_error(certificate, e.to_string()))
}

/// What the MLLP listener needs: TLS asking for client certificates of `mllp_client_ca`, the
/// senders by fingerprint, the peer networks and the connection cap.
pub struct MllpAccess {
    pub tls: Arc<rustls::ServerConfig>,
    pub senders: Vec<([u8; 32], String)>,
    pub peers: Vec<IpNet>,
    pub max_connections: usize,
}

impl Settings {
    /// The TLS configuration of `tls_certificate` and `tls_key`, or `None` for plain HTTP. A file
    /// that cannot be read, holds no certificate or key, or whose key does not match is refused,
    /// naming it.
    pub fn tls_config(&self) -> Result<Option<Arc<rustls::ServerConfig>>, ConfigError> {
        let Some((certificate, key)) = self.tls_files()? else {
            return Ok(None);
        };
        let (chain, private) = identity(certificate, key)?;
        let mut config = tls_builder(certificate)?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| read_error(key, format!("does not go with the certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(config)))
    }

    fn tls_files(&self) -> Result<Option<(&Path, &Path)>, ConfigError> {
        match (&self.tls_certificate, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(c), Some(k)) => Ok(Some((c, k))),
            _ => Err(ConfigError::Env {
                name: "VRS_TLS_CERTIFICATE",
                reason: "tls_certificate and tls_key are given together, or neither".into(),
            }),
        }
    }

    /// What the MLLP listener admits, or `None` without a listener. A listener without TLS
    /// (`tls_certificate`, `tls_key`), `mllp_client_ca`, `mllp_senders` or `mllp_peers` is refused,
    /// naming what is missing; so is a sender whose fingerprint is not 64 hex digits.
    pub fn mllp_access(&self) -> Result<Option<MllpAccess>, ConfigError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        if self.mllp_listen.is_none() {
            return Ok(None);
        }
        let files = self.tls_files()?;
        let mut missing = Vec::new();
        if files.is_none() {
            missing.push("tls_certificate and tls_key (MLLP runs over TLS only)");
        }
        if self.mllp_client_ca.is_none() {
            missing.push("mllp_client_ca (the CA of the senders' client certificates)");
        }
        if self.mllp_senders.is_empty() {
            missing.push("mllp_senders (each sender's certificate SHA-256 and account)");
        }
        if self.mllp_peers.is_empty() {
            missing.push("mllp_peers (the networks senders connect from)");
        }
        let (Some((certificate, key)), Some(ca), false, false) = (
            files,
            &self.mllp_client_ca,
            self.mllp_senders.is_empty(),
            self.mllp_peers.is_empty(),
        ) else {
            return Err(ConfigError::Env {
                name: "VRS_MLLP_LISTEN",
                reason: format!("an MLLP listener needs {}", missing.join(", ")),
            });
        };
        let mut senders = Vec::new();
        for sender in &self.mllp_senders {
            let fingerprint = sender.fingerprint().ok_or_else(|| ConfigError::Env {
                name: "VRS_MLLP_SENDERS",
                reason: format!(
                    "the certificate_sha256 of {:?} is not 64 hex digits",
                    sender.account
                ),
            })?;
            senders.push((fingerprint, sender.account.clone()));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(|e| read_error(ca, e.to_string()))? {
            let cert = cert.map_err(|e| read_error(ca, e.to_string()))?;
            roots.add(cert).map_err(|e| read_error(ca, e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(read_error(ca, "no PEM certificate in the file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| read_error(ca, e.to_string()))?;
        let (chain, private) = identity(certificate, key)?;
        let config = tls_builder(certificate)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, private)
            .map_err(|e| read_error(key, format!("does not go with the certificate: {e}")))?;
        Ok(Some(MllpAccess {
            tls: Arc::new(config),
            senders,
            peers: self.mllp_peers.clone(),
            max_connections: self.mllp_max_connections.max(1),
        }))
    }
}
