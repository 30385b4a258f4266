//! The edge over real HTTP: two nodes on one database share sessions and lockouts, a site tablet
//! reads a coupon of any municipality and nothing personal, every response carries the security
//! headers, and every refusal under `/api/` is JSON of one shape.

use super::*;
use vrs_store::Areas;

pub(super) async fn two_nodes_on_one_database_share_sessions_and_lockouts(app: &TestApp) {
    app.account("saijo-0008", "municipal_staff", Some("382060"), false)
        .await;
    app.account("saijo-0009", "municipal_staff", Some("382060"), false)
        .await;
    let second = app.second_node().await;
    // Signed in on the first node, the same cookie works on the second.
    let a = app.browser(LGWAN);
    a.login("saijo-0008", PASSWORD).await;
    let on_b = support::Browser {
        client: a.client.clone(),
        base: second.clone(),
        from: LGWAN,
    };
    let home = on_b.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("saijo-0008"));
    // Failed logins spread over both nodes add up to one lock.
    let attacker_a = app.browser(LGWAN);
    let attacker_b = support::Browser {
        client: attacker_a.client.clone(),
        base: second,
        from: LGWAN,
    };
    for n in 0..5 {
        let node = if n % 2 == 0 { &attacker_a } else { &attacker_b };
        node.login("saijo-0009", "wrong-guess-12").await;
    }
    let locked = attacker_b.login("saijo-0009", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    // Signing out on one node ends the session on both.
    on_b.logout().await;
    assert_eq!(a.get("/").await.location.as_deref(), Some("/login"));
}

