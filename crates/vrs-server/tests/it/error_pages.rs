//! Refusals as a person meets them in the browser: a page in the frame, in their language, with what
//! happened, what to do, the way back and the code; scripts keep the short text, the API its JSON.
//! The language switch returns to the page it was on, and only to a page of this site. A field a
//! form refuses is named with why, in the page's language only.

use crate::support::{self, TestApp, LGWAN, PASSWORD};
use vrs_store::on_both_backends;

on_both_backends!(
    TestApp:
    a_browser_gets_a_page_and_a_script_gets_the_text,
    the_language_switch_returns_to_the_same_page,
    a_field_refused_on_a_japanese_page_says_why_in_japanese,
);

/// A GET as a browser sends it (`Accept: text/html…`).
async fn as_browser(b: &support::Browser, path: &str) -> (u16, String, String) {
    let r = b
        .client
        .get(format!("{}{path}", b.base))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("x-forwarded-for", b.from)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

async fn a_browser_gets_a_page_and_a_script_gets_the_text(app: &TestApp) {
    // An unknown address: a page with the way back, in Japanese by default.
    let nobody = app.browser(LGWAN);
    let (status, kind, body) = as_browser(&nobody, "/no/such/page").await;
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(body.contains("ページが見つかりません"), "{body}");
    assert!(body.contains("href=\"/\""), "{body}");
    assert!(body.contains("not_found"), "{body}");

    // A refusal of the access rules: the reason in Japanese, the code beneath, no English reason.
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    let tablet = app.browser(LGWAN);
    tablet.login("saijo-tablet", PASSWORD).await;
    let (status, kind, body) = as_browser(&tablet, "/records").await;
    assert_eq!(status, 403, "{body}");
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(body.contains("この操作は許可されていません"), "{body}");
    assert!(body.contains("対処方法"), "{body}");
    assert!(!body.contains("A vaccination-site tablet"), "{body}");
    let code = body
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap()
        .to_owned();
    assert!(!code.is_empty() && code.is_ascii(), "{code}");

    // The same refusal in English after the language switch.
    tablet.get("/lang/en").await;
    let (_, _, body) = as_browser(&tablet, "/records").await;
    assert!(body.contains("This is not allowed"), "{body}");
    assert!(!body.contains("許可されていません"), "{body}");

    // A script (no Accept: text/html) keeps the short text with the code first.
    let script = tablet.get("/records").await;
    assert_eq!(script.status, 403);
    assert!(
        script.body.starts_with(&format!("{code}: ")),
        "{}",
        script.body
    );

    // The JSON API keeps its JSON even when a browser asks.
    let (status, kind, body) = as_browser(&nobody, "/api/v1/no-such").await;
    assert_eq!(status, 404);
    assert!(kind.starts_with("application/json"), "{kind}: {body}");
}

async fn the_language_switch_returns_to_the_same_page(app: &TestApp) {
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let audit = staff.get("/audit").await;
    assert!(
        audit.body.contains("href=\"/lang/en?back=%2Faudit\""),
        "{}",
        audit.body
    );
    let switched = staff.get("/lang/en?back=%2Faudit").await;
    assert_eq!(switched.location.as_deref(), Some("/audit"));
    assert!(staff
        .get("/audit")
        .await
        .body
        .contains("Search the audit log"));
    // Never to another site, whatever the link says.
    for back in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "audit",
    ] {
        let query = format!("/lang/ja?back={}", back.replace('/', "%2F"));
        assert_eq!(
            staff.get(&query).await.location.as_deref(),
            Some("/"),
            "{back}"
        );
    }
    // The menu's own link has nothing to return to.
    assert!(staff.get("/").await.body.contains("href=\"/lang/en\""));
}

async fn a_field_refused_on_a_japanese_page_says_why_in_japanese(app: &TestApp) {
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let refused = [
        (
            "/records?kana=%E3%83%A4%E3%83%9E%E3%83%80&birth=2021-02-30",
            "生年月日: 暦にない日付です。",
            "no such day",
        ),
        (
            "/records?kana=%E3%83%A4%E3%83%9E%E3%83%80&birth=",
            "名前で探すときは生年月日も入力してください。",
            "enter the birth date as well",
        ),
        (
            "/records?atena=12a",
            "宛名番号: 宛名番号は数字だけで入力してください。",
            "digits only",
        ),
        (
            "/records?coupon=131310171234567890",
            "接種券番号: OCR行が正しくありません",
            "not valid",
        ),
    ];
    for (path, japanese, english) in refused {
        let page = staff.get(path).await;
        assert!(page.body.contains(japanese), "{path}: {}", page.body);
        assert!(!page.body.contains(english), "{path}: {}", page.body);
    }
    // The same refusal in English on the switch, without the Japanese sentence.
    staff.get("/lang/en").await;
    let page = staff.get(refused[0].0).await;
    assert!(
        page.body.contains("there is no such day in the calendar"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("暦にない日付です"), "{}", page.body);
}
