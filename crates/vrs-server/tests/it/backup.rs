//! The administrator's backup page over real HTTP on SQLite and PostgreSQL: an LG-WAN download of
//! the municipality's own area that opens with the deployment's key vault and holds exactly that
//! area; refused from the internet, to staff, and without the form's token. Staff delete a person
//! of their own municipality, with a reason (promise 22 of docs/pia.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::Areas;

use support::{TestApp, INTERNET, LGWAN, PASSWORD};
use vrs_domain::MunicipalityCode;
use vrs_store::{AuditFilter, AuditScope};

on_both_backends!(
    TestApp:
    an_administrator_downloads_the_areas_backup_from_lgwan_only,
    staff_delete_a_person_of_their_own_municipality_with_a_reason,
);

async fn backups_taken(app: &TestApp, m: MunicipalityCode) -> usize {
    app.db
        .store
        .audit_search(
            AuditScope::Area(m),
            &AuditFilter {
                action: Some("backup.take".into()),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap()
        .len()
}

async fn an_administrator_downloads_the_areas_backup_from_lgwan_only(app: &TestApp) {
    let saijo = MunicipalityCode::parse("382060").unwrap();
    let chiyoda = MunicipalityCode::parse("131016").unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    for (m, n) in [(saijo, 7), (chiyoda, 4)] {
        for p in vrs_interop::Synthetic::new(m, n, 3) {
            app.db.store.area(m).put_resident(&p, &audit).await.unwrap();
        }
    }
    app.account("saijo-admin", "municipal_admin", Some("382060"), false)
        .await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;

    // From the internet, and as staff: refused, nothing taken.
    let outside = app.browser(INTERNET);
    outside.login("saijo-admin", PASSWORD).await;
    assert_eq!(outside.get("/admin/backup").await.status, 403);
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    assert_eq!(staff.get("/admin/backup").await.status, 403);

    let admin = app.browser(LGWAN);
    admin.login("saijo-admin", PASSWORD).await;
    let page = admin.get("/admin/backup").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("バックアップを作成してダウンロード"));
    // Without the form's token: refused.
    let forged = admin.post("/admin/backup", &[("csrf", "forged")]).await;
    assert!(forged.status >= 400, "{}", forged.status);
    assert_eq!(backups_taken(app, saijo).await, 0);

    let csrf = admin.csrf("/admin/backup").await;
    let r = admin
        .client
        .post(format!("{}/admin/backup", admin.base))
        .header("x-forwarded-for", LGWAN)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("vrs-backup-382060-"), "{disposition}");
    let bytes = r.bytes().await.unwrap().to_vec();
    let (manifest, areas) = vrs_core::backup::open(
        vrs_core::backup::KeySource::Vault(app.db.store.as_ref()),
        &bytes,
    )
    .await
    .unwrap();
    assert_eq!(manifest.areas.len(), 1);
    assert_eq!(manifest.areas[0].area, "382060");
    assert_eq!(manifest.areas[0].rows["residents"], 7);
    assert_eq!(manifest.created_by, "saijo-admin");
    assert!(areas[0]
        .rows()
        .unwrap()
        .rows("residents")
        .iter()
        .all(|r| r[0] == vrs_store::Cell::Text("382060".into())));
    assert_eq!(backups_taken(app, saijo).await, 1);
    assert_eq!(backups_taken(app, chiyoda).await, 0);
    let listed = admin.get("/admin/backup").await;
    assert!(listed.body.contains("saijo-admin"), "{}", listed.body);
}

async fn staff_delete_a_person_of_their_own_municipality_with_a_reason(app: &TestApp) {
    let saijo = MunicipalityCode::parse("382060").unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let people: Vec<_> = vrs_interop::Synthetic::new(saijo, 2, 4).collect();
    for p in &people {
        app.db
            .store
            .area(saijo)
            .put_resident(p, &audit)
            .await
            .unwrap();
    }
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let page = format!("/records/{}", people[0].atena);
    let csrf = staff.csrf(&page).await;
    let person_page = staff.get(&page).await.body;
    assert!(person_page.contains("記録を削除する"));
    // The reason is marked as required beside its label (the mark itself is the stylesheet's).
    assert!(
        person_page.contains(
            "削除の理由<span class=\"required\" aria-hidden=\"true\"></span></label><input id=\"person-delete-reason\" name=\"reason\" type=\"text\" value=\"\" required>"
        ),
        "{person_page}"
    );
    let delete = format!("{page}/delete");
    // Without a reason: refused, the person stays.
    let refused = staff
        .post(&delete, &[("csrf", &csrf), ("reason", " ")])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("理由を入力してください"));
    assert_eq!(staff.get(&page).await.status, 200);
    // Asked first: the page says what will go, and the person is still there.
    let asked = staff
        .post(&delete, &[("csrf", &csrf), ("reason", "二重登録")])
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked.body.contains("接種記録とともに削除します"),
        "{}",
        asked.body
    );
    assert_eq!(staff.get(&page).await.status, 200);
    let done = staff
        .post(
            &delete,
            &[("csrf", &csrf), ("reason", "二重登録"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/records?deleted=1"));
    assert!(staff
        .get("/records?deleted=1")
        .await
        .body
        .contains("記録を削除しました。"));
    assert_eq!(staff.get(&page).await.status, 404);
    assert_eq!(
        staff
            .get(&format!("/records/{}", people[1].atena))
            .await
            .status,
        200
    );
    assert_eq!(app.db.store.area(saijo).count_residents().await.unwrap(), 1);
}
