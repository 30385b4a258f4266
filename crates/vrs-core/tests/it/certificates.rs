//! Certificates on both backends: a counter certificate's three codes verify with the published keys
//! and the deployment's trust list; the issuance history keeps only what it may; an overseas
//! certificate checks the passport. Keys are made once, rotated, and old cards still verify, and a
//! CSCA held offline signs document signers by request (`certificates/keys.rs`); app and kiosk
//! applications are refused for altered card data, an untrusted or expired card certificate, a bad
//! MRZ check digit, a municipality without the app agreement, an emergency stop and a person
//! without doses (`certificates/applications.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "certificates/applications.rs"]
mod applications;
#[path = "certificates/keys.rs"]
mod keys;

use applications::app_and_kiosk_applications_are_checked_and_gated;
use keys::{
    a_csca_held_offline_signs_document_signers_by_request,
    keys_are_made_once_rotated_and_old_cards_still_verify,
};
use vrs_store::Areas;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use vrs_cert::{dcc, shc, vds_nc};
use vrs_core::certificates::signing::{self, IssuerMode, IssuerSettings};
use vrs_core::certificates::{issue, CertificateError, CertificateRequest};
use vrs_core::Actor;
use vrs_crypto::x509::Certificate;
use vrs_domain::mrz::{check_digit, Mrz};
use vrs_domain::{
    AuditAction, CertificateKind, Dose, DoseRecord, DoseSource, IssueChannel, LotNumber,
    MunicipalityCode, Resident, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::code;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditFilter, AuditScope, Store};

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
        store.area(scope).put_resident(p, &audit).await.unwrap();
    }
    let doses = [
        dose(&with, 1, (2021, 6, 1), "comirnaty", "FA4597"),
        dose(&with, 2, (2021, 6, 22), "comirnaty", "FC5295"),
        dose(&with, 3, (2022, 1, 20), "spikevax", "3004734"),
    ];
    store
        .area(scope)
        .add_doses(&doses, "tablet", &audit)
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
    let doses = store.area(chiyoda()).doses_of(&person.atena).await.unwrap();
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
    let history = store.area(chiyoda()).certificate_issues(10).await.unwrap();
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
        store
            .area(chiyoda())
            .certificate_issues(10)
            .await
            .unwrap()
            .len(),
        1
    );
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
    let doses = store.area(chiyoda()).doses_of(&person.atena).await.unwrap();
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
        .area(chiyoda())
        .certificate_issues(10)
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

    let history = store.area(chiyoda()).certificate_issues(10).await.unwrap();
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
    let elder_doses = store.area(chiyoda()).doses_of(&elder.atena).await.unwrap();
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
