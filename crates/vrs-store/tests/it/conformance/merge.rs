//! Conformance cases for duplicate people: pairs by kana name, birth date and sex found through
//! the search index; the area's movers read from the area alone; the review queue; merges that
//! move doses and unmerges that put every stored byte back; refusals that write nothing; and
//! another municipality's merges and candidates out of reach.

use chrono::Utc;
use vrs_domain::{KanaName, Resident, Sex};
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{AuditScope, Candidate, CandidateKind, CandidateStatus, StoreError};

use super::{audit, code, dose, reg, resident, CHIYODA, SAIJO};

async fn put(db: &TestDb, r: &Resident) {
    db.store
        .area(r.municipality)
        .put_resident(r, &audit("resident.put", r.atena.as_str()))
        .await
        .unwrap();
}

/// A re-registration of `r` under another 宛名番号, coupon and My Number, kana without its space.
fn twin_of(r: &Resident, atena: u64) -> Resident {
    let mut t = resident(r.municipality.as_str(), atena);
    t.birth_date = r.birth_date;
    t.sex = r.sex;
    t.name = r.name.clone();
    t.name_kana = KanaName::parse(&r.name_kana.as_str().replace('　', "")).unwrap();
    t
}

async fn add(db: &TestDb, r: &Resident, n: u8, day: (i32, u32, u32)) {
    let mut d = dose(r, n);
    d.dose.administered_on = chrono::NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
    db.store
        .area(r.municipality)
        .add_dose(&reg(d), &audit("dose.add", r.atena.as_str()))
        .await
        .unwrap();
}

async fn state(db: &TestDb) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for t in [
        "residents",
        "doses",
        "person_merges",
        "duplicate_candidates",
        "audit_log",
    ] {
        out.push(db.snapshot(t).await);
    }
    out
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, says: &str) {
    match r {
        Err(StoreError::Conflict(m)) => {
            assert!(m.to_string().contains(says), "{m:?} should say {says:?}")
        }
        other => panic!("expected a conflict saying {says:?}, got {other:?}"),
    }
}

/// Two people of Saijo (1001 kept with dose 2, 1002 merged-away with dose 1) and their candidate.
async fn pair(db: &TestDb) -> (Resident, Resident, Candidate) {
    let kept = resident(SAIJO, 1001);
    let merged = twin_of(&kept, 1002);
    put(db, &kept).await;
    put(db, &merged).await;
    add(db, &kept, 2, (2021, 6, 30)).await;
    add(db, &merged, 1, (2021, 6, 2)).await;
    let c = Candidate::pair(
        CandidateKind::KanaBirthSex,
        &merged.atena,
        &kept.atena,
        Utc::now(),
    );
    let s = code(SAIJO);
    db.store
        .area(s)
        .put_duplicate_candidates(std::slice::from_ref(&c), &audit("duplicates.scan", SAIJO))
        .await
        .unwrap();
    (kept, merged, c)
}

pub async fn kana_birth_sex_pairs_are_found_through_the_search_index(db: &TestDb) {
    let a = resident(SAIJO, 1001);
    let b = twin_of(&a, 1002);
    let mut other_sex = twin_of(&a, 1003);
    other_sex.sex = if a.sex == Sex::Male {
        Sex::Female
    } else {
        Sex::Male
    };
    let mut other_birth = twin_of(&a, 1004);
    other_birth.birth_date = a.birth_date.succ_opt().unwrap();
    let elsewhere = twin_of(&resident(CHIYODA, 1001), 1005);
    for r in [
        &a,
        &b,
        &other_sex,
        &other_birth,
        &resident(CHIYODA, 1001),
        &elsewhere,
    ] {
        put(db, r).await;
    }
    let pairs = db
        .store
        .area(code(SAIJO))
        .duplicate_pairs_by_kana_birth_sex()
        .await
        .unwrap();
    assert_eq!(pairs, vec![(a.atena.clone(), b.atena.clone())]);
    let pairs = db
        .store
        .area(code(CHIYODA))
        .duplicate_pairs_by_kana_birth_sex()
        .await
        .unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].1.as_str(), "1005");
}

pub async fn the_queue_keeps_a_known_candidate_status_and_decides_once(db: &TestDb) {
    let (_, _, c) = pair(db).await;
    let s = code(SAIJO);
    let scan = audit("duplicates.scan", SAIJO);
    let again = db
        .store
        .area(s)
        .put_duplicate_candidates(std::slice::from_ref(&c), &scan);
    assert_eq!(again.await.unwrap(), 0);
    let dismiss = audit("duplicates.dismiss", &c.candidate_id);
    let id = &c.candidate_id;
    db.store
        .area(s)
        .decide_candidate(id, CandidateStatus::Dismissed, "staff-1", &dismiss)
        .await
        .unwrap();
    let found = db
        .store
        .area(s)
        .put_duplicate_candidates(std::slice::from_ref(&c), &scan);
    assert_eq!(found.await.unwrap(), 0);
    let queue = db.store.area(s).duplicate_candidates(None).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].status, CandidateStatus::Dismissed);
    assert_eq!(queue[0].decided_by, "staff-1");
    assert!(db
        .store
        .area(s)
        .duplicate_candidates(Some(CandidateStatus::Open))
        .await
        .unwrap()
        .is_empty());
    let twice = db
        .store
        .area(s)
        .decide_candidate(id, CandidateStatus::Dismissed, "x", &dismiss);
    conflict(twice.await, "already dismissed");
    let unknown =
        db.store
            .area(s)
            .decide_candidate("Dnope", CandidateStatus::Dismissed, "x", &dismiss);
    assert!(matches!(unknown.await, Err(StoreError::NotFound)));
}

