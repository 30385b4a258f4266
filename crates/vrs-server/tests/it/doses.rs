//! Doses over real HTTP, on SQLite and on PostgreSQL: the tablet's registration (idempotency, CSRF,
//! field errors, rules, home area), staff record management (search, correct, delete, flags, My
//! Number only on LG-WAN) and dose files (upload, download).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::testkit::code;
use vrs_store::Areas;

use reqwest::Method;
use support::{Browser, TestApp, INTERNET, LGWAN, PASSWORD};
use vrs_domain::Resident;

on_both_backends!(
    TestApp:
    a_tablet_registers_a_dose_once_per_idempotency_key,
    staff_manage_the_records_of_their_own_municipality,
    staff_upload_and_download_dose_files,
);

/// Five people in each of 西条市 and 千代田区; the fifth of each is deceased.
async fn people(app: &TestApp, municipality: &str) -> Vec<Resident> {
    let m = code(municipality);
    let mut people: Vec<Resident> = vrs_interop::Synthetic::new(m, 5, 9).collect();
    people[4].deceased_on = chrono::NaiveDate::from_ymd_opt(2021, 8, 1);
    for p in &people {
        let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
        app.db.store.area(m).put_resident(p, &audit).await.unwrap();
    }
    people
}

/// The CSRF token the tablet page hands its script.
async fn tablet_csrf(b: &Browser) -> String {
    let page = b.get("/tablet").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page.body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let end = page.body[start..].find('"').unwrap();
    page.body[start..start + end].to_owned()
}

fn registration(coupon: &str, n: u8, date: &str) -> String {
    serde_json::json!({
        "coupon": coupon, "dose_number": n, "administered_on": date,
        "product": "comirnaty", "lot_number": "FA4597", "venue": "西条市総合体育館",
    })
    .to_string()
}

async fn register(b: &Browser, csrf: &str, key: &str, body: &str) -> (u16, serde_json::Value) {
    let page = b
        .json(
            Method::POST,
            "/api/v1/doses",
            &[("idempotency-key", key), ("x-csrf-token", csrf)],
            body,
        )
        .await;
    let json = serde_json::from_str(&page.body).unwrap_or(serde_json::Value::Null);
    (page.status, json)
}

/// How many doses `person` has in their own municipality's area.
async fn stored_doses(app: &TestApp, person: &Resident) -> usize {
    app.db
        .store
        .area(person.municipality)
        .doses_of(&person.atena)
        .await
        .unwrap()
        .len()
}

