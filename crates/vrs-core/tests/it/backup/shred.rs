//! Crypto-shredding and deleting a person: a shredded area cannot be read from old backups, and
//! deleting a person removes their rows and nothing else.

use super::*;
use vrs_store::Areas;

pub(super) async fn a_shredded_area_cannot_be_read_from_old_backups(db: &TestDb) {
    let store = db.store.as_ref();
    let people = populate(store).await;
    let old = backup::backup(
        store,
        BackupScope::Municipality(saijo()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    let whole = backup::backup(store, BackupScope::Deployment, &operator(), Vec::new())
        .await
        .unwrap();
    // No consent, or consent by someone other than 西条市's administrator: refused.
    let refused = shred::shred(store, saijo(), &operator()).await.unwrap_err();
    assert!(matches!(refused, ShredError::NoConsent(_)), "{refused}");
    let wrong = shred::consent(
        store,
        saijo(),
        &format!("admin-{}", chiyoda()),
        "R3-1",
        &operator(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(wrong, ShredError::NotTheAdministrator(..)),
        "{wrong}"
    );
    shred::consent(
        store,
        saijo(),
        &format!("admin-{}", saijo()),
        "西保第123号",
        &operator(),
    )
    .await
    .unwrap();
    let record = shred::shred(store, saijo(), &operator()).await.unwrap();
    assert!(
        record.deleted.contains("residents=13"),
        "{}",
        record.deleted
    );
    assert!(record.deleted.contains("municipality_keys=1"));
    // The area is gone, and so is its key.
    assert!(!store.municipalities().await.unwrap().contains(&saijo()));
    let someone = people.iter().find(|p| p.municipality == saijo()).unwrap();
    assert!(store.area(saijo()).resident(&someone.atena).await.is_err());
    assert_eq!(
        store
            .backup_key(AuditScope::Area(saijo()), false)
            .await
            .unwrap()
            .map(|_| ()),
        None
    );
    // Old backups of it cannot be opened: not the municipality's, not its section of the whole.
    for bytes in [&old.out, &whole.out] {
        let err = backup::open(KeySource::Vault(store), bytes)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BackupError::NoKey { area } if area == saijo().as_str()),
            "{err}"
        );
    }
    // Not with a brand-new vault either (another deployment, its own keys).
    let elsewhere = TestDb::sqlite().await;
    backup::backup(
        elsewhere.store.as_ref(),
        BackupScope::Municipality(saijo()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    let err = backup::open(KeySource::Vault(elsewhere.store.as_ref()), &old.out)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Tampered { .. }), "{err}");
    // What remains: the consent record and the national chain's entry naming what was deleted.
    let entries = store
        .audit_search(
            AuditScope::National,
            &AuditFilter {
                action: Some("area.delete".into()),
                limit: 5,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].entry.detail.contains("西保第123号"));
    assert!(entries[0].entry.detail.contains("area chain head seq"));
    assert_eq!(
        store.audit_head(AuditScope::Area(saijo())).await.unwrap(),
        None
    );
    let kept = store.area(saijo()).shred_record().await.unwrap().unwrap();
    assert!(kept.shredded_at.is_some());
    // 千代田区 is untouched and its backups still open.
    let other = people.iter().find(|p| p.municipality == chiyoda()).unwrap();
    assert_eq!(
        &store.area(chiyoda()).resident(&other.atena).await.unwrap(),
        other
    );
    let chiyoda_backup = backup::backup(
        store,
        BackupScope::Municipality(chiyoda()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    backup::open(KeySource::Vault(store), &chiyoda_backup.out)
        .await
        .unwrap();
    // A second shred is refused.
    assert!(shred::shred(store, saijo(), &operator()).await.is_err());
}

pub(super) async fn deleting_a_person_removes_their_rows_only(db: &TestDb) {
    let store = db.store.as_ref();
    let people = populate(store).await;
    let gone = people.iter().find(|p| p.municipality == saijo()).unwrap();
    let stays = people
        .iter()
        .filter(|p| p.municipality == saijo())
        .nth(1)
        .unwrap();
    let before = store.area(saijo()).count_residents().await.unwrap();
    let err = shred::delete_person(store, saijo(), &gone.atena, "  ", &staff("saijo"))
        .await
        .unwrap_err();
    assert!(matches!(err, ShredError::NoReason));
    let doses = shred::delete_person(store, saijo(), &gone.atena, "二重登録", &staff("saijo"))
        .await
        .unwrap();
    assert_eq!(doses, 2);
    assert!(store.area(saijo()).resident(&gone.atena).await.is_err());
    assert!(store
        .area(saijo())
        .doses_of(&gone.atena)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.area(saijo()).count_residents().await.unwrap(),
        before - 1
    );
    assert_eq!(
        &store.area(saijo()).resident(&stays.atena).await.unwrap(),
        stays
    );
    assert_eq!(
        store
            .area(saijo())
            .doses_of(&stays.atena)
            .await
            .unwrap()
            .len(),
        2
    );
    let again = shred::delete_person(store, saijo(), &gone.atena, "二重登録", &staff("saijo"))
        .await
        .unwrap_err();
    assert!(matches!(again, ShredError::NoSuchPerson(..)), "{again}");
    // A 宛名番号 of another municipality is not found here.
    let theirs = people.iter().find(|p| p.municipality == chiyoda()).unwrap();
    if theirs.atena != gone.atena {
        assert!(
            shred::delete_person(store, saijo(), &theirs.atena, "x", &staff("saijo"))
                .await
                .is_err()
        );
    }
    let entries = store
        .audit_search(
            AuditScope::Area(saijo()),
            &AuditFilter {
                action: Some("person.delete".into()),
                limit: 5,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].entry.detail.contains("二重登録"));
}