pub(super) async fn a_site_tablet_reads_a_coupon_of_any_municipality_and_nothing_personal(
    app: &TestApp,
) {
    let chiyoda = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let mut people: Vec<_> = vrs_interop::Synthetic::new(chiyoda, 2, 3).collect();
    people[1].deceased_on = chrono::NaiveDate::from_ymd_opt(2021, 8, 1);
    for p in &people {
        let audit =
            vrs_store::AuditEntry::now("test", "test", "local", "resident.put", p.atena.as_str());
        app.db
            .store
            .area(chiyoda)
            .put_resident(p, &audit)
            .await
            .unwrap();
    }
    let dose = vrs_domain::Dose {
        municipality: chiyoda,
        atena: people[0].atena.clone(),
        dose_number: vrs_domain::DoseNumber::from_int(1).unwrap(),
        administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(),
        product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
        site_municipality: chiyoda,
        coupon: people[0].coupon,
    };
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "dose.add", "1");
    let dose = vrs_store::Registration::new(
        vrs_domain::DoseRecord::now(dose, vrs_domain::DoseSource::Staff),
        "test",
    );
    app.db
        .store
        .area(chiyoda)
        .add_dose(&dose, &audit)
        .await
        .unwrap();
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let tablet = app.browser(INTERNET);
    tablet.login("saijo-tablet", PASSWORD).await;
    // The 18-digit OCR line: 券種 1, 回数 1, municipality, coupon.
    let ocr = format!("11131016{}", people[0].coupon);
    let answer = tablet.get(&format!("/api/v1/coupons/{ocr}")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["municipality_code"], "131016");
    assert_eq!(json["municipality_name"], "東京都千代田区");
    assert_eq!(json["next_dose_number"], 2);
    assert_eq!(json["doses"][0]["product"], "comirnaty");
    for personal in [
        people[0].my_number.expose().to_owned(),
        people[0].name.as_str().to_owned(),
        people[0].name_kana.as_str().to_owned(),
        people[0].birth_date.to_string(),
        people[0].atena.as_str().to_owned(),
    ] {
        assert!(
            !answer.body.contains(&personal),
            "the tablet learned {personal}"
        );
    }
    // An invented coupon, a deceased person's coupon, a bad check digit.
    let unknown = tablet.get("/api/v1/coupons/131016-9999999999").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("unknown_coupon"));
    // A deceased holder's coupon is answered exactly as an invented one: the site must not learn
    // who has died (only the audit entry says which).
    let deceased = tablet
        .get(&format!("/api/v1/coupons/131016-{}", people[1].coupon))
        .await;
    assert_eq!(deceased.status, 404);
    assert_eq!(deceased.body, unknown.body);
    // Off the document's pattern: 400; on it but with a wrong check digit: 422.
    let bad = tablet.get("/api/v1/coupons/111310170000000001").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("check digit"), "{}", bad.body);
    // Staff do not read coupons through the site API; every read is audited in 千代田区's chain.
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let refused = staff.get(&format!("/api/v1/coupons/{ocr}")).await;
    assert_eq!(refused.status, 403);
    let reads = app
        .db
        .store
        .audit_search(
            chiyoda.into(),
            &vrs_store::AuditFilter {
                action: Some("coupon.read".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let outcomes: Vec<&str> = reads.iter().map(|r| r.entry.outcome.as_str()).collect();
    assert_eq!(outcomes, ["deceased", "unknown_coupon", "ok"]);

    // A tablet walking coupon numbers: past 60 reads a minute it is refused (429, Retry-After),
    // the operator's page names it, and the metrics count it.
    let mut refused = None;
    for n in 0..70 {
        let page = tablet
            .get(&format!(
                "/api/v1/coupons/131016-{:010}",
                9_000_000_000u64 + n
            ))
            .await;
        if page.status == 429 {
            refused = Some((n, page));
            break;
        }
        assert_eq!(page.status, 404);
    }
    let (n, page) = refused.expect("the reads were never limited");
    assert!(n <= 60, "refused only after {n} reads");
    assert!(page.body.contains("too_many_reads"), "{}", page.body);
    app.account("op-0007", "national_operator", None, false)
        .await;
    let operator = app.browser(LGWAN);
    operator.login("op-0007", PASSWORD).await;
    let watch = operator.get("/operator/coupon-reads").await;
    assert_eq!(watch.status, 200);
    assert!(watch.body.contains("saijo-tablet"), "{}", watch.body);
    let metrics = operator.get("/metrics").await;
    assert!(
        metrics
            .body
            .contains("vrs_coupon_reads_total{outcome=\"limited\"} 1"),
        "{}",
        metrics.body
    );
}

/// Every response carries the security headers; a signed-in page and a download are never cached
/// while the public keys may be; HSTS only where the public URL is https.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(super) async fn every_response_carries_the_security_headers() {
    let app = support::spawn_app_configured(TestDb::sqlite().await, |s| {
        s.public_url = Some("https://vrs.example.jp".into());
    })
    .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let headers_of = |path: &'static str, cookies: bool| {
        let client = if cookies {
            staff.client.clone()
        } else {
            reqwest::Client::new()
        };
        let url = format!("http://{}{path}", app.address);
        async move {
            client
                .get(url)
                .header("x-forwarded-for", LGWAN)
                .send()
                .await
                .unwrap()
                .headers()
                .clone()
        }
    };
    for (path, signed_in) in [
        ("/login", false),
        ("/records", true),
        ("/audit.csv", true),
        ("/no-such-page", false),
        ("/api/v1/statistics", true),
    ] {
        let h = headers_of(path, signed_in).await;
        let policy = h["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["strict-transport-security"], "max-age=31536000", "{path}");
    }
    let keys = headers_of("/.well-known/jwks.json", false).await;
    assert_eq!(keys["cache-control"], "public, max-age=300");
    // One stylesheet, named by its content, linked from every page and kept by the browser; a
    // style-src of this server only; any other name under /static/ is not found.
    let login = staff.get("/login").await.body;
    let sheet = between(&login, "<link rel=\"stylesheet\" href=\"", "\"").to_owned();
    assert!(
        sheet.starts_with("/static/vrs.") && sheet.ends_with(".css"),
        "{sheet}"
    );
    let css = reqwest::get(format!("http://{}{sheet}", app.address))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let text = css.text().await.unwrap();
    assert!(
        text.contains("@media print") && text.contains("@media (max-width:599px)"),
        "{text}"
    );
    assert!(headers_of("/login", false).await["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("style-src 'self'"));
    let stale = reqwest::get(format!(
        "http://{}/static/vrs.000000-000000.css",
        app.address
    ))
    .await
    .unwrap();
    let stale_status = stale.status();
    assert_eq!(stale_status, 404, "{:?}", stale.text().await);
    app.stop().await;

    // Plain http (the demo's loopback): no HSTS.
    let plain = spawn_app(TestDb::sqlite().await).await;
    let h = reqwest::get(format!("http://{}/login", plain.address))
        .await
        .unwrap()
        .headers()
        .clone();
    assert!(!h.contains_key("strict-transport-security"));
    assert!(h.contains_key("content-security-policy"));
    plain.stop().await;
}

/// Every refusal under `/api/` — the handlers', the router's, the limits' and a missing session —
/// is JSON `{code, message_ja, message_en, field?}` with the status kept; pages keep redirecting.
pub(super) async fn every_api_refusal_is_json_of_one_shape(app: &TestApp) {
    use reqwest::Method;
    let shape = |page: &Page, status: u16, code: &str| {
        assert_eq!(page.status, status, "{}", page.body);
        let body: serde_json::Value = serde_json::from_str(&page.body)
            .unwrap_or_else(|_| panic!("not JSON ({status} {code}): {}", page.body));
        assert_eq!(body["code"], code, "{body}");
        for key in ["message_ja", "message_en"] {
            assert!(
                body[key].as_str().is_some_and(|m| !m.is_empty()),
                "{key}: {body}"
            );
        }
        body
    };
    let anonymous = app.browser(INTERNET);
    shape(
        &anonymous.get("/api/v1/coupons/113820600000000123").await,
        401,
        "sign_in",
    );
    assert_eq!(
        anonymous.get("/").await.location.as_deref(),
        Some("/login"),
        "a page still sends the visitor to sign in"
    );

    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    let tablet = app.browser(INTERNET);
    tablet.login("saijo-tablet", PASSWORD).await;
    let token = tablet.csrf("/tablet").await;
    let csrf = [("x-csrf-token", token.as_str())];
    shape(&tablet.get("/api/v1/no-such-thing").await, 404, "not_found");
    shape(
        &tablet
            .json(Method::DELETE, "/api/v1/doses", &csrf, "{}")
            .await,
        405,
        "method_not_allowed",
    );
    let wrong_type = tablet
        .page_of(
            tablet
                .client
                .post(format!("{}/api/v1/doses", tablet.base))
                .header("content-type", "text/plain")
                .header("idempotency-key", "k-415")
                .header("x-csrf-token", token.as_str())
                .body("coupon=1"),
        )
        .await;
    shape(&wrong_type, 415, "unsupported_media_type");
    shape(
        &tablet
            .json(
                Method::POST,
                "/api/v1/doses",
                &[("idempotency-key", "k-403")],
                "{}",
            )
            .await,
        403,
        "csrf",
    );
    shape(
        &tablet.get("/api/v1/coupons/12345").await,
        400,
        "bad_reference",
    );
    // A role the API is not for: the access module's reason, in both languages.
    let refused = shape(
        &tablet
            .json(
                Method::POST,
                "/api/v1/inquiries",
                &csrf,
                r#"{"my_number":"123456789018","former_municipality":"131016","consent":true}"#,
            )
            .await,
        403,
        "my_number_on_site_tablet",
    );
    assert_ne!(refused["message_ja"], refused["message_en"], "{refused}");
    // The certificate service's API names the field at fault.
    app.account("kiosk", "certificate_service", None, false)
        .await;
    let kiosk = app.browser(INTERNET);
    kiosk.login("kiosk", PASSWORD).await;
    let token = kiosk.csrf("/").await;
    let body = r#"{"municipality":"38206","card":{"my_number":"123456789018","name":"a","address":"b","birth_date":"1950-01-01","sex":1},"signature_algorithm":"ES256","signature":"","card_certificate":"","kind":"domestic"}"#;
    let field = shape(
        &kiosk
            .json(
                Method::POST,
                "/api/v1/app/certificates",
                &[("x-csrf-token", token.as_str())],
                body,
            )
            .await,
        422,
        "invalid_field",
    );
    assert_eq!(field["field"], "municipality", "{field}");
    let broken = shape(
        &kiosk
            .json(
                Method::POST,
                "/api/v1/app/certificates",
                &[("x-csrf-token", token.as_str())],
                "{\"municipality\": 382060",
            )
            .await,
        400,
        "invalid_body",
    );
    assert!(!broken.to_string().contains("382060"), "{broken}");
}