async fn a_tablet_registers_a_dose_once_per_idempotency_key(app: &TestApp) {
    let chiyoda = people(app, "131016").await;
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let tablet = app.browser(INTERNET);
    tablet.login("saijo-tablet", PASSWORD).await;
    let csrf = tablet_csrf(&tablet).await;
    let ocr = format!("11131016{}", chiyoda[0].coupon);
    let body = registration(&ocr, 1, "2021-06-01");
    let (status, first) = register(&tablet, &csrf, "key-1", &body).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["outcome"], "registered");
    assert_eq!(first["municipality_code"], "131016");
    assert_eq!(first["next_dose_number"], 2);
    let text = first.to_string();
    for personal in [
        chiyoda[0].my_number.expose(),
        chiyoda[0].name.as_str(),
        chiyoda[0].atena.as_str(),
        &chiyoda[0].birth_date.to_string(),
    ] {
        assert!(!text.contains(personal), "the tablet learned {personal}");
    }
    // The answer was lost; the tablet retries with the same key: same answer, one dose.
    let (status, again) = register(&tablet, &csrf, "key-1", &body).await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(stored_doses(app, &chiyoda[0]).await, 1);
    let stored = app
        .db
        .store
        .area(code("131016"))
        .doses_of(&chiyoda[0].atena)
        .await
        .unwrap();
    assert_eq!(stored[0].dose.site_municipality, code("382060"));
    assert_eq!(stored[0].venue, "西条市総合体育館");
    // The key reused for another registration, no key, no CSRF header, another role.
    let other = registration(&ocr, 2, "2021-06-22");
    let (status, reused) = register(&tablet, &csrf, "key-1", &other).await;
    assert_eq!(
        (status, reused["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let no_key = tablet
        .json(
            Method::POST,
            "/api/v1/doses",
            &[("x-csrf-token", &csrf)],
            &other,
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert!(no_key.body.contains("Idempotency-Key"), "{}", no_key.body);
    let no_csrf = tablet
        .json(
            Method::POST,
            "/api/v1/doses",
            &[("idempotency-key", "key-9")],
            &other,
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    // Bad fields name the field; nothing is stored.
    // Off the API document: 400; fitting it but refused (a date that does not exist, a product
    // not in the catalogue, a check digit): 422.
    for (body, field, expected) in [
        (registration(&ocr, 2, "2021-13-40"), "administered_on", 422),
        (
            other.replace("comirnaty", "no-such-vaccine"),
            "product",
            422,
        ),
        (other.replace(&ocr, "11131017000000000"), "coupon", 400),
        (other.replace(&ocr, "111310170000000001"), "coupon", 422),
        ("{\"coupon\": 1}".to_owned(), "body", 400),
    ] {
        let (status, json) =
            register(&tablet, &csrf, &format!("k-{field}-{expected}"), &body).await;
        assert_eq!(
            (status, json["field"].as_str()),
            (expected, Some(field)),
            "{json}"
        );
    }
    // The rules refuse with every broken rule named.
    let (status, json) = register(
        &tablet,
        &csrf,
        "key-2",
        &registration(&ocr, 2, "2099-01-01"),
    )
    .await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["code"], "quality");
    assert_eq!(json["rules"][0]["code"], "future_date");
    assert!(json["rules"][0]["message_ja"]
        .as_str()
        .unwrap()
        .contains("未来"));
    // An invented coupon and a deceased person's coupon.
    let (status, json) = register(
        &tablet,
        &csrf,
        "key-3",
        &registration("131016-9999999999", 1, "2021-06-01"),
    )
    .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (404, Some("unknown_coupon"))
    );
    let dead = format!("131016-{}", chiyoda[4].coupon);
    let (status, json) = register(
        &tablet,
        &csrf,
        "key-4",
        &registration(&dead, 1, "2021-06-01"),
    )
    .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (404, Some("unknown_coupon"))
    );
    assert_eq!(stored_doses(app, &chiyoda[0]).await, 1);
    // The site municipality's staff cannot see the dose: the person is not theirs.
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let search = staff
        .get(&format!("/records?coupon={}", chiyoda[0].coupon))
        .await;
    assert!(search.body.contains("no-result"), "{}", search.body);
    let page = staff.get(&format!("/records/{}", chiyoda[0].atena)).await;
    assert_eq!(page.status, 404);
    let csrf = staff.csrf("/").await;
    let refused = register(&staff, &csrf, "key-5", &other).await;
    assert_eq!(refused.0, 403);
    // A cookie of no session (signed out, swept, forged) is told to sign in before anything of
    // the body is answered, whether the body is good or bad; a first-login password still to be
    // changed is answered next, before the CSRF token. Nothing is stored.
    let stranger = app.browser(INTERNET);
    for (body, key) in [
        (registration(&ocr, 2, "2021-06-22"), Some("key-6")),
        (registration(&ocr, 2, "2021-13-40"), Some("key-7")),
        ("{\"coupon\": 1}".to_owned(), Some("key-8")),
        (registration(&ocr, 2, "2021-06-22"), None),
    ] {
        let mut request = stranger
            .client
            .post(format!("{}/api/v1/doses", stranger.base))
            .header("content-type", "application/json")
            .header("cookie", "vrs_session=no-such-session")
            .header("x-csrf-token", "forged")
            .body(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let page = stranger.page_of(request).await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.body.contains("sign_in"), "{}", page.body);
    }
    app.account("saijo-tablet-new", "site_tablet", Some("382060"), true)
        .await;
    let new = app.browser(INTERNET);
    new.login("saijo-tablet-new", PASSWORD).await;
    let (status, json) = register(&new, "forged", "key-9", &other).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (403, Some("password_change_due")),
        "{json}"
    );
    assert_eq!(stored_doses(app, &chiyoda[0]).await, 1);
}

