//! Browser tests: headless Chromium (see `support::browser`) against a real server. Each role
//! signs in through the login page and sees its own menu; the tablet registers a dose; staff
//! inquire; each role's statistics dashboard and the open-data dashboard draw their charts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "browser/dashboards.rs"]
mod dashboards;
use crate::support;
use vrs_store::Areas;

use fantoccini::{Client, Locator};
use support::browser::{
    browser, chromedriver, click, open, sign_in, sign_out, text_of, type_into, value_of, wait_for,
    wait_for_text,
};
use support::{spawn_app, TestApp};
use vrs_store::testkit::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_signs_in_and_sees_its_menu() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    let roles = [
        (
            "op-0001",
            "national_operator",
            None,
            Some("アカウント申請の審査"),
        ),
        ("pref-38", "prefecture_viewer", None, None),
        (
            "saijo-admin",
            "municipal_admin",
            Some("382060"),
            Some("アカウントの利用申請"),
        ),
        ("saijo-staff", "municipal_staff", Some("382060"), None),
        ("saijo-tablet", "site_tablet", Some("382060"), None),
        ("kiosk", "certificate_service", None, None),
    ];
    for (user_id, role, municipality, _) in roles {
        app.account(user_id, role, municipality, false).await;
    }
    let client = browser(&driver).await;
    for (user_id, role, _, own_item) in roles {
        sign_in(&client, &app, user_id).await;
        let menu = client.find(Locator::Css("nav.menu")).await.unwrap();
        assert_eq!(menu.attr("data-role").await.unwrap().as_deref(), Some(role));
        let text = menu.text().await.unwrap();
        assert!(text.contains("パスワード変更"), "{role}: {text}");
        if let Some(item) = own_item {
            assert!(text.contains(item), "{role} should see {item}: {text}");
        }
        if role != "national_operator" {
            assert!(
                !text.contains("アカウント申請の審査"),
                "{role} sees the operator's menu: {text}"
            );
        }
        // Sign out through the header's button.
        sign_out(&client).await;
    }
    // The English switch.
    sign_in(&client, &app, "saijo-staff").await;
    open(&client, &app, "/lang/en").await;
    wait_for(&client, "nav.menu").await;
    let text = text_of(&client, "nav.menu").await;
    assert!(text.contains("Change password"), "{text}");
    client.close().await.unwrap();
    app.stop().await;
}

/// Replaces the OCR field's text by `line`, typed as a reader would.
async fn type_ocr(client: &Client, line: &str) {
    let ocr = client.find(Locator::Id("ocr")).await.unwrap();
    ocr.clear().await.unwrap();
    ocr.send_keys(line).await.unwrap();
}

