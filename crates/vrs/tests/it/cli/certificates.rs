//! Certificates from the command line: verifying SMART Health Cards and EU DCCs (as text, as a
//! picture, against a cached bundle), signing card data for the app flow, rotating keys, and an
//! offline CSCA.

use super::*;

#[test]
fn cert_verify_accepts_the_example_card_and_names_why_a_bad_one_is_refused() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let shc = shared.join("shc");
    let jwks = shc.join("jwks.json");
    let issuer = "https://spec.smarthealth.cards/examples/issuer";
    let verify = |card: &std::path::Path| {
        d.run(&[
            "cert",
            "verify",
            card.to_str().unwrap(),
            "--issuer",
            issuer,
            "--jwks",
            jwks.to_str().unwrap(),
        ])
    };
    let ok = verify(&shc.join("examples/card.qr.txt"));
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("valid: SMART Health Card"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("issuer: https://spec.smarthealth.cards/examples/issuer"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("holder: Anyperson John B."),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("birth date: 1951-01-20"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("dose: 2021-01-01 Spikevax (CVX 207), lot 0000001"),
        "{}",
        text(&ok)
    );
    let jws = verify(&shc.join("examples/card.jws"));
    assert!(jws.status.success(), "{}", text(&jws));

    // The .smart-health-card file the counter hands out: every credential, each summary whole.
    let card = std::fs::read_to_string(shc.join("examples/card.jws")).unwrap();
    let file = d.path("two.smart-health-card");
    std::fs::write(
        &file,
        serde_json::json!({ "verifiableCredential": [card.trim(), card.trim()] }).to_string(),
    )
    .unwrap();
    let both = verify(&file);
    assert!(both.status.success(), "{}", text(&both));
    let one = "valid: SMART Health Card\n\
               id: (none)\n\
               issuer: https://spec.smarthealth.cards/examples/issuer\n\
               holder: Anyperson John B.\n\
               birth date: 1951-01-20\n\
               dose: 2021-01-01 Spikevax (CVX 207), lot 0000001\n\
               dose: 2021-01-29 Spikevax (CVX 207), lot 0000007\n\
               dose: 2022-09-05 Spikevax Bivalent Original/Omicron BA.4-5 (CVX 229), lot 0000001\n";
    assert_eq!(
        String::from_utf8_lossy(&both.stdout),
        format!("{one}\n{one}")
    );
    // Standard error holds only the whole-line warning that no revocation list was given.
    let warning = String::from_utf8_lossy(&both.stderr);
    assert!(
        warning.starts_with(
            "warning: https://spec.smarthealth.cards/examples/issuer publishes a revocation list"
        ),
        "{warning}"
    );
    assert!(warning.ends_with("(give --bundle)\n"), "{warning}");
    assert_eq!(warning.lines().count(), 1, "{warning}");
    std::fs::write(
        &file,
        serde_json::json!({ "verifiableCredential": [card.trim(), "e30.e30.e30"] }).to_string(),
    )
    .unwrap();
    let second_bad = verify(&file);
    assert_eq!(second_bad.status.code(), Some(1), "{}", text(&second_bad));
    assert!(
        text(&second_bad).contains("invalid: credential 2 of 2: SMART Health Card"),
        "{}",
        text(&second_bad)
    );
    assert!(second_bad.stdout.is_empty(), "{}", text(&second_bad));
    let bad = verify(&shc.join("examples/bad-signature.qr.txt"));
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad).contains("signature does not verify"),
        "{}",
        text(&bad)
    );
    let nozip = verify(&shc.join("examples/bad-nozip.qr.txt"));
    assert_eq!(nozip.status.code(), Some(1));
    assert!(text(&nozip).contains("zip DEF"), "{}", text(&nozip));
    let missing = verify(&d.path("none.txt"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("none.txt"), "{}", text(&missing));
    let unpaired = d.run(&[
        "cert",
        "verify",
        shc.join("examples/card.qr.txt").to_str().unwrap(),
        "--issuer",
        issuer,
    ]);
    assert_eq!(unpaired.status.code(), Some(2), "{}", text(&unpaired));
    assert!(text(&unpaired).contains("--jwks"), "{}", text(&unpaired));
}

