//! Movers through the inquiry on both backends: a scan asks about a mover's former area only
//! under the inquiry rules (a consent basis, the function running), with a provision record on
//! each side, and tablets' registrations go on while a scan asks about hundreds of movers.

use super::*;
use vrs_store::Areas;

/// Regression: the cross-area duplicate scan opened other areas' My Numbers with no consent
/// basis, no provision record and while the `inquiry` function was stopped. Now it asks through
/// the inquiry only: while the function is stopped it asks nobody (and says why), and where the
/// two municipalities have not both agreed to the no-consent terms it asks nobody there.
pub(super) async fn a_scan_asks_about_movers_only_under_the_inquiry_rules(db: &TestDb) {
    let store = db.store.as_ref();
    let (saijo, chiyoda) = (code(SAIJO), code(CHIYODA));
    let mut mover = Synthetic::new(saijo, 1, 5).next().unwrap();
    mover.moved_in_from = Some(chiyoda);
    let mut old = mover.clone();
    old.municipality = chiyoda;
    old.moved_out_on = NaiveDate::from_ymd_opt(2022, 4, 1);
    import(store, saijo, vec![mover.clone()]).await;
    import(store, chiyoda, vec![old.clone()]).await;
    store
        .area(chiyoda)
        .add_doses(
            &[dose(&old, 1, day(0), None)],
            "site",
            &audit(AuditAction::DoseAdd),
        )
        .await
        .unwrap();
    let head =
        |m: MunicipalityCode| async move { store.audit_head(AuditScope::Area(m)).await.unwrap() };
    // No consent basis yet: nobody asked, nothing written in 千代田区.
    let before = head(chiyoda).await;
    let report = scan(store, &staff(), saijo, Utc::now()).await.unwrap();
    assert_eq!(
        (report.movers_asked, report.movers_without_consent_basis),
        (0, 1)
    );
    assert_eq!(report.unfetched_move, 0);
    assert_eq!(head(chiyoda).await, before);
    // Agreed, but the operator stopped the inquiry function: nobody asked, and the report says so.
    agree_no_consent_terms(store).await;
    let before = head(chiyoda).await;
    let stop = |stopped: bool| vrs_store::FunctionState {
        function: vrs_domain::Function::Inquiry,
        stopped,
        reason: "点検中".into(),
        changed_by: "op-0001".into(),
        changed_at: Utc::now(),
    };
    store
        .set_function(&stop(true), &audit(AuditAction::FunctionStop))
        .await
        .unwrap();
    let report = scan(store, &staff(), saijo, Utc::now()).await.unwrap();
    assert_eq!(report.movers_asked, 0);
    assert!(report
        .inquiry_stopped
        .as_ref()
        .is_some_and(|s| s.reason == "点検中"));
    assert_eq!(head(chiyoda).await, before);
    assert!(store
        .area(chiyoda)
        .provision_records(&vrs_store::ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
    // Running again: asked, found, on the queue, with a provision record on each side.
    store
        .set_function(&stop(false), &audit(AuditAction::FunctionStop))
        .await
        .unwrap();
    let report = scan(store, &staff(), saijo, Utc::now()).await.unwrap();
    assert_eq!((report.movers_asked, report.unfetched_move), (1, 1));
    for m in [saijo, chiyoda] {
        let records = store
            .area(m)
            .provision_records(&vrs_store::ProvisionFilter::default())
            .await
            .unwrap();
        assert_eq!(records.len(), 1, "{m}");
    }
}

/// Regression: the scan held the SQLite writer for the whole cross-area read. Now each inquiry is
/// its own short write: tablets' registrations keep being stored while a scan asks about hundreds
/// of movers.
pub(super) async fn registrations_go_on_while_a_scan_asks_about_movers(db: &TestDb) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let store = db.store.clone();
    let (saijo, chiyoda) = (code(SAIJO), code(CHIYODA));
    let people: Vec<Resident> = Synthetic::new(saijo, 400, 9).collect();
    let mut here = people.clone();
    for p in here.iter_mut().take(300) {
        p.moved_in_from = Some(chiyoda);
    }
    let there: Vec<Resident> = people
        .iter()
        .take(300)
        .map(|p| {
            let mut old = p.clone();
            old.municipality = chiyoda;
            old
        })
        .collect();
    import(store.as_ref(), saijo, here).await;
    import(store.as_ref(), chiyoda, there.clone()).await;
    let old_doses: Vec<DoseRecord> = there.iter().map(|p| dose(p, 1, day(0), None)).collect();
    store
        .area(chiyoda)
        .add_doses(&old_doses, "site", &audit(AuditAction::DoseAdd))
        .await
        .unwrap();
    agree_no_consent_terms(store.as_ref()).await;
    let done = Arc::new(AtomicBool::new(false));
    let scanning = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let report = scan(store.as_ref(), &staff(), saijo, Utc::now())
                .await
                .unwrap();
            done.store(true, Ordering::SeqCst);
            (report, started.elapsed())
        })
    };
    // Registrations of the 100 people who did not move, one after another, while the scan runs.
    let mut during = 0;
    let mut slowest = std::time::Duration::ZERO;
    for p in people.iter().skip(300) {
        if done.load(Ordering::SeqCst) {
            break;
        }
        let started = std::time::Instant::now();
        store
            .area(saijo)
            .add_dose(
                &vrs_store::Registration::new(dose(p, 1, day(1), None), "saijo-tablet"),
                &audit(AuditAction::DoseRegister),
            )
            .await
            .unwrap();
        slowest = slowest.max(started.elapsed());
        if !done.load(Ordering::SeqCst) {
            during += 1;
        }
    }
    let (report, took) = scanning.await.unwrap();
    assert_eq!(report.movers_asked, 300);
    assert_eq!(report.unfetched_move, 300);
    print_report(format_args!(
        "[{}] scan asked about 300 movers in {took:?}; {during} registrations stored meanwhile, the slowest in {slowest:?}",
        db.store.backend()
    ));
    assert!(
        during >= 5,
        "registrations must go on during the scan ({during} in {took:?})"
    );
    assert!(
        slowest < took / 2,
        "a registration waited {slowest:?} of the scan's {took:?}"
    );
}
