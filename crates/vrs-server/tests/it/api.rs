//! The server over real HTTP, on SQLite and on PostgreSQL: sign-in, first-login password change,
//! lockout, CSRF, terminals and sessions here; accounts (`api/applications.rs`), metrics, OpenAPI
//! and the audit log (`api/observability.rs`), the edge (`api/edge.rs`) and machine clients'
//! tokens (`api/oauth.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/applications.rs"]
mod applications;
#[path = "api/edge.rs"]
mod edge;
#[path = "api/oauth.rs"]
mod oauth;
#[path = "api/observability.rs"]
mod observability;
use crate::support;

use applications::{
    accounts_are_issued_only_on_an_approved_application, every_menu_entry_of_every_role_opens,
};
use edge::{
    a_site_tablet_reads_a_coupon_of_any_municipality_and_nothing_personal,
    every_api_refusal_is_json_of_one_shape, two_nodes_on_one_database_share_sessions_and_lockouts,
};
use oauth::machine_clients_get_tokens_by_signed_assertion_and_act_within_their_scopes;
use observability::{
    metrics_count_requests_by_route_pattern, openapi_document_is_served,
    staff_search_and_download_their_own_audit_log,
};

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
    let account = app
        .db
        .store
        .account(&"saijo-0002".parse().unwrap())
        .await
        .unwrap();
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

    let mut disabled = app
        .db
        .store
        .account(&"saijo-0010".parse().unwrap())
        .await
        .unwrap();
    disabled.user_id = "saijo-0011".parse().unwrap();
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
            .account(&"saijo-0003".parse().unwrap())
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

/// The text of `body` between the first `open` and the next `close`.
fn between<'a>(body: &'a str, open: &str, close: &str) -> &'a str {
    let start = body
        .find(open)
        .unwrap_or_else(|| panic!("{open} not in {body}"))
        + open.len();
    let end = body[start..].find(close).unwrap() + start;
    &body[start..end]
}