pub async fn a_merge_moves_doses_to_the_kept_person_renumbered_by_date(db: &TestDb) {
    let (kept, merged, c) = pair(db).await;
    let s = code(SAIJO);
    let m = db
        .store
        .area(s)
        .merge_people(
            &kept.atena,
            &merged.atena,
            "M1",
            "staff-1",
            Utc::now(),
            &audit("person.merge", "1001"),
        )
        .await
        .unwrap();
    assert_eq!((m.kept.as_str(), m.merged.as_str()), ("1001", "1002"));
    let doses = db.store.area(s).doses_of(&kept.atena).await.unwrap();
    let got: Vec<_> = doses
        .iter()
        .map(|d| {
            (
                d.dose.dose_number.get(),
                d.dose.coupon,
                d.dose.administered_on.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, merged.coupon, "2021-06-02".into()),
            (2, kept.coupon, "2021-06-30".into())
        ]
    );
    assert!(matches!(
        db.store.area(s).resident(&merged.atena).await,
        Err(StoreError::NotFound)
    ));
    let queue = db.store.area(s).duplicate_candidates(None).await.unwrap();
    assert_eq!(queue[0].candidate_id, c.candidate_id);
    assert_eq!(queue[0].status, CandidateStatus::Merged);
    assert_eq!(queue[0].merge_id.as_deref(), Some("M1"));
    let merges = db.store.area(s).person_merges().await.unwrap();
    assert_eq!(merges, vec![m]);
}

