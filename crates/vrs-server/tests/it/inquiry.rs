//! Inquiry, terms and the emergency stop over real HTTP, on SQLite and on PostgreSQL: LG-WAN staff
//! only; the JSON API's answers and refusals; registering received doses from the page; provision
//! records on both sides with their CSV download; the bulk job's upload and download; the
//! administrator's agreement and the operator's publication, and a stop set on one node refusing
//! on a second node over the same database at once (`inquiry/governance.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "inquiry/governance.rs"]
mod governance;
use crate::support;
use vrs_store::on_both_backends;
use vrs_store::Areas;

use governance::{
    a_stop_on_one_node_refuses_on_another_at_once,
    the_administrator_agrees_to_what_the_operator_published,
};
use vrs_store::testkit::code;

use reqwest::Method;
use support::{Browser, TestApp, INTERNET, LGWAN, PASSWORD};
use vrs_domain::{AtenaNumber, CouponNumber, Resident};

on_both_backends!(
    TestApp:
    only_lgwan_staff_inquire_and_the_api_answers,
    staff_register_received_doses_and_both_sides_see_provision_records,
    a_bulk_inquiry_is_uploaded_and_its_results_downloaded,
    the_administrator_agrees_to_what_the_operator_published,
    a_stop_on_one_node_refuses_on_another_at_once,
    a_my_number_sent_as_a_json_number_is_not_repeated_in_the_error,
);

