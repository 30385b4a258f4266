//! App and kiosk applications on both backends: the card data's signature is checked against the
//! configured trust anchors (a card signer that is a CA, lacks the usage or is revoked is refused);
//! altered card data, an untrusted or expired card certificate, a bad MRZ check digit, a
//! municipality without the agreement, an emergency stop and a person without doses are refused;
//! nothing of an application is kept.

use super::*;
use vrs_core::certificates::app::{apply, Application, ApplicationError, CardData, CardTrust};
use vrs_core::governance::{agree, publish_terms, switch_function, APP_ISSUANCE_NOT_STARTED};
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{issue_document_signer, Csca};
use vrs_crypto::x509::SignatureAlgorithm;
use vrs_domain::{Function, TermsKind};
use vrs_store::Areas;

fn service() -> Actor {
    Actor {
        user: "app-backend".into(),
        role: "certificate_service".into(),
        terminal: "internet".into(),
    }
}

/// A test card issuer (as J-LIS in production) and a card signer under it.
struct CardIssuer {
    anchor: Certificate,
    signer_der: Vec<u8>,
    key: SigningKey,
    /// The issuer's own certificate and key (it signs revocation lists).
    ca: vrs_crypto::pki::KeyedCertificate,
}

fn card_issuer(name: &str, from: DateTime<Utc>) -> CardIssuer {
    let ca = Csca::create(name, from.timestamp()).unwrap();
    let signer = issue_document_signer(
        &ca.certificate_der,
        &ca.private_key_pkcs8,
        &format!("{name} card signer"),
        "JP",
        "Card data",
        from.timestamp(),
    )
    .unwrap();
    CardIssuer {
        anchor: Certificate::from_der(&ca.certificate_der).unwrap(),
        key: SigningKey::from_pkcs8(&signer.private_key_pkcs8).unwrap(),
        signer_der: signer.certificate_der,
        ca,
    }
}