async fn staff_manage_the_records_of_their_own_municipality(app: &TestApp) {
    let saijo = people(app, "382060").await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let p = &saijo[0];
    // By 宛名番号, by coupon, by kana without spaces and 和暦 birth date, by My Number (LG-WAN).
    let wareki = vrs_domain::format_wareki(p.birth_date);
    let kana: String = p
        .name_kana
        .as_str()
        .chars()
        .filter(|c| *c != '　')
        .collect();
    for query in [
        format!("atena={}", p.atena),
        format!("coupon={}", p.coupon),
        format!("kana={kana}&birth={wareki}"),
    ] {
        let page = staff.get(&format!("/records?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert!(
            page.body.contains(&format!("/records/{}", p.atena)),
            "{query} did not find the person"
        );
    }
    // The search form is posted: a My Number never becomes part of a URL. The form posts with
    // the session's token; without it the search is refused.
    let search_csrf = staff.csrf("/records").await;
    let page = staff
        .post(
            "/records",
            &[("csrf", &search_csrf), ("my_number", p.my_number.expose())],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("/records/{}", p.atena)));
    assert!(!page.body.contains(p.my_number.expose()));
    let forged = staff
        .post(
            "/records",
            &[("csrf", "forged"), ("my_number", p.my_number.expose())],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // A My Number in the query string is refused, searched for nowhere and not repeated.
    let in_url = staff
        .get_my_number_in_url(&format!("/records?my_number={}", p.my_number.expose()))
        .await;
    assert_eq!(in_url.status, 400, "{}", in_url.body);
    assert!(in_url.body.contains("URL"), "{}", in_url.body);
    assert!(
        !in_url.body.contains(p.my_number.expose()),
        "{}",
        in_url.body
    );
    assert!(!in_url.body.contains(&format!("/records/{}", p.atena)));
    // The test servers' own scan finds a My Number in a URL, and not a 宛名番号 where one goes.
    let number = p.my_number.expose();
    assert_eq!(
        support::my_number_in(&format!("/records?my_number={number}")).as_deref(),
        Some(number)
    );
    assert_eq!(
        support::my_number_in(&format!(
            "/fhir/Patient?identifier=urn%3Ajp%3Amynumber%7C{number}"
        ))
        .as_deref(),
        Some(number)
    );
    assert_eq!(
        support::my_number_in(&format!("/records/{number}/doses")),
        None
    );
    let bad = staff.get("/records?birth=2021-02-30&kana=ア").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("生年月日"), "{}", bad.body);
    // The person's page shows the (masked) My Number on LG-WAN only.
    let page = staff.get(&format!("/records/{}", p.atena)).await;
    assert!(page.body.contains("my-number"));
    assert!(!page.body.contains(p.my_number.expose()));
    let outside = app.browser(INTERNET);
    outside.login("saijo-staff", PASSWORD).await;
    let page = outside.get(&format!("/records/{}", p.atena)).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("my-number"));
    let outside_csrf = outside.csrf("/records").await;
    let by_number = outside
        .post(
            "/records",
            &[("csrf", &outside_csrf), ("my_number", p.my_number.expose())],
        )
        .await;
    assert_eq!(by_number.status, 422);
    assert!(by_number.body.contains("LGWAN"), "{}", by_number.body);
    // Add, correct (with a reason), delete; flags.
    let csrf = staff.csrf(&format!("/records/{}", p.atena)).await;
    let base = format!("/records/{}", p.atena);
    let dose = |n: &'static str, date: &'static str, lot: &'static str, reason: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("dose_number", n.to_owned()),
            ("administered_on", date.to_owned()),
            ("product", "comirnaty".to_owned()),
            ("lot_number", lot.to_owned()),
            ("site", String::new()),
            ("venue", String::new()),
            ("doctor", String::new()),
            ("reason", reason.to_owned()),
        ]
    };
    let form = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let staff = &staff;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            staff.post(&path, &pairs).await
        }
    };
    let added = post(
        format!("{base}/doses"),
        form(&dose("1", "令和3年6月1日", "FA4597", "")),
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let refused = post(
        format!("{base}/doses"),
        form(&dose("2", "2021-06-05", "FA4597", "")),
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("最短間隔"), "{}", refused.body);
    let no_reason = post(
        format!("{base}/doses/1/correct"),
        form(&dose("1", "2021-06-02", "FC3661", "")),
    )
    .await;
    assert_eq!(no_reason.status, 422);
    let corrected = post(
        format!("{base}/doses/1/correct"),
        form(&dose("1", "2021-06-02", "FC3661", "予診票の読取誤り")),
    )
    .await;
    assert_eq!(corrected.status, 303, "{}", corrected.body);
    let page = staff.get(&format!("{base}?saved=1")).await;
    assert!(page.body.contains("FC3661"));
    assert!(page.body.contains("令和3年6月2日"), "{}", page.body);
    let asked = post(
        format!("{base}/doses/1/delete"),
        vec![("csrf", csrf.clone()), ("reason", "二重登録".into())],
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked.body.contains("の1回目の接種記録を削除します"),
        "{}",
        asked.body
    );
    assert!(
        staff.get(&base).await.body.contains("FC3661"),
        "still there"
    );
    let deleted = post(
        format!("{base}/doses/1/delete"),
        vec![
            ("csrf", csrf.clone()),
            ("reason", "二重登録".into()),
            ("confirmed", "1".into()),
        ],
    )
    .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        deleted.location.as_deref(),
        Some(format!("{base}?saved=dose_deleted").as_str())
    );
    assert!(staff
        .get(&format!("{base}?saved=dose_deleted"))
        .await
        .body
        .contains("接種記録を削除しました。"));
    let flagged = post(
        format!("{base}/flags"),
        vec![
            ("csrf", csrf.clone()),
            ("moved_out_on", "令和4年4月1日".into()),
            ("deceased_on", String::new()),
        ],
    )
    .await;
    assert_eq!(flagged.status, 303);
    let page = staff.get(&base).await;
    assert!(page.body.contains("no-doses"));
    assert!(page.body.contains("転出 令和4年4月1日"), "{}", page.body);
    let forged = post(
        format!("{base}/flags"),
        vec![
            ("csrf", "forged".into()),
            ("deceased_on", "2022-01-01".into()),
        ],
    )
    .await;
    assert_eq!(forged.status, 403);
    // Every change is in the audit log with before and after.
    let log = app
        .db
        .store
        .audit_log(code("382060").into(), 1, 1000)
        .await
        .unwrap();
    let detail = |action: &str| {
        log.iter()
            .rev()
            .find(|r| r.entry.action == action)
            .map(|r| r.entry.detail.clone())
            .unwrap_or_else(|| panic!("no {action} entry"))
    };
    assert!(detail("dose.correct").contains("before: dose=1 date=2021-06-01"));
    assert!(detail("dose.correct").contains("after: dose=1 date=2021-06-02"));
    assert!(detail("dose.delete").contains("reason: 二重登録"));
    assert!(detail("person.flags").contains("after: moved_out=2022-04-01"));
    assert!(log
        .iter()
        .any(|r| r.entry.action == "person.search_by_my_number"));
    for r in &log {
        assert!(!r.entry.target.contains(p.my_number.expose()));
        assert!(!r.entry.detail.contains(p.my_number.expose()));
    }
}