/// A 千代田区 person with two doses who moved to 西条市; accounts for every side.
async fn setup(app: &TestApp) -> Resident {
    let chiyoda = code("131016");
    let saijo = code("382060");
    let old = vrs_interop::Synthetic::new(chiyoda, 1, 5).next().unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    app.db
        .store
        .area(chiyoda)
        .put_resident(&old, &audit)
        .await
        .unwrap();
    let doses: Vec<vrs_domain::DoseRecord> = [(1, 6, 1), (2, 6, 22)]
        .into_iter()
        .map(|(n, m, d)| {
            vrs_domain::DoseRecord::now(
                vrs_domain::Dose {
                    municipality: chiyoda,
                    atena: old.atena.clone(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: chrono::NaiveDate::from_ymd_opt(2021, m, d).unwrap(),
                    product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
                    lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
                    site_municipality: chiyoda,
                    coupon: old.coupon,
                },
                vrs_domain::DoseSource::Tablet,
            )
        })
        .collect();
    app.db
        .store
        .area(chiyoda)
        .add_doses(&doses, "t", &audit)
        .await
        .unwrap();
    let mut new = old.clone();
    new.municipality = saijo;
    new.atena = AtenaNumber::parse("880000000001").unwrap();
    new.coupon = CouponNumber::parse("8800000001").unwrap();
    app.db
        .store
        .area(saijo)
        .put_resident(&new, &audit)
        .await
        .unwrap();
    for (user, role, m) in [
        ("saijo-staff", "municipal_staff", Some("382060")),
        ("saijo-admin", "municipal_admin", Some("382060")),
        ("chiyoda-staff", "municipal_staff", Some("131016")),
        ("chiyoda-admin", "municipal_admin", Some("131016")),
        ("saijo-tablet", "site_tablet", Some("382060")),
        ("op-0001", "national_operator", None),
    ] {
        app.account(user, role, m, false).await;
    }
    new
}

async fn signed_in(app: &TestApp, user: &str, from: &'static str) -> Browser {
    let b = app.browser(from);
    b.login(user, PASSWORD).await;
    b
}

async fn api(b: &Browser, csrf: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let page = b
        .json(
            Method::POST,
            "/api/v1/inquiries",
            &[("x-csrf-token", csrf)],
            &body.to_string(),
        )
        .await;
    let json = serde_json::from_str(&page.body).unwrap_or(serde_json::Value::Null);
    (page.status, json)
}

/// A body that does not fit — a My Number sent as a JSON number, a value of the wrong type — is
/// answered in fixed words with the line and column, never by repeating what was sent.
async fn a_my_number_sent_as_a_json_number_is_not_repeated_in_the_error(app: &TestApp) {
    let person = setup(app).await;
    let number = person.my_number.expose().to_owned();
    let b = signed_in(app, "saijo-staff", LGWAN).await;
    let csrf = b.csrf("/inquiries").await;
    for body in [
        format!(r#"{{"my_number": {number}, "former_municipality": "131016", "consent": true}}"#),
        format!(r#"{{"my_number": "x", "former_municipality": {number}, "consent": true}}"#),
        format!(r#"{{"my_number": "x", "former_municipality": "131016", "consent": {number}}}"#),
        format!(r#"{{"my_number": [{number}]"#),
    ] {
        let page = b
            .json(
                Method::POST,
                "/api/v1/inquiries",
                &[("x-csrf-token", &csrf)],
                &body,
            )
            .await;
        assert_eq!(page.status, 400, "{body}: {}", page.body);
        assert!(!page.body.contains(&number), "{body}: {}", page.body);
        let answer: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(answer["field"], "body");
        assert!(
            answer["message_en"].as_str().unwrap().contains("line 1"),
            "{}",
            page.body
        );
        assert!(!answer["message_ja"].as_str().unwrap().is_empty());
    }
    // The tablet's registration API says the same way what is wrong with its body.
    let tablet = signed_in(app, "saijo-tablet", LGWAN).await;
    let page = tablet.get("/tablet").await;
    let start = page.body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let tablet_csrf = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let page = tablet
        .json(
            Method::POST,
            "/api/v1/doses",
            &[("x-csrf-token", &tablet_csrf), ("idempotency-key", "k1")],
            &format!(r#"{{"coupon": {number}, "dose_number": 1}}"#),
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(!page.body.contains(&number), "{}", page.body);
}

async fn only_lgwan_staff_inquire_and_the_api_answers(app: &TestApp) {
    let person = setup(app).await;
    let number = person.my_number.expose().to_owned();
    // Off LG-WAN: no page, no API, no menu entry.
    let away = signed_in(app, "saijo-staff", INTERNET).await;
    assert_eq!(away.get("/inquiries").await.status, 403);
    assert_eq!(away.get("/inquiries/bulk").await.status, 403);
    assert!(!away.get("/").await.body.contains("/inquiries"));
    let csrf = away.csrf("/records").await;
    let (status, body) = api(
        &away,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "131016", "consent": true}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Other roles, even on LG-WAN.
    let tablet = signed_in(app, "saijo-tablet", LGWAN).await;
    assert_eq!(tablet.get("/inquiries").await.status, 403);
    let operator = signed_in(app, "op-0001", LGWAN).await;
    assert_eq!(operator.get("/inquiries").await.status, 403);

    let b = signed_in(app, "saijo-staff", LGWAN).await;
    assert!(b.get("/").await.body.contains("/inquiries"));
    let csrf = b.csrf("/inquiries").await;
    // Without consent, and without the no-consent terms agreed: refused, saying why.
    let (status, body) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "131016"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("consent_required")),
        "{body}"
    );
    // Field errors name the field; the number is not repeated.
    let (status, body) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": "123456789019", "former_municipality": "131016", "consent": true}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("my_number")),
        "{body}"
    );
    assert!(!body.to_string().contains("123456789019"));
    let (status, body) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "131017", "consent": true}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("former_municipality"))
    );
    let (status, body) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "382060", "consent": true}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("own_municipality"))
    );
    // Without the CSRF header.
    let (status, _) = api(
        &b,
        "wrong",
        serde_json::json!({"my_number": number, "former_municipality": "131016", "consent": true}),
    )
    .await;
    assert_eq!(status, 403);
    // Found, and the same shape for nobody at a wrong municipality.
    let (status, found) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "131016", "consent": true}),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["found"], true);
    assert_eq!(found["doses"].as_array().unwrap().len(), 2);
    assert_eq!(found["doses"][1]["administered_on"], "2021-06-22");
    assert_eq!(found["own_atena_number"], "880000000001");
    assert!(!found.to_string().contains(&number));
    let (status, nobody) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": number, "former_municipality": "011002", "consent": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(nobody["found"], false);
    assert_eq!(nobody["doses"].as_array().unwrap().len(), 0);
    // The API is in the OpenAPI document.
    let doc = b.get("/api/openapi.json").await.body;
    assert!(doc.contains("/api/v1/inquiries"));
}

