//! The server's configuration: one typed struct, loaded from an optional TOML file and then from
//! `VRS_*` environment variables (which win). Unknown keys in the file are refused, so a typo is an
//! error at start rather than a silently ignored setting.

mod tls;

pub use tls::{MllpAccess, MllpSender};

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The networks the deployment names as LG-WAN: sessions opened from them may handle My Number.
    pub lgwan_networks: Vec<IpNet>,
    /// When the server sits behind a reverse proxy, the header carrying the client address
    /// (e.g. `X-Forwarded-For`), trusted only from `trusted_proxies`.
    pub client_address_header: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    /// Mark cookies `Secure` (set when served over TLS, directly or by the proxy).
    pub secure_cookies: bool,
    /// A session ends after this many minutes without a request…
    pub session_idle_minutes: i64,
    /// …and after this many hours in any case.
    pub session_absolute_hours: i64,
    /// Consecutive failed logins that lock an account, and for how long.
    pub lock_after_failures: u32,
    pub lock_minutes: i64,
    /// How often (seconds) the statistics job recomputes the municipalities whose records changed;
    /// the most statistics lag behind the records. 0 turns the job off on this node.
    pub statistics_interval_secs: u64,
    /// Address of the HL7 v2 MLLP listener (none: no listener). It speaks MLLP over TLS only
    /// (the server's `tls_certificate` and `tls_key`), and admits a connection only from an address
    /// in `mllp_peers` presenting a client certificate that chains to `mllp_client_ca` and is one
    /// of `mllp_senders` — each sending system's certificate (by its SHA-256) mapped to the account
    /// it acts as (a municipality's staff account; its municipality scopes every message). At most
    /// `mllp_max_connections` at once. A listener without all of them is refused at start.
    pub mllp_listen: Option<SocketAddr>,
    pub mllp_client_ca: Option<std::path::PathBuf>,
    pub mllp_senders: Vec<MllpSender>,
    pub mllp_peers: Vec<IpNet>,
    pub mllp_max_connections: usize,
    /// The public base URL of the deployment (e.g. `https://vc.vrs.example.jp`): SMART Health
    /// Card issuers are `{public_url}/issuer/{municipality}` (or `{public_url}/issuer` for one
    /// national issuer). Defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Who signs certificates: `municipality` (each its own keys) or `national` (one issuer).
    pub certificate_issuer: String,
    /// The deployment's name in its CSCA certificate.
    pub deployment_name: String,
    /// Certificates (PEM or DER files) the My Number card signer of an app or kiosk application must
    /// chain to; none: every application is refused as untrusted.
    pub card_trust_anchors: Vec<std::path::PathBuf>,
    /// The extended key usage or certificate policy OID a card data signer's certificate must
    /// carry (J-LIS's for the card's signing certificate); none: not required.
    pub card_signer_oid: Option<String>,
    /// Revocation lists (DER or PEM files) of the card trust anchors: a card signer they revoke is
    /// refused, and so is every card of an anchor whose list is past its next update — replace the
    /// files as the issuer publishes and restart (or roll) the nodes.
    pub card_crls: Vec<std::path::PathBuf>,
    /// How long (minutes, 1 to 1440) a vaccination site may undo a dose it registered from its
    /// tablet; after that only municipal staff correct it.
    pub undo_window_minutes: i64,
    /// The networks `GET /metrics` answers (the monitoring network); others get 404. Default: this
    /// machine only.
    pub metrics_networks: Vec<IpNet>,
    /// The server's own TLS certificate chain and private key (PEM files): with both, `vrs serve`
    /// answers HTTPS itself (TLS 1.2 and 1.3, rustls); with neither, plain HTTP (the demo, or behind
    /// a TLS-terminating proxy).
    pub tls_certificate: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// How long (seconds) a client may take to send a request's headers before its connection is
    /// closed (slow-loris); it also closes idle kept-alive connections.
    pub header_read_timeout_secs: u64,
    /// How long (seconds) a request may run before it is answered 503 and stopped; a response's
    /// body (a download) may stream on after it has begun.
    pub request_timeout_secs: u64,
    /// The most connections open at once; the next waits in the listen queue.
    pub max_connections: usize,
    /// Where the audit anchor job writes the signed heads of every audit chain
    /// (`anchor-YYYYMMDDTHHMMSSZ.json`; a directory outside the database, ideally write-once), and
    /// how often (seconds). None: no job on this node (run `vrs audit anchor` instead).
    pub audit_anchor_dir: Option<std::path::PathBuf>,
    pub audit_anchor_interval_secs: u64,
    /// Certificates for trying only (`vrs demo`): they may be signed under an http issuer URL.
    /// Never read from a file or the environment.
    #[serde(skip)]
    pub trial_certificates: bool,
    /// The licence of the public open data (`/opendata/`), and where its text is.
    pub opendata_licence: String,
    pub opendata_licence_url: String,
    /// Publish municipality-level open data too (off: prefectures and the nation only).
    pub opendata_municipalities: bool,
    /// The hour (Japan time, 0–23) after which the statistics job publishes each day's release.
    pub opendata_hour: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            lgwan_networks: Vec::new(),
            client_address_header: None,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lock_after_failures: 5,
            lock_minutes: 15,
            statistics_interval_secs: 60,
            mllp_listen: None,
            mllp_client_ca: None,
            mllp_senders: Vec::new(),
            mllp_peers: Vec::new(),
            mllp_max_connections: 64,
            public_url: None,
            certificate_issuer: "municipality".into(),
            deployment_name: "VRS".into(),
            card_trust_anchors: Vec::new(),
            card_signer_oid: None,
            card_crls: Vec::new(),
            undo_window_minutes: 10,
            metrics_networks: [
                IpNet::new(IpAddr::from([127, 0, 0, 0]), 8),
                IpNet::new(IpAddr::from(std::net::Ipv6Addr::LOCALHOST), 128),
            ]
            .into_iter()
            .flatten()
            .collect(),
            tls_certificate: None,
            tls_key: None,
            audit_anchor_dir: None,
            audit_anchor_interval_secs: 3600,
            header_read_timeout_secs: 10,
            request_timeout_secs: 300,
            max_connections: 4096,
            trial_certificates: false,
            opendata_licence: "CC BY 4.0".into(),
            opendata_licence_url: "https://creativecommons.org/licenses/by/4.0/".into(),
            opendata_municipalities: false,
            opendata_hour: 6,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{name}: {reason}")]
    Env { name: &'static str, reason: String },
}

