//! Duplicate people on both backends: a generated population of 3,000 with planted duplicates
//! (re-registrations with the kana spacing varied, re-registrations with a one-character kana
//! typo, moved people whose doses stayed in the old area) and hard negatives (same kana and birth
//! but the other sex, twins, moves already fetched, moves without doses, a former municipality
//! that never held the person). Moves are found through the inquiry: the scan asks each mover's
//! former area as staff would, with provision records on both sides. The scan's precision and
//! recall are printed per kind; a merge then unmerge through the services restores every row. A
//! scan finds no moves while the inquiry is stopped or without a consent basis, and registrations
//! go on during a scan (`duplicates/movers.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "duplicates/movers.rs"]
mod movers;

use movers::{
    a_scan_asks_about_movers_only_under_the_inquiry_rules,
    registrations_go_on_while_a_scan_asks_about_movers,
};
use std::collections::BTreeSet;
use vrs_store::testkit::code;
use vrs_store::Areas;

use chrono::{NaiveDate, Utc};
use vrs_core::duplicates::{dismiss, merge, review_queue, scan, unmerge, DuplicateError};
use vrs_core::governance::{agree, publish_terms};
use vrs_core::Actor;
use vrs_domain::{
    AtenaNumber, AuditAction, CouponNumber, Dose, DoseRecord, DoseSource, KanaName, LotNumber,
    MunicipalityCode, MyNumber, Resident, Sex, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditEntry, AuditScope, CandidateKind, CandidateStatus, ImportRow, Store};

use vrs_store::on_both_backends;

on_both_backends!(
    a_scan_finds_planted_duplicates_with_high_precision_and_full_recall,
    a_scan_asks_about_movers_only_under_the_inquiry_rules,
    registrations_go_on_while_a_scan_asks_about_movers,
    merge_then_unmerge_through_the_services_restores_every_row,
);

const SAIJO: &str = "382060";
const CHIYODA: &str = "131016";
const PEOPLE: u64 = 3_000;

fn staff() -> Actor {
    Actor {
        user: "staff-1".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
}

fn my_number(stem: u64) -> MyNumber {
    let first11 = format!("{:011}", stem % 100_000_000_000);
    let check = MyNumber::check_digit_of(&first11).unwrap();
    MyNumber::parse(&format!("{first11}{check}")).unwrap()
}

/// `r` registered again under a new 宛名番号, coupon and My Number (number `n` of the plant).
fn again(r: &Resident, n: u64) -> Resident {
    let mut t = r.clone();
    t.atena = AtenaNumber::parse(&(900_000 + n).to_string()).unwrap();
    t.coupon = CouponNumber::parse(&format!("{:010}", 5_000_000_000 + n)).unwrap();
    t.my_number = my_number(77_000_000_000 + n);
    t
}

fn kana(text: &str) -> KanaName {
    KanaName::parse(text).unwrap()
}

/// The kana with its last character changed: a one-character typo.
fn typo(k: &KanaName) -> KanaName {
    let mut chars: Vec<char> = k.as_str().chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'コ' { 'ミ' } else { 'コ' };
    kana(&chars.into_iter().collect::<String>())
}

fn dose(r: &Resident, n: u8, day: NaiveDate, from: Option<MunicipalityCode>) -> DoseRecord {
    DoseRecord {
        dose: Dose {
            municipality: r.municipality,
            atena: r.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: day,
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: r.municipality,
            coupon: r.coupon,
        },
        venue: "会場".into(),
        doctor: "医師".into(),
        recorded_at: chrono::DateTime::parse_from_rfc3339("2021-07-01T09:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc),
        source: DoseSource::Tablet,
        received_from: from,
    }
}

fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 6, 1).unwrap() + chrono::Days::new(n)
}

fn audit(action: AuditAction) -> AuditEntry {
    staff().audit(action, "test")
}

async fn import(store: &dyn Store, scope: MunicipalityCode, people: Vec<Resident>) {
    let mut job = store.area(scope).begin_import().await.unwrap();
    let rows = people
        .into_iter()
        .enumerate()
        .map(|(i, resident)| ImportRow {
            line: i as u64 + 1,
            resident,
        })
        .collect();
    job.stage(job.sealer().seal(rows).unwrap()).await.unwrap();
    assert!(job.check().await.unwrap().is_empty());
    job.commit(&[], audit(AuditAction::TargetsImport))
        .await
        .unwrap();
}

