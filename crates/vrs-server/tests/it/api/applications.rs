//! Accounts over real HTTP: an account is issued only on an approved application, and every
//! entry of every role's menu opens.

use super::*;

pub(super) async fn accounts_are_issued_only_on_an_approved_application(app: &TestApp) {
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    app.account("chiyoda-admin", "municipal_admin", Some("131016"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    // Staff cannot apply; the administrator applies for a staff account of their own municipality.
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    assert_eq!(staff.get("/admin/applications").await.status, 403);
    let admin = app.browser(LGWAN);
    admin.login("saijo-admin", PASSWORD).await;
    let csrf = admin.csrf("/admin/applications").await;
    let applied = admin
        .post(
            "/admin/applications",
            &[
                ("csrf", &csrf),
                ("display_name", "健康推進課 接種 花子"),
                ("role", "municipal_staff"),
            ],
        )
        .await;
    assert_eq!(applied.status, 200);
    assert!(applied.body.contains("申請しました"), "{}", applied.body);
    let bad_role = admin
        .post(
            "/admin/applications",
            &[
                ("csrf", &csrf),
                ("display_name", "x"),
                ("role", "national_operator"),
            ],
        )
        .await;
    assert_eq!(bad_role.status, 422);
    // Another municipality's administrator does not see it.
    let other = app.browser(LGWAN);
    other.login("chiyoda-admin", PASSWORD).await;
    assert!(!other
        .get("/admin/applications")
        .await
        .body
        .contains("接種 花子"));
    // The operator approves; the user ID and a one-time password are shown once.
    let operator = app.browser(INTERNET);
    operator.login("op-0001", PASSWORD).await;
    let pending = operator.get("/operator/applications").await;
    assert!(pending.body.contains("接種 花子"), "{}", pending.body);
    let action = between(
        &pending.body,
        "action=\"/operator/applications/",
        "/approve\"",
    )
    .to_owned();
    let csrf = support::hidden(&pending.body, "csrf").unwrap();
    // First the confirmation page, which issues nothing; its button sends the form again.
    let asked = operator
        .post(
            &format!("/operator/applications/{action}/approve"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked
            .body
            .contains("を承認し、申請されたアカウントを発行します"),
        "{}",
        asked.body
    );
    assert!(!asked.body.contains("initial-password"), "{}", asked.body);
    assert!(
        asked.body.contains("name=\"confirmed\" value=\"1\""),
        "{}",
        asked.body
    );
    let approved = operator
        .post(
            &format!("/operator/applications/{action}/approve"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    let user_id = between(&approved.body, "<code class=\"user-id\">", "<").to_owned();
    let secret = between(&approved.body, "<code class=\"initial-password\">", "<").to_owned();
    assert!(user_id.starts_with("382060-"), "{user_id}");
    // Approving twice is refused; the new user must change the password at first login.
    let twice = operator
        .post(
            &format!("/operator/applications/{action}/approve"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(twice.status, 422);
    let newcomer = app.browser(LGWAN);
    assert_eq!(
        newcomer.login(&user_id, &secret).await.location.as_deref(),
        Some("/password")
    );
    let issued = app
        .db
        .store
        .account(&user_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (issued.role.as_str(), issued.municipality.unwrap().as_str()),
        ("municipal_staff", "382060")
    );
    assert!(admin
        .get("/admin/applications")
        .await
        .body
        .contains(&user_id));
    // Nobody but the operator decides.
    assert_eq!(admin.get("/operator/applications").await.status, 403);
    // One tablet account per vaccination site (the account is the site): a second application for
    // the same site is refused, naming the site and the first.
    let csrf = admin.csrf("/admin/applications").await;
    let tablet = |name: &'static str| {
        let csrf = csrf.clone();
        let admin = &admin;
        async move {
            admin
                .post(
                    "/admin/applications",
                    &[
                        ("csrf", csrf.as_str()),
                        ("display_name", name),
                        ("role", "site_tablet"),
                    ],
                )
                .await
        }
    };
    assert_eq!(tablet("西条市総合体育館").await.status, 200);
    let twice = tablet("西条市　総合体育館").await;
    assert_eq!(twice.status, 422, "{}", twice.body);
    assert!(twice.body.contains("会場ごとに1つ"), "{}", twice.body);
    assert_eq!(tablet("西条市丹原文化会館").await.status, 200);
}

pub(super) async fn every_menu_entry_of_every_role_opens(app: &TestApp) {
    let roles = [
        ("op-0001", "national_operator", None),
        ("pref-38", "prefecture_viewer", None),
        ("saijo-admin", "municipal_admin", Some("382060")),
        ("saijo-staff", "municipal_staff", Some("382060")),
        ("saijo-tablet", "site_tablet", Some("382060")),
        ("kiosk", "certificate_service", None),
    ];
    for (user_id, role, municipality) in roles {
        if role == "prefecture_viewer" {
            app.prefecture_account(user_id, "38").await;
        } else {
            app.account(user_id, role, municipality, false).await;
        }
        let b = app.browser(LGWAN);
        b.login(user_id, PASSWORD).await;
        let home = b.get("/").await;
        let nav = between(&home.body, "<nav", "</nav>").to_owned();
        let links: Vec<&str> = nav
            .split("href=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(!links.is_empty(), "{role} has no menu");
        for link in links {
            assert_eq!(b.get(link).await.status, 200, "{role}: {link}");
        }
    }
}
