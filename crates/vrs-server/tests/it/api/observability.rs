//! What operators and auditors read over real HTTP: the metrics by route pattern, the OpenAPI
//! document, and staff's search and download of their own area's audit log.

use super::*;

pub(super) async fn metrics_count_requests_by_route_pattern(app: &TestApp) {
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

pub(super) async fn openapi_document_is_served(app: &TestApp) {
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

pub(super) async fn staff_search_and_download_their_own_audit_log(app: &TestApp) {
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
