//! Certificates over HTTP on both backends: staff issue a PDF or a `.smart-health-card` file at the
//! counter from the record page; the card verifies against the key set the server publishes (with
//! CORS); the history page lists it; bad MRZ input is refused naming the MRZ; the app's API answers
//! the fixed message until the municipality agrees, refuses altered card data and names a bad
//! field, then returns the codes; the kiosk's API returns the PDF.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::Areas;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use support::{spawn_app_configured, Browser, TestApp, LGWAN, PASSWORD};
use vrs_cert::shc;
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{issue_document_signer, Csca};
use vrs_domain::{
    Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Resident, VaccineProduct,
};
use vrs_store::testkit::TestDb;

use vrs_store::on_both_backends;

on_both_backends!(
    owned:
    staff_issue_at_the_counter_and_the_published_keys_verify_it,
    the_app_and_kiosk_apis_check_the_card_and_the_agreement,
);

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

/// A 西条市 person with two doses, and one without.
async fn people(app: &TestApp) -> (Resident, Resident) {
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let mut synthetic = vrs_interop::Synthetic::new(saijo(), 2, 41);
    let (a, b) = (synthetic.next().unwrap(), synthetic.next().unwrap());
    let area = app.db.store.area(saijo());
    for p in [&a, &b] {
        area.put_resident(p, &audit).await.unwrap();
    }
    let dose = |n: u8, day: u32, lot: &str| {
        DoseRecord::now(
            Dose {
                municipality: saijo(),
                atena: a.atena.clone(),
                dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                administered_on: chrono::NaiveDate::from_ymd_opt(2021, 7, day).unwrap(),
                product: VaccineProduct::by_code("comirnaty").unwrap(),
                lot_number: LotNumber::parse(lot).unwrap(),
                site_municipality: saijo(),
                coupon: a.coupon,
            },
            DoseSource::Tablet,
        )
    };
    area.add_doses(&[dose(1, 1, "FA4597"), dose(2, 22, "FC5295")], "t", &audit)
        .await
        .unwrap();
    (a, b)
}

/// A POST form answered with bytes: status, content type and body.
async fn post_bytes(b: &Browser, path: &str, form: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let r = b
        .client
        .post(format!("{}{path}", b.base))
        .header("x-forwarded-for", b.from)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// A picture of `side` × `side` pixels of random black and white blocks of `block` pixels: the
/// kind of input that keeps a QR search busy longest.
fn blocks_png(side: u32, block: u32, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let cells = side.div_ceil(block);
    let bits: Vec<bool> = (0..cells * cells)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 63 == 1
        })
        .collect();
    let grey = image::GrayImage::from_fn(side, side, |x, y| {
        let dark = bits[((y / block) * cells + x / block) as usize];
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(grey)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Pictures that take long to read, uploaded at once to `/verify`, never stall the server: the
/// pictures are read off the async workers, two at a time, each abandoned after its deadline;
/// one over 16 megapixels is refused from its header. Meanwhile `/healthz` answers within a second
/// every time, and every upload is answered within the deadline and a little.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_that_take_long_to_read_never_stall_the_server() {
    let app = spawn_app_configured(TestDb::sqlite().await, |_| {}).await;
    let heavy = std::sync::Arc::new(blocks_png(4000, 6, 7));
    let huge = std::sync::Arc::new(blocks_png(8000, 8, 9));
    let started = std::time::Instant::now();
    let mut uploads = Vec::new();
    for i in 0..4 {
        let picture = if i == 3 { huge.clone() } else { heavy.clone() };
        let visitor = app.browser(support::INTERNET);
        uploads.push(tokio::spawn(async move {
            let page = visitor
                .upload("/verify", &[], "image", "photo.png", picture.to_vec())
                .await;
            (page.status, page.body, started.elapsed())
        }));
    }
    let anyone = app.browser(support::INTERNET);
    let mut slowest = std::time::Duration::ZERO;
    while started.elapsed() < std::time::Duration::from_secs(8) {
        let asked = std::time::Instant::now();
        let health = tokio::time::timeout(std::time::Duration::from_secs(2), anyone.healthz())
            .await
            .expect("/healthz did not answer within 2 s");
        assert_eq!(health.status, 200);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eprintln!("/healthz during the uploads: slowest {slowest:?}");
    assert!(slowest < std::time::Duration::from_secs(1), "{slowest:?}");
    let mut statuses = Vec::new();
    for upload in uploads {
        let (status, body, at) = upload.await.unwrap();
        assert!(
            at < std::time::Duration::from_secs(10),
            "answered after {at:?}: {status}"
        );
        assert!([200, 422, 503].contains(&status), "{status}: {body}");
        if status == 200 {
            assert!(body.contains("1600万画素") || body.contains("QR"), "{body}");
        }
        statuses.push(status);
    }
    eprintln!("/verify answers: {statuses:?}");
}

/// Outside the demo a card is signed only under an https issuer: with the default
/// `http://{listen}` the counter refuses, saying why, and nothing is issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_certificate_is_issued_under_an_http_issuer_outside_the_demo() {
    let app = spawn_app_configured(TestDb::sqlite().await, |s| {
        s.trial_certificates = false;
    })
    .await;
    let (person, _) = people(&app).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let record = format!("/records/{}", person.atena);
    let csrf = staff.csrf(&record).await;
    let path = format!("{record}/certificate");
    let (status, _, body) =
        post_bytes(&staff, &path, &[("csrf", &csrf), ("kind", "domestic")]).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("https"), "{body}");
    assert!(body.contains("証明書を発行できません"), "{body}");
    let issued = app
        .db
        .store
        .area(saijo())
        .certificate_issues(10)
        .await
        .unwrap();
    assert!(issued.is_empty(), "{issued:?}");
}

