//! The municipal administrator's accounts page: the own municipality's accounts only; stopping
//! one ends its sessions and its sign-in, letting it in again restores it, a new initial password
//! replaces the old one and is shown once; each asks first, needs a reason and is audited; never
//! the administrator's own account, never another municipality's.

use crate::support::{Browser, TestApp, LGWAN, PASSWORD};
use vrs_store::on_both_backends;

on_both_backends!(
    TestApp:
    the_administrator_stops_lets_in_and_resets_the_own_municipalitys_accounts,
    nobody_else_manages_accounts_and_never_across_municipalities,
);

async fn setup(app: &TestApp) {
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("chiyoda-staff", "municipal_staff", Some("131016"), false)
        .await;
}

async fn post(b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = b.csrf("/admin/accounts").await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let page = b.post(path, &form).await;
    (page.status, page.body)
}

/// The standing the list shows for `user`.
fn standing(body: &str, user: &str) -> Option<String> {
    let row = body.find(&format!("data-user=\"{user}\" data-standing=\""))?;
    let start = row + format!("data-user=\"{user}\" data-standing=\"").len();
    Some(body[start..start + body[start..].find('"')?].to_owned())
}

async fn the_administrator_stops_lets_in_and_resets_the_own_municipalitys_accounts(app: &TestApp) {
    setup(app).await;
    let admin = app.browser(LGWAN);
    admin.login("saijo-admin", PASSWORD).await;
    let list = admin.get("/admin/accounts").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        standing(&list.body, "saijo-staff").as_deref(),
        Some("active")
    );
    assert!(list.body.contains("data-user=\"saijo-admin\""));
    assert!(
        !list.body.contains("chiyoda-staff"),
        "another municipality's account"
    );
    assert!(admin
        .get("/")
        .await
        .body
        .contains("href=\"/admin/accounts\""));

    let staff = app.browser(LGWAN);
    assert_eq!(staff.login("saijo-staff", PASSWORD).await.status, 303);
    assert_eq!(staff.get("/records").await.status, 200);

    // Stopping asks first, with the reason; nothing changes until it is confirmed.
    let stop = [("disable", "1"), ("reason", "退職のため")];
    let (status, body) = post(&admin, "/admin/accounts/saijo-staff/access", &stop).await;
    assert_eq!(status, 200);
    assert!(body.contains("saijo-staff の利用を停止します"), "{body}");
    assert!(body.contains("退職のため"));
    assert_eq!(staff.get("/records").await.status, 200, "not yet stopped");
    let mut confirmed = stop.to_vec();
    confirmed.push(("confirmed", "1"));
    let (status, body) = post(&admin, "/admin/accounts/saijo-staff/access", &confirmed).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("利用を停止しました"));
    assert_eq!(standing(&body, "saijo-staff").as_deref(), Some("stopped"));
    // Its session has ended and it cannot sign in.
    assert_ne!(staff.get("/records").await.status, 200);
    assert_ne!(staff.login("saijo-staff", PASSWORD).await.status, 303);

    let let_in = [("disable", "0"), ("reason", "復職"), ("confirmed", "1")];
    let (status, body) = post(&admin, "/admin/accounts/saijo-staff/access", &let_in).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(standing(&body, "saijo-staff").as_deref(), Some("active"));
    assert_eq!(staff.login("saijo-staff", PASSWORD).await.status, 303);

    // A new initial password: shown once, the old one stops working, the session ends.
    let reset = [("reason", "パスワード失念"), ("confirmed", "1")];
    let (status, body) = post(&admin, "/admin/accounts/saijo-staff/password", &reset).await;
    assert_eq!(status, 200, "{body}");
    let start = body.find("<code class=\"password\">").unwrap() + "<code class=\"password\">".len();
    let password = body[start..start + body[start..].find('<').unwrap()].to_owned();
    assert!(password.len() >= 12, "{password}");
    assert_ne!(staff.get("/records").await.status, 200);
    assert_ne!(staff.login("saijo-staff", PASSWORD).await.status, 303);
    let signed = staff.login("saijo-staff", &password).await;
    assert_eq!(
        signed.location.as_deref(),
        Some("/password"),
        "must be changed"
    );
    let again = admin.get("/admin/accounts").await;
    assert!(!again.body.contains(&password), "shown once");
    assert_eq!(
        standing(&again.body, "saijo-staff").as_deref(),
        Some("initial")
    );

    // Every change is in the municipality's audit log with its reason.
    let log = app
        .db
        .store
        .audit_log(
            vrs_domain::MunicipalityCode::parse("382060")
                .unwrap()
                .into(),
            1,
            1000,
        )
        .await
        .unwrap();
    for (action, reason) in [
        ("account.disable", "退職のため"),
        ("account.enable", "復職"),
        ("account.password_reset", "パスワード失念"),
    ] {
        assert!(
            log.iter().any(|r| r.entry.action == action
                && r.entry.target == "saijo-staff"
                && r.entry.detail == reason),
            "{action}"
        );
    }
    assert!(
        !log.iter().any(|r| r.entry.detail.contains(&password)),
        "the password is never logged"
    );

    // Not without a reason, and never the administrator's own account.
    let (status, body) = post(
        &admin,
        "/admin/accounts/saijo-staff/access",
        &[("disable", "1"), ("reason", " "), ("confirmed", "1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("理由を入力してください"), "{body}");
    let (status, body) = post(
        &admin,
        "/admin/accounts/saijo-admin/access",
        &[("disable", "1"), ("reason", "試験"), ("confirmed", "1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("自分のアカウント"), "{body}");
    assert_eq!(
        admin.get("/admin/accounts").await.status,
        200,
        "still signed in"
    );
}

async fn nobody_else_manages_accounts_and_never_across_municipalities(app: &TestApp) {
    setup(app).await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    assert_eq!(staff.get("/admin/accounts").await.status, 403);
    assert!(!staff.get("/").await.body.contains("/admin/accounts"));

    let admin = app.browser(LGWAN);
    admin.login("saijo-admin", PASSWORD).await;
    for path in [
        "/admin/accounts/chiyoda-staff/access",
        "/admin/accounts/chiyoda-staff/password",
        "/admin/accounts/nobody/password",
    ] {
        let (status, body) = post(
            &admin,
            path,
            &[("disable", "1"), ("reason", "試験"), ("confirmed", "1")],
        )
        .await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let chiyoda = app
        .db
        .store
        .account(&"chiyoda-staff".parse().unwrap())
        .await
        .unwrap();
    assert!(!chiyoda.disabled);
    let other = app.browser(LGWAN);
    assert_eq!(other.login("chiyoda-staff", PASSWORD).await.status, 303);
}
