//! Certificates on both backends: a counter certificate's three codes verify with the published keys
//! and the deployment's trust list; the issuance history keeps only what it may; keys are made once,
//! rotated, and old cards still verify; an overseas certificate checks the passport; app and kiosk
//! applications are refused for altered card data, an untrusted or expired card certificate, a bad
//! MRZ check digit, a municipality without the app agreement, an emergency stop and a person
//! without doses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use vrs_cert::{dcc, shc, vds_nc};
use vrs_core::certificates::app::{apply, Application, ApplicationError, CardData, CardTrust};
use vrs_core::certificates::signing::{self, offline, IssuerMode, IssuerSettings, SigningError};
use vrs_core::certificates::{issue, CertificateError, CertificateRequest};
use vrs_core::governance::{agree, publish_terms, switch_function, APP_ISSUANCE_NOT_STARTED};
use vrs_core::Actor;
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{issue_document_signer, Csca};
use vrs_crypto::x509::{pem, Certificate, SignatureAlgorithm};
use vrs_crypto::MasterKey;
use vrs_domain::mrz::{check_digit, Mrz};
use vrs_domain::{
    AuditAction, CertificateKind, Dose, DoseRecord, DoseSource, Function, IssueChannel, LotNumber,
    MunicipalityCode, Resident, TermsKind, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::code;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditFilter, AuditScope, KeyPurpose, Store};

use vrs_store::on_both_backends;

on_both_backends!(
    a_counter_certificate_carries_three_verifiable_codes_and_one_history_entry,
    keys_are_made_once_rotated_and_old_cards_still_verify,
    an_overseas_certificate_checks_the_passport_and_carries_a_vds_nc,
    app_and_kiosk_applications_are_checked_and_gated,
    a_csca_held_offline_signs_document_signers_by_request,
);

fn chiyoda() -> MunicipalityCode {
    code("131016")
}

fn saijo() -> MunicipalityCode {
    code("382060")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 1, 1, 0, 0).unwrap()
}

fn settings(mode: IssuerMode) -> IssuerSettings {
    IssuerSettings {
        mode,
        base_url: "https://vrs.example.jp".into(),
        trial: false,
        deployment_name: "VRS Test".into(),
    }
}