async fn check_enabled(client: &Client) -> bool {
    client
        .find(Locator::Id("check"))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tablet_page_registers_a_dose_and_refuses_a_bad_ocr_line() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    let code = |c: &str| vrs_domain::MunicipalityCode::parse(c).unwrap();
    let chiyoda = code("131016");
    let people: Vec<_> = vrs_interop::Synthetic::new(chiyoda, 3, 5).collect();
    assert_eq!(people.len(), 3);
    for p in &people {
        app.db
            .store
            .area(chiyoda)
            .put_resident(
                p,
                &vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x"),
            )
            .await
            .unwrap();
    }
    let p = &people[0];
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    let client = browser(&driver).await;
    sign_in(&client, &app, "saijo-tablet").await;
    open(&client, &app, "/tablet").await;
    wait_for(&client, "#ocr").await;

    // The page runs under its Content Security Policy: the tablet's own script (allowed by its
    // hash) runs — everything below needs it — while a script injected into the page does not.
    let injected = client
        .execute(
            "const s = document.createElement('script'); \
             s.textContent = 'window.injectedRan = true'; \
             document.body.appendChild(s); \
             return window.injectedRan === true;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        injected,
        serde_json::Value::Bool(false),
        "an injected script ran"
    );
    // The page's own style block is allowed by its hash: the header is styled.
    let header_colour = client
        .execute(
            "return getComputedStyle(document.querySelector('header')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(header_colour, serde_json::json!("rgb(29, 79, 145)"));
    let headers = reqwest::get(format!("http://{}/login", app.address))
        .await
        .unwrap()
        .headers()
        .clone();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");

    // 131017 fails the municipality code's check digit: the page says so and will not check it.
    type_ocr(&client, &format!("11131017{}", p.coupon.as_str())).await;
    let feedback = wait_for_text(&client, "ocr-feedback", "検査数字").await;
    assert!(feedback.contains("131017"), "{feedback}");
    assert!(!check_enabled(&client).await);

    // A well-formed line with a coupon nobody holds: the server refuses it.
    type_ocr(&client, "111310169999999999").await;
    wait_for_text(&client, "ocr-feedback", "確認できます").await;
    assert!(check_enabled(&client).await);
    click(&client, "#check").await;
    wait_for_text(&client, "result", "登録できません").await;
    assert!(!client
        .find(Locator::Id("step-dose"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap());

    // The first person's coupon: checked, then a dose registered at this (西条市's) site.
    type_ocr(&client, &format!("11131016{}", p.coupon.as_str())).await;
    wait_for_text(&client, "ocr-feedback", "確認できます").await;
    click(&client, "#check").await;
    let info = wait_for_text(&client, "coupon-info", p.coupon.as_str()).await;
    assert!(info.contains("接種記録なし"), "{info}");
    let dose_number = value_of(&client, "dose_number").await;
    assert_eq!(dose_number.as_deref(), Some("1"));
    client
        .execute(
            "document.getElementById('administered_on').value = '2021-06-01'; \
             document.getElementById('product').value = 'comirnaty';",
            vec![],
        )
        .await
        .unwrap();
    type_into(&client, "lot_number", "FA4597").await;
    // The first try gets no answer and the second a 503 with Retry-After (the database failing
    // over): the page sends the registration again by itself, with the same Idempotency-Key.
    client
        .execute(
            "const real = window.fetch; window.doseKeys = []; let tries = 0; \
             window.fetch = (url, options) => { \
               if (!String(url).endsWith('/api/v1/doses')) return real(url, options); \
               window.doseKeys.push(options.headers['idempotency-key']); tries += 1; \
               if (tries === 1) return Promise.reject(new TypeError('no answer')); \
               if (tries === 2) return Promise.resolve(new Response( \
                 JSON.stringify({code: 'unavailable', message_ja: '', message_en: ''}), \
                 {status: 503, headers: {'content-type': 'application/json', 'retry-after': '1'}})); \
               return real(url, options); };",
            vec![],
        )
        .await
        .unwrap();
    click(&client, "#register").await;
    wait_for_text(&client, "result", "自動で再送しています").await;
    let result = wait_for_text(&client, "result", "登録しました").await;
    assert!(result.contains("FA4597"), "{result}");
    let keys = client
        .execute("return window.doseKeys;", vec![])
        .await
        .unwrap();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys.iter().all(|k| k == &keys[0] && k.is_string()),
        "{keys:?}"
    );

    let doses = app.db.store.area(chiyoda).doses_of(&p.atena).await.unwrap();
    assert_eq!(doses.len(), 1, "{doses:?}");
    let dose = &doses[0].dose;
    assert_eq!(dose.site_municipality, code("382060"));
    assert_eq!(dose.dose_number, 1);
    assert_eq!(dose.administered_on.to_string(), "2021-06-01");
    assert_eq!(dose.product.code, "comirnaty");
    assert_eq!(dose.lot_number.as_str(), "FA4597");
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_inquire_from_an_lgwan_terminal_and_the_administrator_agrees_to_terms() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = support::spawn_app_lgwan_here(TestDb::sqlite().await).await;
    let code = |c: &str| vrs_domain::MunicipalityCode::parse(c).unwrap();
    let (chiyoda, saijo) = (code("131016"), code("382060"));
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let old = vrs_interop::Synthetic::new(chiyoda, 1, 5).next().unwrap();
    app.db
        .store
        .area(chiyoda)
        .put_resident(&old, &audit)
        .await
        .unwrap();
    let dose = vrs_domain::DoseRecord::now(
        vrs_domain::Dose {
            municipality: chiyoda,
            atena: old.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(1).unwrap(),
            administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(),
            product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
            site_municipality: chiyoda,
            coupon: old.coupon,
        },
        vrs_domain::DoseSource::Tablet,
    );
    app.db
        .store
        .area(chiyoda)
        .add_doses(&[dose], "t", &audit)
        .await
        .unwrap();
    let mut new = old.clone();
    new.municipality = saijo;
    new.atena = vrs_domain::AtenaNumber::parse("880000000001").unwrap();
    new.coupon = vrs_domain::CouponNumber::parse("8800000001").unwrap();
    app.db
        .store
        .area(saijo)
        .put_resident(&new, &audit)
        .await
        .unwrap();
    let operator = vrs_core::Actor {
        user: "op".into(),
        role: "national_operator".into(),
        terminal: "internet".into(),
    };
    vrs_core::governance::publish_terms(
        app.db.store.as_ref(),
        &operator,
        vrs_domain::TermsKind::NoConsentInquiry,
        "本人同意を要しない照会",
        "番号法第19条第16号",
    )
    .await
    .unwrap();
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let client = browser(&driver).await;

    // The administrator reads the terms and agrees.
    sign_in(&client, &app, "saijo-admin").await;
    let menu = text_of(&client, "nav.menu").await;
    assert!(
        menu.contains("確認事項") && menu.contains("他自治体への接種記録照会"),
        "{menu}"
    );
    open(&client, &app, "/terms").await;
    let section = "section[data-kind=\"no_consent_inquiry\"]";
    wait_for(&client, section).await;
    click(&client, &format!("{section} input[name=\"read\"]")).await;
    click(&client, &format!("{section} button.agree")).await;
    wait_for(
        &client,
        "section[data-kind=\"no_consent_inquiry\"][data-agreed=\"true\"]",
    )
    .await;
    sign_out(&client).await;

    // Staff inquire 千代田区 (which has not agreed): consent is needed, then the doses arrive.
    sign_in(&client, &app, "saijo-staff").await;
    open(&client, &app, "/inquiries").await;
    wait_for(&client, "#my_number").await;
    type_into(&client, "my_number", new.my_number.expose()).await;
    type_into(&client, "former_municipality", "131016").await;
    click(&client, "#send").await;
    let error = wait_for_text(&client, "error", "同意").await;
    assert!(error.contains("本人の同意"), "{error}");
    type_into(&client, "my_number", new.my_number.expose()).await;
    // The former municipality typed before the refusal is kept; the My Number never is.
    let kept = value_of(&client, "former_municipality").await;
    assert_eq!(kept.as_deref(), Some("131016"));
    click(&client, "#consent").await;
    click(&client, "#send").await;
    let answer = wait_for_text(&client, "answer", "FA4597").await;
    assert!(answer.contains("千代田区"), "{answer}");
    assert!(!answer.contains(new.my_number.expose()));
    click(&client, "#register").await;
    let doses = wait_for_text(&client, "doses", "FA4597").await;
    assert!(doses.contains("照会により受領"), "{doses}");
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_finds_the_backup_page_and_deletes_a_person_with_a_reason() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = support::spawn_app_lgwan_here(TestDb::sqlite().await).await;
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let people: Vec<_> = vrs_interop::Synthetic::new(saijo, 2, 8).collect();
    for p in &people {
        app.db
            .store
            .area(saijo)
            .put_resident(p, &audit)
            .await
            .unwrap();
    }
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    let client = browser(&driver).await;
    sign_in(&client, &app, "saijo-admin").await;
    let menu = text_of(&client, "nav.menu").await;
    assert!(menu.contains("バックアップ"), "{menu}");
    click(&client, "nav.menu a[href=\"/admin/backup\"]").await;
    let page = client
        .wait()
        .for_element(Locator::Id("take-backup"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("バックアップを作成"), "{page}");

    // Delete the first person: open the section, give the reason, confirm.
    client
        .goto(&format!(
            "http://{}/records/{}",
            app.address, people[0].atena
        ))
        .await
        .unwrap();
    click(&client, "#delete-person summary").await;
    client
        .find(Locator::Css("#delete-person input[name=reason]"))
        .await
        .unwrap()
        .send_keys("二重登録のため")
        .await
        .unwrap();
    click(&client, "#delete-person button").await;
    // The confirmation page says what will go; its danger button does it.
    wait_for(&client, "section.confirm button.danger").await;
    assert_eq!(app.db.store.area(saijo).count_residents().await.unwrap(), 2);
    // The stylesheet applies under the page's policy: the danger button is red.
    let colour = client
        .execute(
            "return getComputedStyle(document.querySelector('section.confirm button.danger')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(colour.as_str(), Some("rgb(179, 38, 30)"), "{colour:?}");
    click(&client, "section.confirm button.danger").await;
    wait_for(&client, "#kana").await;
    let at = client.current_url().await.unwrap();
    assert_eq!(at.path(), "/records", "back on the search page");
    assert_eq!(app.db.store.area(saijo).count_residents().await.unwrap(), 1);
    assert!(app
        .db
        .store
        .area(saijo)
        .resident(&people[0].atena)
        .await
        .is_err());
    let deleted = app
        .db
        .store
        .audit_search(
            vrs_store::AuditScope::Area(saijo),
            &vrs_store::AuditFilter {
                action: Some("person.delete".into()),
                limit: 5,
                ..vrs_store::AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].entry.detail.contains("二重登録のため"));
    client.close().await.unwrap();
    app.stop().await;
}