pub async fn merge_then_unmerge_restores_residents_and_doses_exactly(db: &TestDb) {
    let (kept, merged, _) = pair(db).await;
    let s = code(SAIJO);
    let residents = db.snapshot("residents").await;
    let doses = db.snapshot("doses").await;
    let candidates = db.snapshot("duplicate_candidates").await;
    db.store
        .area(s)
        .merge_people(
            &kept.atena,
            &merged.atena,
            "M1",
            "staff-1",
            Utc::now(),
            &audit("person.merge", "1001"),
        )
        .await
        .unwrap();
    assert_ne!(db.snapshot("residents").await, residents);
    assert_ne!(db.snapshot("doses").await, doses);
    let undone = db
        .store
        .area(s)
        .unmerge("M1", "staff-2", &audit("person.unmerge", "M1"))
        .await
        .unwrap();
    assert_eq!(undone.undone_by, "staff-2");
    assert!(undone.undone_at.is_some());
    assert_eq!(db.snapshot("residents").await, residents);
    assert_eq!(db.snapshot("doses").await, doses);
    assert_eq!(db.snapshot("duplicate_candidates").await, candidates);
    assert_eq!(
        db.store.area(s).resident(&merged.atena).await.unwrap(),
        merged
    );
    conflict(
        db.store
            .area(s)
            .unmerge("M1", "staff-2", &audit("person.unmerge", "M1"))
            .await,
        "already been undone",
    );
    // The same pair can be merged again under a new ID.
    db.store
        .area(s)
        .merge_people(
            &merged.atena,
            &kept.atena,
            "M2",
            "staff-1",
            Utc::now(),
            &audit("person.merge", "1002"),
        )
        .await
        .unwrap();
    assert_eq!(
        db.store
            .area(s)
            .doses_of(&merged.atena)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn refused_merges_and_unmerges_write_nothing(db: &TestDb) {
    let (kept, merged, _) = pair(db).await;
    let s = code(SAIJO);
    let a = audit("person.merge", "1001");
    let merge = |k: &Resident, m: &Resident, id: &str| {
        let (k, m, id, a) = (k.atena.clone(), m.atena.clone(), id.to_owned(), a.clone());
        let store = db.store.clone();
        async move {
            store
                .area(s)
                .merge_people(&k, &m, &id, "staff-1", Utc::now(), &a)
                .await
        }
    };
    let before = state(db).await;
    conflict(merge(&kept, &kept, "X1").await, "same");
    conflict(merge(&kept, &resident(SAIJO, 9999), "X2").await, "9999");
    assert_eq!(state(db).await, before);
    let same_day = twin_of(&kept, 1003);
    put(db, &same_day).await;
    add(db, &same_day, 1, (2021, 6, 30)).await;
    let before_same_day = state(db).await;
    conflict(merge(&kept, &same_day, "X3").await, "2021-06-30");
    assert_eq!(state(db).await, before_same_day);
    let many = twin_of(&kept, 1004);
    put(db, &many).await;
    for n in 1..=10u8 {
        add(db, &many, n, (2022, u32::from(n), 10)).await;
    }
    let before_many = state(db).await;
    conflict(merge(&kept, &many, "X4").await, "at most 10");
    assert_eq!(state(db).await, before_many);
    // Unmerge refuses when the kept person's doses changed, or the merged person came back.
    merge(&kept, &merged, "M1").await.unwrap();
    add(db, &kept, 3, (2021, 12, 1)).await;
    let un = audit("person.unmerge", "M1");
    let changed = state(db).await;
    conflict(
        db.store.area(s).unmerge("M1", "staff-1", &un).await,
        "changed after the merge",
    );
    assert_eq!(state(db).await, changed);
    let dose3 = db
        .store
        .area(s)
        .doses_of(&kept.atena)
        .await
        .unwrap()
        .pop()
        .unwrap();
    db.store
        .area(s)
        .delete_dose(&dose3, &audit("dose.delete", "1001"))
        .await
        .unwrap();
    put(db, &merged).await;
    let back = state(db).await;
    conflict(
        db.store.area(s).unmerge("M1", "staff-1", &un).await,
        "宛名番号",
    );
    assert_eq!(state(db).await, back);
    assert!(matches!(
        db.store.area(s).unmerge("M404", "staff-1", &un).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn another_municipality_merges_and_candidates_are_out_of_reach(db: &TestDb) {
    let (kept, merged, c) = pair(db).await;
    let (s, other) = (code(SAIJO), code(CHIYODA));
    db.store.activate_municipality(other).await.unwrap();
    db.store
        .area(s)
        .merge_people(
            &kept.atena,
            &merged.atena,
            "M1",
            "staff-1",
            Utc::now(),
            &audit("person.merge", "1001"),
        )
        .await
        .unwrap();
    let saijo = state(db).await;
    let un = audit("person.unmerge", "M1");
    assert!(matches!(
        db.store.area(other).unmerge("M1", "x", &un).await,
        Err(StoreError::NotFound)
    ));
    let dismiss = db.store.area(other).decide_candidate(
        &c.candidate_id,
        CandidateStatus::Dismissed,
        "x",
        &un,
    );
    assert!(matches!(dismiss.await, Err(StoreError::NotFound)));
    let third = resident(SAIJO, 1003).atena;
    let reach = db
        .store
        .area(other)
        .merge_people(&kept.atena, &third, "M9", "x", Utc::now(), &un);
    conflict(reach.await, "not a person of this municipality");
    assert!(db
        .store
        .area(other)
        .person_merges()
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .area(other)
        .duplicate_candidates(None)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .area(other)
        .duplicate_pairs_by_kana_birth_sex()
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .area(other)
        .residents_page(None, 100)
        .await
        .unwrap()
        .is_empty());
    // Only the audit chain of the asking area grew.
    let mut now = state(db).await;
    now[4].retain(|row| !row.contains(CHIYODA));
    let mut was = saijo;
    was[4].retain(|row| !row.contains(CHIYODA));
    assert_eq!(now, was);
}

/// The area's movers: its people whose registry row names the municipality they moved in from and
/// who hold no dose received from there — read from the area alone (no other area's row, nothing
/// written, no chain grows).
pub async fn movers_are_the_areas_people_who_moved_in_without_received_doses(db: &TestDb) {
    let mut here = resident(SAIJO, 700);
    here.moved_in_from = Some(code(CHIYODA));
    put(db, &here).await;
    let mut fetched = resident(SAIJO, 701);
    fetched.moved_in_from = Some(code(CHIYODA));
    put(db, &fetched).await;
    let mut received = dose(&fetched, 1);
    received.received_from = Some(code(CHIYODA));
    let s = code(SAIJO);
    db.store
        .area(s)
        .add_dose(&reg(received), &audit("dose.add", "701"))
        .await
        .unwrap();
    let stayed = resident(SAIJO, 702);
    put(db, &stayed).await;
    let mut elsewhere = resident(CHIYODA, 703);
    elsewhere.moved_in_from = Some(code(SAIJO));
    put(db, &elsewhere).await;
    let before = db.store.audit_head(AuditScope::Area(s)).await.unwrap();
    let movers = db.store.area(s).movers().await.unwrap();
    assert_eq!(
        movers,
        vec![vrs_store::Mover {
            atena: here.atena.clone(),
            from: code(CHIYODA),
        }]
    );
    assert_eq!(
        db.store.audit_head(AuditScope::Area(s)).await.unwrap(),
        before
    );
    // The registry's moved_in_from is stored and read back with the person.
    assert_eq!(
        db.store
            .area(s)
            .resident(&here.atena)
            .await
            .unwrap()
            .moved_in_from,
        Some(code(CHIYODA))
    );
    assert_eq!(
        db.store
            .area(s)
            .resident(&stayed.atena)
            .await
            .unwrap()
            .moved_in_from,
        None
    );
}
