//! `check_area_doses` on both backends: stored doses that break the rules are found, page by page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use vrs_core::doses::check::{check_area_doses, Suspect};
use vrs_core::Actor;
use vrs_domain::{
    AuditAction, Dose, LotNumber, MunicipalityCode, QualityRule, Resident, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::TestDb;
use vrs_store::Areas;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn dose(r: &Resident, n: u8, date: NaiveDate) -> Dose {
    Dose {
        municipality: r.municipality,
        atena: r.atena.clone(),
        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
        administered_on: date,
        product: VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: LotNumber::parse("FA4597").unwrap(),
        site_municipality: r.municipality,
        coupon: r.coupon,
    }
}

async fn cases(db: &TestDb) {
    let saijo = MunicipalityCode::parse("382060").unwrap();
    let actor = Actor::command_line();
    let mut people: Vec<Resident> = Synthetic::new(saijo, 7, 5).collect();
    people[3].deceased_on = Some(d(2021, 6, 10));
    for p in &people {
        let audit = actor.audit(AuditAction::TargetsImport, p.atena.as_str());
        db.store.area(saijo).put_resident(p, &audit).await.unwrap();
    }
    let add = |p: &Resident, n, date| {
        let store = db.store.clone();
        let dose = vrs_store::Registration::new(
            vrs_domain::DoseRecord::now(dose(p, n, date), vrs_domain::DoseSource::Staff),
            "test",
        );
        let audit = actor.audit(AuditAction::DoseAdd, p.atena.as_str());
        async move { store.area(saijo).add_dose(&dose, &audit).await.unwrap() }
    };
    // Plausible: 0 and 1. Second before first: 2. Dose after death: 3. Future date: 4.
    // Too short an interval: 5. Nobody else has doses.
    add(&people[0], 1, d(2021, 6, 1)).await;
    add(&people[0], 2, d(2021, 6, 22)).await;
    add(&people[1], 1, d(2021, 7, 1)).await;
    add(&people[2], 1, d(2021, 7, 1)).await;
    add(&people[2], 2, d(2021, 6, 1)).await;
    add(&people[3], 1, d(2021, 6, 20)).await;
    add(&people[4], 1, d(2022, 1, 5)).await;
    add(&people[5], 1, d(2021, 6, 1)).await;
    add(&people[5], 2, d(2021, 6, 5)).await;
    let mut suspects: Vec<Suspect> = Vec::new();
    // Two people a page, so the check pages through the area.
    let summary = check_area_doses(
        db.store.as_ref(),
        &actor,
        saijo,
        d(2021, 12, 1),
        2,
        &mut |s| suspects.push(s),
    )
    .await
    .unwrap();
    assert_eq!((summary.people, summary.doses), (6, 9));
    let of = |i: usize| -> Vec<(u8, Vec<QualityRule>)> {
        suspects
            .iter()
            .filter(|s| s.atena == people[i].atena)
            .map(|s| (s.dose_number.get(), s.rules.clone()))
            .collect()
    };
    assert!(of(0).is_empty() && of(1).is_empty(), "{suspects:?}");
    assert_eq!(
        of(2),
        [
            (1, vec![QualityRule::OutOfOrder]),
            (2, vec![QualityRule::OutOfOrder])
        ]
    );
    assert_eq!(of(3), [(1, vec![QualityRule::PersonDeceased])]);
    assert_eq!(of(4), [(1, vec![QualityRule::FutureDate])]);
    assert_eq!(of(5), [(2, vec![QualityRule::IntervalTooShort])]);
    assert_eq!(summary.suspects, 5);
    let log = db
        .store
        .audit_search(
            saijo.into(),
            &vrs_store::AuditFilter {
                action: Some("doses.check".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        log[0].entry.detail.contains("suspects=5"),
        "{}",
        log[0].entry.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_doses_breaking_the_rules_are_found_sqlite() {
    let db = TestDb::sqlite().await;
    cases(&db).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_doses_breaking_the_rules_are_found_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    cases(&db).await;
    db.cleanup().await;
}