async fn staff_issue_at_the_counter_and_the_published_keys_verify_it(db: TestDb) {
    // A production deployment: an https issuer, no trial.
    let app = spawn_app_configured(db, |s| {
        s.public_url = Some("https://vrs.example.jp".into());
        s.trial_certificates = false;
    })
    .await;
    let (person, nobody) = people(&app).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let record = format!("/records/{}", person.atena);
    let page = staff.get(&record).await;
    assert!(
        page.body.contains("id=\"issue-certificate\""),
        "{}",
        page.body
    );
    let csrf = staff.csrf(&record).await;
    let path = format!("{record}/certificate");

    let (status, kind, pdf) =
        post_bytes(&staff, &path, &[("csrf", &csrf), ("kind", "domestic")]).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF"));

    let (status, kind, file) = post_bytes(
        &staff,
        &path,
        &[("csrf", &csrf), ("kind", "domestic"), ("format", "shc")],
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/smart-health-card")
    );
    let file: Value = serde_json::from_slice(&file).unwrap();
    let jws = file["verifiableCredential"][0].as_str().unwrap();

    // The key set is public, with CORS, at {iss}/.well-known/jwks.json.
    let anyone = app.browser(support::INTERNET);
    let r = anyone
        .client
        .get(format!(
            "{}/issuer/382060/.well-known/jwks.json",
            anyone.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let jwks: Value = r.json().await.unwrap();
    let issuer = shc::Issuer::from_jwks("https://vrs.example.jp/issuer/382060", &jwks);
    let card = shc::verify_jws(jws, &[issuer]).unwrap();
    assert_eq!(card.bundle()["entry"].as_array().unwrap().len(), 3);
    let all: Value =
        serde_json::from_str(&anyone.get("/.well-known/jwks.json").await.body).unwrap();
    assert_eq!(all["keys"].as_array().unwrap().len(), 1);
    let trust: Value =
        serde_json::from_str(&anyone.get("/.well-known/vrs-trust-list.json").await.body).unwrap();
    assert_eq!(trust["csca"].as_array().unwrap().len(), 1);
    assert_eq!(trust["document_signers"][0]["issuer"], "382060");

    // The verifier page: anyone checks the card against the published keys; nothing is stored.
    let head_before = app
        .db
        .store
        .audit_head(vrs_store::AuditScope::Area(saijo()))
        .await
        .unwrap();
    let checked = anyone
        .upload("/verify", &[("code", jws)], "image", "none.png", Vec::new())
        .await;
    assert_eq!(checked.status, 200);
    assert!(
        checked.body.contains("class=\"card valid\""),
        "{}",
        checked.body
    );
    assert!(checked.body.contains("SMART Health Card"));
    assert!(checked.body.contains(&person.birth_date.to_string()));
    let mut tampered = jws.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let checked = anyone
        .upload(
            "/verify",
            &[("code", &tampered)],
            "image",
            "none.png",
            Vec::new(),
        )
        .await;
    assert!(
        checked.body.contains("class=\"card invalid\""),
        "{}",
        checked.body
    );
    // A .smart-health-card file shows every credential it holds, numbered.
    let two = serde_json::json!({ "verifiableCredential": [jws, jws] }).to_string();
    let checked = anyone
        .upload(
            "/verify",
            &[],
            "image",
            "card.smart-health-card",
            two.into_bytes(),
        )
        .await;
    assert_eq!(checked.status, 200);
    assert_eq!(
        checked.body.matches("class=\"card valid\"").count(),
        2,
        "{}",
        checked.body
    );
    assert!(checked.body.contains(" — 2 / 2"), "{}", checked.body);
    let empty = anyone
        .upload("/verify", &[("code", " ")], "image", "none.png", Vec::new())
        .await;
    assert!(empty.body.contains("class=\"card invalid\""));
    // A picture over the upload limit: 413 with the page saying so.
    let huge = anyone
        .upload(
            "/verify",
            &[],
            "image",
            "huge.png",
            vec![0u8; 9 * 1024 * 1024],
        )
        .await;
    assert_eq!(huge.status, 413, "{}", huge.body);
    assert!(huge.body.contains("8 MB"), "{}", huge.body);
    assert_eq!(
        app.db
            .store
            .audit_head(vrs_store::AuditScope::Area(saijo()))
            .await
            .unwrap(),
        head_before,
        "verifying stores nothing"
    );

    // Bad input: an overseas certificate with a mistyped MRZ; a person without doses.
    let bad = staff
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("kind", "overseas"),
                ("mrz1", "P<JPNYAMADA<<TARO<<<<<<<<<<<<<<<<<<<<<<<<<<<"),
                ("mrz2", "TZ12345670JPN8504011M3001015<<<<<<<<<<<<<<00"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("MRZ"), "{}", bad.body);
    let none = staff
        .post(
            &format!("/records/{}/certificate", nobody.atena),
            &[("csrf", &csrf), ("kind", "domestic")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("接種記録がない"), "{}", none.body);
    let wrong_kind = staff
        .post(&path, &[("csrf", &csrf), ("kind", "foreign")])
        .await;
    assert_eq!(wrong_kind.status, 422);
    assert!(wrong_kind.body.contains("kind"), "{}", wrong_kind.body);

    // The history page lists both certificates issued, and the menu leads there.
    let history = staff.get("/certificates").await;
    assert_eq!(history.status, 200);
    assert_eq!(history.body.matches("<td class=\"id\">382060-").count(), 2);
    assert!(staff.get("/").await.body.contains("href=\"/certificates\""));
    app.stop().await;
}

fn card_body(person: &Resident, key: &SigningKey, cert: &[u8], name: &str) -> Value {
    let card = vrs_core::certificates::app::CardData {
        my_number: person.my_number.clone(),
        name: person.name.as_str().to_owned(),
        address: "愛媛県西条市明屋敷164".into(),
        birth_date: person.birth_date,
        sex: 1,
    };
    let signature = key.sign(&card.signed_bytes().unwrap()).unwrap();
    json!({
        "municipality": "382060",
        "card": {
            "my_number": person.my_number.expose(),
            "name": name,
            "address": card.address,
            "birth_date": person.birth_date.to_string(),
            "sex": 1
        },
        "signature_algorithm": "ES256",
        "signature": B64.encode(signature),
        "card_certificate": B64.encode(cert),
        "kind": "domestic"
    })
}

async fn the_app_and_kiosk_apis_check_the_card_and_the_agreement(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let from = (Utc::now() - Duration::days(1)).timestamp();
    let ca = Csca::create("JLIS Test", from).unwrap();
    let signer = issue_document_signer(
        &ca.certificate_der,
        &ca.private_key_pkcs8,
        "JLIS Test card signer",
        "JP",
        "Card data",
        from,
    )
    .unwrap();
    let anchor = dir.path().join("jlis.der");
    std::fs::write(&anchor, &ca.certificate_der).unwrap();
    let app = spawn_app_configured(db, |s| s.card_trust_anchors = vec![anchor.clone()]).await;
    let (person, _) = people(&app).await;
    app.account("app-backend", "certificate_service", None, false)
        .await;
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    let service = app.browser(support::INTERNET);
    service.login("app-backend", PASSWORD).await;
    let csrf = service.csrf("/").await;
    let key = SigningKey::from_pkcs8(&signer.private_key_pkcs8).unwrap();
    let good = card_body(&person, &key, &signer.certificate_der, person.name.as_str());
    let call = |path: &'static str, body: Value| {
        let service = &service;
        let csrf = csrf.clone();
        async move {
            service
                .json(
                    reqwest::Method::POST,
                    path,
                    &[("x-csrf-token", &csrf)],
                    &body.to_string(),
                )
                .await
        }
    };

    // Before 西条市 agrees to app issuance: the exact message.
    let refused = call("/api/v1/app/certificates", good.clone()).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(
        refused["message_ja"],
        vrs_core::governance::APP_ISSUANCE_NOT_STARTED
    );
    let operator = vrs_core::Actor {
        user: "op".into(),
        role: "national_operator".into(),
        terminal: "internet".into(),
    };
    let store = app.db.store.as_ref();
    vrs_core::governance::publish_terms(
        store,
        &operator,
        vrs_domain::TermsKind::AppIssuance,
        "アプリ発行",
        "本文",
    )
    .await
    .unwrap();
    let admin = vrs_core::Actor {
        user: "saijo-admin".into(),
        role: "municipal_admin".into(),
        terminal: "lgwan".into(),
    };
    vrs_core::governance::agree(
        store,
        &admin,
        saijo(),
        vrs_domain::TermsKind::AppIssuance,
        1,
    )
    .await
    .unwrap();

    // Altered card data; a bad field named; no CSRF header.
    let altered = card_body(&person, &key, &signer.certificate_der, "西条　次郎");
    let page = call("/api/v1/app/certificates", altered).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("card_not_accepted"));
    let mut bad = good.clone();
    bad["card"]["birth_date"] = json!("1985/04/01");
    let page = call("/api/v1/app/certificates", bad).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("card.birth_date"), "{}", page.body);
    let page = service
        .json(
            reqwest::Method::POST,
            "/api/v1/app/certificates",
            &[],
            &good.to_string(),
        )
        .await;
    assert!(!(200..300).contains(&page.status));

    // Accepted: the codes as JSON; the SHC verifies with the published keys.
    let page = call("/api/v1/app/certificates", good.clone()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let answer: Value = serde_json::from_str(&page.body).unwrap();
    assert!(answer["eu_dcc"].as_str().unwrap().starts_with("HC1:"));
    assert!(answer["smart_health_card"]["qr"]
        .as_str()
        .unwrap()
        .starts_with("shc:/"));
    assert!(
        !page.body.contains(person.my_number.expose()),
        "no My Number in the answer"
    );
    // A re-issue names the certificate it replaces: a malformed ID names the field, another's ID
    // (or one unknown) is refused, the applicant's own is accepted.
    let first = answer["certificate_id"].as_str().unwrap().to_owned();
    let mut again = good.clone();
    again["replaces"] = json!("not-an-id");
    let page = call("/api/v1/app/certificates", again.clone()).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("replaces"), "{}", page.body);
    again["replaces"] = json!(vrs_domain::CertificateId::new(saijo(), [7; 12]).as_str());
    let page = call("/api/v1/app/certificates", again.clone()).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("\"replaces\""), "{}", page.body);
    again["replaces"] = json!(first);
    let page = call("/api/v1/app/certificates", again).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let history = app
        .db
        .store
        .area(saijo())
        .person_certificates(&person.atena)
        .await
        .unwrap();
    assert_eq!(
        history[0].replaces.as_ref().map(|r| r.as_str()),
        Some(first.as_str())
    );

    // The kiosk: refused until 西条市 offers kiosk issuance, then the PDF.
    let page = call("/api/v1/kiosk/certificates", good.clone()).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("kiosk_not_offered"), "{}", page.body);
    vrs_core::governance::publish_terms(
        store,
        &operator,
        vrs_domain::TermsKind::KioskIssuance,
        "コンビニ交付",
        "本文",
    )
    .await
    .unwrap();
    vrs_core::governance::agree(
        store,
        &admin,
        saijo(),
        vrs_domain::TermsKind::KioskIssuance,
        1,
    )
    .await
    .unwrap();
    let r = service
        .client
        .post(format!("{}/api/v1/kiosk/certificates", service.base))
        .header("x-forwarded-for", service.from)
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/json")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));

    // Staff may not use the service API.
    let staff = app.browser(LGWAN);
    staff.login("saijo-admin", PASSWORD).await;
    let staff_csrf = staff.csrf("/").await;
    let page = staff
        .json(
            reqwest::Method::POST,
            "/api/v1/app/certificates",
            &[("x-csrf-token", &staff_csrf)],
            &good.to_string(),
        )
        .await;
    assert_eq!(page.status, 403);
    let history = app
        .db
        .store
        .area(saijo())
        .certificate_issues(10)
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "app, app re-issue, kiosk");
    app.stop().await;
}