fn staff() -> Actor {
    Actor {
        user: "chiyoda-staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
}

fn service() -> Actor {
    Actor {
        user: "app-backend".into(),
        role: "certificate_service".into(),
        terminal: "internet".into(),
    }
}

fn operator() -> Actor {
    Actor {
        user: "op-national".into(),
        role: "national_operator".into(),
        terminal: "internet".into(),
    }
}

fn dose(r: &Resident, n: u8, day: (i32, u32, u32), product: &str, lot: &str) -> DoseRecord {
    DoseRecord::now(
        Dose {
            municipality: r.municipality,
            atena: r.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(),
            product: VaccineProduct::by_code(product).unwrap(),
            lot_number: LotNumber::parse(lot).unwrap(),
            site_municipality: r.municipality,
            coupon: r.coupon,
        },
        DoseSource::Tablet,
    )
}

/// Two people of `scope`: the first with three doses, the second with none.
async fn people(store: &dyn Store, scope: MunicipalityCode) -> (Resident, Resident) {
    let mut synthetic = Synthetic::new(scope, 2, 21);
    let with = synthetic.next().unwrap();
    let without = synthetic.next().unwrap();
    let audit = staff().audit(AuditAction::TargetsImport, "test");
    for p in [&with, &without] {
        store.put_resident(scope, p, &audit).await.unwrap();
    }
    let doses = [
        dose(&with, 1, (2021, 6, 1), "comirnaty", "FA4597"),
        dose(&with, 2, (2021, 6, 22), "comirnaty", "FC5295"),
        dose(&with, 3, (2022, 1, 20), "spikevax", "3004734"),
    ];
    store
        .add_doses(scope, &doses, "tablet", &audit)
        .await
        .unwrap();
    (with, without)
}

fn counter(kind: CertificateKind, passport: Option<Mrz>) -> CertificateRequest {
    CertificateRequest {
        kind,
        passport,
        channel: IssueChannel::Counter,
        replaces: None,
    }
}

/// What a verifier holds after fetching the deployment's published keys.
async fn trust(
    store: &dyn Store,
    settings: &IssuerSettings,
) -> (Vec<shc::Issuer>, dcc::TrustList, Vec<Certificate>) {
    let mut issuers = Vec::new();
    for m in ["131016", "382060", signing::NATIONAL] {
        let jwks = signing::jwks(store, Some(m)).await.unwrap();
        issuers.push(shc::Issuer::from_jwks(&settings.shc_issuer_url(m), &jwks));
    }
    let (cscas, signers) = signing::trust_list(store).await.unwrap();
    let mut list = dcc::TrustList::new();
    for s in signers {
        list.add(Certificate::from_der(&s.public_part).unwrap());
    }
    let cscas = cscas
        .iter()
        .map(|c| Certificate::from_der(c).unwrap())
        .collect();
    (issuers, list, cscas)
}

async fn a_counter_certificate_carries_three_verifiable_codes_and_one_history_entry(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let (person, nobody) = people(store, chiyoda()).await;
    let doses = store.doses_of(chiyoda(), &person.atena).await.unwrap();
    let cert = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses,
        &counter(CertificateKind::Domestic, None),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(cert.id.issuer(), Some(chiyoda()));
    assert!(
        cert.vds_nc.is_none(),
        "a domestic certificate has no VDS-NC"
    );

    let (issuers, dccs, _) = trust(store, &settings).await;
    // SMART Health Card: Japan's profile, every dose, the municipality's issuer.
    let card = shc::verify_qr(&cert.shc_text, &issuers).unwrap();
    assert_eq!(card.issuer, "https://vrs.example.jp/issuer/131016");
    let entries = card.bundle()["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "Patient + 3 Immunizations");
    let patient = &entries[0]["resource"];
    let (family, _) = person.name.as_str().split_once(['　', ' ']).unwrap();
    assert_eq!(patient["name"][0]["family"], family);
    assert_eq!(patient["birthDate"], person.birth_date.to_string());
    assert_eq!(entries[3]["resource"]["lotNumber"], "3004734");
    assert_eq!(
        entries[3]["resource"]["performer"][0]["actor"]["display"],
        "MHLW_Gov_of_JAPAN"
    );
    assert!(cert.shc_jws.len() <= shc::SINGLE_QR_JWS_MAX);
    assert!(cert.smart_health_card_file().contains(&cert.shc_jws));

    // EU DCC: the latest dose, romaji names, the municipality as issuer, a UVCI of the ID.
    let eu = dcc::verify(&cert.dcc, &dccs, now().timestamp() + 60).unwrap();
    let v = &eu.payload["v"][0];
    assert_eq!(v["dn"], 3);
    assert_eq!(v["mp"], "EU/1/20/1507");
    assert_eq!(v["is"], "Chiyoda City, Tokyo, Japan");
    assert!(v["ci"].as_str().unwrap().contains(&cert.id.compact()));
    assert_eq!(
        eu.payload["nam"]["fnt"],
        cert.name_romaji.split(' ').next().unwrap()
    );
    // A day after it expires, it no longer verifies.
    assert!(dcc::verify(&cert.dcc, &dccs, (now() + Duration::days(366)).timestamp()).is_err());

    // The printable certificate.
    let pdf = cert.pdf().unwrap();
    assert!(pdf.starts_with(b"%PDF"));

    // The history keeps the name and birth date only (sealed), with ID, time and channel.
    let history = store.certificate_issues(chiyoda(), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].certificate_id, cert.id);
    assert_eq!(history[0].name, person.name.as_str());
    assert_eq!(history[0].channel, IssueChannel::Counter);
    assert_eq!(history[0].passport_number, None);
    let audited = store
        .audit_search(
            AuditScope::Area(chiyoda()),
            &AuditFilter {
                action: Some("certificate.issue_counter".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].entry.target, cert.id.as_str());

    // Nobody gets a certificate without doses; nothing is recorded for the refusal.
    let refused = issue(
        store,
        &settings,
        &staff(),
        &nobody,
        Vec::new(),
        &counter(CertificateKind::Domestic, None),
        now(),
    )
    .await;
    assert!(
        matches!(refused, Err(CertificateError::NoDoses)),
        "{refused:?}"
    );
    assert_eq!(
        store.certificate_issues(chiyoda(), 10).await.unwrap().len(),
        1
    );
}

async fn keys_are_made_once_rotated_and_old_cards_still_verify(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let (person, _) = people(store, chiyoda()).await;
    let doses = store.doses_of(chiyoda(), &person.atena).await.unwrap();
    let request = counter(CertificateKind::Domestic, None);
    let first = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &request,
        now(),
    )
    .await
    .unwrap();
    let second = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &request,
        now(),
    )
    .await
    .unwrap();
    assert_ne!(first.id, second.id);
    let keys = store.signing_keys(KeyPurpose::Shc).await.unwrap();
    assert_eq!(keys.len(), 1, "one key, made once");
    assert_eq!(store.signing_keys(KeyPurpose::Csca).await.unwrap().len(), 1);

    let new_kid = signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::Shc,
        &operator(),
        now(),
    )
    .await
    .unwrap();
    signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::DocumentSigner,
        &operator(),
        now(),
    )
    .await
    .unwrap();
    let third = issue(store, &settings, &staff(), &person, doses, &request, now())
        .await
        .unwrap();
    let jwks = signing::jwks(store, Some("131016")).await.unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "the retired key stays published"
    );
    let (issuers, dccs, _) = trust(store, &settings).await;
    let old = shc::verify_qr(&first.shc_text, &issuers).unwrap();
    let new = shc::verify_qr(&third.shc_text, &issuers).unwrap();
    assert_ne!(old.kid, new.kid);
    assert_eq!(new.kid, new_kid);
    let at = now().timestamp() + 60;
    let old_dcc = dcc::verify(&first.dcc, &dccs, at).unwrap();
    let new_dcc = dcc::verify(&third.dcc, &dccs, at).unwrap();
    assert_ne!(old_dcc.kid, new_dcc.kid);

    // Nobody else's key set verifies 千代田区's card.
    let saijo_only = vec![issuers[1].clone()];
    assert!(shc::verify_qr(&first.shc_text, &saijo_only).is_err());

    // One national issuer signs for every municipality.
    let national = settings_national();
    let (other, _) = people(store, saijo()).await;
    let other_doses = store.doses_of(saijo(), &other.atena).await.unwrap();
    let a = issue(
        store,
        &national,
        &staff(),
        &other,
        other_doses,
        &request,
        now(),
    )
    .await
    .unwrap();
    let (issuers, _, _) = trust(store, &national).await;
    assert_eq!(
        shc::verify_qr(&a.shc_text, &issuers).unwrap().issuer,
        "https://vrs.example.jp/issuer"
    );
}

