//! How the PostgreSQL backend reaches its server: in plain text on a trusted network, or over TLS
//! with the server's certificate verified.
//!
//! The URL's query takes the two libpq parameters that decide it:
//! * `sslmode`: `disable` (the default when absent) connects in plain text; `require`,
//!   `verify-ca` and `verify-full` all require TLS **and** verify the server's certificate chain
//!   and host name (libpq's `verify-full`): an unverified TLS connection would hand the database
//!   password and every record to whoever sits in between. `prefer` and `allow`, which fall back
//!   to plain text silently, are refused.
//! * `sslrootcert`: a PEM file of the CA certificates that sign the database server's certificate
//!   (percent-encoded like any URL value). Without it, the system's trust store is used.
//!
//! Every other parameter goes to the driver as written (`target_session_attrs`, `connect_timeout`,
//! several hosts, …).

use std::path::Path;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// The driver's configuration and the TLS connector for a database URL.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

impl Connection {
    /// Whether connections are made over verified TLS.
    pub fn uses_tls(&self) -> bool {
        self.config.get_ssl_mode() == SslMode::Require
    }
}

/// Reads `url`: its TLS parameters here, the rest by the driver.
pub fn connection(url: &str) -> Result<Connection, StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut mode = None;
    let mut root_file = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| config_error(format!("{key}: the value is not UTF-8 once decoded")))?
            .into_owned();
        match key {
            "sslmode" => mode = Some(decoded),
            "sslrootcert" => root_file = Some(decoded),
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: tokio_postgres::Config = driver_url
        .parse()
        .map_err(|e| config_error(format!("bad PostgreSQL URL: {e}")))?;

    let tls_required = match mode.as_deref() {
        None | Some("disable") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(other @ ("prefer" | "allow")) => {
            return Err(config_error(format!(
                "sslmode={other} falls back to plain text without saying so; write \
                 sslmode=require (TLS, certificate verified) or sslmode=disable"
            )))
        }
        Some(other) => {
            return Err(config_error(format!(
                "sslmode={other:?} is not known; write require (TLS, certificate verified) or \
                 disable"
            )))
        }
    };
    if root_file.is_some() && !tls_required {
        return Err(config_error(
            "sslrootcert is given but sslmode is not require: the connection would not use it"
                .into(),
        ));
    }
    config.ssl_mode(if tls_required {
        SslMode::Require
    } else {
        SslMode::Disable
    });
    let roots = if tls_required {
        match &root_file {
            Some(path) => roots_from_file(Path::new(path))?,
            None => system_roots()?,
        }
    } else {
        rustls::RootCertStore::empty()
    };
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| config_error(format!("TLS versions: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Connection {
        config,
        tls: MakeRustlsConnect::new(client),
    })
}

fn roots_from_file(path: &Path) -> Result<rustls::RootCertStore, StoreError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let named = |reason: String| config_error(format!("sslrootcert {}: {reason}", path.display()));
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(e.to_string()))?;
    if certificates.is_empty() {
        return Err(named("the file holds no PEM certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| named(format!("a certificate cannot be used as a root: {e}")))?;
    }
    Ok(roots)
}

fn system_roots() -> Result<rustls::RootCertStore, StoreError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(config_error(
            "sslmode=require and no sslrootcert, but the system's trust store holds no \
             certificate: give the database server's CA with sslrootcert=/path/to/ca.pem"
                .into(),
        ));
    }
    Ok(roots)
}

fn config_error(reason: String) -> StoreError {
    StoreError::Config(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str) -> String {
        match connection(url) {
            Err(StoreError::Config(reason)) => reason,
            Err(other) => panic!("{url}: not a configuration error: {other}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }

    #[test]
    fn plain_text_unless_asked() {
        let plain = connection("postgres://vrs@db.example/vrs").unwrap();
        assert!(!plain.uses_tls());
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        let disabled = connection("postgres://vrs@db.example/vrs?sslmode=disable").unwrap();
        assert!(!disabled.uses_tls());
    }

    #[test]
    fn require_means_verified_tls_and_other_parameters_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        std::fs::write(&ca, vrs_crypto::x509::pem("CERTIFICATE", &der)).unwrap();
        let path = ca.display().to_string().replace('/', "%2F");
        let tls = connection(&format!(
            "postgres://vrs@h1:5432,h2:5433/vrs?sslmode=require&sslrootcert={path}\
             &target_session_attrs=read-write&connect_timeout=5"
        ))
        .unwrap();
        assert!(tls.uses_tls());
        assert_eq!(tls.config.get_hosts().len(), 2);
        assert_eq!(
            tls.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        assert_eq!(
            tls.config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(5))
        );
        for mode in ["verify-ca", "verify-full"] {
            let url = format!("postgres://vrs@h/vrs?sslmode={mode}&sslrootcert={path}");
            assert!(connection(&url).unwrap().uses_tls(), "{mode}");
        }
    }

    #[test]
    fn silent_fallbacks_unknown_modes_and_bad_roots_are_refused() {
        assert!(reason("postgres://h/vrs?sslmode=prefer").contains("sslmode=prefer"));
        assert!(reason("postgres://h/vrs?sslmode=allow").contains("plain text"));
        assert!(reason("postgres://h/vrs?sslmode=always").contains("\"always\""));
        assert!(reason("postgres://h/vrs?sslrootcert=%2Fca.pem").contains("sslmode"));
        assert!(
            reason("postgres://h/vrs?sslmode=require&sslrootcert=%2Fno%2Fsuch.pem")
                .contains("/no/such.pem")
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = format!(
            "postgres://h/vrs?sslmode=require&sslrootcert={}",
            empty.display()
        );
        assert!(reason(&url).contains("no PEM certificate"));
        assert!(reason("postgres://h/vrs?sslrootcert=%FF&sslmode=require").contains("UTF-8"));
        assert!(reason("postgres://h/vrs?bogus=1").contains("bad PostgreSQL URL"));
    }
}
