//! HL7 v2 over MLLP: TLS that admits only a listed sender's client certificate from a listed
//! network, and frames split across reads answered whole.

use super::*;

type ClientIdentity = (
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// A client certificate for `name` issued by `ca` (or self-signed without one).
fn client_identity(
    name: &str,
    ca: Option<(&rcgen::Certificate, &rcgen::KeyPair)>,
) -> ClientIdentity {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = match ca {
        Some((ca, ca_key)) => params.signed_by(&key, ca, ca_key).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (
        cert.der().clone(),
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// An MLLP listener over TLS as a deployment configures it: senders' CA, one listed sender (the
/// returned identity, acting as `saijo-ehr`), `peers`, `max` connections.
pub(super) struct Mllp {
    pub(super) address: std::net::SocketAddr,
    pub(super) server: rustls::pki_types::CertificateDer<'static>,
    pub(super) sender: ClientIdentity,
    /// Issued by the senders' CA but not listed.
    pub(super) unlisted: ClientIdentity,
    pub(super) _dir: tempfile::TempDir,
}

pub(super) async fn start_mllp(app: &TestApp, peers: &str, max: usize) -> Mllp {
    let dir = tempfile::tempdir().unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "MLLP senders CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let sender = client_identity("Saijo EHR", Some((&ca, &ca_key)));
    let unlisted = client_identity("Another EHR", Some((&ca, &ca_key)));
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let settings = vrs_server::Settings {
        mllp_listen: Some(address),
        tls_certificate: Some(write("server.pem", pem("CERTIFICATE", server.cert.der()))),
        tls_key: Some(write(
            "server.key",
            pem("PRIVATE KEY", &server.key_pair.serialize_der()),
        )),
        mllp_client_ca: Some(write("ca.pem", pem("CERTIFICATE", ca.der()))),
        mllp_senders: vec![vrs_server::config::MllpSender {
            certificate_sha256: hex::encode(vrs_crypto::sha256(sender.0.as_ref())),
            account: "saijo-ehr".into(),
        }],
        mllp_peers: vec![peers.parse().unwrap()],
        mllp_max_connections: max,
        ..vrs_server::Settings::default()
    };
    let access = settings.mllp_access().unwrap().unwrap();
    tokio::spawn(vrs_server::hl7::serve_mllp(
        listener,
        app.db.store.clone(),
        access,
    ));
    Mllp {
        address,
        server: server.cert.der().clone(),
        sender,
        unlisted,
        _dir: dir,
    }
}

/// A TLS connection to the listener with `identity` as the client certificate (or none).
pub(super) async fn mllp_connect(
    mllp: &Mllp,
    identity: Option<&ClientIdentity>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(mllp.server.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert.clone()], key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(mllp.address).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Sends `wire` and waits (at most 3 s) for an answer: `None` when the listener answers nothing
/// and closes or stays silent.
async fn try_exchange<S>(stream: &mut S, wire: &[u8]) -> Option<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if stream.write_all(wire).await.is_err() || stream.flush().await.is_err() {
        return None;
    }
    let mut decoder = Decoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(std::time::Duration::from_secs(3), stream.read(&mut buf));
        match read.await {
            Ok(Ok(n)) if n > 0 => {
                if let Some(m) = decoder.push(&buf[..n]).ok()?.pop() {
                    return Some(String::from_utf8(m).unwrap());
                }
            }
            _ => return None,
        }
    }
}

/// Only a listed sender's certificate from a listed network gets an answer: plain TCP, TLS
/// without a client certificate, a certificate of another CA, an unlisted certificate of the
/// senders' CA, and any connection from outside `mllp_peers` get none. At most
/// `mllp_max_connections` are served at once.
pub(super) async fn mllp_admits_only_listed_senders_over_tls(app: &TestApp) {
    let (a, _) = setup(app).await;
    let mllp = start_mllp(app, "127.0.0.0/8", 1).await;
    let query = frame(&z34("S1", a.atena.as_str(), "PI", &birth(&a)));

    let mut listed = mllp_connect(&mllp, Some(&mllp.sender)).await.unwrap();
    let answer = try_exchange(&mut listed, &query)
        .await
        .expect("the listed sender is answered");
    assert_eq!(msa(&answer), ("AA".into(), "S1".into()), "{answer}");

    // The one place is taken: a second listed connection waits, unanswered...
    let mut second = tokio::net::TcpStream::connect(mllp.address).await.unwrap();
    assert_eq!(try_exchange(&mut second, &query).await, None);
    drop(second);
    drop(listed);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let mut plain = tokio::net::TcpStream::connect(mllp.address).await.unwrap();
    assert_eq!(try_exchange(&mut plain, &query).await, None, "plain TCP");
    drop(plain);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    for (what, identity) in [
        ("no client certificate", None),
        ("another CA", Some(client_identity("Stranger", None))),
        ("unlisted sender", Some(mllp.unlisted.clone_identity())),
    ] {
        let answered = match mllp_connect(&mllp, identity.as_ref()).await {
            Ok(mut tls) => try_exchange(&mut tls, &query).await,
            Err(_) => None,
        };
        assert_eq!(answered, None, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // ...and once it is free, the listed sender is answered again.
    let mut again = mllp_connect(&mllp, Some(&mllp.sender)).await.unwrap();
    assert!(try_exchange(&mut again, &query).await.is_some());
    drop(again);

    // From outside mllp_peers even the listed sender gets nothing.
    let elsewhere = start_mllp(app, "10.0.0.0/8", 4).await;
    let answered = match mllp_connect(&elsewhere, Some(&elsewhere.sender)).await {
        Ok(mut tls) => try_exchange(&mut tls, &query).await,
        Err(_) => None,
    };
    assert_eq!(answered, None, "outside mllp_peers");
}

trait CloneIdentity {
    fn clone_identity(&self) -> ClientIdentity;
}

impl CloneIdentity for ClientIdentity {
    fn clone_identity(&self) -> ClientIdentity {
        (self.0.clone(), self.1.clone_key())
    }
}

pub(super) async fn exchange<S>(stream: &mut S, wire: &[u8], pieces: usize) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let step = wire.len().div_ceil(pieces);
    for chunk in wire.chunks(step) {
        stream.write_all(chunk).await.unwrap();
        stream.flush().await.unwrap();
        tokio::task::yield_now().await;
    }
    let mut decoder = Decoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed before the answer");
        if let Some(m) = decoder.push(&buf[..n]).unwrap().pop() {
            return String::from_utf8(m).unwrap();
        }
    }
}

pub(super) async fn mllp_answers_messages_split_across_reads(app: &TestApp) {
    let (a, _) = setup(app).await;
    let mllp = start_mllp(app, "127.0.0.0/8", 4).await;
    let mut stream = mllp_connect(&mllp, Some(&mllp.sender)).await.unwrap();
    let message = vxu("M1", &a, "382060", &[(1, "20210601", "FA4597")]);
    let answer = exchange(&mut stream, &frame(&message), 7).await;
    assert_eq!(msa(&answer), ("AA".into(), "M1".into()), "{answer}");
    assert_eq!(doses(app, &a).await.len(), 1);
    // Two messages in one write, each answered in order.
    let mut both = frame(&z34("M2", a.atena.as_str(), "PI", &birth(&a)));
    both.extend(frame("MSH|^~\\&|A|B|C|D|x||ADT^A01|M3|P|2.5.1\r"));
    stream.write_all(&both).await.unwrap();
    let mut decoder = Decoder::new(1 << 20);
    let mut answers = Vec::new();
    let mut buf = [0u8; 4096];
    while answers.len() < 2 {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        answers.extend(decoder.push(&buf[..n]).unwrap());
    }
    let first = String::from_utf8(answers[0].clone()).unwrap();
    assert_eq!(
        Message::parse(&first)
            .unwrap()
            .segments
            .iter()
            .filter(|s| s.id == "RXA")
            .count(),
        1
    );
    assert_eq!(
        msa(&String::from_utf8(answers[1].clone()).unwrap()),
        ("AR".into(), "M3".into())
    );
    // The listener's account disabled: every message is refused.
    app.db
        .exec("UPDATE accounts SET disabled = TRUE WHERE user_id = 'saijo-ehr'")
        .await
        .unwrap();
    let answer = exchange(
        &mut stream,
        &frame(&vxu("M4", &a, "382060", &[(2, "20210622", "FC3661")])),
        2,
    )
    .await;
    assert_eq!(msa(&answer).0, "AR", "{answer}");
    assert_eq!(doses(app, &a).await.len(), 1);
}