/// Beyond the chain: the signer must be no CA, carry the configured usage, and not be revoked by
/// its issuer's list — which must not be past its next update.
#[test]
fn a_card_signer_must_be_no_ca_carry_the_usage_and_not_be_revoked() {
    use vrs_core::certificates::app::verify_card;
    use vrs_crypto::pki::issue_crl;
    use vrs_crypto::x509::RevocationList;
    let jlis = card_issuer("JLIS Test", now() - Duration::days(30));
    let person = Synthetic::new(chiyoda(), 1, 5).next().unwrap();
    let good = application(&jlis, &person, chiyoda());
    let trust = |oid: Option<&str>, crls: Vec<RevocationList>| CardTrust {
        anchors: vec![jlis.anchor.clone()],
        signer_oid: oid.map(str::to_owned),
        crls,
    };
    verify_card(&trust(None, vec![]), &good, now()).unwrap();

    // The issuer's own (CA) certificate signing card data is refused, though it "chains".
    let as_ca = CardIssuer {
        anchor: jlis.anchor.clone(),
        signer_der: jlis.ca.certificate_der.clone(),
        key: SigningKey::from_pkcs8(&jlis.ca.private_key_pkcs8).unwrap(),
        ca: vrs_crypto::pki::KeyedCertificate {
            certificate_der: jlis.ca.certificate_der.clone(),
            private_key_pkcs8: jlis.ca.private_key_pkcs8.clone(),
        },
    };
    let err = verify_card(
        &trust(None, vec![]),
        &application(&as_ca, &person, chiyoda()),
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, ApplicationError::CardSignerUsage(_)), "{err}");

    // The configured usage: one the signer carries passes, another is refused.
    let carried = Certificate::from_der(&jlis.signer_der)
        .unwrap()
        .extended_key_usages()[0]
        .clone();
    verify_card(&trust(Some(&carried), vec![]), &good, now()).unwrap();
    let err =
        verify_card(&trust(Some("1.2.392.200149.8.5.5.1"), vec![]), &good, now()).unwrap_err();
    assert!(matches!(err, ApplicationError::CardSignerUsage(_)), "{err}");

    // The issuer's list: another serial revoked passes, the signer's refuses, a stale list refuses.
    let serial = Certificate::from_der(&jlis.signer_der)
        .unwrap()
        .serial()
        .to_vec();
    let crl = |revoked: &[&[u8]], next: DateTime<Utc>| {
        let der = issue_crl(
            &jlis.ca.certificate_der,
            &jlis.ca.private_key_pkcs8,
            revoked,
            (now() - Duration::days(1)).timestamp(),
            next.timestamp(),
        )
        .unwrap();
        RevocationList::from_der_or_pem(&der).unwrap()
    };
    let week = now() + Duration::days(7);
    verify_card(&trust(None, vec![crl(&[&[1, 2, 3]], week)]), &good, now()).unwrap();
    let err = verify_card(&trust(None, vec![crl(&[&serial], week)]), &good, now()).unwrap_err();
    assert!(matches!(err, ApplicationError::CardRevoked), "{err}");
    let stale = crl(&[], now() - Duration::hours(1));
    let err = verify_card(&trust(None, vec![stale]), &good, now()).unwrap_err();
    assert!(
        matches!(err, ApplicationError::CardRevocationStale),
        "{err}"
    );
    // Another issuer's list says nothing about this signer.
    let other = card_issuer("Other CA", now() - Duration::days(30));
    let foreign = RevocationList::from_der_or_pem(
        &issue_crl(
            &other.ca.certificate_der,
            &other.ca.private_key_pkcs8,
            &[&serial],
            (now() - Duration::days(1)).timestamp(),
            week.timestamp(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!foreign.is_signed_by(&jlis.anchor));
    verify_card(&trust(None, vec![foreign]), &good, now()).unwrap();
}

fn application(issuer: &CardIssuer, person: &Resident, scope: MunicipalityCode) -> Application {
    let card = CardData {
        my_number: person.my_number.clone(),
        name: person.name.as_str().to_owned(),
        address: "東京都千代田区千代田1-1".into(),
        birth_date: person.birth_date,
        sex: 1,
    };
    let signature = issuer.key.sign(&card.signed_bytes().unwrap()).unwrap();
    Application {
        municipality: scope,
        card,
        signature_algorithm: SignatureAlgorithm::Es256,
        signature,
        card_certificate: issuer.signer_der.clone(),
        kind: CertificateKind::Domestic,
        mrz: None,
        replaces: None,
    }
}

pub(super) async fn app_and_kiosk_applications_are_checked_and_gated(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let (person, nobody) = people(store, chiyoda()).await;
    let jlis = card_issuer("JLIS Test", now() - Duration::days(30));
    let trust = CardTrust {
        anchors: vec![jlis.anchor.clone()],
        ..Default::default()
    };
    let run = |a: Application, channel: IssueChannel| {
        let settings = settings.clone();
        let trust = trust.clone();
        async move { apply(store, &settings, &trust, &service(), channel, &a, now()).await }
    };
    let good = application(&jlis, &person, chiyoda());

    // Before the municipality agrees: the fixed message (docs/certificates.md).
    let refused = run(good.clone(), IssueChannel::App).await.unwrap_err();
    assert_eq!(refused.to_string(), APP_ISSUANCE_NOT_STARTED);
    publish_terms(
        store,
        &operator(),
        TermsKind::AppIssuance,
        "アプリ発行",
        "本文",
    )
    .await
    .unwrap();
    agree(store, &staff(), chiyoda(), TermsKind::AppIssuance, 1)
        .await
        .unwrap();

    // Altered card data (another name, another My Number) no longer matches the signature.
    let mut altered = good.clone();
    altered.card.name = "山田　花子".into();
    assert!(matches!(
        run(altered, IssueChannel::App).await,
        Err(ApplicationError::CardSignature)
    ));
    let mut altered = good.clone();
    altered.card.my_number = nobody.my_number.clone();
    assert!(matches!(
        run(altered, IssueChannel::App).await,
        Err(ApplicationError::CardSignature)
    ));
    // A card signer the deployment does not trust.
    let forged = card_issuer("Someone Else", now() - Duration::days(30));
    let untrusted = application(&forged, &person, chiyoda());
    assert!(matches!(
        run(untrusted, IssueChannel::App).await,
        Err(ApplicationError::CardUntrusted)
    ));
    // A card signer certificate that has ended (issued three years ago, valid two).
    let old = card_issuer("JLIS Old", now() - Duration::days(3 * 365));
    let expired = CardTrust {
        anchors: vec![old.anchor.clone()],
        ..Default::default()
    };
    let result = apply(
        store,
        &settings,
        &expired,
        &service(),
        IssueChannel::App,
        &application(&old, &person, chiyoda()),
        now(),
    )
    .await;
    assert!(
        matches!(result, Err(ApplicationError::CardExpired)),
        "{result:?}"
    );
    // An overseas application with a mistyped MRZ check digit.
    let mut overseas = good.clone();
    overseas.kind = CertificateKind::Overseas;
    let (l1, l2) = mrz_lines(
        "YAMADA",
        "TARO",
        "TZ1234567",
        person.birth_date,
        NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
    );
    let mut bad = l2.clone().into_bytes();
    bad[9] = if bad[9] == b'0' { b'1' } else { b'0' };
    overseas.mrz = Some((l1.clone(), String::from_utf8(bad).unwrap()));
    assert!(matches!(
        run(overseas.clone(), IssueChannel::App).await,
        Err(ApplicationError::Mrz(_))
    ));
    // A person without doses; a My Number not in the municipality asked.
    let empty = application(&jlis, &nobody, chiyoda());
    let result = run(empty, IssueChannel::App).await;
    assert!(
        matches!(
            result,
            Err(ApplicationError::Certificate(CertificateError::NoDoses))
        ),
        "{result:?}"
    );
    // Kiosk issuance only where the municipality offers it.
    let refused = run(good.clone(), IssueChannel::Kiosk).await;
    assert!(
        matches!(refused, Err(ApplicationError::KioskNotOffered)),
        "{refused:?}"
    );
    publish_terms(
        store,
        &operator(),
        TermsKind::KioskIssuance,
        "コンビニ交付",
        "本文",
    )
    .await
    .unwrap();
    for m in [chiyoda(), saijo()] {
        agree(store, &staff(), m, TermsKind::KioskIssuance, 1)
            .await
            .unwrap();
    }
    let elsewhere = application(&jlis, &person, saijo());
    assert!(matches!(
        run(elsewhere, IssueChannel::Kiosk).await,
        Err(ApplicationError::NotFound)
    ));
    assert!(store
        .area(chiyoda())
        .certificate_issues(10)
        .await
        .unwrap()
        .is_empty());

    // Accepted: the app receives the certificate, the overseas one with the passport.
    let cert = run(good.clone(), IssueChannel::App).await.unwrap();
    assert_eq!(cert.channel, IssueChannel::App);
    overseas.mrz = Some((l1, l2));
    let cert = run(overseas, IssueChannel::Kiosk).await.unwrap();
    assert!(cert.vds_nc.is_some());
    let history = store.area(chiyoda()).certificate_issues(10).await.unwrap();
    let mut channels: Vec<_> = history.iter().map(|h| h.channel.as_str()).collect();
    channels.sort();
    assert_eq!(channels, vec!["app", "kiosk"]);

    // Nothing of the application is kept: no card item, no My Number, no code — only the sealed
    // history entry.
    let dump = db.dump().await;
    let held = |text: &str| dump.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        !held("東京都千代田区千代田1-1"),
        "the card's address is stored"
    );
    assert!(
        !held(person.my_number.expose()),
        "a My Number is stored in the clear"
    );
    assert!(
        !held(&cert.shc_jws[..60]),
        "the certificate's code is stored"
    );
    assert!(!held(&cert.dcc[..40]), "the certificate's code is stored");

    // The emergency stop refuses at once, with the operator's reason.
    switch_function(
        store,
        &operator(),
        Function::AppIssuance,
        true,
        "署名鍵の点検",
    )
    .await
    .unwrap();
    let stopped = run(good.clone(), IssueChannel::App).await.unwrap_err();
    assert!(matches!(stopped, ApplicationError::Stopped(_)));
    assert!(stopped.to_string().contains("署名鍵の点検"));
    switch_function(store, &operator(), Function::KioskIssuance, true, "点検")
        .await
        .unwrap();
    assert!(matches!(
        run(good, IssueChannel::Kiosk).await,
        Err(ApplicationError::Stopped(_))
    ));
    assert_eq!(
        store
            .area(chiyoda())
            .certificate_issues(10)
            .await
            .unwrap()
            .len(),
        2
    );
}
