//! The transport's limits against a hostile network: a client that sends its headers slowly is
//! cut off after the header-read timeout (slow-loris), a request that runs past the request timeout
//! is answered 503, and no more than the connection limit are served at once — the next is served
//! as soon as one closes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vrs_crypto::x509::pem;
use vrs_server::serve::{serve, ServeLimits};
use vrs_server::{AppState, Settings};
use vrs_store::testkit::TestDb;

/// The application on a free port with `limits`; its address.
async fn start(limits: ServeLimits) -> (std::net::SocketAddr, TestDb) {
    let db = TestDb::sqlite().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = vrs_server::router(AppState::new(db.store.clone(), Settings::default()));
    tokio::spawn(serve(app, listener, limits, None, std::future::pending()));
    (address, db)
}

/// Reads until the server closes the connection or `limit` passes: what was read, and when.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&all).into_owned(),
                    Some(started.elapsed()),
                )
            }
            Ok(Ok(n)) => all.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&all).into_owned(), None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_after_the_header_read_timeout() {
    let (address, _db) = start(ServeLimits {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(30),
        max_connections: 16,
    })
    .await;
    // Half a request, then silence.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: vrs\r\nX-Slow: ")
        .await
        .unwrap();
    let (answer, closed) = read_to_close(&mut slow, Duration::from_secs(5)).await;
    let closed = closed.expect("the server kept a half-sent request open");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
    assert!(!answer.contains("200 OK"), "{answer}");
    // A connection that never sends anything is closed the same way.
    let mut silent = TcpStream::connect(address).await.unwrap();
    let (_, closed) = read_to_close(&mut silent, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "an idle connection stayed open");
    // A prompt client is served.
    let mut prompt = TcpStream::connect(address).await.unwrap();
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: vrs\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_close(&mut prompt, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_request_timeout_is_answered_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(1),
        max_connections: 16,
    };
    tokio::spawn(serve(app, listener, limits, None, std::future::pending()));
    let started = Instant::now();
    let r = reqwest::get(format!("http://{address}/slow"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_secs(3));
    let text = r.text().await.unwrap();
    assert!(text.contains("took too long"), "{text}");
    assert!(text.contains("時間がかかりすぎた"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_the_connection_limit_are_served_at_once() {
    let (address, _db) = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(30),
        max_connections: 2,
    })
    .await;
    let healthz = move || async move {
        let mut c = TcpStream::connect(address).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: vrs\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        read_to_close(&mut c, Duration::from_secs(2)).await
    };
    // Two idle connections take both places: a third client is not served...
    let first = TcpStream::connect(address).await.unwrap();
    let _second = TcpStream::connect(address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (answer, closed) = healthz().await;
    assert!(
        closed.is_none() && answer.is_empty(),
        "served beyond the limit: {answer}"
    );
    // ...until one of them closes.
    drop(first);
    let (answer, closed) = healthz().await;
    assert!(closed.is_some(), "not served after a place came free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// `vrs serve` terminates TLS itself with the certificate and key files of its settings: a client
/// that trusts the certificate gets its answer over TLS, a plain-HTTP request gets none, and the
/// session cookie is `Secure`. A key that does not go with the certificate is refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_over_tls_with_its_own_certificate() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert_path, pem("CERTIFICATE", made.cert.der())).unwrap();
    std::fs::write(
        &key_path,
        pem("PRIVATE KEY", &made.key_pair.serialize_der()),
    )
    .unwrap();
    let settings = Settings {
        tls_certificate: Some(cert_path.clone()),
        tls_key: Some(key_path.clone()),
        ..Settings::default()
    };
    assert!(settings.https());
    let tls = settings.tls_config().unwrap();
    assert!(tls.is_some());

    let db = TestDb::sqlite().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = ServeLimits::of(&settings);
    let app = vrs_server::router(AppState::new(db.store.clone(), settings));
    tokio::spawn(serve(app, listener, limits, tls, std::future::pending()));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let ask = |path: &'static str| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(address).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let health = ask("/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let login = ask("/login").await.to_ascii_lowercase();
    let cookie = login
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{login}"))
        .to_owned();
    assert!(cookie.contains("; secure"), "{cookie}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(address).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_close(&mut plain, Duration::from_secs(5)).await;
    assert!(!answer.contains("200 OK"), "{answer}");

    // A key of another certificate is refused, naming the file.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let other_key = dir.path().join("other.key");
    std::fs::write(
        &other_key,
        pem("PRIVATE KEY", &other.key_pair.serialize_der()),
    )
    .unwrap();
    let mismatched = Settings {
        tls_certificate: Some(cert_path),
        tls_key: Some(other_key),
        ..Settings::default()
    };
    let err = mismatched.tls_config().unwrap_err().to_string();
    assert!(err.contains("other.key"), "{err}");
    let half = Settings {
        tls_key: Some(key_path),
        ..Settings::default()
    };
    assert!(half.tls_config().is_err());
}
