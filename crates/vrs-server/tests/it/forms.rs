//! A refused form comes back with what was typed, the refused form open, and the reason under the
//! field it is about (tied to it with `aria-describedby`), in Japanese; nothing is stored.

use crate::support::{ehr_setup, Browser, TestApp, LGWAN, PASSWORD};
use vrs_store::on_both_backends;

on_both_backends!(
    TestApp:
    a_refused_dose_keeps_its_input_and_names_its_field,
    a_refused_certificate_names_the_passport_line,
    a_refused_password_names_its_field,
    the_print_view_has_the_record_but_never_the_my_number,
);

/// The error paragraph under the field `id`, if there is one, and whether the field points at it.
fn field_error(body: &str, id: &str) -> Option<String> {
    let described = format!("id=\"{id}\"");
    let field = body.find(&described)?;
    let tag_end = field + body[field..].find('>')?;
    let tag = &body[field..tag_end];
    if !tag.contains(&format!("aria-describedby=\"{id}-error\""))
        || !tag.contains("aria-invalid=\"true\"")
    {
        return None;
    }
    let start = body.find(&format!("id=\"{id}-error\">"))? + id.len() + 12;
    Some(body[start..start + body[start..].find('<')?].to_owned())
}

async fn post(
    staff: &Browser,
    path: &str,
    csrf_from: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let csrf = staff.csrf(csrf_from).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let page = staff.post(path, &form).await;
    (page.status, page.body)
}

async fn a_refused_dose_keeps_its_input_and_names_its_field(app: &TestApp) {
    let (a, _) = ehr_setup(app, 21).await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-ehr", PASSWORD).await;
    let record = format!("/records/{}", a.atena);
    let dose = |date: &'static str| {
        [
            ("dose_number", "1"),
            ("administered_on", date),
            ("product", "comirnaty"),
            ("lot_number", "FA4597"),
            ("venue", "西条市総合福祉センター"),
        ]
    };
    let (status, body) = post(
        &staff,
        &format!("{record}/doses"),
        &record,
        &dose("令和3年2月30日"),
    )
    .await;
    assert_eq!(status, 422);
    let error = field_error(&body, "add-administered_on").expect(&body);
    assert!(error.starts_with("接種日"), "{error}");
    // What was typed is there again, in the form that is open.
    assert!(
        body.contains("<details class=\"card\" id=\"add-dose\" open>"),
        "{body}"
    );
    assert!(body.contains("value=\"令和3年2月30日\""));
    assert!(body.contains("value=\"西条市総合福祉センター\""));
    assert!(body.contains("<option value=\"comirnaty\" selected>"));
    assert!(app
        .db
        .store
        .doses_of(a.municipality, &a.atena)
        .await
        .unwrap()
        .is_empty());

    // A correction without a reason: the reason field of that dose's form.
    let (status, _) = post(
        &staff,
        &format!("{record}/doses"),
        &record,
        &dose("2021-06-01"),
    )
    .await;
    assert!(status < 400);
    let mut correction = dose("2021-06-02").to_vec();
    correction.push(("reason", " "));
    let (status, body) = post(
        &staff,
        &format!("{record}/doses/1/correct"),
        &record,
        &correction,
    )
    .await;
    assert_eq!(status, 422);
    let error = field_error(&body, "dose1-correct-reason").expect(&body);
    assert!(error.contains("理由"), "{error}");
    assert!(
        body.contains("value=\"2021-06-02\""),
        "the correction typed is kept"
    );
    let stored = app
        .db
        .store
        .doses_of(a.municipality, &a.atena)
        .await
        .unwrap();
    assert_eq!(stored[0].dose.administered_on.to_string(), "2021-06-01");
}

async fn a_refused_certificate_names_the_passport_line(app: &TestApp) {
    let (a, _) = ehr_setup(app, 22).await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-ehr", PASSWORD).await;
    let record = format!("/records/{}", a.atena);
    let line1 = "P<JPNSAIJO<<HANAKO<<<<<<<<<<<<<<<<<<<<<<<<<<";
    let (status, body) = post(
        &staff,
        &format!("{record}/certificate"),
        &record,
        &[
            ("kind", "overseas"),
            ("format", "pdf"),
            ("mrz1", line1),
            ("mrz2", "TZ123"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let error = field_error(&body, "cert-mrz2").expect(&body);
    assert!(error.contains("2行目"), "{error}");
    let escaped = line1.replace('<', "&lt;");
    assert!(
        body.contains(&format!("value=\"{escaped}\"")),
        "line 1 is kept"
    );
    assert!(body.contains("<option value=\"overseas\" selected>"));
    assert!(body.contains("id=\"issue-certificate\" open"));
}

async fn a_refused_password_names_its_field(app: &TestApp) {
    app.account("saijo-new", "municipal_staff", Some("382060"), true)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-new", PASSWORD).await;
    let cases = [
        (
            "Another-Pass-2027",
            "Another-Pass-2028",
            "again",
            "一致しません",
        ),
        ("Sh0rt!", "Sh0rt!", "new", "12文字以上"),
    ];
    for (new, again, field, said) in cases {
        let (status, body) = post(
            &staff,
            "/password",
            "/password",
            &[("current", PASSWORD), ("new", new), ("again", again)],
        )
        .await;
        assert_eq!(status, 400);
        let error = field_error(&body, field).expect(&body);
        assert!(error.contains(said), "{field}: {error}");
        assert!(!body.contains(new), "a password is never sent back");
    }
}

async fn the_print_view_has_the_record_but_never_the_my_number(app: &TestApp) {
    let (a, b) = ehr_setup(app, 23).await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-ehr", PASSWORD).await;
    let record = format!("/records/{}", a.atena);
    let (status, _) = post(
        &staff,
        &format!("{record}/doses"),
        &record,
        &[
            ("dose_number", "1"),
            ("administered_on", "2021-06-01"),
            ("product", "comirnaty"),
            ("lot_number", "FA4597"),
        ],
    )
    .await;
    assert!(status < 400);
    assert!(staff
        .get(&record)
        .await
        .body
        .contains(&format!("href=\"{record}/print\"")));
    let scope = vrs_store::AuditScope::Area(a.municipality);
    let before = app
        .db
        .store
        .audit_log(scope, 1, 10_000)
        .await
        .unwrap()
        .len();
    let page = staff.get(&format!("{record}/print")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(a.name.as_str()));
    assert!(page.body.contains("FA4597"));
    assert!(page.body.contains("saijo-ehr"), "who printed it");
    assert!(
        !page.body.contains(a.my_number.expose()),
        "never the My Number"
    );
    assert!(!page.body.contains(b.name.as_str()));
    let after = app.db.store.audit_log(scope, 1, 10_000).await.unwrap();
    assert!(after.len() > before, "the read is audited");
    assert_eq!(after.last().unwrap().entry.action, "person.read");
    // Another municipality's person, or none: not found.
    assert_eq!(staff.get("/records/999999999/print").await.status, 404);
}
