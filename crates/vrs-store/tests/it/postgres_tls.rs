//! The PostgreSQL backend over TLS, against a private server that accepts TLS connections only:
//! `sslmode=require` with the server's CA connects (and the server sees an encrypted session);
//! plain text, an unknown CA, the system's trust store and a host name the certificate does not
//! name are all refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use vrs_crypto::x509::pem;
use vrs_crypto::MasterKey;
use vrs_store::testkit::cluster::{Cluster, DataFile};
use vrs_store::{postgres_tls, PostgresStore};

struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

/// A CA and a server certificate it signs for the address 127.0.0.1 only.
fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "database test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(Vec::<String>::new()).unwrap();
    server.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: pem("CERTIFICATE", ca_cert.der()),
        server_pem: pem("CERTIFICATE", server_cert.der()),
        server_key_pem: pem("PRIVATE KEY", &server_key.serialize_der()),
    }
}

fn tls_only_server(pki: &Pki) -> Option<Cluster> {
    Cluster::start(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        &[
            DataFile {
                name: "server.crt",
                contents: pki.server_pem.as_bytes(),
            },
            DataFile {
                name: "server.key",
                contents: pki.server_key_pem.as_bytes(),
            },
        ],
    )
}

async fn refusal(url: &str) -> String {
    match PostgresStore::open(url, MasterKey::generate().unwrap(), true).await {
        Ok(_) => panic!("{url}: connected"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn the_store_speaks_to_postgresql_over_verified_tls_only() {
    let pki = pki();
    let Some(server) = tls_only_server(&pki) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let root = ca_file.display().to_string();
    let tls_url = server.url(&format!("?sslmode=require&sslrootcert={root}"));

    // With the CA: the store initialises, opens again, and the server sees TLS.
    let key_hex = "11".repeat(32);
    PostgresStore::open(&tls_url, MasterKey::from_hex(&key_hex).unwrap(), true)
        .await
        .unwrap();
    PostgresStore::open(&tls_url, MasterKey::from_hex(&key_hex).unwrap(), false)
        .await
        .unwrap();
    let connection = postgres_tls::connection(&tls_url).unwrap();
    assert!(connection.uses_tls());
    let (client, conn) = connection.config.connect(connection.tls).await.unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the server sees a plain session");
    let version: String = row.get(1);
    assert!(version.starts_with("TLSv1."), "{version}");

    // Plain text: the server (hostssl only) refuses.
    let plain = refusal(&server.url("")).await;
    assert!(plain.contains("no encryption"), "{plain}");

    // A CA that did not sign the server's certificate.
    let other = pki_ca_only();
    let other_file = dir.path().join("other.pem");
    std::fs::write(&other_file, other).unwrap();
    let unknown = refusal(&server.url(&format!(
        "?sslmode=require&sslrootcert={}",
        other_file.display()
    )))
    .await;
    assert!(unknown.contains("UnknownIssuer"), "{unknown}");

    // No sslrootcert: the system's trust store does not know the test CA.
    let system = refusal(&server.url("?sslmode=require")).await;
    assert!(system.contains("UnknownIssuer"), "{system}");

    // A name the certificate does not hold (it names 127.0.0.1 only).
    let by_name = tls_url.replace("127.0.0.1", "localhost");
    let wrong_name = refusal(&by_name).await;
    assert!(
        wrong_name.contains("not valid for name \"localhost\""),
        "{wrong_name}"
    );
}

fn pki_ca_only() -> String {
    let key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    pem("CERTIFICATE", ca.self_signed(&key).unwrap().der())
}
