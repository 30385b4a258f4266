//! What governs an inquiry over real HTTP: the administrator's agreement to the terms the operator
//! published, and an emergency stop set on one node refusing on a second node at once.

use super::*;
use vrs_store::Areas;

pub(super) async fn the_administrator_agrees_to_what_the_operator_published(app: &TestApp) {
    setup(app).await;
    let op = signed_in(app, "op-0001", INTERNET).await;
    let csrf = op.csrf("/operator/terms").await;
    let empty = op
        .post(
            "/operator/terms",
            &[
                ("csrf", &csrf),
                ("kind", "no_consent_inquiry"),
                ("title", ""),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(empty.status, 422);
    // The reason is under the title's field, in Japanese; the text typed and the kind chosen stay.
    assert!(
        empty
            .body
            .contains("<p class=\"field-error\" id=\"title-error\">表題を入力してください。</p>"),
        "{}",
        empty.body
    );
    assert!(empty.body.contains("aria-describedby=\"title-error\""));
    assert!(empty.body.contains(">x</textarea>"), "{}", empty.body);
    assert!(empty.body.contains("value=\"no_consent_inquiry\" selected"));
    let no_body = op
        .post(
            "/operator/terms",
            &[
                ("csrf", &csrf),
                ("kind", "no_consent_inquiry"),
                ("title", "本人同意を要しない照会"),
                ("body", "  "),
            ],
        )
        .await;
    assert_eq!(no_body.status, 422);
    assert!(no_body
        .body
        .contains("<p class=\"field-error\" id=\"body-error\">本文を入力してください。</p>"));
    assert!(no_body.body.contains("value=\"本人同意を要しない照会\""));
    let done = op
        .post(
            "/operator/terms",
            &[
                ("csrf", &csrf),
                ("kind", "no_consent_inquiry"),
                ("title", "本人同意を要しない照会"),
                ("body", "番号法第19条第16号に基づき…"),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/operator/terms"));
    assert!(op
        .get("/operator/terms")
        .await
        .body
        .contains("本人同意を要しない照会"));

    // Staff read the terms but cannot agree; the administrator agrees.
    let staff = signed_in(app, "saijo-staff", INTERNET).await;
    assert!(!staff.get("/").await.body.contains("terms-awaiting"));
    let page = staff.get("/terms").await;
    assert!(page.body.contains("番号法第19条第16号"));
    assert!(!page.body.contains("class=\"agree\""));
    let csrf_staff = staff.csrf("/records").await;
    let refused = staff
        .post(
            "/terms/no_consent_inquiry/agree",
            &[("csrf", &csrf_staff), ("version", "1"), ("read", "1")],
        )
        .await;
    assert_eq!(refused.status, 403);
    for (user, municipality) in [("saijo-admin", "382060"), ("chiyoda-admin", "131016")] {
        let admin = signed_in(app, user, INTERNET).await;
        // The menu says new terms await the administrator's agreement, until it is given.
        let menu = admin.get("/").await.body;
        assert!(menu.contains("id=\"terms-awaiting\""), "{menu}");
        assert!(menu.contains("本人同意を要しない接種記録照会"), "{menu}");
        let csrf = admin.csrf("/terms").await;
        let unread = admin
            .post(
                "/terms/no_consent_inquiry/agree",
                &[("csrf", &csrf), ("version", "1")],
            )
            .await;
        assert_eq!(unread.status, 422, "{municipality}");
        let agreed = admin
            .post(
                "/terms/no_consent_inquiry/agree",
                &[("csrf", &csrf), ("version", "1"), ("read", "1")],
            )
            .await;
        assert_eq!(agreed.location.as_deref(), Some("/terms"));
        let page = admin.get("/terms").await.body;
        assert!(
            page.contains("data-kind=\"no_consent_inquiry\" data-agreed=\"true\""),
            "{page}"
        );
        assert!(!admin.get("/").await.body.contains("terms-awaiting"));
    }
    // Now an inquiry needs no consent between the two.
    let person = app
        .db
        .store
        .area(code("382060"))
        .resident(&AtenaNumber::parse("880000000001").unwrap())
        .await
        .unwrap();
    let b = signed_in(app, "saijo-staff", LGWAN).await;
    let csrf = b.csrf("/inquiries").await;
    let (status, body) = api(
        &b,
        &csrf,
        serde_json::json!({"my_number": person.my_number.expose(), "former_municipality": "131016"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["consent_basis"], "no_consent_terms");
}

pub(super) async fn a_stop_on_one_node_refuses_on_another_at_once(app: &TestApp) {
    setup(app).await;
    let second = app.second_node().await;
    // The tablet works against the second node; an invented coupon is a plain 404.
    let tablet = Browser {
        base: second.clone(),
        ..app.browser(LGWAN)
    };
    tablet.login("saijo-tablet", PASSWORD).await;
    let page = tablet.get("/tablet").await;
    let start = page.body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let csrf = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    let register = |key: &'static str| {
        let tablet = &tablet;
        let csrf = csrf.clone();
        async move {
            let body = serde_json::json!({
                "coupon": "382060-0000000999", "dose_number": 1,
                "administered_on": "2021-06-01", "product": "comirnaty", "lot_number": "FA4597",
            });
            let page = tablet
                .json(
                    Method::POST,
                    "/api/v1/doses",
                    &[("idempotency-key", key), ("x-csrf-token", &csrf)],
                    &body.to_string(),
                )
                .await;
            let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
            (page.status, json)
        }
    };
    let (status, body) = register("k1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_coupon"))
    );

    // The operator stops tablet registration on the first node.
    let op = signed_in(app, "op-0001", INTERNET).await;
    let csrf_op = op.csrf("/operator/functions").await;
    let no_reason = op
        .post(
            "/operator/functions/tablet_registration",
            &[("csrf", &csrf_op), ("stop", "1"), ("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, 422);
    // Said under that function's reason field, in Japanese.
    assert!(
        no_reason.body.contains(
            "<p class=\"field-error\" id=\"tablet_registration-reason-error\">理由を入力してください。</p>"
        ),
        "{}",
        no_reason.body
    );
    let stopped = op
        .post(
            "/operator/functions/tablet_registration",
            &[
                ("csrf", &csrf_op),
                ("stop", "1"),
                ("reason", "ワクチン供給の確認"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(stopped.location.as_deref(), Some("/operator/functions"));
    let page = op.get("/operator/functions").await.body;
    assert!(page.contains("data-function=\"tablet_registration\" data-stopped=\"true\""));

    // The tablet page says so before anything is typed, with the operator's reason.
    let stopped_page = tablet.get("/tablet").await.body;
    assert!(stopped_page.contains("id=\"stopped\""), "{stopped_page}");
    assert!(
        stopped_page.contains("ワクチン供給の確認"),
        "{stopped_page}"
    );

    // The second node refuses the very next registration, with the reason.
    let (status, body) = register("k2").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "function_stopped");
    assert!(body["message_ja"]
        .as_str()
        .unwrap()
        .contains("ワクチン供給の確認"));

    // Resuming takes effect at once too.
    op.post(
        "/operator/functions/tablet_registration",
        &[
            ("csrf", &csrf_op),
            ("stop", "0"),
            ("reason", "確認完了"),
            ("confirmed", "1"),
        ],
    )
    .await;
    let (status, _) = register("k3").await;
    assert_eq!(status, 404);
    // Staff cannot switch functions.
    let staff = signed_in(app, "saijo-staff", LGWAN).await;
    let csrf_staff = staff.csrf("/records").await;
    let refused = staff
        .post(
            "/operator/functions/inquiry",
            &[("csrf", &csrf_staff), ("stop", "1"), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, 403);
}
