//! Every page as each role sees it, in Chromium at a phone's (390 px), a site tablet's (1024 px)
//! and a desktop's (1366 px) width: the page never scrolls sideways (a wide table scrolls inside
//! its own box), a screenshot of each is written to `target/screenshots/` for review, and axe-core
//! finds no serious or critical accessibility violation.
//!
//! axe-core is the file `VRS_AXE_JS` names (`.ci/run` installs it with npm from `.ci/axe`, pinned
//! by its lock file); with `VRS_REQUIRE_AXE=1` its absence fails the test, elsewhere the check is
//! skipped with a message and the rest still runs.

use std::path::PathBuf;
use vrs_store::Areas;

use fantoccini::{Client, Locator};
use vrs_store::testkit::TestDb;

use crate::support::browser::{
    browser, chromedriver, click, open, sign_in, sign_out, text_of, value_of, wait_for,
};
use crate::support::{ehr_setup, spawn_app_lgwan_here, TestApp};

const WIDTHS: [u32; 3] = [390, 1024, 1366];

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// axe-core's source, or `None` (with a message) where it is not installed and not required.
fn axe_source() -> Option<String> {
    let path = std::env::var("VRS_AXE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../.ci/axe/node_modules/axe-core/axe.min.js"
        )
        .to_owned()
    });
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) if std::env::var("VRS_REQUIRE_AXE").is_ok_and(|v| v == "1") => {
            panic!("axe-core is required here but {path} cannot be read: {e}")
        }
        Err(_) => {
            eprintln!("axe-core not installed at {path} (npm ci --prefix .ci/axe); skipping the accessibility check");
            None
        }
    }
}

/// The page's serious and critical axe-core violations, each with the elements it names.
async fn violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations
               .filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at '
                 + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// The page's width beyond the window, in CSS pixels (0 when nothing scrolls sideways).
async fn overflow(client: &Client) -> i64 {
    let value = client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    value.as_i64().unwrap()
}

/// The links of the menu on the page now shown.
async fn menu_links(client: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for link in client.find_all(Locator::Css("nav.menu a")).await.unwrap() {
        if let Some(href) = link.attr("href").await.unwrap() {
            out.push(href);
        }
    }
    out
}

struct Findings {
    axe: Option<String>,
    problems: Vec<String>,
    pages: usize,
}