/// What was planted: `(kind, a, b)` with `b` the other municipality's code for a move.
type Truth = BTreeSet<(CandidateKind, String, String)>;

fn pair(kind: CandidateKind, a: &AtenaNumber, b: &AtenaNumber) -> (CandidateKind, String, String) {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    (kind, a.to_string(), b.to_string())
}

/// Builds the population in both areas and returns what was planted.
async fn plant(store: &dyn Store) -> Truth {
    let (saijo, chiyoda) = (code(SAIJO), code(CHIYODA));
    let base: Vec<Resident> = Synthetic::new(saijo, PEOPLE, 42).collect();
    let mut people = base.clone();
    let mut truth = Truth::new();
    let mut n = 0;
    // Exact re-registrations (a lost coupon re-issued), kana spacing varied.
    for (i, r) in base.iter().step_by(50).take(60).enumerate() {
        n += 1;
        let mut t = again(r, n);
        let joined = r.name_kana.as_str().replace('\u{3000}', "");
        t.name_kana = match i % 3 {
            0 => kana(&joined),
            1 => kana(&r.name_kana.as_str().replace('\u{3000}', " ")),
            _ => r.name_kana.clone(),
        };
        truth.insert(pair(CandidateKind::KanaBirthSex, &r.atena, &t.atena));
        people.push(t);
    }
    // Re-registrations with the kanji name right and a one-character typo in the reading.
    for r in base.iter().skip(7).step_by(101).take(25) {
        n += 1;
        let mut t = again(r, n);
        t.name_kana = typo(&r.name_kana);
        truth.insert(pair(CandidateKind::KanjiBirthSex, &r.atena, &t.atena));
        people.push(t);
    }
    // Hard negatives: same kana and birth but the other sex; twins (same birth, another name).
    for r in base.iter().skip(13).step_by(97).take(25) {
        n += 1;
        let mut t = again(r, n);
        t.sex = if r.sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        };
        people.push(t);
        n += 1;
        let mut twin = again(r, n);
        let family = r.name.as_str().split('\u{3000}').next().unwrap().to_owned();
        let family_kana = r
            .name_kana
            .as_str()
            .split('\u{3000}')
            .next()
            .unwrap()
            .to_owned();
        twin.name = vrs_domain::PersonName::parse(&format!("{family}\u{3000}双葉{n}")).unwrap();
        twin.name_kana = kana(&format!("{family_kana}\u{3000}フタバ"));
        people.push(twin);
    }
    // The registry names where the movers came from (they follow below in 千代田区); one says
    // 千代田区 though it never held the person, one names a municipality with no area here.
    for i in (3..PEOPLE as usize).step_by(120).take(24) {
        people[i].moved_in_from = Some(chiyoda);
    }
    people[5].moved_in_from = Some(chiyoda);
    people[6].moved_in_from = Some(code("011002"));
    import(store, saijo, people).await;
    // The other area: people who moved to Saijo. Unfetched (planted), fetched already, and moved
    // without doses or without a Saijo registration (negatives).
    let mut there = Vec::new();
    let mut doses = Vec::new();
    let mut received = Vec::new();
    for (i, r) in base.iter().skip(3).step_by(120).take(24).enumerate() {
        let mut old = r.clone();
        old.municipality = chiyoda;
        old.atena = AtenaNumber::parse(&(300_000 + i).to_string()).unwrap();
        old.moved_out_on = Some(NaiveDate::from_ymd_opt(2022, 4, 1).unwrap());
        match i % 4 {
            0 | 1 => {
                truth.insert((
                    CandidateKind::UnfetchedMove,
                    r.atena.to_string(),
                    CHIYODA.into(),
                ));
                doses.push(dose(&old, 1, day(i as u64), None));
            }
            2 => {
                doses.push(dose(&old, 1, day(i as u64), None));
                received.push(dose(r, 1, day(i as u64), Some(chiyoda)));
            }
            _ => {}
        }
        there.push(old);
    }
    for i in 0..10u64 {
        let mut stranger = again(&base[i as usize], 10_000 + i);
        stranger.municipality = chiyoda;
        stranger.moved_out_on = Some(NaiveDate::from_ymd_opt(2022, 4, 1).unwrap());
        doses.push(dose(&stranger, 1, day(i), None));
        there.push(stranger);
    }
    import(store, chiyoda, there.clone()).await;
    for p in there.iter().filter(|p| p.moved_out_on.is_some()) {
        let a = audit(AuditAction::PersonFlags);
        store
            .area(chiyoda)
            .set_flags(&p.atena, p.moved_out_on, None, &a)
            .await
            .unwrap();
    }
    store
        .area(chiyoda)
        .add_doses(&doses, "site", &audit(AuditAction::DoseAdd))
        .await
        .unwrap();
    store
        .area(saijo)
        .add_doses(&received, "staff", &audit(AuditAction::DoseAdd))
        .await
        .unwrap();
    agree_no_consent_terms(store).await;
    truth
}

