//! The server over real HTTP, on SQLite and on PostgreSQL: sign-in, first-login password change,
//! lockout, CSRF, terminals, the API's error shape, and machine clients' tokens (`api/oauth.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/oauth.rs"]
mod oauth;
use crate::support;

use oauth::machine_clients_get_tokens_by_signed_assertion_and_act_within_their_scopes;

use support::{spawn_app, Page, TestApp, INTERNET, LGWAN, PASSWORD};
use vrs_store::testkit::TestDb;

use vrs_store::on_both_backends;

on_both_backends!(
    TestApp:
    health_check_answers,
    metrics_count_requests_by_route_pattern,
    openapi_document_is_served,
    pages_need_a_session,
    first_login_forces_a_password_change,
    five_failed_logins_lock_the_account_and_the_operator_sees_it,
    state_changing_forms_need_the_csrf_token,
    session_cookie_is_http_only_and_same_site_strict,
    terminal_class_comes_from_the_trusted_address,
    logout_ends_the_session,
    only_the_operator_sees_locked_accounts,
    accounts_are_issued_only_on_an_approved_application,
    every_menu_entry_of_every_role_opens,
    staff_search_and_download_their_own_audit_log,
    two_nodes_on_one_database_share_sessions_and_lockouts,
    a_site_tablet_reads_a_coupon_of_any_municipality_and_nothing_personal,
    sign_in_answers_never_tell_which_accounts_exist,
    every_api_refusal_is_json_of_one_shape,
    machine_clients_get_tokens_by_signed_assertion_and_act_within_their_scopes,
);

const NEW_PASSWORD: &str = "Saijo-Vaccine-2026";

async fn health_check_answers(app: &TestApp) {
    let page = app.browser(INTERNET).healthz().await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("\"status\":\"ok\""), "{}", page.body);
}

async fn pages_need_a_session(app: &TestApp) {
    let b = app.browser(INTERNET);
    for path in ["/", "/password", "/operator/locks"] {
        let page = b.get(path).await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (303, Some("/login")),
            "{path}"
        );
    }
}

async fn first_login_forces_a_password_change(app: &TestApp) {
    app.account("saijo-0001", "municipal_staff", Some("382060"), true)
        .await;
    let b = app.browser(LGWAN);
    let login = b.login("saijo-0001", PASSWORD).await;
    assert_eq!(login.location.as_deref(), Some("/password"));
    // Every other page sends the user back to the change.
    assert_eq!(b.get("/").await.location.as_deref(), Some("/password"));
    assert_eq!(
        b.get("/operator/locks").await.location.as_deref(),
        Some("/password")
    );
    // The policy refuses a weak password and says why.
    let weak = b.change_password(PASSWORD, "short").await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("12文字以上"), "{}", weak.body);
    let wrong = b.change_password("not-the-password", NEW_PASSWORD).await;
    assert_eq!(wrong.status, 400);
    let done = b.change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("パスワードを変更しました"));
    // The change ended the session; the old password no longer works, the new one does.
    assert_eq!(b.get("/").await.location.as_deref(), Some("/login"));
    assert_eq!(b.login("saijo-0001", PASSWORD).await.status, 401);
    let again = b.login("saijo-0001", NEW_PASSWORD).await;
    assert_eq!(again.location.as_deref(), Some("/"));
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("data-role=\"municipal_staff\""));
}

