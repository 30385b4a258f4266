//! A certificate's life over HTTP on both backends: staff revoke a certificate from the person's
//! record (a reason required, another municipality's staff cannot reach it), the key set announces
//! `crlVersion`, the CRL, the signer's UVCI-hash list and the verifier bundle are public, `/verify`
//! says "revoked"; a later dose marks a certificate superseded and it is re-issued in one action;
//! a tablet undoes its own registration and is refused for another site's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::Areas;

use reqwest::Method;
use serde_json::Value;
use support::{Browser, TestApp, INTERNET, LGWAN, PASSWORD};
use vrs_domain::{MunicipalityCode, Resident};

on_both_backends!(
    TestApp:
    staff_revoke_and_reissue_and_verifiers_learn_it,
    a_tablet_undoes_its_own_registration,
);

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

/// Two 西条市 people.
async fn people(app: &TestApp) -> Vec<Resident> {
    let people: Vec<Resident> = vrs_interop::Synthetic::new(saijo(), 2, 17).collect();
    for p in &people {
        let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
        app.db
            .store
            .area(saijo())
            .put_resident(p, &audit)
            .await
            .unwrap();
    }
    people
}

async fn tablet_csrf(b: &Browser) -> String {
    let page = b.get("/tablet").await;
    let start = page.body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let end = page.body[start..].find('"').unwrap();
    page.body[start..start + end].to_owned()
}

async fn register(b: &Browser, csrf: &str, coupon: &str, n: u8, date: &str) -> u16 {
    let body = serde_json::json!({
        "coupon": coupon, "dose_number": n, "administered_on": date,
        "product": "comirnaty", "lot_number": "FA4597",
    });
    let key = format!("key-{coupon}-{n}");
    b.json(
        Method::POST,
        "/api/v1/doses",
        &[("idempotency-key", &key), ("x-csrf-token", csrf)],
        &body.to_string(),
    )
    .await
    .status
}

async fn add_dose(staff: &Browser, record: &str, n: &str, date: &str, lot: &str) {
    let csrf = staff.csrf(record).await;
    let page = staff
        .post(
            &format!("{record}/doses"),
            &[
                ("csrf", &csrf),
                ("dose_number", n),
                ("administered_on", date),
                ("product", "comirnaty"),
                ("lot_number", lot),
            ],
        )
        .await;
    assert!(page.status < 400, "{}", page.body);
}

/// The certificate IDs on the person's record page, with their status.
fn certificates(body: &str) -> Vec<(String, String)> {
    body.split("<tr class=\"certificate\" data-status=\"")
        .skip(1)
        .map(|row| {
            let status = row[..row.find('"').unwrap()].to_owned();
            let start = row.find("<td class=\"id\">").unwrap() + "<td class=\"id\">".len();
            let id = row[start..start + row[start..].find('<').unwrap()].to_owned();
            (id, status)
        })
        .collect()
}