fn env_value<T: std::str::FromStr>(name: &'static str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) => v.parse().map(Some).map_err(|e: T::Err| ConfigError::Env {
            name,
            reason: e.to_string(),
        }),
        Err(_) => Ok(None),
    }
}

fn nets(name: &'static str, text: &str) -> Result<Vec<IpNet>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|e| ConfigError::Env {
                    name,
                    reason: format!("{s:?}: {e}"),
                })
        })
        .collect()
}

fn read_error(path: &Path, reason: String) -> ConfigError {
    ConfigError::Read {
        path: path.display().to_string(),
        reason,
    }
}

/// `VRS_MLLP_SENDERS`: `SHA256=ACCOUNT` pairs separated by commas.
fn senders(text: &str) -> Result<Vec<MllpSender>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (sha, account) = pair.split_once('=').ok_or_else(|| ConfigError::Env {
                name: "VRS_MLLP_SENDERS",
                reason: format!("{pair:?} is not SHA256=ACCOUNT"),
            })?;
            Ok(MllpSender {
                certificate_sha256: sha.trim().to_owned(),
                account: account.trim().to_owned(),
            })
        })
        .collect()
}

impl Settings {
    /// Who signs certificates, and under which URLs.
    pub fn issuer_settings(&self) -> vrs_core::certificates::signing::IssuerSettings {
        use vrs_core::certificates::signing::{IssuerMode, IssuerSettings};
        IssuerSettings {
            mode: if self.certificate_issuer == "national" {
                IssuerMode::National
            } else {
                IssuerMode::Municipality
            },
            base_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen)),
            deployment_name: self.deployment_name.clone(),
            trial: self.trial_certificates,
        }
    }

    /// What the open data publishes, as the operator set it.
    pub fn opendata(&self) -> vrs_core::statistics::opendata::OpenDataSettings {
        vrs_core::statistics::opendata::OpenDataSettings {
            licence: self.opendata_licence.clone(),
            licence_url: self.opendata_licence_url.clone(),
            municipalities: self.opendata_municipalities,
        }
    }

    /// Refuses trusted proxies inside LG-WAN networks: a proxy there would make every request it
    /// forwards, from wherever it came, look like an LG-WAN terminal's whenever its header is
    /// wrong — proxies stand outside the LG-WAN networks they serve.
    pub fn check_networks(&self) -> Result<(), ConfigError> {
        for proxy in &self.trusted_proxies {
            if let Some(lgwan) = self
                .lgwan_networks
                .iter()
                .find(|l| l.contains(&proxy.network()) || proxy.contains(&l.network()))
            {
                return Err(ConfigError::Env {
                    name: "VRS_TRUSTED_PROXIES",
                    reason: format!(
                        "the trusted proxy network {proxy} overlaps the LG-WAN network {lgwan}: \
                         put the proxies outside the LG-WAN networks"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Whether browsers reach this deployment over https (TLS here, or an https public URL in
    /// front): cookies are then marked `Secure` whatever `secure_cookies` says.
    pub fn https(&self) -> bool {
        self.tls_certificate.is_some()
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// The card trust anchors, read from their files.
    pub fn card_trust(&self) -> Result<vrs_core::certificates::app::CardTrust, ConfigError> {
        let mut anchors = Vec::new();
        for path in &self.card_trust_anchors {
            let bytes = std::fs::read(path).map_err(|e| ConfigError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let cert = vrs_crypto::x509::Certificate::from_der(&bytes)
                .or_else(|_| {
                    vrs_crypto::x509::Certificate::from_base64(&String::from_utf8_lossy(&bytes))
                })
                .map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: format!("not a certificate: {e}"),
                })?;
            anchors.push(cert);
        }
        let mut crls = Vec::new();
        for path in &self.card_crls {
            let bytes = std::fs::read(path).map_err(|e| read_error(path, e.to_string()))?;
            let crl = vrs_crypto::x509::RevocationList::from_der_or_pem(&bytes).map_err(|e| {
                ConfigError::File {
                    path: path.display().to_string(),
                    reason: format!("not a certificate revocation list: {e}"),
                }
            })?;
            if !anchors.iter().any(|a| crl.is_signed_by(a)) {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    reason: "the revocation list is signed by none of card_trust_anchors".into(),
                });
            }
            crls.push(crl);
        }
        Ok(vrs_core::certificates::app::CardTrust {
            anchors,
            signer_oid: self.card_signer_oid.clone(),
            crls,
        })
    }

    /// Defaults, then the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?
            }
            None => Settings::default(),
        };
        if let Some(v) = env_value("VRS_LISTEN")? {
            settings.listen = v;
        }
        if let Ok(v) = std::env::var("VRS_LGWAN_NETWORKS") {
            settings.lgwan_networks = nets("VRS_LGWAN_NETWORKS", &v)?;
        }
        if let Ok(v) = std::env::var("VRS_CLIENT_ADDRESS_HEADER") {
            settings.client_address_header = (!v.is_empty()).then_some(v);
        }
        if let Ok(v) = std::env::var("VRS_TRUSTED_PROXIES") {
            settings.trusted_proxies = nets("VRS_TRUSTED_PROXIES", &v)?;
        }
        if let Ok(v) = std::env::var("VRS_METRICS_NETWORKS") {
            settings.metrics_networks = nets("VRS_METRICS_NETWORKS", &v)?;
        }
        if let Some(v) = env_value("VRS_SECURE_COOKIES")? {
            settings.secure_cookies = v;
        }
        if let Some(v) = env_value("VRS_SESSION_IDLE_MINUTES")? {
            settings.session_idle_minutes = v;
        }
        if let Some(v) = env_value("VRS_SESSION_ABSOLUTE_HOURS")? {
            settings.session_absolute_hours = v;
        }
        if let Some(v) = env_value("VRS_STATISTICS_INTERVAL_SECS")? {
            settings.statistics_interval_secs = v;
        }
        if let Some(v) = env_value("VRS_MLLP_LISTEN")? {
            settings.mllp_listen = Some(v);
        }
        if let Ok(v) = std::env::var("VRS_MLLP_CLIENT_CA") {
            settings.mllp_client_ca = (!v.is_empty()).then(|| v.into());
        }
        if let Ok(v) = std::env::var("VRS_MLLP_SENDERS") {
            settings.mllp_senders = senders(&v)?;
        }
        if let Ok(v) = std::env::var("VRS_MLLP_PEERS") {
            settings.mllp_peers = nets("VRS_MLLP_PEERS", &v)?;
        }
        if let Some(v) = env_value("VRS_MLLP_MAX_CONNECTIONS")? {
            settings.mllp_max_connections = v;
        }
        if let Ok(v) = std::env::var("VRS_PUBLIC_URL") {
            settings.public_url = (!v.is_empty()).then_some(v);
        }
        if let Ok(v) = std::env::var("VRS_CERTIFICATE_ISSUER") {
            settings.certificate_issuer = v;
        }
        if let Ok(v) = std::env::var("VRS_CARD_TRUST_ANCHORS") {
            settings.card_trust_anchors = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect();
        }
        if let Ok(v) = std::env::var("VRS_TLS_CERTIFICATE") {
            settings.tls_certificate = (!v.is_empty()).then(|| v.into());
        }
        if let Ok(v) = std::env::var("VRS_TLS_KEY") {
            settings.tls_key = (!v.is_empty()).then(|| v.into());
        }
        settings.tls_config()?;
        if let Ok(v) = std::env::var("VRS_AUDIT_ANCHOR_DIR") {
            settings.audit_anchor_dir = (!v.is_empty()).then(|| v.into());
        }
        if let Some(v) = env_value("VRS_AUDIT_ANCHOR_INTERVAL_SECS")? {
            settings.audit_anchor_interval_secs = v;
        }
        if let Some(v) = env_value("VRS_HEADER_READ_TIMEOUT_SECS")? {
            settings.header_read_timeout_secs = v;
        }
        if let Some(v) = env_value("VRS_REQUEST_TIMEOUT_SECS")? {
            settings.request_timeout_secs = v;
        }
        if let Some(v) = env_value("VRS_MAX_CONNECTIONS")? {
            settings.max_connections = v;
        }
        if let Some(v) = env_value("VRS_OPENDATA_MUNICIPALITIES")? {
            settings.opendata_municipalities = v;
        }
        if let Some(v) = env_value("VRS_OPENDATA_HOUR")? {
            settings.opendata_hour = v;
        }
        if settings.opendata_hour > 23 {
            return Err(ConfigError::Env {
                name: "VRS_OPENDATA_HOUR",
                reason: format!(
                    "opendata_hour is an hour of the day in Japan, 0 to 23, not {}",
                    settings.opendata_hour
                ),
            });
        }
        for (name, value) in [
            (
                "VRS_HEADER_READ_TIMEOUT_SECS",
                settings.header_read_timeout_secs,
            ),
            ("VRS_REQUEST_TIMEOUT_SECS", settings.request_timeout_secs),
            ("VRS_MAX_CONNECTIONS", settings.max_connections as u64),
            (
                "VRS_AUDIT_ANCHOR_INTERVAL_SECS",
                settings.audit_anchor_interval_secs,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Env {
                    name,
                    reason: format!(
                        "{} must be at least 1",
                        name.trim_start_matches("VRS_").to_ascii_lowercase()
                    ),
                });
            }
        }
        if let Ok(v) = std::env::var("VRS_CARD_SIGNER_OID") {
            settings.card_signer_oid = (!v.is_empty()).then_some(v);
        }
        if let Ok(v) = std::env::var("VRS_CARD_CRLS") {
            settings.card_crls = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect();
        }
        if let Some(v) = env_value("VRS_UNDO_WINDOW_MINUTES")? {
            settings.undo_window_minutes = v;
        }
        if !(1..=1440).contains(&settings.undo_window_minutes) {
            return Err(ConfigError::Env {
                name: "VRS_UNDO_WINDOW_MINUTES",
                reason: format!(
                    "undo_window_minutes must be 1 to 1440, not {}",
                    settings.undo_window_minutes
                ),
            });
        }
        if !["municipality", "national"].contains(&settings.certificate_issuer.as_str()) {
            return Err(ConfigError::Env {
                name: "VRS_CERTIFICATE_ISSUER",
                reason: format!(
                    "certificate_issuer must be \"municipality\" or \"national\", not {:?}",
                    settings.certificate_issuer
                ),
            });
        }
        settings.card_trust()?;
        settings.check_networks()?;
        settings.mllp_access()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