async fn five_failed_logins_lock_the_account_and_the_operator_sees_it(app: &TestApp) {
    app.account("saijo-0002", "municipal_staff", Some("382060"), false)
        .await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    let attacker = app.browser(INTERNET);
    for n in 1..=4 {
        let page = attacker.login("saijo-0002", "guess-guess-1").await;
        assert_eq!(page.status, 401, "attempt {n}");
        assert!(page
            .body
            .contains("ユーザIDまたはパスワードが正しくありません"));
    }
    // The fifth failure starts a wait (a minute, doubling with each further failure): 429.
    let fifth = attacker.login("saijo-0002", "guess-guess-1").await;
    assert_eq!(fifth.status, 429, "{}", fifth.body);
    assert!(
        fifth.body.contains("秒後までお待ちください"),
        "{}",
        fifth.body
    );
    // Even the right password is refused, unchecked and uncounted, while the wait lasts.
    let owner = app.browser(LGWAN);
    let refused = owner.login("saijo-0002", PASSWORD).await;
    assert_eq!(refused.status, 429);
    let account = app.db.store.account("saijo-0002").await.unwrap();
    assert_eq!(account.failed_logins, 5);
    let wait = account.locked_until.unwrap() - chrono::Utc::now();
    assert!(
        wait <= chrono::Duration::minutes(1) && wait > chrono::Duration::seconds(30),
        "{wait}"
    );
    // The operator's intrusion notice lists the account.
    let operator = app.browser(INTERNET);
    assert_eq!(
        operator
            .login("op-0001", PASSWORD)
            .await
            .location
            .as_deref(),
        Some("/")
    );
    let locks = operator.get("/operator/locks").await;
    assert_eq!(locks.status, 200);
    assert!(locks.body.contains("saijo-0002"), "{}", locks.body);
    // The operator ends the wait (a forged form is refused); the owner gets in at once.
    let forged = operator
        .post("/operator/locks/saijo-0002/unlock", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403);
    let csrf = operator.csrf("/operator/locks").await;
    let unlocked = operator
        .post("/operator/locks/saijo-0002/unlock", &[("csrf", &csrf)])
        .await;
    assert_eq!(unlocked.location.as_deref(), Some("/operator/locks"));
    assert!(!operator
        .get("/operator/locks")
        .await
        .body
        .contains("saijo-0002"));
    let back = owner.login("saijo-0002", PASSWORD).await;
    assert_eq!(back.location.as_deref(), Some("/"), "{}", back.body);
    // Every attempt is in the municipality's audit chain.
    let log = app
        .db
        .store
        .audit_log(
            vrs_domain::MunicipalityCode::parse("382060")
                .unwrap()
                .into(),
            1,
            100,
        )
        .await
        .unwrap();
    let outcomes: Vec<_> = log
        .iter()
        .filter(|r| r.entry.action == "login")
        .map(|r| r.entry.outcome.as_str())
        .collect();
    assert_eq!(
        outcomes,
        [
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "throttled",
            "ok"
        ]
    );
    assert!(log.iter().any(|r| r.entry.action == "account.lock"));
    assert!(log
        .iter()
        .any(|r| r.entry.action == "account.unlock" && r.entry.actor == "op-0001"));
}

/// No answer tells whether an account exists: a user ID nobody has gets the same refusals and the
/// same wait after five failures as a real one, and a disabled account reads like a wrong password.
/// A flood of sign-ins is checked off the async workers: `/healthz` keeps answering at once.
async fn sign_in_answers_never_tell_which_accounts_exist(app: &TestApp) {
    app.account("saijo-0010", "municipal_staff", Some("382060"), false)
        .await;
    let stranger = app.browser(INTERNET);
    let real = app.browser(LGWAN);
    for n in 1..=5 {
        let unknown = stranger.login("nobody-at-all", "guess-guess-1").await;
        let known = real.login("saijo-0010", "guess-guess-1").await;
        assert_eq!(unknown.status, known.status, "attempt {n}");
        let expected = if n < 5 { 401 } else { 429 };
        assert_eq!(known.status, expected, "attempt {n}");
    }
    let unknown = stranger.login("nobody-at-all", PASSWORD).await;
    assert_eq!(unknown.status, 429);

    let mut disabled = app.db.store.account("saijo-0010").await.unwrap();
    disabled.user_id = "saijo-0011".into();
    disabled.disabled = true;
    disabled.failed_logins = 0;
    disabled.locked_until = None;
    disabled.password_hash = vrs_crypto::password::hash_password(PASSWORD).unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "account.issue", "saijo-0011");
    app.db
        .store
        .create_account(&disabled, vrs_store::AuditScope::National, &audit)
        .await
        .unwrap();
    let other = app.browser(LGWAN);
    let off = other.login("saijo-0011", PASSWORD).await;
    let wrong = other.login("saijo-0010x", "guess-guess-1").await;
    assert_eq!((off.status, wrong.status), (401, 401));
    assert!(off
        .body
        .contains("ユーザIDまたはパスワードが正しくありません"));
    assert!(!off.body.contains("停止"), "{}", off.body);

    // Twenty sign-ins at once (each an Argon2id check) while /healthz is asked.
    let mut flood = Vec::new();
    for i in 0..20 {
        let b = app.browser(LGWAN);
        flood.push(tokio::spawn(async move {
            b.login(&format!("flood-{i}"), "guess-guess-1").await.status
        }));
    }
    let probe = app.browser(LGWAN);
    let started = std::time::Instant::now();
    let health = probe.healthz().await;
    let took = started.elapsed();
    assert_eq!(health.status, 200);
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    for f in flood {
        assert_eq!(f.await.unwrap(), 401);
    }
}