impl Findings {
    /// Opens `path` at every width: screenshot, sideways scroll, and (once) axe-core.
    async fn check(&mut self, client: &Client, app: &TestApp, who: &str, path: &str) {
        let slug: String = path
            .trim_matches('/')
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let slug = if slug.is_empty() { "menu".into() } else { slug };
        for width in WIDTHS {
            client.set_window_size(width, 900).await.unwrap();
            client
                .goto(&format!("http://{}{path}", app.address))
                .await
                .unwrap();
            let png = client.screenshot().await.unwrap();
            std::fs::write(
                screenshots_dir().join(format!("{who}-{slug}-{width}.png")),
                png,
            )
            .unwrap();
            let beyond = overflow(client).await;
            if beyond > 1 {
                self.problems.push(format!(
                    "{who} {path} at {width}px scrolls sideways by {beyond}px"
                ));
            }
            if width == 1366 {
                if let Some(axe) = &self.axe {
                    for v in violations(client, axe).await {
                        self.problems.push(format!("{who} {path}: {v}"));
                    }
                }
            }
        }
        self.pages += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_phone_tablet_and_desktop_and_passes_axe() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app_lgwan_here(TestDb::sqlite().await).await;
    let (person, _) = ehr_setup(&app, 11).await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    app.prefecture_account("pref-38", "38").await;
    let client = browser(&driver).await;
    let mut findings = Findings {
        axe: axe_source(),
        problems: Vec::new(),
        pages: 0,
    };
    // Before signing in.
    for path in ["/login", "/help", "/verify", "/opendata/", "/no-such-page"] {
        findings.check(&client, &app, "public", path).await;
    }
    for who in [
        "saijo-ehr",
        "saijo-admin",
        "op-0001",
        "pref-38",
        "saijo-tablet",
    ] {
        client.set_window_size(1366, 900).await.unwrap();
        sign_in(&client, &app, who).await;
        let mut paths = vec!["/".to_owned()];
        paths.extend(menu_links(&client).await);
        if who == "saijo-ehr" {
            paths.push(format!("/records/{}", person.atena));
            // A refused search: the error under its field.
            paths.push("/records?kana=%E3%82%A2&birth=R99.13.40".to_owned());
        }
        paths.dedup();
        for path in &paths {
            findings.check(&client, &app, who, path).await;
        }
        client.set_window_size(1366, 900).await.unwrap();
        open(&client, &app, "/").await;
        sign_out(&client).await;
    }
    client.close().await.unwrap();
    app.stop().await;
    assert!(
        findings.pages >= 30,
        "only {} pages were opened",
        findings.pages
    );
    assert!(
        findings.problems.is_empty(),
        "{} problems on {} pages (screenshots in {}):\n{}",
        findings.problems.len(),
        findings.pages,
        screenshots_dir().display(),
        findings.problems.join("\n")
    );
}

/// A refused search draws the error under the field it is about, tied to it for screen readers,
/// and keeps what was typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_field_is_marked_and_described_and_keeps_its_input() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app_lgwan_here(TestDb::sqlite().await).await;
    ehr_setup(&app, 12).await;
    let client = browser(&driver).await;
    client.set_window_size(1024, 768).await.unwrap();
    sign_in(&client, &app, "saijo-ehr").await;
    open(&client, &app, "/records").await;
    for (id, text) in [
        ("kana", "サイジョウ　タロウ"),
        ("birth", "令和99年13月40日"),
    ] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    click(&client, "form.search button[type=submit]").await;
    wait_for(&client, "#birth-error").await;
    let birth = client.find(Locator::Id("birth")).await.unwrap();
    assert_eq!(
        birth.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        birth.attr("aria-describedby").await.unwrap().as_deref(),
        Some("birth-error")
    );
    assert_eq!(
        birth.prop("value").await.unwrap().as_deref(),
        Some("令和99年13月40日")
    );
    let kana = client.find(Locator::Id("kana")).await.unwrap();
    assert_eq!(
        kana.prop("value").await.unwrap().as_deref(),
        Some("サイジョウ　タロウ")
    );
    assert!(kana.attr("aria-invalid").await.unwrap().is_none());
    let error = text_of(&client, "#birth-error").await;
    assert!(error.starts_with("生年月日"), "{error}");
    // Under the field, not only at the top: the error's box is below the input's.
    let below = client
        .execute(
            "const f = document.getElementById('birth').getBoundingClientRect();
             const e = document.getElementById('birth-error').getBoundingClientRect();
             return e.top >= f.bottom;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(below, serde_json::Value::Bool(true));
    client.close().await.unwrap();
    app.stop().await;
}

/// A busy vaccination day at 1024×768: a wand types the coupon's line and Enter, the dose number of
/// the coupon's next dose is filled in, the lot and Enter register it; the result is at the top,
/// green, with the coupon and the dose, and the page is ready for the next coupon — no touch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tablet_registers_with_the_keyboard_alone_and_shows_the_result_on_screen() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = crate::support::spawn_app(TestDb::sqlite().await).await;
    let chiyoda = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let person = vrs_interop::Synthetic::new(chiyoda, 1, 8).next().unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    app.db
        .store
        .area(chiyoda)
        .put_resident(&person, &audit)
        .await
        .unwrap();
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    let client = browser(&driver).await;
    sign_in(&client, &app, "saijo-tablet").await;
    // A tablet's screen: the page itself 1024×768, whatever the window's frame takes.
    client.set_window_size(1024, 768).await.unwrap();
    let frame = client
        .execute("return window.outerHeight - window.innerHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap() as u32;
    client.set_window_size(1024, 768 + frame).await.unwrap();
    open(&client, &app, "/tablet").await;
    let ocr = wait_for(&client, "#ocr").await;
    // Before the coupon is read, its step uses the screen's width, not half of it.
    let share = client
        .execute(
            "return document.getElementById('step-coupon').getBoundingClientRect().width / window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(share > 0.8, "the coupon step takes {share:.2} of the width");
    ocr.send_keys(&format!("11131016{}\u{E007}", person.coupon.as_str()))
        .await
        .unwrap();
    let lot = wait_for(&client, "#step-dose:not([hidden]) #lot_number").await;
    let focused = client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, serde_json::json!("lot_number"));
    let number = value_of(&client, "dose_number").await;
    assert_eq!(number.as_deref(), Some("1"));
    // The register button is on screen without scrolling.
    let visible = client
        .execute(
            "const r = document.getElementById('register').getBoundingClientRect();
             return [r.bottom <= window.innerHeight && r.top >= 0, r.top, r.bottom, window.innerHeight, window.scrollY];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        visible[0],
        serde_json::Value::Bool(true),
        "register below the fold: {visible}"
    );
    lot.send_keys("FA4597\u{E007}").await.unwrap();
    let result = wait_for(&client, "#result.ok:not([hidden])").await;
    let text = result.text().await.unwrap();
    assert!(text.contains("登録しました"), "{text}");
    assert!(text.contains(person.coupon.as_str()), "{text}");
    assert!(text.contains("1回目"), "{text}");
    let placed = client
        .execute(
            "const r = document.getElementById('result').getBoundingClientRect();
             return [r.top >= 0 && r.bottom <= window.innerHeight, getComputedStyle(document.getElementById('result')).borderTopColor, document.activeElement.id];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        placed,
        serde_json::json!([true, "rgb(43, 138, 62)", "ocr"]),
        "the result on screen, green, and the coupon field ready"
    );
    let stored = app
        .db
        .store
        .area(chiyoda)
        .doses_of(&person.atena)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    client.close().await.unwrap();
    app.stop().await;
}