async fn staff_register_received_doses_and_both_sides_see_provision_records(app: &TestApp) {
    let person = setup(app).await;
    let b = signed_in(app, "saijo-staff", LGWAN).await;
    let csrf = b.csrf("/inquiries").await;
    let page = b
        .post(
            "/inquiries",
            &[
                ("csrf", &csrf),
                ("my_number", person.my_number.expose()),
                ("former_municipality", "131016"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-found=\"true\""), "{}", page.body);
    assert!(!page.body.contains(person.my_number.expose()));
    let start = page.body.find("id=\"inquiry-id\">").unwrap() + "id=\"inquiry-id\">".len();
    let id = page.body[start..start + page.body[start..].find('<').unwrap()].to_owned();
    // A bad field re-shows the form with the field named.
    let bad = b
        .post(
            "/inquiries",
            &[
                ("csrf", &csrf),
                ("my_number", "12"),
                ("former_municipality", "131016"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("個人番号"), "{}", bad.body);

    let done = b
        .post(&format!("/inquiries/{id}/register"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.location.as_deref(), Some("/records/880000000001"));
    let record = b.get("/records/880000000001").await.body;
    assert!(record.contains("照会により受領"), "{record}");
    // Again: nothing new, still a success.
    let again = b
        .post(&format!("/inquiries/{id}/register"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let doses = app
        .db
        .store
        .area(code("382060"))
        .doses_of(&person.atena)
        .await
        .unwrap();
    assert_eq!(doses.len(), 2);

    // Both sides list the inquiry; the provider's names its own person.
    let mine = b.get("/provisions").await;
    assert!(mine.body.contains(&id) && mine.body.contains("data-side=\"inquired\""));
    let theirs = signed_in(app, "chiyoda-staff", INTERNET).await;
    let page = theirs.get("/provisions?side=provided").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&id), "{}", page.body);
    assert!(page.body.contains("data-side=\"provided\""));
    let (status, csv) = theirs.download("/provisions/download").await;
    assert_eq!(status, 200);
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&csv);
    assert!(!bad);
    assert!(text.starts_with("照会番号,区分"), "{text}");
    assert!(text.contains(&id) && text.contains("提供"));
    assert!(!text.contains(person.my_number.expose()));
    // A bad filter names its field.
    let bad = theirs.get("/provisions?from=2026-13-01").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("from"), "{}", bad.body);
    // 千代田区 cannot register 西条市's inquiry.
    let chiyoda = signed_in(app, "chiyoda-staff", LGWAN).await;
    let csrf = chiyoda.csrf("/inquiries").await;
    let foreign = chiyoda
        .post(&format!("/inquiries/{id}/register"), &[("csrf", &csrf)])
        .await;
    assert_eq!(foreign.status, 404);
}

async fn a_bulk_inquiry_is_uploaded_and_its_results_downloaded(app: &TestApp) {
    let person = setup(app).await;
    let b = signed_in(app, "saijo-staff", LGWAN).await;
    let csrf = b.csrf("/inquiries/bulk").await;
    let file = format!(
        "個人番号,転出元自治体コード,本人同意\r\n{},131016,1\r\n123456789019,131016,1\r\n{},011002,1\r\n",
        person.my_number.expose(),
        person.my_number.expose()
    );
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&file);
    let page = b
        .upload(
            "/inquiries/bulk",
            &[("csrf", &csrf), ("encoding", "auto")],
            "file",
            "moved-in.csv",
            bytes.into_owned(),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"bulk-counts\""));
    assert!(page.body.contains("data-line=\"3\""));
    assert!(!page.body.contains(person.my_number.expose()));
    let start = page.body.find("href=\"/inquiries/bulk/").unwrap() + "href=\"".len();
    let link = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let (status, csv) = b.download(&link).await;
    assert_eq!(status, 200);
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&csv);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 + 2, "{text}");
    assert!(
        lines[1].starts_with("2,131016,千代田区,該当あり,880000000001,1,2021-06-01"),
        "{text}"
    );
    assert!(text.contains("3,,,入力誤り"), "{text}");
    assert!(text.contains("4,011002,札幌市,該当なし"), "{text}");
    assert!(!text.contains(person.my_number.expose()));
    // Everyone found is registered in one step; a second time changes nothing.
    assert!(
        page.body.contains("/register\""),
        "the one-step registration is offered"
    );
    let batch = link
        .trim_start_matches("/inquiries/bulk/")
        .trim_end_matches("/download");
    let register = format!("/inquiries/bulk/{batch}/register");
    let done = b.post(&register, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body
            .contains("<span id=\"registered-people\">1</span>"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains("<span id=\"registered-doses\">2</span>"),
        "{}",
        done.body
    );
    let held = app
        .db
        .store
        .area(code("382060"))
        .doses_of(&person.atena)
        .await
        .unwrap();
    assert_eq!(held.len(), 2);
    let again = b.post(&register, &[("csrf", &csrf)]).await;
    assert!(
        again
            .body
            .contains("<span id=\"registered-doses\">0</span>"),
        "{}",
        again.body
    );
    assert_eq!(
        app.db
            .store
            .area(code("382060"))
            .doses_of(&person.atena)
            .await
            .unwrap()
            .len(),
        2
    );
    // Not another municipality's batch.
    let other_staff = signed_in(app, "chiyoda-staff", LGWAN).await;
    let token = other_staff.csrf("/inquiries/bulk").await;
    assert_eq!(
        other_staff
            .post(&register, &[("csrf", &token)])
            .await
            .status,
        404
    );
    // An empty upload is refused on the page.
    let empty = b
        .upload(
            "/inquiries/bulk",
            &[("csrf", &csrf)],
            "file",
            "e.csv",
            Vec::new(),
        )
        .await;
    assert_eq!(empty.status, 422);
    // Another municipality's staff cannot download the job.
    let other = signed_in(app, "chiyoda-staff", LGWAN).await;
    assert_eq!(other.download(&link).await.0, 404);

    // The same through the API: the file as the body (text/csv), the counts as JSON, the results
    // as CSV; the My Number stays in the body, never in a URL or an answer.
    let token = b.csrf("/").await;
    let posted = b
        .page_of(
            b.client
                .post(format!("{}/api/v1/inquiries/bulk", b.base))
                .header("content-type", "text/csv")
                .header("x-csrf-token", token.clone())
                .body(file.clone().into_bytes()),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let answer: serde_json::Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(
        (
            answer["rows"].as_u64(),
            answer["found"].as_u64(),
            answer["invalid"].as_u64()
        ),
        (Some(3), Some(1), Some(1)),
        "{answer}"
    );
    assert!(!posted.body.contains(person.my_number.expose()));
    let results = answer["results"].as_str().unwrap();
    let (status, csv) = b.download(results).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.contains("該当あり") && !text.contains(person.my_number.expose()),
        "{text}"
    );
    let theirs = other.get(results).await;
    assert_eq!(theirs.status, 404);
    assert!(
        theirs.body.contains("\"code\":\"not_found\""),
        "{}",
        theirs.body
    );
    let empty = b
        .page_of(
            b.client
                .post(format!("{}/api/v1/inquiries/bulk", b.base))
                .header("content-type", "text/csv")
                .header("x-csrf-token", token)
                .body(Vec::new()),
        )
        .await;
    assert_eq!(empty.status, 422, "{}", empty.body);
}