async fn state_changing_forms_need_the_csrf_token(app: &TestApp) {
    app.account("saijo-0003", "municipal_staff", Some("382060"), false)
        .await;
    let b = app.browser(LGWAN);
    // A login form posted without the token the login page set is refused.
    let forged = b
        .post(
            "/login",
            &[
                ("user_id", "saijo-0003"),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        b.login("saijo-0003", PASSWORD).await.location.as_deref(),
        Some("/")
    );
    let logout = b.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(logout.status, 403);
    let change = b
        .post(
            "/password",
            &[
                ("csrf", "forged"),
                ("current", PASSWORD),
                ("new", NEW_PASSWORD),
                ("again", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(change.status, 403);
    // Still signed in, password unchanged.
    assert_eq!(b.get("/").await.status, 200);
    assert!(vrs_crypto::password::verify_password(
        PASSWORD,
        &app.db
            .store
            .account("saijo-0003")
            .await
            .unwrap()
            .password_hash
    ));
}

async fn session_cookie_is_http_only_and_same_site_strict(app: &TestApp) {
    app.account("saijo-0004", "municipal_staff", Some("382060"), false)
        .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", app.address);
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let csrf = support::hidden(&page.text().await.unwrap(), "csrf").unwrap();
    let response = client
        .post(format!("{base}/login"))
        .header("cookie", login_cookie.split(';').next().unwrap())
        .form(&[
            ("user_id", "saijo-0004"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("vrs_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
}

async fn terminal_class_comes_from_the_trusted_address(app: &TestApp) {
    app.account("saijo-0005", "municipal_staff", Some("382060"), false)
        .await;
    let lgwan = app.browser(LGWAN);
    lgwan.login("saijo-0005", PASSWORD).await;
    assert!(lgwan
        .get("/")
        .await
        .body
        .contains("data-terminal=\"lgwan\""));
    let internet = app.browser(INTERNET);
    internet.login("saijo-0005", PASSWORD).await;
    assert!(internet
        .get("/")
        .await
        .body
        .contains("data-terminal=\"internet\""));
    // A session opened on LG-WAN and used from elsewhere is an internet session.
    let moved = support::Browser {
        client: lgwan.client.clone(),
        base: lgwan.base.clone(),
        from: INTERNET,
    };
    assert!(moved
        .get("/")
        .await
        .body
        .contains("data-terminal=\"internet\""));
}

async fn logout_ends_the_session(app: &TestApp) {
    app.account("saijo-0006", "municipal_staff", Some("382060"), false)
        .await;
    let b = app.browser(LGWAN);
    b.login("saijo-0006", PASSWORD).await;
    assert_eq!(b.get("/").await.status, 200);
    assert_eq!(b.logout().await.location.as_deref(), Some("/login"));
    assert_eq!(b.get("/").await.location.as_deref(), Some("/login"));
}

async fn only_the_operator_sees_locked_accounts(app: &TestApp) {
    app.account("saijo-0007", "municipal_admin", Some("382060"), false)
        .await;
    let b = app.browser(LGWAN);
    b.login("saijo-0007", PASSWORD).await;
    assert_eq!(b.get("/operator/locks").await.status, 403);
}

fn between<'a>(body: &'a str, open: &str, close: &str) -> &'a str {
    let start = body
        .find(open)
        .unwrap_or_else(|| panic!("{open} not in {body}"))
        + open.len();
    let end = body[start..].find(close).unwrap() + start;
    &body[start..end]
}

async fn accounts_are_issued_only_on_an_approved_application(app: &TestApp) {
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
    let issued = app.db.store.account(&user_id).await.unwrap();
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

async fn every_menu_entry_of_every_role_opens(app: &TestApp) {
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

async fn metrics_count_requests_by_route_pattern(app: &TestApp) {
    app.account("op-0001", "national_operator", None, false)
        .await;
    let b = app.browser(LGWAN);
    b.healthz().await;
    b.healthz().await;
    b.login("op-0001", PASSWORD).await;
    // Only the monitoring network reads the metrics (the test's is the LG-WAN range); from
    // anywhere else, signed in or not, it is not there.
    let outside = app.browser(INTERNET);
    outside.login("op-0001", PASSWORD).await;
    assert_eq!(outside.get("/metrics").await.status, 404);
    let metrics = b.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains(
            "vrs_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ),
        "{}",
        metrics.body
    );
    assert!(metrics
        .body
        .contains("vrs_http_request_duration_seconds_bucket"));
    assert!(
        !metrics.body.contains("op-0001"),
        "no user identifiers in metrics"
    );
}

async fn openapi_document_is_served(app: &TestApp) {
    let doc = app.browser(INTERNET).get("/api/openapi.json").await;
    assert_eq!(doc.status, 200);
    let json: serde_json::Value = serde_json::from_str(&doc.body).unwrap();
    assert!(json["openapi"].as_str().unwrap().starts_with("3."));
    assert!(json["paths"]["/healthz"]["get"].is_object(), "{json}");
    // Every JSON API, the patterns the server enforces, the edge's statuses, both ways in.
    for path in [
        "/api/v1/coupons/{reference}",
        "/api/v1/doses",
        "/api/v1/doses/undo",
        "/api/v1/inquiries",
        "/api/v1/statistics",
        "/api/v1/app/certificates",
        "/api/v1/kiosk/certificates",
        "/oauth/token",
        "/.well-known/smart-configuration",
    ] {
        assert!(json["paths"][path].is_object(), "{path} missing");
    }
    let schemas = &json["components"]["schemas"];
    assert_eq!(
        schemas["InquiryBody"]["properties"]["my_number"]["pattern"],
        "^[0-9]{12}$"
    );
    assert_eq!(
        schemas["DoseRequest"]["properties"]["dose_number"]["maximum"],
        10
    );
    let doses = &json["paths"]["/api/v1/doses"]["post"];
    for status in ["400", "401", "403", "413", "415", "422", "429", "503"] {
        let answer = &doses["responses"][status];
        assert!(answer.is_object(), "{status} not documented");
        if status != "200" {
            assert_eq!(
                answer["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error"
            );
        }
    }
    assert_eq!(
        doses["security"],
        serde_json::json!([{"bearer": []}, {"session": [], "csrf": []}])
    );
    assert_eq!(
        json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // The same document as a page: every operation, its patterns, no script.
    let page = app.browser(INTERNET).get("/api/docs").await;
    assert_eq!(page.status, 200);
    for text in [
        "POST /api/v1/doses",
        "POST /oauth/token",
        "GET /api/v1/statistics",
        "^[0-9]{12}$",
        "Retry-After",
    ] {
        let escaped = text.replace('<', "&lt;");
        assert!(
            page.body.contains(&escaped),
            "{text} missing from /api/docs"
        );
    }
    assert!(!page.body.contains("<script"), "a script on /api/docs");
}

async fn staff_search_and_download_their_own_audit_log(app: &TestApp) {
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("chiyoda-staff", "municipal_staff", Some("131016"), false)
        .await;
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    let other = app.browser(LGWAN);
    other.login("chiyoda-staff", PASSWORD).await;
    let b = app.browser(INTERNET);
    b.login("saijo-staff", PASSWORD).await;
    let found = b.get("/audit?action=login").await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("saijo-staff"), "{}", found.body);
    assert!(
        !found.body.contains("chiyoda-staff"),
        "another municipality's log is invisible"
    );
    // Times in Japan's time, each action by its Japanese name beside its code, chosen from a list.
    assert!(found.body.contains("日時（日本時間）"), "{}", found.body);
    let login = vrs_domain::AuditAction::Login;
    assert!(
        found
            .body
            .contains(&format!("<td>{}</td>", login.label_ja())),
        "{}",
        found.body
    );
    assert!(
        found.body.contains("<option value=\"login\" selected>"),
        "{}",
        found.body
    );
    // Dates in 和暦 work; a bad date names its field.
    let today = vrs_domain::format_wareki(vrs_core::japan_today());
    let wareki = b
        .get(&format!("/audit?from={today}&to={today}&actor=saijo-staff"))
        .await;
    assert!(wareki.body.contains("<td>login</td>"), "{}", wareki.body);
    let bad = b.get("/audit?from=令和3年2月30日").await;
    assert_eq!(bad.status, 422);
    // Named under its field, which keeps what was typed.
    assert!(
        bad.body.contains(
            "<p class=\"field-error\" id=\"from-error\">期間（開始日）: 暦にない日付です。</p>"
        ),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("aria-describedby=\"from-error\""));
    assert!(bad.body.contains("value=\"令和3年2月30日\""));
    // The CSV download, with its own audit entry.
    let csv = b.get("/audit.csv?action=login").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("\u{feff}連番,日時,ユーザID"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(",saijo-staff,"), "{}", csv.body);
    assert!(!csv.body.contains("chiyoda-staff"));
    let after = b.get("/audit?action=audit.export").await;
    assert!(
        after.body.contains("<td>audit.export</td>"),
        "{}",
        after.body
    );
    // A page holds 100 entries, newest first; the link below goes on to older ones, filters kept,
    // and each entry's detail (a correction's before and after) opens on the page.
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    for i in 0..120 {
        let entry = vrs_store::AuditEntry::now(
            "saijo-staff",
            "municipal_staff",
            "lgwan",
            "dose.correct",
            "100001/1",
        )
        .with_detail(format!("before=lot FA{i:04} after=lot FB{i:04}"));
        app.db
            .store
            .append_audit(saijo.into(), &entry)
            .await
            .unwrap();
    }
    let first = b.get("/audit?action=dose.correct").await;
    assert_eq!(
        first.body.matches("<td>dose.correct</td>").count(),
        100,
        "{}",
        first.body
    );
    assert!(
        first.body.contains("before=lot FA0119 after=lot FB0119"),
        "{}",
        first.body
    );
    let older = between(&first.body, "id=\"audit-older\" href=\"", "\"").replace("&amp;", "&");
    assert!(
        older.contains("action=dose.correct") && older.contains("&before="),
        "{older}"
    );
    let second = b.get(&older).await;
    assert_eq!(
        second.body.matches("<td>dose.correct</td>").count(),
        20,
        "{}",
        second.body
    );
    assert!(second.body.contains("FA0000"), "{}", second.body);
    assert!(
        !second.body.contains("id=\"audit-older\""),
        "{}",
        second.body
    );
    assert!(
        second.body.contains("id=\"audit-newest\""),
        "{}",
        second.body
    );
    // Tablets and other roles have no audit page.
    let tablet = app.browser(INTERNET);
    tablet.login("saijo-tablet", PASSWORD).await;
    assert_eq!(tablet.get("/audit").await.status, 403);
    assert_eq!(tablet.get("/audit.csv").await.status, 403);
}

async fn two_nodes_on_one_database_share_sessions_and_lockouts(app: &TestApp) {
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

async fn a_site_tablet_reads_a_coupon_of_any_municipality_and_nothing_personal(app: &TestApp) {
    let chiyoda = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let mut people: Vec<_> = vrs_interop::Synthetic::new(chiyoda, 2, 3).collect();
    people[1].deceased_on = chrono::NaiveDate::from_ymd_opt(2021, 8, 1);
    for p in &people {
        let audit =
            vrs_store::AuditEntry::now("test", "test", "local", "resident.put", p.atena.as_str());
        app.db.store.put_resident(chiyoda, p, &audit).await.unwrap();
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
    app.db.store.add_dose(chiyoda, &dose, &audit).await.unwrap();
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
async fn every_response_carries_the_security_headers() {
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
async fn every_api_refusal_is_json_of_one_shape(app: &TestApp) {
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