fn settings_national() -> IssuerSettings {
    settings(IssuerMode::National)
}

/// A TD3 MRZ with correct check digits.
fn mrz_lines(
    surname: &str,
    given: &str,
    number: &str,
    birth: NaiveDate,
    expiry: NaiveDate,
) -> (String, String) {
    let mut line1 = format!("P<JPN{surname}<<{given}");
    while line1.len() < 44 {
        line1.push('<');
    }
    let digit = |s: &str| char::from(check_digit(s.as_bytes()));
    let doc = format!("{number:<<9}");
    let birth = birth.format("%y%m%d").to_string();
    let expiry = expiry.format("%y%m%d").to_string();
    let optional = "<".repeat(14);
    let doc_part = format!("{doc}{}", digit(&doc));
    let birth_part = format!("{birth}{}", digit(&birth));
    let expiry_part = format!("{expiry}{}", digit(&expiry));
    let optional_part = format!("{optional}{}", digit(&optional));
    let composite = digit(&format!(
        "{doc_part}{birth_part}{expiry_part}{optional_part}"
    ));
    let line2 = format!("{doc_part}JPN{birth_part}M{expiry_part}{optional_part}{composite}");
    (line1, line2)
}

async fn an_overseas_certificate_checks_the_passport_and_carries_a_vds_nc(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let (person, _) = people(store, chiyoda()).await;
    let doses = store.doses_of(chiyoda(), &person.atena).await.unwrap();
    let expiry = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let (l1, l2) = mrz_lines("YAMADA", "TARO", "TZ1234567", person.birth_date, expiry);
    let mrz = Mrz::parse(&l1, &l2).unwrap();

    let missing = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &counter(CertificateKind::Overseas, None),
        now(),
    )
    .await;
    assert!(
        matches!(missing, Err(CertificateError::PassportMissing)),
        "{missing:?}"
    );
    let (l1b, l2b) = mrz_lines(
        "YAMADA",
        "TARO",
        "TZ1234567",
        person.birth_date - Duration::days(1),
        expiry,
    );
    let other_birth = Mrz::parse(&l1b, &l2b).unwrap();
    let mismatch = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &counter(CertificateKind::Overseas, Some(other_birth)),
        now(),
    )
    .await;
    assert!(
        matches!(mismatch, Err(CertificateError::PassportBirthDate { .. })),
        "{mismatch:?}"
    );
    let (l1c, l2c) = mrz_lines(
        "YAMADA",
        "TARO",
        "TZ1234567",
        person.birth_date,
        NaiveDate::from_ymd_opt(2022, 2, 1).unwrap(),
    );
    let expired = Mrz::parse(&l1c, &l2c).unwrap();
    let expired = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &counter(CertificateKind::Overseas, Some(expired)),
        now(),
    )
    .await;
    assert!(
        matches!(expired, Err(CertificateError::PassportExpired(_))),
        "{expired:?}"
    );
    assert!(store
        .certificate_issues(chiyoda(), 10)
        .await
        .unwrap()
        .is_empty());

    let cert = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses,
        &counter(CertificateKind::Overseas, Some(mrz)),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(cert.name_romaji, "YAMADA TARO");
    let (issuers, dccs, cscas) = trust(store, &settings).await;
    let card = shc::verify_qr(&cert.shc_text, &issuers).unwrap();
    assert_eq!(
        card.bundle()["entry"][0]["resource"]["name"][0]["family"],
        "YAMADA"
    );
    let eu = dcc::verify(&cert.dcc, &dccs, now().timestamp()).unwrap();
    assert_eq!(eu.payload["nam"]["gnt"], "TARO");
    let seal = cert.vds_nc.as_ref().unwrap();
    let verified = vds_nc::verify(&seal.to_json(), &cscas, now()).unwrap();
    assert_eq!(verified.holder.document_number(), "TZ1234567");
    assert_eq!(verified.doses.len(), 3);
    assert_eq!(verified.uvci, cert.id.random_part());

    let history = store.certificate_issues(chiyoda(), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].name, "YAMADA TARO");
    assert_eq!(history[0].nationality.as_deref(), Some("JPN"));
    assert_eq!(history[0].passport_number.as_deref(), Some("TZ1234567"));
    assert!(cert.pdf().unwrap().starts_with(b"%PDF"));

    // Someone born a hundred years and more ago: the zone's "250107" reads as 2025 on its own,
    // the record (1925-01-07) decides the century, and the seal carries the record's date.
    let mut elder = person.clone();
    elder.birth_date = NaiveDate::from_ymd_opt(1925, 1, 7).unwrap();
    let (l1d, l2d) = mrz_lines("YAMADA", "TARO", "TZ1234567", elder.birth_date, expiry);
    assert!(l2d.contains("JPN250107"), "{l2d}");
    let elder_mrz = Mrz::parse(&l1d, &l2d).unwrap();
    assert_eq!(
        elder_mrz.birth_date(),
        NaiveDate::from_ymd_opt(2025, 1, 7).unwrap()
    );
    let elder_doses = store.doses_of(chiyoda(), &elder.atena).await.unwrap();
    let cert = issue(
        store,
        &settings,
        &staff(),
        &elder,
        elder_doses,
        &counter(CertificateKind::Overseas, Some(elder_mrz)),
        now(),
    )
    .await
    .unwrap();
    let seal = cert.vds_nc.as_ref().unwrap();
    let verified = vds_nc::verify(&seal.to_json(), &cscas, now()).unwrap();
    assert_eq!(verified.holder.birth_date(), elder.birth_date);
    assert_eq!(cert.birth_date, elder.birth_date);
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

