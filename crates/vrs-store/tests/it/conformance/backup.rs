//! Conformance cases for backups and crypto-shredding at the storage level: the append-only logs
//! stay append-only for every area not being destroyed (a consent alone opens nothing), a shred
//! takes the area's rows, keys and vault entry and nothing of another area, and a restore refuses an
//! area that holds rows and writes nothing then.

use vrs_store::backup::collect;
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{AreaRestore, AuditScope, StoreError};

use super::{audit, code, resident, CHIYODA, SAIJO};

async fn two_areas(db: &TestDb) {
    for (m, atena) in [(SAIJO, 1), (CHIYODA, 2)] {
        db.store
            .area(code(m))
            .put_resident(&resident(m, atena), &audit("resident.put", "x"))
            .await
            .unwrap();
    }
}

pub async fn a_consent_opens_nothing_and_a_shred_takes_only_its_area(db: &TestDb) {
    two_areas(db).await;
    let s = &db.store;
    s.area(code(SAIJO))
        .consent_to_shred("R3-1", &audit("area.delete_consent", SAIJO))
        .await
        .unwrap();
    for sql in [
        format!("DELETE FROM audit_log WHERE municipality_code = '{SAIJO}'"),
        format!("DELETE FROM audit_log WHERE municipality_code = '{CHIYODA}'"),
    ] {
        let refused = db.exec(&sql).await;
        assert!(refused.is_err_and(|e| e.contains("append-only")), "{sql}");
    }
    s.backup_key(AuditScope::Area(code(SAIJO)), true)
        .await
        .unwrap();
    s.backup_key(AuditScope::Area(code(CHIYODA)), true)
        .await
        .unwrap();
    let record = s
        .area(code(SAIJO))
        .shred_area(&audit("area.delete", SAIJO))
        .await
        .unwrap();
    assert!(record.shredded_at.is_some());
    assert!(record.deleted.contains("residents=1"), "{}", record.deleted);
    assert!(
        record.deleted.contains("backup_keys=1"),
        "{}",
        record.deleted
    );
    assert_eq!(s.municipalities().await.unwrap(), vec![code(CHIYODA)]);
    assert_eq!(s.area(code(SAIJO)).count_residents().await.unwrap(), 0);
    assert_eq!(s.area(code(CHIYODA)).count_residents().await.unwrap(), 1);
    assert!(s
        .backup_key(AuditScope::Area(code(SAIJO)), false)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .backup_key(AuditScope::Area(code(CHIYODA)), false)
        .await
        .unwrap()
        .is_some());
    // 千代田区's log is still append-only after 西条市's shred.
    let refused = db
        .exec(&format!(
            "DELETE FROM audit_log WHERE municipality_code = '{CHIYODA}'"
        ))
        .await;
    assert!(refused.is_err_and(|e| e.contains("append-only")));
    // Without a consent: not found; twice: a conflict.
    let none = s
        .area(code(CHIYODA))
        .shred_area(&audit("area.delete", CHIYODA))
        .await;
    assert!(matches!(none, Err(StoreError::NotFound)), "{none:?}");
    let again = s
        .area(code(SAIJO))
        .shred_area(&audit("area.delete", SAIJO))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

pub async fn a_restore_into_an_area_with_rows_writes_nothing(db: &TestDb) {
    two_areas(db).await;
    let s = &db.store;
    let areas = collect(s.as_ref(), &[AuditScope::Area(code(SAIJO))])
        .await
        .unwrap();
    assert_eq!(areas[0].rows.rows("residents").len(), 1);
    let before = s.audit_head(AuditScope::Area(code(SAIJO))).await.unwrap();
    let err = s
        .restore_areas(areas.into_iter().map(AreaRestore::from_rows).collect())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.to_string().contains("already holds")),
        "{err}"
    );
    assert_eq!(
        s.audit_head(AuditScope::Area(code(SAIJO))).await.unwrap(),
        before
    );
    assert_eq!(s.area(code(SAIJO)).count_residents().await.unwrap(), 1);
}