/// Standard base64 (the DCC vectors' `2DCODE`).
fn base64_decode(encoded: &str) -> Vec<u8> {
    use base64::Engine;
    let clean: String = encoded.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .unwrap()
}

#[test]
fn cert_verify_reads_an_eu_dcc_as_text_and_as_a_png_and_names_bad_trust_arguments() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("dcc/common/CO28.json")).unwrap(),
    )
    .unwrap();
    let signer = d.path("dsc.pem");
    std::fs::write(&signer, vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    let at = vector["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();
    let prefix = vector["PREFIX"].as_str().unwrap();
    std::fs::write(d.path("dcc.txt"), prefix).unwrap();
    std::fs::write(
        d.path("dcc.png"),
        base64_decode(vector["2DCODE"].as_str().unwrap()),
    )
    .unwrap();
    let verify = |code: &str, signer: &Path, at: &str| {
        d.run(&[
            "cert",
            "verify",
            code,
            "--signer",
            signer.to_str().unwrap(),
            "--at",
            at,
        ])
    };
    for code in ["dcc.txt", "dcc.png"] {
        let ok = verify(code, &signer, at);
        assert!(ok.status.success(), "{code}: {}", text(&ok));
        let out = text(&ok);
        assert!(out.contains("valid: EU DCC"), "{out}");
        assert!(out.contains("issuer: Swedish eHealth Agency (SE)"), "{out}");
        assert!(out.contains("holder: Lövström Oscar"), "{out}");
        assert!(out.contains("birth date: 1958-11-11"), "{out}");
        assert!(
            out.contains("dose 2: 2021-03-18 Vaxzevria (EU EU/1/21/1529)"),
            "{out}"
        );
    }

    // One Base45 character changed in the middle: refused with the step that failed.
    let mut tampered: Vec<char> = prefix.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    std::fs::write(d.path("tampered.txt"), tampered.iter().collect::<String>()).unwrap();
    let bad = verify("tampered.txt", &signer, at);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("invalid: EU DCC: "), "{}", text(&bad));

    // Valid when issued, expired a year later.
    let late = verify("dcc.txt", &signer, "2022-06-01T00:00:00Z");
    assert_eq!(late.status.code(), Some(1), "{}", text(&late));

    let missing = verify("dcc.txt", &d.path("none.pem"), at);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("--signer"), "{}", text(&missing));
    assert!(text(&missing).contains("none.pem"), "{}", text(&missing));
    let unreadable = verify("dcc.txt", &d.path("dcc.txt"), at);
    assert_eq!(unreadable.status.code(), Some(2), "{}", text(&unreadable));
    assert!(
        text(&unreadable).contains("--signer"),
        "{}",
        text(&unreadable)
    );
    let bad_time = verify("dcc.txt", &signer, "yesterday");
    assert_eq!(bad_time.status.code(), Some(2), "{}", text(&bad_time));
    assert!(text(&bad_time).contains("--at"), "{}", text(&bad_time));
}

