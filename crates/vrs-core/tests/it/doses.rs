//! Dose services on both backends: registration at a site (rules, idempotency, home area), staff
//! corrections and flags (audited before/after), bulk import (all-or-nothing, idempotent) and
//! exports (no My Number, read back).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use vrs_core::coupon::CouponRef;
use vrs_core::doses::export::{export_doses, DoseExport, ExportFormat};
use vrs_core::doses::import::{import_doses, DoseImport};
use vrs_core::doses::{
    correct_dose, delete_dose, register_at_site, set_flags, ChangeError, DoseRef,
    IdempotencyRequest, RegisterError, SiteAnswer,
};
use vrs_core::{Actor, ImportObserver, Problem};
use vrs_domain::{AuditAction, DoseStatement, LotNumber, Resident, VaccineProduct};
use vrs_interop::{DoseReader, Encoding, EncodingChoice, Synthetic};
use vrs_store::testkit::code;
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::AuditScope;

use vrs_store::on_both_backends;

#[path = "doses/files.rs"]
mod files;

use files::{
    a_dose_file_is_all_or_nothing_and_importing_it_twice_changes_nothing,
    exports_hold_no_my_number_and_read_back,
};

on_both_backends!(
    a_site_registers_in_the_home_area_and_the_rules_refuse_bad_doses,
    a_retried_registration_gets_the_first_answer_and_makes_one_dose,
    staff_corrections_deletions_and_flags_are_audited_with_before_and_after,
    a_dose_file_is_all_or_nothing_and_importing_it_twice_changes_nothing,
    exports_hold_no_my_number_and_read_back,
);

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

const TODAY: (i32, u32, u32) = (2022, 3, 1);

fn today() -> NaiveDate {
    d(TODAY.0, TODAY.1, TODAY.2)
}

fn tablet() -> Actor {
    Actor {
        user: "chiyoda-tablet".into(),
        role: "site_tablet".into(),
        terminal: "internet".into(),
    }
}

