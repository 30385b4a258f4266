//! A refused form comes back with what was typed, the refused form open, and the reason under the
//! field it is about (tied to it with `aria-describedby`), in Japanese; nothing is stored.

use crate::support::{ehr_setup, Browser, TestApp, LGWAN, PASSWORD};
use vrs_store::on_both_backends;
use vrs_store::Areas;

on_both_backends!(
    TestApp:
    a_refused_dose_keeps_its_input_and_names_its_field,
    a_refused_certificate_names_the_passport_line,
    a_refused_password_names_its_field,
    the_print_view_has_the_record_but_never_the_my_number,
    a_part_of_a_name_within_a_birth_date_finds_people_a_page_at_a_time,
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
        .area(a.municipality)
        .doses_of(&a.atena)
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
        .area(a.municipality)
        .doses_of(&a.atena)
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

/// 25 people of 西条市 born on 1950-04-01: 24 family names with 「ヤマ」 in their reading, of whom
/// 3 are 山田, and one 川村. Another municipality's 山田 born that day is never found.
async fn a_part_of_a_name_within_a_birth_date_finds_people_a_page_at_a_time(app: &TestApp) {
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    let chiyoda = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let born = chrono::NaiveDate::from_ymd_opt(1950, 4, 1).unwrap();
    let names = |i: usize| match i {
        0..=2 => ("山田 花子", "ヤマダ　ハナコ"),
        3..=23 => ("山本 一郎", "ヤマモト　イチロウ"),
        _ => ("川村 次郎", "カワムラ　ジロウ"),
    };
    for (i, mut p) in vrs_interop::Synthetic::new(saijo, 25, 5).enumerate() {
        let (name, kana) = names(i);
        p.birth_date = born;
        p.name = vrs_domain::PersonName::parse(name).unwrap();
        p.name_kana = vrs_domain::KanaName::parse(kana).unwrap();
        app.db
            .store
            .area(saijo)
            .put_resident(&p, &audit)
            .await
            .unwrap();
    }
    let mut elsewhere = vrs_interop::Synthetic::new(chiyoda, 1, 6).next().unwrap();
    elsewhere.birth_date = born;
    elsewhere.name = vrs_domain::PersonName::parse("山田 太郎").unwrap();
    elsewhere.name_kana = vrs_domain::KanaName::parse("ヤマダ　タロウ").unwrap();
    app.db
        .store
        .area(chiyoda)
        .put_resident(&elsewhere, &audit)
        .await
        .unwrap();
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let count = |body: &str| -> String {
        let start = body
            .find("id=\"result-count\"")
            .unwrap_or_else(|| panic!("{body}"));
        body[start..start + body[start..].find("</p>").unwrap()].to_owned()
    };
    let rows = |body: &str| body.matches("<td><a href=\"/records/").count();

    // Kanji, a part of the reading in hiragana, and the reading without its space.
    for (name, found) in [
        ("山田", 3),
        ("やまだ", 3),
        ("ヤマダハナコ", 3),
        ("村", 1),
        ("ヤマ", 24),
    ] {
        let (status, body) = post(
            &staff,
            "/records",
            "/records",
            &[("kana", name), ("birth", "昭和25年4月1日")],
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(
            count(&body).contains(&format!("<strong>{found}</strong>")),
            "{name}: {}",
            count(&body)
        );
        assert_eq!(rows(&body), found.min(20), "{name}");
        assert!(
            !body.contains("ヤマダ　タロウ"),
            "{name}: another municipality's person"
        );
    }
    // The birth date alone finds all 25, twenty a page; the next page holds the other five and
    // is reached by a form, never a URL with the name or the birth date in it.
    let (_, first) = post(&staff, "/records", "/records", &[("birth", "1950-04-01")]).await;
    assert!(count(&first).contains("<strong>25</strong>") && count(&first).contains("1–20"));
    assert_eq!(rows(&first), 20);
    assert!(first.contains("id=\"page-next\"") && !first.contains("id=\"page-previous\""));
    assert!(
        !first.contains("href=\"/records?"),
        "no link carries the search"
    );
    let (_, second) = post(
        &staff,
        "/records",
        "/records",
        &[("birth", "1950-04-01"), ("page", "1")],
    )
    .await;
    assert_eq!(rows(&second), 5);
    assert!(count(&second).contains("21–25"));
    assert!(second.contains("id=\"page-previous\"") && !second.contains("id=\"page-next\""));
    // A page past the end shows the last.
    let (_, past) = post(
        &staff,
        "/records",
        "/records",
        &[("birth", "1950-04-01"), ("page", "9")],
    )
    .await;
    assert_eq!(rows(&past), 5);

    // A name without a birth date is refused at the birth date's field, the name kept.
    let (status, body) = post(&staff, "/records", "/records", &[("kana", "山田")]).await;
    assert_eq!(status, 422);
    assert_eq!(
        field_error(&body, "birth").as_deref(),
        Some("名前で探すときは生年月日も入力してください。")
    );
    assert!(body.contains("value=\"山田\""));
    // A character no name holds is named at the name's field.
    let (status, body) = post(
        &staff,
        "/records",
        "/records",
        &[("kana", "山\u{202E}田"), ("birth", "1950-04-01")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        field_error(&body, "kana").is_some_and(|e| e.starts_with("氏名")),
        "{body}"
    );
    // Each search is audited by how it was made, never by the name typed.
    let log = app.db.store.audit_log(saijo.into(), 1, 1000).await.unwrap();
    assert!(log
        .iter()
        .any(|r| r.entry.target == "name+birth:1950-04-01"));
    assert!(log.iter().any(|r| r.entry.target == "birth:1950-04-01"));
    assert!(!log
        .iter()
        .any(|r| r.entry.target.contains("山田") || r.entry.detail.contains("山田")));
}