#[test]
fn cert_verify_with_a_cached_bundle_refuses_a_revoked_dcc_and_names_a_bad_bundle_entry() {
    use base64::Engine;
    use vrs_cert::dcc::revocation::{HashType, RevocationList};

    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("dcc/common/CO28.json")).unwrap(),
    )
    .unwrap();
    let signer_base64 = vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap();
    let signer = vrs_crypto::x509::Certificate::from_base64(signer_base64).unwrap();
    let kid = vrs_cert::dcc::kid(signer.der());
    let uvci = vector["JSON"]["v"][0]["ci"].as_str().unwrap();
    let at = vector["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();
    std::fs::write(d.path("dcc.txt"), vector["PREFIX"].as_str().unwrap()).unwrap();
    let der = base64::engine::general_purpose::STANDARD.encode(signer.der());
    let bundle = |revoked: &[&str], hash_type: &str| {
        let mut list = RevocationList::for_uvcis(kid, HashType::Uci, revoked.iter().copied());
        list.hash_type = hash_type.to_owned();
        serde_json::json!({
            "generated_at": "2026-12-01T00:00:00Z",
            "shc_issuers": [],
            "document_signers": [der],
            "cscas": [],
            "revocations": [list],
        })
        .to_string()
    };
    let verify = |name: &str, contents: &str| {
        std::fs::write(d.path(name), contents).unwrap();
        d.run(&[
            "cert",
            "verify",
            d.path("dcc.txt").to_str().unwrap(),
            "--bundle",
            d.path(name).to_str().unwrap(),
            "--at",
            at,
        ])
    };

    // The bundle alone is the trust: valid while another certificate is revoked. The summary
    // names the certificate's UVCI, every line ends, and the bundle's date goes to its own line.
    let ok = verify("clean.json", &bundle(&["URN:UVCI:01:SE:EHM/OTHER"], "UCI"));
    assert!(ok.status.success(), "{}", text(&ok));
    let stdout = String::from_utf8_lossy(&ok.stdout).into_owned();
    let expires = stdout
        .lines()
        .find_map(|l| l.strip_prefix("expires: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    assert_eq!(
        stdout,
        format!(
            "valid: EU DCC\n\
             id: {uvci}\n\
             issuer: Swedish eHealth Agency (SE)\n\
             holder: Lövström Oscar\n\
             birth date: 1958-11-11\n\
             expires: {expires}\n\
             dose 2: 2021-03-18 Vaxzevria (EU EU/1/21/1529)\n"
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stderr),
        format!(
            "revocations as of 2026-12-01T00:00:00+00:00 (--bundle {})\n",
            d.path("clean.json").display()
        )
    );

    let revoked = verify("revoked.json", &bundle(&[uvci], "UCI"));
    assert_eq!(revoked.status.code(), Some(1), "{}", text(&revoked));
    assert!(
        text(&revoked).contains("invalid: EU DCC: revoked"),
        "{}",
        text(&revoked)
    );
    assert!(
        !String::from_utf8_lossy(&revoked.stdout).contains("valid: EU DCC"),
        "{}",
        text(&revoked)
    );

    let unknown = verify("unknown.json", &bundle(&[uvci], "SIGNATURE"));
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    for part in ["--bundle", "unknown.json", "revocations[0]", "SIGNATURE"] {
        assert!(text(&unknown).contains(part), "{part}: {}", text(&unknown));
    }
    let garbled = verify("garbled.json", "{\"generated_at\": ");
    assert_eq!(garbled.status.code(), Some(2), "{}", text(&garbled));
    assert!(
        text(&garbled).contains("garbled.json"),
        "{}",
        text(&garbled)
    );
}

#[test]
fn dev_card_signs_card_data_the_app_flow_accepts_and_keys_rotate() {
    use base64::Engine;
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let out = d.path("card");
    let args = |my_number: &'static str| {
        vec![
            "dev".to_owned(),
            "card".into(),
            "--out".into(),
            out.to_str().unwrap().to_owned(),
            "--municipality".into(),
            "131016".into(),
            "--my-number".into(),
            my_number.into(),
            "--name".into(),
            "千代田　花子".into(),
            "--birth-date".into(),
            "1985-04-01".into(),
        ]
    };
    let run = |a: Vec<String>| d.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let first = run(args("123456789018"));
    assert!(first.status.success(), "{}", text(&first));
    // The private keys and the application (it carries a My Number) are the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["card-issuer.key", "card-signer.key", "application.json"] {
            let mode = std::fs::metadata(out.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }
    let issuer_before = std::fs::read(out.join("card-issuer.der")).unwrap();
    assert!(run(args("123456789018")).status.success());
    assert_eq!(
        std::fs::read(out.join("card-issuer.der")).unwrap(),
        issuer_before,
        "the test issuer is reused"
    );
    // The application verifies under the test issuer, as the server's app flow checks it.
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("application.json")).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let card = &body["card"];
    let application = vrs_core::certificates::app::Application {
        municipality: vrs_domain::MunicipalityCode::parse("131016").unwrap(),
        card: vrs_core::certificates::app::CardData {
            my_number: vrs_domain::MyNumber::parse(card["my_number"].as_str().unwrap()).unwrap(),
            name: card["name"].as_str().unwrap().to_owned(),
            address: card["address"].as_str().unwrap().to_owned(),
            birth_date: card["birth_date"].as_str().unwrap().parse().unwrap(),
            sex: card["sex"].as_u64().unwrap() as u8,
        },
        signature_algorithm: vrs_crypto::x509::SignatureAlgorithm::Es256,
        signature: b64.decode(body["signature"].as_str().unwrap()).unwrap(),
        card_certificate: b64
            .decode(body["card_certificate"].as_str().unwrap())
            .unwrap(),
        kind: vrs_domain::CertificateKind::Domestic,
        mrz: None,
        replaces: None,
    };
    let trust = vrs_core::certificates::app::CardTrust {
        anchors: vec![vrs_crypto::x509::Certificate::from_der(&issuer_before).unwrap()],
        ..Default::default()
    };
    vrs_core::certificates::app::verify_card(&trust, &application, chrono::Utc::now()).unwrap();
    let mut altered = application.clone();
    altered.card.name = "千代田　太郎".into();
    assert!(
        vrs_core::certificates::app::verify_card(&trust, &altered, chrono::Utc::now()).is_err()
    );

    // Bad input is named.
    let bad = run(args("123456789012"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--my-number"), "{}", text(&bad));

    // Rotating a key keeps the old one published.
    let rotate = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "shc"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    let again = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "shc"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("the old one stays published"));
    let bad = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "rsa"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--purpose"), "{}", text(&bad));
    let bad = d.run(&["keys", "rotate", "--issuer", "131017", "--purpose", "shc"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn an_offline_csca_signs_a_document_signer_request_the_deployment_then_uses() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let file = |name: &str| d.path(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = d.run(args);
        (out.status.code(), text(&out))
    };

    // On the offline machine: the CSCA, its key readable by its owner only.
    let (code, said) = run(&[
        "keys",
        "csca",
        "--name",
        "VRS Japan",
        "--certificate",
        &file("csca.pem"),
        "--key",
        &file("csca.key"),
    ]);
    assert_eq!(code, Some(0), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("csca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(std::fs::read_to_string(d.path("csca.key"))
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));

    // Beside the deployment: the CSCA's certificate, then a request.
    let (code, said) = run(&["keys", "import-csca", &file("csca.pem")]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("held offline"), "{said}");
    let (code, said) = run(&["keys", "import-csca", &file("csca.pem")]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("already holds"), "{said}");
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131016",
        "--out",
        &file("req"),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let request = std::fs::read_to_string(d.path("req.csr.pem")).unwrap();
    assert!(request.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let sealed = std::fs::read_to_string(d.path("req.key.json")).unwrap();
    assert!(sealed.contains("vrs-dsc-request/1") && !sealed.contains("PRIVATE KEY"));
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131016",
        "--out",
        &file("req"),
    ]);
    assert_eq!(code, Some(2), "a request never replaces a file: {said}");
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131017",
        "--out",
        &file("bad"),
    ]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("131017"), "{said}");

    // Offline again: the CSCA signs the request.
    let sign = |request: &str, out: &str| {
        run(&[
            "keys",
            "sign-request",
            "--csca-certificate",
            &file("csca.pem"),
            "--csca-key",
            &file("csca.key"),
            "--request",
            request,
            "--out",
            out,
        ])
    };
    let (code, said) = sign(&file("req.csr.pem"), &file("dsc.pem"));
    assert_eq!(code, Some(0), "{said}");
    std::fs::write(
        d.path("junk.csr.pem"),
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
    )
    .unwrap();
    let (code, said) = sign(&file("junk.csr.pem"), &file("junk.pem"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("request"), "{said}");

    // The certificate comes back: checked, then it signs.
    let import = |certificate: &str| {
        run(&[
            "keys",
            "import-dsc",
            "--key",
            &file("req.key.json"),
            "--certificate",
            certificate,
        ])
    };
    let (code, said) = import(&file("csca.pem"));
    assert_eq!(code, Some(2), "the CSCA is no signer: {said}");
    let (code, said) = import(&file("dsc.pem"));
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("now signs"), "{said}");
    let (code, said) = import(&file("dsc.pem"));
    assert_eq!(code, Some(2), "{said}");
    // Rotation cannot make a signer without the CSCA's key.
    let (code, said) = run(&["keys", "rotate", "--issuer", "131016", "--purpose", "dsc"]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("vrs keys request --issuer 131016"), "{said}");
}
