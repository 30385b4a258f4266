//! Backups, restores and crypto-shredding: round trips give identical content on SQLite → SQLite,
//! SQLite → PostgreSQL and PostgreSQL → SQLite (every row, every audit entry, every sealed field
//! still opening); a backup taken during registrations restores consistent; a flipped byte or a cut
//! file is refused and writes nothing; a shredded area's old backups cannot be opened; deleting a
//! person removes their rows and nothing else; an area restores into a fresh deployment with the
//! terms it agreed to; a certificate revoked before a shred stays revoked; a deployment rebuilt
//! from a backup and the key escrow verifies its old certificates and signs with the same keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use vrs_cert::verify::{verify, Trust, VerifierBundle, VerifyError};
use vrs_core::backup::format;
use vrs_core::backup::shred::{self, ShredError};
use vrs_core::backup::{self, BackupError, BackupScope, KeySource};
use vrs_core::certificates::revocation;
use vrs_core::certificates::signing::{IssuerMode, IssuerSettings};
use vrs_core::certificates::{self, CertificateRequest, IssuedCertificate};
use vrs_core::governance::{agree, publish_terms};
use vrs_core::inquiry::{inquire, InquiryRequest};
use vrs_core::lifecycle;
use vrs_core::Actor;
use vrs_domain::{
    AtenaNumber, AuditAction, CertificateKind, CouponNumber, Dose, DoseRecord, DoseSource,
    Function, IssueChannel, LotNumber, MunicipalityCode, Resident, TermsKind, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::code;
use vrs_store::testkit::{self, TestDb};
use vrs_store::Areas;
use vrs_store::{
    Account, AuditFilter, AuditScope, Cell, FunctionState, Registration, Store, StoreError,
    TableRows,
};

use vrs_store::on_both_backends;

#[path = "backup/deployment.rs"]
mod deployment;
#[path = "backup/shred.rs"]
mod shred_cases;

use deployment::{
    a_certificate_revoked_before_a_shred_stays_revoked_after,
    a_deployment_rebuilt_from_backup_and_escrow_keeps_its_certificate_keys,
    an_area_restores_into_a_fresh_deployment_with_the_terms_it_agreed_to,
};
use shred_cases::{
    a_shredded_area_cannot_be_read_from_old_backups, deleting_a_person_removes_their_rows_only,
};

on_both_backends!(
    a_backup_during_registrations_restores_consistent,
    a_municipality_backup_restores_into_another_deployment,
    an_area_restores_into_a_fresh_deployment_with_the_terms_it_agreed_to,
    a_shredded_area_cannot_be_read_from_old_backups,
    a_certificate_revoked_before_a_shred_stays_revoked_after,
    a_deployment_rebuilt_from_backup_and_escrow_keeps_its_certificate_keys,
    deleting_a_person_removes_their_rows_only,
);

pub(crate) fn saijo() -> MunicipalityCode {
    code("382060")
}
fn chiyoda() -> MunicipalityCode {
    code("131016")
}

fn staff(of: &str) -> Actor {
    Actor {
        user: format!("{of}-staff"),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
}

pub(crate) fn operator() -> Actor {
    Actor {
        user: "op-national".into(),
        role: "national_operator".into(),
        terminal: "internet".into(),
    }
}

fn dose(r: &Resident, n: u8, day: u32) -> DoseRecord {
    DoseRecord::now(
        Dose {
            municipality: r.municipality,
            atena: r.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: NaiveDate::from_ymd_opt(2021, 7, day).unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: r.municipality,
            coupon: r.coupon,
        },
        DoseSource::Tablet,
    )
}

fn admin_account(user: &str, of: MunicipalityCode) -> Account {
    Account {
        user_id: user.parse().unwrap(),
        role: vrs_domain::Role::MunicipalAdmin,
        municipality: Some(of),
        prefecture: None,
        display_name: "管理者".into(),
        password_hash: vrs_crypto::password::hash_password("a long passphrase 2021").unwrap(),
        must_change_password: false,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "op-national".into(),
        created_at: Utc::now(),
    }
}

/// Two municipalities with people, doses, flags, a mover inquired about (provision records on both
/// sides), terms and agreements, an administrator each, and a stopped-then-resumed function.
pub(crate) async fn populate(store: &dyn Store) -> Vec<Resident> {
    let op = operator();
    for kind in [TermsKind::Use, TermsKind::NoConsentInquiry] {
        publish_terms(store, &op, kind, "確認事項", "本文")
            .await
            .unwrap();
    }
    let mut people = Vec::new();
    for (m, seed) in [(saijo(), 5), (chiyoda(), 6)] {
        let audit = staff(m.as_str()).audit(AuditAction::TargetsImport, "test");
        for p in Synthetic::new(m, 12, seed) {
            store.area(m).put_resident(&p, &audit).await.unwrap();
            people.push(p);
        }
        let mine: Vec<&Resident> = people.iter().filter(|p| p.municipality == m).collect();
        let doses: Vec<DoseRecord> = mine
            .iter()
            .take(8)
            .flat_map(|p| [dose(p, 1, 1), dose(p, 2, 22)])
            .collect();
        store
            .area(m)
            .add_doses(&doses, "tablet", &audit)
            .await
            .unwrap();
        store
            .area(m)
            .set_flags(
                &mine[9].atena,
                NaiveDate::from_ymd_opt(2021, 9, 1),
                None,
                &audit,
            )
            .await
            .unwrap();
        store
            .create_account(
                &admin_account(&format!("admin-{m}"), m),
                AuditScope::National,
                &op.audit(AuditAction::AccountIssue, "admin"),
            )
            .await
            .unwrap();
        agree(store, &staff(m.as_str()), m, TermsKind::Use, 1)
            .await
            .unwrap();
    }
    // A 千代田区 person moved to 西条市 and is inquired about there.
    let old = people
        .iter()
        .find(|p| p.municipality == chiyoda())
        .unwrap()
        .clone();
    let mut new = old.clone();
    new.municipality = saijo();
    new.atena = AtenaNumber::parse("880000000001").unwrap();
    new.coupon = CouponNumber::parse("8800000001").unwrap();
    store
        .area(saijo())
        .put_resident(
            &new,
            &staff("saijo").audit(AuditAction::TargetsImport, "mover"),
        )
        .await
        .unwrap();
    let request = InquiryRequest {
        my_number: old.my_number.clone(),
        former: chiyoda(),
        consent: true,
    };
    let answer = inquire(store, &staff("saijo"), saijo(), &request)
        .await
        .unwrap();
    assert!(answer.found);
    people.push(new);
    for stopped in [true, false] {
        let state = FunctionState {
            function: Function::Import,
            stopped,
            reason: "訓練".into(),
            changed_by: op.user.clone(),
            changed_at: Utc::now(),
        };
        store
            .set_function(&state, &op.audit(AuditAction::FunctionStop, "import"))
            .await
            .unwrap();
    }
    people
}

/// The tables of every area the file holds, as the file holds them.
async fn content(vault: &dyn Store, bytes: &[u8]) -> Vec<(AuditScope, Vec<TableRows>)> {
    let (_, areas) = backup::open(KeySource::Vault(vault), bytes).await.unwrap();
    areas
        .into_iter()
        .map(|a| {
            let rows = a.rows().unwrap();
            (rows.area, rows.tables)
        })
        .collect()
}

/// The target holds exactly what the backup holds: every row of every area; in the national chain,
/// the backup's entries followed only by the restore's own entry.
pub(crate) async fn assert_identical(
    vault: &dyn Store,
    bytes: &[u8],
    target: &dyn Store,
    people: &[Resident],
) {
    for (area, tables) in content(vault, bytes).await {
        let after = vrs_store::backup::collect(target, &[area])
            .await
            .unwrap()
            .remove(0);
        for (want, got) in tables.iter().zip(&after.rows.tables) {
            assert_eq!(want.table, got.table);
            if area == AuditScope::National && want.table.starts_with("audit_") {
                continue;
            }
            assert_eq!(want.rows, got.rows, "area {area}, table {}", want.table);
        }
        if area == AuditScope::National {
            let want: Vec<_> = tables
                .iter()
                .find(|t| t.table == "audit_log")
                .unwrap()
                .rows
                .clone();
            let got = after.rows.rows("audit_log");
            assert_eq!(&got[..want.len()], &want[..], "national chain prefix");
            assert_eq!(got.len(), want.len() + 1, "only the restore's entry is new");
            assert_eq!(got[want.len()][6], Cell::Text("backup.restore".into()));
        }
    }
    // Sealed fields open with the carried data keys: every person reads back the same.
    for p in people {
        let found = target
            .area(p.municipality)
            .resident(&p.atena)
            .await
            .unwrap();
        assert_eq!(
            found,
            vault.area(p.municipality).resident(&p.atena).await.unwrap()
        );
    }
}

async fn round_trip(source: &TestDb, target: &TestDb) {
    let people = populate(source.store.as_ref()).await;
    let taken = backup::backup(
        source.store.as_ref(),
        BackupScope::Deployment,
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        taken.manifest.areas.len(),
        3,
        "the deployment and two municipalities"
    );
    let report = backup::restore(
        KeySource::Vault(source.store.as_ref()),
        target.store.as_ref(),
        &taken.out,
        &operator(),
    )
    .await
    .unwrap();
    assert!(report.chains_verified >= 3, "{report:?}");
    assert_identical(
        source.store.as_ref(),
        &taken.out,
        target.store.as_ref(),
        &people,
    )
    .await;
    // Restoring the same file again is refused: the areas are no longer empty.
    let again = backup::restore(
        KeySource::Vault(source.store.as_ref()),
        target.store.as_ref(),
        &taken.out,
        &operator(),
    )
    .await
    .unwrap_err();
    assert!(again.to_string().contains("already holds"), "{again}");
    // The target's own backups open with the backup keys that came along.
    let second = backup::backup(
        target.store.as_ref(),
        BackupScope::Municipality(saijo()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    backup::open(KeySource::Vault(target.store.as_ref()), &second.out)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite_round_trip_is_identical() {
    let (source, target) = (TestDb::sqlite().await, TestDb::sqlite().await);
    round_trip(&source, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_round_trip_is_identical() {
    let Some(target) = TestDb::postgres().await else {
        return;
    };
    let source = TestDb::sqlite().await;
    round_trip(&source, &target).await;
    target.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite_round_trip_is_identical() {
    let Some(source) = TestDb::postgres().await else {
        return;
    };
    let target = TestDb::sqlite().await;
    round_trip(&source, &target).await;
    source.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_or_a_cut_file_is_refused_and_writes_nothing() {
    let (source, target) = (TestDb::sqlite().await, TestDb::sqlite().await);
    populate(source.store.as_ref()).await;
    let taken = backup::backup(
        source.store.as_ref(),
        BackupScope::Deployment,
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    let bytes = taken.out;
    let len = bytes.len();
    // A flip in the manifest, in a wrapped key, deep in a section, and in the end marker.
    for at in [40, len / 3, len / 2, len - 20, len - 2] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x20;
        let err = backup::restore(
            KeySource::Vault(source.store.as_ref()),
            target.store.as_ref(),
            &bad,
            &operator(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                BackupError::Tampered { .. }
                    | BackupError::Refused(_)
                    | BackupError::Manifest(_)
                    | BackupError::File(_)
                    | BackupError::Content { .. }
            ),
            "flip at {at}: {err}"
        );
    }
    for cut in [10, len / 2, len - 1] {
        let err = backup::restore(
            KeySource::Vault(source.store.as_ref()),
            target.store.as_ref(),
            &bytes[..cut],
            &operator(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("truncated"), "cut at {cut}: {err}");
    }
    // Nothing reached the target.
    assert!(target.store.municipalities().await.unwrap().is_empty());
    assert_eq!(
        target.store.audit_head(AuditScope::National).await.unwrap(),
        None
    );
    source.cleanup().await;
}

async fn a_backup_during_registrations_restores_consistent(db: &TestDb) {
    let store = db.store.clone();
    let audit = staff("saijo").audit(AuditAction::TargetsImport, "load");
    let people: Vec<Resident> = Synthetic::new(saijo(), 300, 9).collect();
    for p in &people {
        store.area(saijo()).put_resident(p, &audit).await.unwrap();
    }
    let writer = {
        let store = store.clone();
        let people = people.clone();
        tokio::spawn(async move {
            for p in &people {
                let registration = Registration::new(dose(p, 1, 5), "saijo-tablet");
                let entry = staff("tablet").audit(AuditAction::DoseRegister, p.atena.as_str());
                store
                    .area(saijo())
                    .add_dose(&registration, &entry)
                    .await
                    .unwrap();
            }
        })
    };
    let mut backups = Vec::new();
    while !writer.is_finished() {
        backups.push(
            backup::backup(
                store.as_ref(),
                BackupScope::Municipality(saijo()),
                &operator(),
                Vec::new(),
            )
            .await
            .unwrap(),
        );
    }
    writer.await.unwrap();
    assert!(!backups.is_empty());
    for taken in backups.iter().take(3) {
        let target = TestDb::sqlite().await;
        backup::restore(
            KeySource::Vault(store.as_ref()),
            target.store.as_ref(),
            &taken.out,
            &operator(),
        )
        .await
        .unwrap();
        // Consistent: every dose with its audit entry and no entry without its dose.
        let (_, areas) = backup::open(KeySource::Vault(store.as_ref()), &taken.out)
            .await
            .unwrap();
        let rows = areas[0].rows().unwrap();
        let doses = rows.rows("doses").len();
        let registered = rows
            .rows("audit_log")
            .iter()
            .filter(|r| r[6] == Cell::Text("dose.register".into()))
            .count();
        assert_eq!(doses, registered, "doses and their audit entries");
        let restored = target
            .store
            .audit_search(
                AuditScope::Area(saijo()),
                &AuditFilter {
                    action: Some("dose.register".into()),
                    limit: 1000,
                    ..AuditFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(restored.len(), doses);
    }
}

async fn a_municipality_backup_restores_into_another_deployment(db: &TestDb) {
    let people = populate(db.store.as_ref()).await;
    let taken = backup::backup(
        db.store.as_ref(),
        BackupScope::Municipality(saijo()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(taken.manifest.kind, "municipality");
    let target = TestDb::sqlite().await;
    for kind in [TermsKind::Use, TermsKind::NoConsentInquiry] {
        publish_terms(target.store.as_ref(), &operator(), kind, "確認事項", "本文")
            .await
            .unwrap();
    }
    backup::restore(
        KeySource::Vault(db.store.as_ref()),
        target.store.as_ref(),
        &taken.out,
        &operator(),
    )
    .await
    .unwrap();
    let saijo_people: Vec<Resident> = people
        .into_iter()
        .filter(|p| p.municipality == saijo())
        .collect();
    for p in &saijo_people {
        assert_eq!(
            target.store.area(saijo()).resident(&p.atena).await.unwrap(),
            db.store.area(saijo()).resident(&p.atena).await.unwrap()
        );
    }
    // Only 西条市 came across.
    assert_eq!(target.store.municipalities().await.unwrap(), vec![saijo()]);
    // The backup was recorded in 西条市's chain of the source.
    let found = db
        .store
        .audit_search(
            AuditScope::Area(saijo()),
            &AuditFilter {
                action: Some("backup.take".into()),
                limit: 5,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