async fn staff_upload_and_download_dose_files(app: &TestApp) {
    let saijo = people(app, "382060").await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let csrf = staff.csrf("/doses/import").await;
    let rows = format!(
        "接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード\r\n{},1,令和3年6月1日,comirnaty,FA4597,382060\r\n{},1,R03.06.02,コミナティ筋注,FA4597,131016\r\n",
        saijo[0].coupon, saijo[1].coupon
    );
    let bad = format!(
        "{rows}{},1,2021-06-01,comirnaty,FA4597,382060\r\n",
        "9999999999"
    );
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(&bad);
    let page = staff
        .upload(
            "/doses/import",
            &[("csrf", &csrf), ("encoding", "auto")],
            "file",
            "doses.csv",
            cp932.to_vec(),
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains("<td>4</td><td>接種券番号</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-stored=\"false\""));
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(&rows);
    let page = staff
        .upload(
            "/doses/import",
            &[("csrf", &csrf), ("encoding", "cp932")],
            "file",
            "doses.csv",
            cp932.to_vec(),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-stored=\"true\""));
    let forged = staff
        .upload(
            "/doses/import",
            &[("csrf", "x")],
            "file",
            "doses.csv",
            rows.clone().into_bytes(),
        )
        .await;
    assert_eq!(forged.status, 403);
    // Downloads: the ledger in CP932 and the dose CSV in UTF-8; no My Number, no name.
    let (status, ledger) = staff
        .download("/doses/export/download?format=vrs-ledger&encoding=cp932")
        .await;
    assert_eq!(status, 200);
    let (text, _, malformed) = encoding_rs::SHIFT_JIS.decode(&ledger);
    assert!(!malformed);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(
            "個別宛名番号,1回目接種履歴登録日時,1回目接種日,1回目券番号,1回目接種自治体コード"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3);
    assert!(text.contains("ファイザー"), "{text}");
    let (status, csv) = staff
        .download("/doses/export/download?format=csv&encoding=utf-8")
        .await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    for p in &saijo {
        assert!(!text.contains(p.my_number.expose()));
        assert!(!csv.contains(p.my_number.expose()));
        assert!(!csv.contains(p.name.as_str()));
    }
    assert!(csv.contains(",131016,"));
    let bad_format = staff
        .download("/doses/export/download?format=xml&encoding=utf-8")
        .await;
    assert_eq!(bad_format.0, 422);
    // The download is audited.
    let log = app
        .db
        .store
        .audit_log(code("382060").into(), 1, 1000)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .filter(|r| r.entry.action == "doses.export")
            .count(),
        2
    );
}