async fn app_and_kiosk_applications_are_checked_and_gated(db: &TestDb) {
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
        .certificate_issues(chiyoda(), 10)
        .await
        .unwrap()
        .is_empty());

    // Accepted: the app receives the certificate, the overseas one with the passport.
    let cert = run(good.clone(), IssueChannel::App).await.unwrap();
    assert_eq!(cert.channel, IssueChannel::App);
    overseas.mrz = Some((l1, l2));
    let cert = run(overseas, IssueChannel::Kiosk).await.unwrap();
    assert!(cert.vds_nc.is_some());
    let history = store.certificate_issues(chiyoda(), 10).await.unwrap();
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
        store.certificate_issues(chiyoda(), 10).await.unwrap().len(),
        2
    );
}

async fn a_csca_held_offline_signs_document_signers_by_request(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let master = MasterKey::from_hex(&db.key_hex).unwrap();
    let request = counter(CertificateKind::Domestic, None);
    let (person, _) = people(store, chiyoda()).await;
    let doses = store.doses_of(chiyoda(), &person.atena).await.unwrap();
    // Before: the CSCA made here signs 千代田区's document signer.
    let before = issue(store, &settings, &staff(), &person, doses, &request, now())
        .await
        .unwrap();

    // The CSCA moves offline: only its certificate comes in.
    let csca = Csca::create("VRS Test", now().timestamp()).unwrap();
    let csca_pem = pem("CERTIFICATE", &csca.certificate_der);
    let csca_kid = offline::import_csca(store, csca_pem.as_bytes(), &operator(), now())
        .await
        .unwrap();
    let again = offline::import_csca(store, &csca.certificate_der, &operator(), now()).await;
    assert!(matches!(again, Err(SigningError::Refused(_))));
    let cscas = store.signing_keys(KeyPurpose::Csca).await.unwrap();
    assert_eq!(cscas.len(), 2, "the former CSCA stays published");
    assert_eq!(
        cscas.iter().filter(|k| k.retired_at.is_none()).count(),
        1,
        "one active CSCA"
    );

    // No signer is made here any more: rotation and a first DCC of 西条市 ask for a request.
    let rotated = signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::DocumentSigner,
        &operator(),
        now(),
    )
    .await;
    assert!(matches!(rotated, Err(SigningError::OfflineCsca(ref i)) if i == "131016"));
    let (other, _) = people(store, saijo()).await;
    let other_doses = store.doses_of(saijo(), &other.atena).await.unwrap();
    let Err(refused) = issue(
        store,
        &settings,
        &staff(),
        &other,
        other_doses.clone(),
        &request,
        now(),
    )
    .await
    else {
        panic!("a certificate was issued for 382060 without a document signer");
    };
    assert!(
        refused
            .to_string()
            .contains("vrs keys request --issuer 382060"),
        "{refused}"
    );

    // The request, signed on the offline machine, comes back.
    let (csr, pending) = offline::request_signer(&master, &settings, "382060", now()).unwrap();
    let signed = vrs_crypto::pki::request::sign_request(
        &csca.certificate_der,
        &csca.private_key_pkcs8,
        &csr,
        now().timestamp(),
    )
    .unwrap();
    let signed_pem = pem("CERTIFICATE", &signed);
    let refusal = |r: Result<String, SigningError>| match r {
        Err(SigningError::Refused(reason)) => reason,
        other => panic!("not refused: {other:?}"),
    };
    // Another deployment's master key does not open the sealed key.
    let stranger = MasterKey::generate().unwrap();
    assert!(
        refusal(import_dsc(store, &stranger, &pending, signed_pem.as_bytes()).await)
            .contains("master key")
    );
    // The certificate of one request does not go with another request's key.
    let (_, other_pending) = offline::request_signer(&master, &settings, "382060", now()).unwrap();
    assert!(
        refusal(import_dsc(store, &master, &other_pending, signed_pem.as_bytes()).await)
            .contains("another key")
    );
    // A certificate the former CSCA's signer holds is not from the offline CSCA.
    let former = store
        .signing_keys(KeyPurpose::DocumentSigner)
        .await
        .unwrap();
    assert!(
        refusal(import_dsc(store, &master, &pending, &former[0].public_part).await)
            .contains("not signed by the deployment's CSCA")
    );
    // A damaged key file.
    assert!(
        refusal(import_dsc(store, &master, b"{}", signed_pem.as_bytes()).await)
            .contains("cannot be read")
    );
    assert_eq!(
        store
            .signing_keys(KeyPurpose::DocumentSigner)
            .await
            .unwrap()
            .len(),
        1,
        "nothing stored by the refusals"
    );

    let kid = import_dsc(store, &master, &pending, signed_pem.as_bytes())
        .await
        .unwrap();
    assert!(refusal(import_dsc(store, &master, &pending, &signed).await).contains("already holds"));
    let card = issue(
        store,
        &settings,
        &staff(),
        &other,
        other_doses,
        &request,
        now(),
    )
    .await
    .unwrap();
    let (_, dccs, anchors) = trust(store, &settings).await;
    let at = now().timestamp() + 60;
    let verified = dcc::verify(&card.dcc, &dccs, at).unwrap();
    let imported = Certificate::from_der(&signed).unwrap();
    assert_eq!(hex::encode(verified.kid), kid);
    assert_eq!(kid, hex::encode(dcc::kid(&signed)));
    let anchor = anchors
        .iter()
        .find(|a| hex::encode(dcc::kid(a.der())) == csca_kid)
        .expect("the offline CSCA is published");
    assert!(imported.is_signed_by(anchor));
    // 千代田区's earlier card, signed under the former CSCA, still verifies.
    dcc::verify(&before.dcc, &dccs, at).unwrap();

    let targets = |records: Vec<vrs_store::AuditRecord>| -> Vec<String> {
        records
            .into_iter()
            .map(|r| format!("{} {}", r.entry.action, r.entry.target))
            .collect()
    };
    let national = targets(
        store
            .audit_log(AuditScope::National, 1, 1000)
            .await
            .unwrap(),
    );
    assert!(
        national.contains(&format!("key.rotate csca:{csca_kid}")),
        "{national:?}"
    );
    let area = targets(store.audit_log(saijo().into(), 1, 1000).await.unwrap());
    assert!(
        area.contains(&format!("key.create dsc:382060:{kid}")),
        "{area:?}"
    );
}

async fn import_dsc(
    store: &dyn Store,
    master: &MasterKey,
    pending: &[u8],
    certificate: &[u8],
) -> Result<String, SigningError> {
    offline::import_document_signer(store, master, pending, certificate, &operator(), now()).await
}
