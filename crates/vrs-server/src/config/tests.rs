//! Tests of the server's configuration: the file's keys, the network lists and the checks made at
//! load (proxies outside LG-WAN, the MLLP listener, the certificate settings).

use super::*;

#[test]
fn file_keys_are_checked() {
    let ok: Settings =
        toml::from_str("lgwan_networks = [\"10.20.0.0/16\"]\nsecure_cookies = true").unwrap();
    assert_eq!(ok.lgwan_networks.len(), 1);
    assert!(ok.secure_cookies);
    assert_eq!(ok.lock_after_failures, 5);
    let typo = toml::from_str::<Settings>("lgwan_network = [\"10.0.0.0/8\"]");
    assert!(typo.unwrap_err().to_string().contains("lgwan_network"));
}

#[test]
fn network_lists_accept_addresses_and_cidrs() {
    let n = nets("X", "10.0.0.0/8, 192.168.1.5").unwrap();
    assert_eq!(n.len(), 2);
    assert!(n[1].contains(&"192.168.1.5".parse::<IpAddr>().unwrap()));
    assert!(nets("X", "10.0.0.0/33").is_err());
}

/// A trusted proxy inside an LG-WAN network is refused at load, naming both networks.
#[test]
fn trusted_proxies_inside_lgwan_networks_are_refused() {
    let overlapping = |lgwan: &str, proxy: &str| Settings {
        lgwan_networks: vec![lgwan.parse().unwrap()],
        trusted_proxies: vec![proxy.parse().unwrap()],
        ..Settings::default()
    };
    for (lgwan, proxy) in [
        ("10.20.0.0/16", "10.20.5.1/32"),
        ("10.20.5.0/24", "10.0.0.0/8"),
        ("10.20.0.0/16", "10.20.0.0/16"),
    ] {
        let err = overlapping(lgwan, proxy).check_networks().unwrap_err();
        assert!(
            err.to_string().contains(proxy) && err.to_string().contains(lgwan),
            "{err}"
        );
    }
    assert!(overlapping("10.20.0.0/16", "172.16.0.10/32")
        .check_networks()
        .is_ok());
    let dir = std::env::temp_dir().join(format!("vrs-config-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vrs.toml");
    std::fs::write(
        &file,
        "lgwan_networks = [\"10.20.0.0/16\"]\ntrusted_proxies = [\"10.20.0.1/32\"]\n",
    )
    .unwrap();
    let err = Settings::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_mllp_listener_needs_tls_client_certificates_senders_and_peers() {
    let dir = std::env::temp_dir().join(format!("vrs-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vrs.toml");
    std::fs::write(&file, "mllp_listen = \"127.0.0.1:2575\"\n").unwrap();
    let err = Settings::load(Some(&file)).unwrap_err().to_string();
    for part in [
        "tls_certificate",
        "mllp_client_ca",
        "mllp_senders",
        "mllp_peers",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    let server = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["senders".into()]).unwrap();
    std::fs::write(
        dir.join("server.pem"),
        vrs_crypto::x509::pem("CERTIFICATE", server.cert.der()),
    )
    .unwrap();
    std::fs::write(
        dir.join("server.key"),
        vrs_crypto::x509::pem("PRIVATE KEY", &server.key_pair.serialize_der()),
    )
    .unwrap();
    std::fs::write(
        dir.join("ca.pem"),
        vrs_crypto::x509::pem("CERTIFICATE", ca.cert.der()),
    )
    .unwrap();
    let config = |sha: &str| {
        format!(
            "mllp_listen = \"127.0.0.1:2575\"\n\
                 tls_certificate = {:?}\ntls_key = {:?}\nmllp_client_ca = {:?}\n\
                 mllp_peers = [\"10.30.0.0/16\"]\n\
                 mllp_senders = [{{ certificate_sha256 = \"{sha}\", account = \"saijo-ehr\" }}]\n",
            dir.join("server.pem"),
            dir.join("server.key"),
            dir.join("ca.pem"),
        )
    };
    std::fs::write(&file, config("12:34")).unwrap();
    let err = Settings::load(Some(&file)).unwrap_err().to_string();
    assert!(err.contains("64 hex digits"), "{err}");
    std::fs::write(&file, config(&"ab".repeat(32))).unwrap();
    let ok = Settings::load(Some(&file)).unwrap();
    let access = ok.mllp_access().unwrap().unwrap();
    assert_eq!(access.senders[0], ([0xab; 32], "saijo-ehr".to_owned()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certificate_settings_are_checked_at_load() {
    let dir = std::env::temp_dir().join(format!("vrs-config-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vrs.toml");
    std::fs::write(&file, "certificate_issuer = \"city\"\n").unwrap();
    let err = Settings::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("certificate_issuer"), "{err}");
    std::fs::write(&file, "card_trust_anchors = [\"/nonexistent/jlis.der\"]\n").unwrap();
    let err = Settings::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/jlis.der"), "{err}");
    let anchor = dir.join("not-a-certificate.der");
    std::fs::write(&anchor, b"hello").unwrap();
    std::fs::write(
        &file,
        format!(
            "card_trust_anchors = [{:?}]\n",
            anchor.display().to_string()
        ),
    )
    .unwrap();
    let err = Settings::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("not a certificate"), "{err}");
    std::fs::write(
        &file,
        "certificate_issuer = \"national\"\npublic_url = \"https://vc.example.jp\"\n",
    )
    .unwrap();
    let ok = Settings::load(Some(&file)).unwrap();
    assert_eq!(
        ok.issuer_settings().shc_issuer_url("national"),
        "https://vc.example.jp/issuer"
    );
    assert_eq!(ok.undo_window_minutes, 10);
    std::fs::write(&file, "undo_window_minutes = 0\n").unwrap();
    let err = Settings::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("undo_window_minutes"), "{err}");
    std::fs::write(&file, "undo_window_minutes = 5\n").unwrap();
    assert_eq!(Settings::load(Some(&file)).unwrap().undo_window_minutes, 5);
    let _ = std::fs::remove_dir_all(&dir);
}
