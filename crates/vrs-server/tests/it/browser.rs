//! Browser tests: headless Chromium driven over WebDriver (chromedriver + fantoccini) against a real
//! server. Each role signs in through the login page and sees its own menu. Under CI (or with
//! `VRS_REQUIRE_BROWSER=1`) a missing Chromium or chromedriver fails the test; elsewhere it is
//! skipped with a message. `.ci/run` installs Debian's `chromium` and `chromium-driver`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use support::{spawn_app, TestApp, PASSWORD};
use vrs_store::testkit::TestDb;

pub(crate) struct Driver {
    process: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var("VRS_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Starts chromedriver on a free port and waits until it accepts connections.
pub(crate) async fn chromedriver() -> Option<Driver> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(path) = found.filter(|_| std::path::Path::new("/usr/bin/chromium").exists()) else {
        if required() {
            panic!("chromium and chromedriver are required here (CI) but not installed");
        }
        eprintln!("chromium or chromedriver not installed; skipping the browser test");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver { process, port };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    browser_with(driver, &[]).await
}

/// A browser session started with `extra` command-line switches (a fake camera, say).
pub(crate) async fn browser_with(driver: &Driver, extra: &[String]) -> Client {
    let mut caps = serde_json::Map::new();
    let user_data = tempfile_dir();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.push(format!("--user-data-dir={user_data}"));
    args.extend_from_slice(extra);
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": args,
        }),
    );
    // Two crypto providers are compiled into the test build: name one for the WebDriver client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("a TLS configuration")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!(
        "vrs-chromium-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.display().to_string()
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub(crate) async fn sign_in(client: &Client, app: &TestApp, user_id: &str) {
    client
        .goto(&format!("http://{}/login", app.address))
        .await
        .unwrap();
    client
        .find(Locator::Id("user_id"))
        .await
        .unwrap()
        .send_keys(user_id)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("form.card button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("nav.menu"))
        .await
        .unwrap();
}

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
        client
            .find(Locator::Css("header form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Id("user_id"))
            .await
            .unwrap();
    }
    // The English switch.
    sign_in(&client, &app, "saijo-staff").await;
    client
        .goto(&format!("http://{}/lang/en", app.address))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("nav.menu"))
        .await
        .unwrap();
    let text = client
        .find(Locator::Css("nav.menu"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Change password"), "{text}");
    client.close().await.unwrap();
    app.stop().await;
}

/// Waits until the element `id` is shown and its text contains `needle`; returns the text.
pub(crate) async fn wait_for_text(client: &Client, id: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(element) = client.find(Locator::Id(id)).await {
            if element.is_displayed().await.unwrap_or(false) {
                last = element.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return last;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("#{id} never showed {needle:?}; last text: {last:?}");
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
            .put_resident(
                chiyoda,
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
    client
        .goto(&format!("http://{}/tablet", app.address))
        .await
        .unwrap();
    client.wait().for_element(Locator::Id("ocr")).await.unwrap();

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
    client
        .find(Locator::Id("check"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
    client
        .find(Locator::Id("check"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let info = wait_for_text(&client, "coupon-info", p.coupon.as_str()).await;
    assert!(info.contains("接種記録なし"), "{info}");
    let dose_number = client
        .find(Locator::Id("dose_number"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(dose_number.as_deref(), Some("1"));
    client
        .execute(
            "document.getElementById('administered_on').value = '2021-06-01'; \
             document.getElementById('product').value = 'comirnaty';",
            vec![],
        )
        .await
        .unwrap();
    client
        .find(Locator::Id("lot_number"))
        .await
        .unwrap()
        .send_keys("FA4597")
        .await
        .unwrap();
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
    client
        .find(Locator::Id("register"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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

    let doses = app.db.store.doses_of(chiyoda, &p.atena).await.unwrap();
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

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn type_into(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
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
        .put_resident(chiyoda, &old, &audit)
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
        .add_doses(chiyoda, &[dose], "t", &audit)
        .await
        .unwrap();
    let mut new = old.clone();
    new.municipality = saijo;
    new.atena = vrs_domain::AtenaNumber::parse("880000000001").unwrap();
    new.coupon = vrs_domain::CouponNumber::parse("8800000001").unwrap();
    app.db
        .store
        .put_resident(saijo, &new, &audit)
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
    let menu = client
        .find(Locator::Css("nav.menu"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        menu.contains("確認事項") && menu.contains("他自治体への接種記録照会"),
        "{menu}"
    );
    client
        .goto(&format!("http://{}/terms", app.address))
        .await
        .unwrap();
    let section = "section[data-kind=\"no_consent_inquiry\"]";
    client
        .wait()
        .for_element(Locator::Css(section))
        .await
        .unwrap();
    click(&client, &format!("{section} input[name=\"read\"]")).await;
    click(&client, &format!("{section} button.agree")).await;
    client
        .wait()
        .for_element(Locator::Css(
            "section[data-kind=\"no_consent_inquiry\"][data-agreed=\"true\"]",
        ))
        .await
        .unwrap();
    client
        .find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Id("user_id"))
        .await
        .unwrap();

    // Staff inquire 千代田区 (which has not agreed): consent is needed, then the doses arrive.
    sign_in(&client, &app, "saijo-staff").await;
    client
        .goto(&format!("http://{}/inquiries", app.address))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Id("my_number"))
        .await
        .unwrap();
    type_into(&client, "my_number", new.my_number.expose()).await;
    type_into(&client, "former_municipality", "131016").await;
    click(&client, "#send").await;
    let error = wait_for_text(&client, "error", "同意").await;
    assert!(error.contains("本人の同意"), "{error}");
    type_into(&client, "my_number", new.my_number.expose()).await;
    // The former municipality typed before the refusal is kept; the My Number never is.
    let kept = client
        .find(Locator::Id("former_municipality"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
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

/// 300 people each in 西条市 and 千代田区 with up to two doses, counted by the statistics job.
async fn counted_people(app: &TestApp) {
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    for (i, m) in ["382060", "131016"].into_iter().enumerate() {
        let m = vrs_domain::MunicipalityCode::parse(m).unwrap();
        let people: Vec<_> = vrs_interop::Synthetic::new(m, 300, 80 + i as u64).collect();
        let mut doses = Vec::new();
        for (k, p) in people.iter().enumerate() {
            app.db.store.put_resident(m, p, &audit).await.unwrap();
            for n in 1..=(k % 3) as u8 {
                doses.push(vrs_domain::DoseRecord::now(
                    vrs_domain::Dose {
                        municipality: m,
                        atena: p.atena.clone(),
                        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                        administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap()
                            + chrono::Days::new(u64::from(n) * 21 + (k % 4) as u64),
                        product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
                        lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
                        site_municipality: m,
                        coupon: p.coupon,
                    },
                    vrs_domain::DoseSource::Csv,
                ));
            }
        }
        app.db
            .store
            .add_doses(m, &doses, "t", &audit)
            .await
            .unwrap();
    }
    vrs_core::statistics::refresh(app.db.store.as_ref(), vrs_core::japan_today())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_its_statistics_dashboard_with_charts() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    counted_people(&app).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    app.prefecture_account("pref-38", "38").await;
    let client = browser(&driver).await;
    for (user, heading) in [
        ("saijo-staff", "西条市"),
        ("pref-38", "愛媛県"),
        ("op-0001", "全国"),
    ] {
        sign_in(&client, &app, user).await;
        client
            .goto(&format!("http://{}/statistics", app.address))
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Css("figure.chart svg"))
            .await
            .unwrap();
        let title = client
            .find(Locator::Css("main h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(title.contains(heading), "{user}: {title}");
        let charts = client
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap();
        assert_eq!(charts.len(), 4, "{user}");
        // Each chart drew something: a line with at least two points, or bars.
        for id in ["chart-daily", "chart-coverage"] {
            let mut drawn = false;
            for path in client
                .find_all(Locator::Css(&format!("#{id} svg path")))
                .await
                .unwrap()
            {
                drawn |= path
                    .attr("d")
                    .await
                    .unwrap()
                    .unwrap_or_default()
                    .contains('L');
            }
            assert!(drawn, "{user}: {id} drew no line");
        }
        for id in ["chart-ages", "chart-products"] {
            let bars = client
                .find_all(Locator::Css(&format!("#{id} svg rect title")))
                .await
                .unwrap();
            assert!(!bars.is_empty(), "{user}: {id} drew no bar");
        }
        client
            .find(Locator::Css("header form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Id("user_id"))
            .await
            .unwrap();
    }
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_opens_the_open_data_dashboard_without_signing_in() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    counted_people(&app).await;
    vrs_core::statistics::opendata::publish(
        app.db.store.as_ref(),
        &vrs_core::statistics::opendata::OpenDataSettings::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let client = browser(&driver).await;
    let page = format!("http://{}/opendata/", app.address);
    client.goto(&page).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#open-map svg"))
        .await
        .unwrap();
    // Not sent to the sign-in page: the dashboard itself, in Japanese.
    assert_eq!(client.current_url().await.unwrap().as_str(), page);
    let title = client
        .find(Locator::Css("main h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("オープンデータ"), "{title}");
    assert_eq!(
        client
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap()
            .len(),
        4,
        "three charts and the map"
    );
    let tiles = client
        .find_all(Locator::Css("#open-map g.tile"))
        .await
        .unwrap();
    assert_eq!(tiles.len(), 47);
    let ehime = client
        .find(Locator::Css("#open-map g.tile[data-prefecture='38'] title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert!(
        ehime.starts_with("愛媛県: ") && ehime.ends_with('%'),
        "{ehime}"
    );
    let mut drawn = false;
    for path in client
        .find_all(Locator::Css("#open-daily svg path"))
        .await
        .unwrap()
    {
        drawn |= path
            .attr("d")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains('L');
    }
    assert!(drawn, "the daily chart drew no line");
    // The files are linked from the page, and the page reads in English too.
    let links: Vec<String> = {
        let mut v = Vec::new();
        for a in client
            .find_all(Locator::Css("table.files a"))
            .await
            .unwrap()
        {
            v.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        v
    };
    assert!(
        links.contains(&"/opendata/daily.ndjson".to_owned()),
        "{links:?}"
    );
    assert!(links.contains(&"/opendata/daily.csv?encoding=shift_jis".to_owned()));
    client
        .find(Locator::Css("header a[href^='/lang/en']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client.goto(&page).await.unwrap();
    let title = client
        .find(Locator::Css("main h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("Open data"), "{title}");
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
        app.db.store.put_resident(saijo, p, &audit).await.unwrap();
    }
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    let client = browser(&driver).await;
    sign_in(&client, &app, "saijo-admin").await;
    let menu = client
        .find(Locator::Css("nav.menu"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    client
        .wait()
        .for_element(Locator::Css("section.confirm button.danger"))
        .await
        .unwrap();
    assert_eq!(app.db.store.count_residents(saijo).await.unwrap(), 2);
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
    client
        .wait()
        .for_element(Locator::Id("kana"))
        .await
        .unwrap();
    let at = client.current_url().await.unwrap();
    assert_eq!(at.path(), "/records", "back on the search page");
    assert_eq!(app.db.store.count_residents(saijo).await.unwrap(), 1);
    assert!(app
        .db
        .store
        .resident(saijo, &people[0].atena)
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