fn staff() -> Actor {
    Actor {
        user: "saijo-staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
}

fn input(n: u8, date: NaiveDate, site: &str) -> DoseStatement {
    DoseStatement {
        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
        administered_on: date,
        product: VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: LotNumber::parse("FA4597").unwrap(),
        site: code(site),
        venue: "集団接種会場".into(),
        doctor: String::new(),
    }
}

/// Ten people of 西条市 (382060); number 3 deceased, number 4 moved out on 2021-07-01.
async fn people(db: &TestDb) -> Vec<Resident> {
    let saijo = code("382060");
    let mut people: Vec<Resident> = Synthetic::new(saijo, 10, 11).collect();
    people[3].deceased_on = Some(d(2021, 6, 10));
    people[4].moved_out_on = Some(d(2021, 7, 1));
    for p in &people {
        let audit = staff().audit(AuditAction::TargetsImport, p.atena.as_str());
        db.store.area(saijo).put_resident(p, &audit).await.unwrap();
    }
    db.store
        .activate_municipality(code("131016"))
        .await
        .unwrap();
    people
}

fn coupon(p: &Resident) -> CouponRef {
    CouponRef {
        municipality: p.municipality,
        coupon: p.coupon,
    }
}

/// The refusal code and the rule codes an answer should carry.
type Expected<'a> = (&'a str, Vec<&'a str>);

fn refused_code(answer: &SiteAnswer) -> (&str, Vec<&str>) {
    match answer {
        SiteAnswer::Refused { code, rules, .. } => (
            code.as_str(),
            rules.iter().map(|r| r.code.as_str()).collect(),
        ),
        SiteAnswer::Registered { .. } => ("registered", vec![]),
    }
}

async fn a_site_registers_in_the_home_area_and_the_rules_refuse_bad_doses(db: &TestDb) {
    let people = people(db).await;
    let s = &*db.store;
    let p = &people[0];
    // Given at a 千代田区 site, recorded in 西条市's area.
    let answer = register_at_site(
        s,
        &tablet(),
        coupon(p),
        &input(1, d(2021, 6, 1), "131016"),
        None,
        today(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 201);
    let json = serde_json::to_string(&answer).unwrap();
    for personal in [
        p.my_number.expose(),
        p.name.as_str(),
        p.name_kana.as_str(),
        &p.birth_date.to_string(),
        p.atena.as_str(),
    ] {
        assert!(!json.contains(personal), "{json} shows {personal}");
    }
    let stored = s.area(code("382060")).doses_of(&p.atena).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].dose.site_municipality, code("131016"));
    assert!(s
        .area(code("131016"))
        .doses_of(&p.atena)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .area(code("131016"))
        .resident_by_coupon(&p.coupon)
        .await
        .is_err());

    let cases: Vec<(DoseStatement, &Resident, Expected)> = vec![
        (
            input(2, d(2022, 3, 2), "131016"),
            p,
            ("quality", vec!["future_date"]),
        ),
        (
            input(1, d(2021, 7, 1), "131016"),
            p,
            ("quality", vec!["dose_number_taken"]),
        ),
        (
            input(2, d(2021, 6, 10), "131016"),
            p,
            ("quality", vec!["interval_too_short"]),
        ),
        (
            input(1, d(2021, 2, 13), "131016"),
            &people[1],
            ("quality", vec!["before_approval"]),
        ),
        (
            input(1, d(2021, 8, 1), "131016"),
            &people[3],
            ("unknown_coupon", vec![]),
        ),
        (
            input(1, d(2021, 7, 2), "131016"),
            &people[4],
            ("quality", vec!["person_moved_out"]),
        ),
        (
            DoseStatement {
                lot_number: LotNumber::parse("12345678").unwrap(),
                ..input(1, d(2021, 7, 1), "131016")
            },
            &people[1],
            ("quality", vec!["lot_pattern"]),
        ),
    ];
    for (bad, person, expected) in &cases {
        let answer = register_at_site(s, &tablet(), coupon(person), bad, None, today())
            .await
            .unwrap();
        assert_eq!(refused_code(&answer), expected.clone(), "{bad:?}");
    }
    // The legal edges: exactly the minimum interval, the day of moving out, today.
    let edge = input(2, d(2021, 6, 22), "131016");
    let ok = register_at_site(s, &tablet(), coupon(p), &edge, None, today())
        .await
        .unwrap();
    assert_eq!(ok.status(), 201, "{ok:?}");
    let before_move = register_at_site(
        s,
        &tablet(),
        coupon(&people[4]),
        &input(1, d(2021, 7, 1), "131016"),
        None,
        today(),
    )
    .await
    .unwrap();
    assert_eq!(before_move.status(), 201, "{before_move:?}");
    let on_today = register_at_site(
        s,
        &tablet(),
        coupon(&people[1]),
        &input(1, today(), "382060"),
        None,
        today(),
    )
    .await
    .unwrap();
    assert_eq!(on_today.status(), 201, "{on_today:?}");
    // An invented coupon number is refused.
    let invented = CouponRef::parse("382060-9999999999").unwrap();
    let answer = register_at_site(
        s,
        &tablet(),
        invented,
        &input(1, d(2021, 6, 1), "131016"),
        None,
        today(),
    )
    .await
    .unwrap();
    assert_eq!(
        (refused_code(&answer).0, answer.status()),
        ("unknown_coupon", 404)
    );
    // Refusals stored nothing: three doses in all.
    let mut total = 0;
    for person in &people {
        total += s
            .area(code("382060"))
            .doses_of(&person.atena)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(total, 4);
    // Every attempt is in the home municipality's chain; the site's chain has none of them.
    let home = s.audit_log(code("382060").into(), 1, 1000).await.unwrap();
    let registrations = home
        .iter()
        .filter(|r| r.entry.action == "dose.register")
        .count();
    assert_eq!(registrations, 1 + cases.len() + 3 + 1);
    let site = s
        .audit_log(AuditScope::Area(code("131016")), 1, 1000)
        .await
        .unwrap();
    assert!(site.iter().all(|r| r.entry.action != "dose.register"));
}

async fn a_retried_registration_gets_the_first_answer_and_makes_one_dose(db: &TestDb) {
    let people = people(db).await;
    let s = &*db.store;
    let p = &people[0];
    let key = |k: &str, hash: u8| IdempotencyRequest {
        user_id: "chiyoda-tablet".parse().unwrap(),
        key: k.into(),
        request_hash: [hash; 32],
    };
    let dose = input(1, d(2021, 6, 1), "131016");
    let first = register_at_site(s, &tablet(), coupon(p), &dose, Some(&key("a", 1)), today())
        .await
        .unwrap();
    let retry = register_at_site(s, &tablet(), coupon(p), &dose, Some(&key("a", 1)), today())
        .await
        .unwrap();
    assert_eq!(first, retry);
    assert_eq!(first.status(), 201);
    assert_eq!(
        s.area(code("382060"))
            .doses_of(&p.atena)
            .await
            .unwrap()
            .len(),
        1
    );
    // A new key for the same dose is a second registration: refused by the rules.
    let again = register_at_site(s, &tablet(), coupon(p), &dose, Some(&key("b", 1)), today())
        .await
        .unwrap();
    assert_eq!(refused_code(&again).1, vec!["dose_number_taken"]);
    // The refusal is the answer kept for "b", even once the rule would no longer refuse.
    let replay = register_at_site(s, &tablet(), coupon(p), &dose, Some(&key("b", 1)), today())
        .await
        .unwrap();
    assert_eq!(replay, again);
    // A key reused for a different request is refused outright.
    let other = register_at_site(s, &tablet(), coupon(p), &dose, Some(&key("a", 2)), today()).await;
    assert!(matches!(other, Err(RegisterError::KeyReused)));
    // Concurrent retries with one key: one dose, one answer.
    let q = &people[1];
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = db.store.clone();
            let k = key("c", 7);
            let c = coupon(q);
            let dose = dose.clone();
            tokio::spawn(async move {
                register_at_site(&*store, &tablet(), c, &dose, Some(&k), today())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers
            .iter()
            .all(|a| a == &answers[0] && a.status() == 201),
        "{answers:?}"
    );
    assert_eq!(
        s.area(code("382060"))
            .doses_of(&q.atena)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn staff_corrections_deletions_and_flags_are_audited_with_before_and_after(db: &TestDb) {
    let people = people(db).await;
    let s = &*db.store;
    let saijo = code("382060");
    let p = &people[0];
    for (n, day) in [(1, d(2021, 6, 1)), (2, d(2021, 6, 22))] {
        vrs_core::doses::add_dose(
            s,
            &staff(),
            saijo,
            &p.atena,
            &input(n, day, "382060"),
            today(),
        )
        .await
        .unwrap();
    }
    let mut fixed = input(2, d(2021, 6, 23), "382060");
    fixed.lot_number = LotNumber::parse("FF2018").unwrap();
    assert!(matches!(
        correct_dose(
            s,
            &staff(),
            saijo,
            DoseRef {
                atena: &p.atena,
                dose_number: vrs_domain::DoseNumber::new(2).unwrap()
            },
            &fixed,
            " ",
            today()
        )
        .await,
        Err(ChangeError::NoReason)
    ));
    let early = input(2, d(2021, 6, 2), "382060");
    assert!(matches!(
        correct_dose(s, &staff(), saijo, DoseRef { atena: &p.atena, dose_number: vrs_domain::DoseNumber::new(2).unwrap() }, &early, "日付の誤り", today()).await,
        Err(ChangeError::Rules(r)) if r.iter().any(|r| r.code() == "interval_too_short")
    ));
    correct_dose(
        s,
        &staff(),
        saijo,
        DoseRef {
            atena: &p.atena,
            dose_number: vrs_domain::DoseNumber::from_int(2).unwrap(),
        },
        &fixed,
        "予診票の読取誤り",
        today(),
    )
    .await
    .unwrap();
    let log = s.audit_log(saijo.into(), 1, 1000).await.unwrap();
    let last = &log.last().unwrap().entry;
    assert_eq!(last.action, "dose.correct");
    assert!(
        last.detail.contains("before: dose=2 date=2021-06-22"),
        "{}",
        last.detail
    );
    assert!(
        last.detail
            .contains("after: dose=2 date=2021-06-23 product=comirnaty lot=FF2018"),
        "{}",
        last.detail
    );
    assert!(
        last.detail.contains("reason: 予診票の読取誤り"),
        "{}",
        last.detail
    );
    // Another municipality's staff cannot reach the person.
    let chiyoda = code("131016");
    assert!(matches!(
        delete_dose(
            s,
            &staff(),
            chiyoda,
            DoseRef {
                atena: &p.atena,
                dose_number: vrs_domain::DoseNumber::new(2).unwrap()
            },
            "x"
        )
        .await,
        Err(ChangeError::NotFound)
    ));
    let deleted = delete_dose(
        s,
        &staff(),
        saijo,
        DoseRef {
            atena: &p.atena,
            dose_number: vrs_domain::DoseNumber::from_int(2).unwrap(),
        },
        "二重登録",
    )
    .await
    .unwrap();
    assert_eq!(deleted.dose.lot_number.as_str(), "FF2018");
    assert_eq!(s.area(saijo).doses_of(&p.atena).await.unwrap().len(), 1);
    let log = s.audit_log(saijo.into(), 1, 1000).await.unwrap();
    assert!(log
        .last()
        .unwrap()
        .entry
        .detail
        .contains("before: dose=2 date=2021-06-23"));
    // Flags: never in the future; set and cleared; doses stay.
    assert!(matches!(
        set_flags(
            s,
            &staff(),
            saijo,
            &p.atena,
            Some(d(2022, 3, 2)),
            None,
            today()
        )
        .await,
        Err(ChangeError::Invalid(_))
    ));
    set_flags(
        s,
        &staff(),
        saijo,
        &p.atena,
        None,
        Some(d(2022, 1, 5)),
        today(),
    )
    .await
    .unwrap();
    let log = s.audit_log(saijo.into(), 1, 1000).await.unwrap();
    assert_eq!(
        log.last().unwrap().entry.detail,
        "before: moved_out=- deceased=- | after: moved_out=- deceased=2022-01-05"
    );
    assert_eq!(
        s.area(saijo).resident(&p.atena).await.unwrap().deceased_on,
        Some(d(2022, 1, 5))
    );
    assert_eq!(s.area(saijo).doses_of(&p.atena).await.unwrap().len(), 1);
}

#[derive(Default)]
struct Collect(Vec<Problem>);

impl ImportObserver for Collect {
    fn progress(&mut self, _rows: u64, _bytes: u64) {}
    fn problem(&mut self, problem: &Problem) {
        self.0.push(problem.clone());
    }
}