/// Both municipalities agree to the no-consent inquiry terms (a scan confirms nobody's consent).
async fn agree_no_consent_terms(store: &dyn Store) {
    let operator = Actor {
        user: "op-0001".into(),
        role: "national_operator".into(),
        terminal: "lgwan".into(),
    };
    let kind = vrs_domain::TermsKind::NoConsentInquiry;
    if store.terms_versions(Some(kind)).await.unwrap().is_empty() {
        publish_terms(store, &operator, kind, "確認事項", "本文")
            .await
            .unwrap();
    }
    for m in [SAIJO, CHIYODA] {
        agree(store, &staff(), code(m), kind, 1).await.unwrap();
    }
}

fn rate(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

async fn a_scan_finds_planted_duplicates_with_high_precision_and_full_recall(db: &TestDb) {
    let store = db.store.as_ref();
    let truth = plant(store).await;
    let scope = code(SAIJO);
    let report = scan(store, &staff(), scope, Utc::now()).await.unwrap();
    let found: Truth = store
        .area(scope)
        .duplicate_candidates(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let b = match (&c.atena_b, c.other_municipality) {
                (Some(b), _) => b.to_string(),
                (None, Some(m)) => m.to_string(),
                (None, None) => String::new(),
            };
            (c.kind, c.atena_a.to_string(), b)
        })
        .collect();
    assert_eq!(report.added as usize, found.len());
    let mut overall = (0, 0, 0);
    for kind in CandidateKind::ALL {
        let planted = truth.iter().filter(|t| t.0 == kind).count();
        let got = found.iter().filter(|t| t.0 == kind).count();
        let hit = found
            .iter()
            .filter(|t| t.0 == kind && truth.contains(t))
            .count();
        print_report(format_args!(
            "[{}] duplicates {}: planted {planted}, found {got}, true {hit} — precision {:.3}, recall {:.3}",
            db.store.backend(),
            kind.as_str(),
            rate(hit, got),
            rate(hit, planted)
        ));
        if kind == CandidateKind::KanaBirthSex {
            assert_eq!(hit, planted, "every exact re-registration is found");
        }
        overall = (overall.0 + planted, overall.1 + got, overall.2 + hit);
    }
    let (planted, got, hit) = overall;
    let (precision, recall) = (rate(hit, got), rate(hit, planted));
    print_report(format_args!(
        "[{}] duplicates overall: planted {planted}, found {got}, true {hit} — precision {precision:.3}, recall {recall:.3}",
        db.store.backend()
    ));
    assert!(precision >= 0.9, "precision {precision:.3} below 0.9");
    assert!(recall >= 0.95, "recall {recall:.3} below 0.95");
    // A second scan finds the same and adds nothing; a dismissed candidate stays dismissed.
    let first = store.area(scope).duplicate_candidates(None).await.unwrap()[0].clone();
    dismiss(store, &staff(), scope, &first.candidate_id, "別人と確認")
        .await
        .unwrap();
    let again = scan(store, &staff(), scope, Utc::now()).await.unwrap();
    assert_eq!(again.added, 0);
    let open = store
        .area(scope)
        .duplicate_candidates(Some(CandidateStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.len(), found.len() - 1);
    assert!(matches!(
        dismiss(store, &staff(), scope, &first.candidate_id, "again").await,
        Err(DuplicateError::Refused(_))
    ));
    // Each mover without received doses was asked through the inquiry (24 less the 6 fetched, and
    // the one 千代田区 never held); the one from a municipality without a consent basis was not.
    // The scan is in 西条市's chain, the answers in 千代田区's, and no My Number in either.
    assert_eq!(
        (report.movers_asked, report.movers_without_consent_basis),
        (19, 1)
    );
    let moved = Synthetic::new(scope, PEOPLE, 42).nth(3).unwrap();
    let log = store
        .audit_log(AuditScope::Area(scope), 1, 10_000)
        .await
        .unwrap();
    assert!(log.iter().any(|e| e.entry.action == "duplicates.scan"));
    assert!(log.iter().any(|e| e.entry.action == "inquiry.send"));
    let theirs = store
        .audit_log(AuditScope::Area(code(CHIYODA)), 1, 10_000)
        .await
        .unwrap();
    assert!(theirs.iter().any(|e| e.entry.action == "inquiry.answer"));
    for e in log.iter().chain(&theirs) {
        assert!(!e.entry.detail.contains(moved.my_number.expose()));
        assert!(!e.entry.target.contains(moved.my_number.expose()));
    }
    // Provision records on both sides: every question asked here, every answer given there.
    let asked = store
        .area(scope)
        .provision_records(&vrs_store::ProvisionFilter::default())
        .await
        .unwrap();
    let answered = store
        .area(code(CHIYODA))
        .provision_records(&vrs_store::ProvisionFilter::default())
        .await
        .unwrap();
    assert!(asked.len() >= 19, "{}", asked.len());
    assert!(answered.iter().all(|r| r.counterpart == scope));
    assert!(!answered.is_empty());
}

async fn merge_then_unmerge_through_the_services_restores_every_row(db: &TestDb) {
    let store = db.store.as_ref();
    let scope = code(SAIJO);
    let base: Vec<Resident> = Synthetic::new(scope, 200, 7).collect();
    let mut people = base.clone();
    let copy = again(&base[10], 1);
    people.push(copy.clone());
    import(store, scope, people).await;
    let kept = &base[10];
    let records = [
        dose(kept, 1, day(0), None),
        dose(kept, 3, day(60), None),
        dose(&copy, 1, day(28), None),
    ];
    store
        .area(scope)
        .add_doses(&records, "site", &audit(AuditAction::DoseAdd))
        .await
        .unwrap();
    let report = scan(store, &staff(), scope, Utc::now()).await.unwrap();
    assert!(report.kana_birth_sex >= 1);
    let queue = review_queue(store, &staff(), scope).await.unwrap();
    assert!(queue
        .open
        .iter()
        .any(|i| i.people.iter().any(|p| p.atena == copy.atena)));
    let residents = db.snapshot("residents").await;
    let doses = db.snapshot("doses").await;
    assert!(matches!(
        merge(store, &staff(), scope, &kept.atena, &copy.atena, "  ").await,
        Err(DuplicateError::NoReason)
    ));
    assert!(matches!(
        merge(store, &staff(), scope, &kept.atena, &kept.atena, "同一人").await,
        Err(DuplicateError::Invalid {
            field: "merged",
            ..
        })
    ));
    let m = merge(
        store,
        &staff(),
        scope,
        &kept.atena,
        &copy.atena,
        "券再発行による二重登録",
    )
    .await
    .unwrap();
    let moved = store.area(scope).doses_of(&kept.atena).await.unwrap();
    let numbers: Vec<_> = moved
        .iter()
        .map(|d| (d.dose.dose_number.get(), d.dose.administered_on))
        .collect();
    assert_eq!(numbers, vec![(1, day(0)), (2, day(28)), (3, day(60))]);
    let queue = review_queue(store, &staff(), scope).await.unwrap();
    assert_eq!(queue.merges.len(), 1);
    assert!(!queue.open.iter().any(|i| i.candidate.merge_id.is_some()));
    unmerge(store, &staff(), scope, &m.merge_id, "別人と判明")
        .await
        .unwrap();
    assert_eq!(db.snapshot("residents").await, residents);
    assert_eq!(db.snapshot("doses").await, doses);
    assert!(matches!(
        unmerge(store, &staff(), scope, &m.merge_id, "二度目").await,
        Err(DuplicateError::Refused(_))
    ));
    assert!(matches!(
        unmerge(store, &staff(), scope, "M-none", "理由").await,
        Err(DuplicateError::NotFound)
    ));
    let log = store
        .audit_log(AuditScope::Area(scope), 1, 10_000)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.entry.action.as_str()).collect();
    for action in [
        "duplicates.scan",
        "duplicates.view",
        "person.merge",
        "person.unmerge",
    ] {
        assert!(actions.contains(&action), "{action} is audited");
    }
    for e in &log {
        assert!(!e.entry.detail.contains(copy.my_number.expose()));
        assert!(!e.entry.detail.contains(kept.my_number.expose()));
    }
}

/// Writes a line of the precision/recall report straight to standard error, past the test
/// harness's capture, so every test run (CI included) shows it.
fn print_report(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