async fn staff_revoke_and_reissue_and_verifiers_learn_it(app: &TestApp) {
    let people = people(app).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("chiyoda-staff", "municipal_staff", Some("131016"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let record = format!("/records/{}", people[0].atena);
    add_dose(&staff, &record, "1", "2021-06-01", "FA4597").await;
    add_dose(&staff, &record, "2", "2021-06-22", "FC5295").await;
    let csrf = staff.csrf(&record).await;
    let issued = staff
        .post(
            &format!("{record}/certificate"),
            &[("csrf", &csrf), ("kind", "domestic"), ("format", "shc")],
        )
        .await;
    assert_eq!(issued.status, 200);
    let file: Value = serde_json::from_str(&issued.body).unwrap();
    let jws = file["verifiableCredential"][0].as_str().unwrap().to_owned();
    let page = staff.get(&record).await;
    let listed = certificates(&page.body);
    assert_eq!(listed.len(), 1, "{}", page.body);
    let (id, status) = listed[0].clone();
    assert_eq!(status, "valid");

    // A later dose: superseded, and re-issued in one action (a PDF naming nothing else).
    add_dose(&staff, &record, "3", "2022-01-20", "FJ5929").await;
    assert_eq!(
        certificates(&staff.get(&record).await.body)[0],
        (id.clone(), "superseded".to_owned())
    );
    let (status, pdf) = {
        let r = staff
            .client
            .post(format!("{}{record}/certificates/{id}/reissue", staff.base))
            .header("x-forwarded-for", LGWAN)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap())
    };
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    let listed = certificates(&staff.get(&record).await.body);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].1, "valid", "the re-issued one, newest first");

    // Revoking needs a reason; another municipality's staff cannot reach it; then it is revoked.
    let revoke = format!("{record}/certificates/{id}/revoke");
    let refused = staff
        .post(&revoke, &[("csrf", &csrf), ("reason", " ")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("reason"), "{}", refused.body);
    let chiyoda = app.browser(LGWAN);
    chiyoda.login("chiyoda-staff", PASSWORD).await;
    let chiyoda_csrf = chiyoda.csrf("/password").await;
    let foreign = chiyoda
        .post(&revoke, &[("csrf", &chiyoda_csrf), ("reason", "x")])
        .await;
    assert_eq!(foreign.status, 404);
    let other_person = format!("/records/{}/certificates/{id}/revoke", people[1].atena);
    let wrong = staff
        .post(&other_person, &[("csrf", &csrf), ("reason", "x")])
        .await;
    assert_eq!(wrong.status, 404, "not this person's certificate");
    let done = staff
        .post(
            &revoke,
            &[
                ("csrf", &csrf),
                ("reason", "別人の接種券で登録された"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = staff.get(&record).await.body;
    assert!(certificates(&page).contains(&(id.clone(), "revoked".to_owned())));
    assert!(page.contains("別人の接種券で登録された"));

    // What verifiers fetch: crlVersion, the CRL, the signer's list, the bundle.
    let anyone = app.browser(INTERNET);
    let jwks: Value = serde_json::from_str(
        &anyone
            .get("/issuer/382060/.well-known/jwks.json")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(jwks["keys"][0]["crlVersion"], 1);
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let crl: Value = serde_json::from_str(
        &anyone
            .get(&format!("/issuer/382060/.well-known/crl/{kid}.json"))
            .await
            .body,
    )
    .unwrap();
    let cert_id = vrs_domain::CertificateId::parse(&id).unwrap();
    assert_eq!(
        crl["rids"],
        serde_json::json!([vrs_cert::shc::rid(&cert_id)])
    );
    assert_eq!(crl["ctr"], 1);
    assert_eq!(
        anyone
            .get("/issuer/382060/.well-known/crl/unknown.json")
            .await
            .status,
        404
    );
    let trust: Value =
        serde_json::from_str(&anyone.get("/.well-known/vrs-trust-list.json").await.body).unwrap();
    // The signer's kid as the trust list publishes it (base64), URL-safe, and in hex: one list.
    let published = trust["document_signers"][0]["kid"].as_str().unwrap();
    let kid_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, published).unwrap();
    let url_safe = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &kid_bytes,
    );
    let in_path = published.replace('/', "%2F").replace('+', "%2B");
    let mut answers = Vec::new();
    for kid in [
        hex::encode(&kid_bytes),
        hex::encode_upper(&kid_bytes),
        in_path,
        url_safe,
    ] {
        let page = anyone
            .get(&format!("/.well-known/dcc-revocation/{kid}.json"))
            .await;
        assert_eq!(page.status, 200, "{kid}: {}", page.body);
        answers.push(page.body);
    }
    assert!(answers.iter().all(|a| *a == answers[0]));
    let lists: Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(lists[0]["hashType"], "UCI");
    assert_eq!(lists[0]["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        anyone
            .get("/.well-known/dcc-revocation/not-a-kid.json")
            .await
            .status,
        404
    );
    let bundle = anyone.get("/.well-known/vrs-verifier-bundle.json").await;
    let bundle = vrs_cert::verify::VerifierBundle::from_json(&bundle.body).unwrap();
    let offline = vrs_cert::verify::Trust::from_bundle(&bundle).unwrap();
    let refused = vrs_cert::verify::verify(jws.as_bytes(), &offline, chrono::Utc::now());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("revoked")),
        "{refused:?}"
    );

    // The verifier page says so.
    let checked = anyone
        .upload(
            "/verify",
            &[("code", &jws)],
            "image",
            "none.png",
            Vec::new(),
        )
        .await;
    assert_eq!(checked.status, 200);
    // In Japanese (the page's default language), not the verifier's English.
    assert!(
        checked.body.contains("発行元により失効しています"),
        "{}",
        checked.body
    );
    assert!(!checked.body.contains("revoked"), "{}", checked.body);
    assert!(!checked.body.contains("class=\"card valid\""));
}

async fn undo(b: &Browser, csrf: String, body: Value) -> (u16, Value) {
    let page = b
        .json(
            Method::POST,
            "/api/v1/doses/undo",
            &[("x-csrf-token", &csrf)],
            &body.to_string(),
        )
        .await;
    let json: Value = serde_json::from_str(&page.body).unwrap_or(Value::Null);
    (page.status, json)
}

async fn a_tablet_undoes_its_own_registration(app: &TestApp) {
    let people = people(app).await;
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    app.account("saijo-tablet-2", "site_tablet", Some("382060"), false)
        .await;
    let tablet = app.browser(INTERNET);
    tablet.login("saijo-tablet", PASSWORD).await;
    let csrf = tablet_csrf(&tablet).await;
    let coupon = format!("382060-{}", people[0].coupon);
    assert_eq!(
        register(&tablet, &csrf, &coupon, 1, "2021-06-01").await,
        201
    );
    let request = |n: u8, reason: &str| serde_json::json!({ "coupon": coupon, "dose_number": n, "reason": reason });
    // Bad input names the field; nothing is undone.
    for (body, field, expected) in [
        (request(1, "  "), "reason", 422),
        (
            serde_json::json!({ "coupon": "12", "dose_number": 1, "reason": "x" }),
            "coupon",
            400,
        ),
        (request(0, "x"), "dose_number", 400),
        (serde_json::json!({ "coupon": coupon }), "body", 400),
    ] {
        let (status, answer) = undo(&tablet, csrf.clone(), body).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (expected, Some(field)),
            "{answer}"
        );
    }
    let (status, answer) = undo(&tablet, csrf.clone(), request(2, "x")).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")));
    // Without the CSRF header: refused.
    let (status, _) = undo(&tablet, "wrong".into(), request(1, "x")).await;
    assert_eq!(status, 403);
    // Another site's tablet: refused, the dose stays.
    let other = app.browser(INTERNET);
    other.login("saijo-tablet-2", PASSWORD).await;
    let other_csrf = tablet_csrf(&other).await;
    let (status, answer) = undo(&other, other_csrf, request(1, "誤読")).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("not_undoable")),
        "{answer}"
    );
    let stored = app
        .db
        .store
        .area(saijo())
        .doses_of(&people[0].atena)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    // The same site within the window: undone, audited with the reason.
    let (status, answer) = undo(&tablet, csrf.clone(), request(1, "別の方の接種券")).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("undone")),
        "{answer}"
    );
    assert!(app
        .db
        .store
        .area(saijo())
        .doses_of(&people[0].atena)
        .await
        .unwrap()
        .is_empty());
    let audit = app
        .db
        .store
        .audit_search(
            saijo().into(),
            &vrs_store::AuditFilter {
                action: Some("dose.undo".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].entry.detail.contains("別の方の接種券"));
    // Staff cannot use the tablet's API.
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let staff_csrf = staff.csrf("/password").await;
    let (status, _) = undo(&staff, staff_csrf, request(1, "x")).await;
    assert_eq!(status, 403);
}
