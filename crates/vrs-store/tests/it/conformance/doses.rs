//! Conformance cases for dose registration, corrections, flags, idempotency keys and person search.

use chrono::NaiveDate;
use vrs_domain::{DoseSource, KanaName, LotNumber};
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{IdempotentAnswer, StoreError};

use super::{audit, code, dose, reg, resident, user_id_of, CHIYODA, SAIJO};

async fn put(db: &TestDb, r: &vrs_domain::Resident) {
    db.store
        .area(r.municipality)
        .put_resident(r, &audit("resident.put", r.atena.as_str()))
        .await
        .unwrap();
}

async fn audit_count(db: &TestDb, scope: &str) -> usize {
    db.store
        .audit_log(code(scope).into(), 1, 1000)
        .await
        .unwrap()
        .len()
}

pub async fn dose_records_keep_venue_doctor_time_and_source(db: &TestDb) {
    let r = resident(SAIJO, 21);
    put(db, &r).await;
    let mut second = dose(&r, 2);
    second.source = DoseSource::Csv;
    second.venue.clear();
    second.dose.site_municipality = code(CHIYODA);
    for d in [dose(&r, 1), second.clone()] {
        db.store
            .area(code(SAIJO))
            .add_dose(&reg(d), &audit("dose.add", "21"))
            .await
            .unwrap();
    }
    let stored = db.store.area(code(SAIJO)).doses_of(&r.atena).await.unwrap();
    assert_eq!(stored, vec![dose(&r, 1), second]);
    let page = db
        .store
        .area(code(SAIJO))
        .area_doses(None, 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].doses, stored);
}

fn answer(key: &str, user: &str, hash: u8) -> IdempotentAnswer {
    IdempotentAnswer {
        site: code(CHIYODA),
        user_id: user_id_of(user),
        key: key.into(),
        request_hash: [hash; 32],
        status: 201,
        body: format!("{{\"outcome\":\"registered\",\"key\":\"{key}\"}}"),
    }
}

pub async fn an_idempotency_key_keeps_its_first_answer_and_writes_once(db: &TestDb) {
    let r = resident(SAIJO, 22);
    put(db, &r).await;
    let s = &db.store;
    let mut first = reg(dose(&r, 1));
    first.answer = Some(answer("k-1", "tablet-1", 1));
    s.area(code(SAIJO))
        .add_dose(&first, &audit("dose.register", "22"))
        .await
        .unwrap();
    let before = audit_count(db, SAIJO).await;
    // The same key again, even for another dose, writes nothing.
    let mut retry = reg(dose(&r, 2));
    retry.answer = Some(answer("k-1", "tablet-1", 2));
    let err = s
        .area(code(SAIJO))
        .add_dose(&retry, &audit("dose.register", "22"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Replayed), "{err}");
    assert_eq!(
        s.area(code(SAIJO)).doses_of(&r.atena).await.unwrap().len(),
        1
    );
    assert_eq!(audit_count(db, SAIJO).await, before);
    assert_eq!(
        s.stored_answer(code(CHIYODA), &user_id_of("tablet-1"), "k-1")
            .await
            .unwrap(),
        Some(answer("k-1", "tablet-1", 1))
    );
    // Keys belong to an account of a municipality.
    assert_eq!(
        s.stored_answer(code(CHIYODA), &user_id_of("tablet-2"), "k-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.stored_answer(code(SAIJO), &user_id_of("tablet-1"), "k-1")
            .await
            .unwrap(),
        None
    );
    // A refusal's answer is kept once.
    assert!(s
        .remember_answer(&answer("k-2", "tablet-1", 3))
        .await
        .unwrap());
    assert!(!s
        .remember_answer(&answer("k-2", "tablet-1", 4))
        .await
        .unwrap());
    assert_eq!(
        s.stored_answer(code(CHIYODA), &user_id_of("tablet-1"), "k-2")
            .await
            .unwrap()
            .map(|a| a.request_hash),
        Some([3; 32])
    );
}

/// Registrations sent together (the backends commit the waiting ones in one transaction): each
/// stands or leaves nothing — a replayed key writes no dose, a refused dose keeps no answer, an
/// unknown person writes nothing — and the chain holds exactly the ones that stood.
pub async fn registrations_committed_together_each_stand_or_leave_nothing(db: &TestDb) {
    let people: Vec<_> = (31..37).map(|n| resident(SAIJO, n)).collect();
    for r in &people {
        put(db, r).await;
    }
    let s = &db.store;
    let keyed = |record, key: &str, hash| {
        let mut r = reg(record);
        r.answer = Some(answer(key, "tablet-9", hash));
        r
    };
    // Stored before: person 0's dose 1 under key g-0.
    s.area(code(SAIJO))
        .add_dose(
            &keyed(dose(&people[0], 1), "g-0", 1),
            &audit("dose.register", "31"),
        )
        .await
        .unwrap();
    let before = audit_count(db, SAIJO).await;
    let unknown = dose(&resident(SAIJO, 99), 1);
    let group = [
        // A replay of g-0 for another dose number: refused as replayed, no dose 2.
        keyed(dose(&people[0], 2), "g-0", 2),
        // Two new registrations that stand.
        keyed(dose(&people[1], 1), "g-1", 3),
        keyed(dose(&people[2], 1), "g-2", 4),
        // The same dose number twice in the group: one stands, the other is refused with no answer.
        keyed(dose(&people[3], 1), "g-3a", 5),
        keyed(dose(&people[3], 1), "g-3b", 6),
        // A person the area does not hold: refused, no answer kept.
        keyed(unknown, "g-4", 7),
        // The same key twice in the group for two people: the first stands, the second is a replay.
        keyed(dose(&people[4], 1), "g-5", 8),
        keyed(dose(&people[5], 1), "g-5", 9),
    ];
    let results = futures_util::future::join_all(group.iter().map(|r| {
        let target = r.record.dose.atena.as_str().to_owned();
        async move {
            s.area(code(SAIJO))
                .add_dose(r, &audit("dose.register", &target))
                .await
        }
    }))
    .await;
    let refused = |i: usize| results[i].as_ref().err().map(ToString::to_string);
    assert!(
        matches!(results[0], Err(StoreError::Replayed)),
        "{:?}",
        refused(0)
    );
    assert!(results[1].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(
        results[3].is_ok() as u8 + results[4].is_ok() as u8,
        1,
        "one of the two same doses stands: {results:?}"
    );
    let lost = if results[3].is_ok() { 4 } else { 3 };
    assert!(
        matches!(results[lost], Err(StoreError::Conflict(_))),
        "{:?}",
        refused(lost)
    );
    assert!(
        matches!(results[5], Err(StoreError::NotFound)),
        "{:?}",
        refused(5)
    );
    let stood_key = if results[6].is_ok() { 6 } else { 7 };
    assert!(
        matches!(results[13 - stood_key], Err(StoreError::Replayed)),
        "{results:?}"
    );
    let doses = |i: usize| {
        let atena = people[i].atena.clone();
        async move { s.area(code(SAIJO)).doses_of(&atena).await.unwrap().len() }
    };
    assert_eq!(doses(0).await, 1, "the replay wrote no dose");
    assert_eq!(doses(1).await + doses(2).await + doses(3).await, 3);
    assert_eq!(
        doses(4).await + doses(5).await,
        1,
        "one registration under g-5"
    );
    let kept = |key: &'static str| async move {
        s.stored_answer(code(CHIYODA), &user_id_of("tablet-9"), key)
            .await
            .unwrap()
            .map(|a| a.request_hash[0])
    };
    assert_eq!(kept("g-0").await, Some(1), "the first answer of g-0 stands");
    assert_eq!(kept("g-1").await, Some(3));
    let lost_key = if lost == 3 { "g-3a" } else { "g-3b" };
    assert_eq!(kept(lost_key).await, None, "a refused dose keeps no answer");
    assert_eq!(kept("g-4").await, None, "an unknown person keeps no answer");
    assert_eq!(kept("g-5").await, Some(stood_key as u8 + 2));
    // Four stood (g-1, g-2, one of g-3, one of g-5): four new entries, each chained.
    let log = s.audit_log(code(SAIJO).into(), 1, 1000).await.unwrap();
    assert_eq!(log.len(), before + 4);
    let mut prev = vrs_crypto::chain::GENESIS;
    for r in &log {
        assert_eq!(r.hash, r.expected_hash(&prev), "entry {}", r.seq);
        prev = r.hash;
    }
}

/// Registrations of three areas sent at once, in waves whose areas come in a different order each
/// time: the backends commit what arrives together, so one group holds several areas' registrations
/// and moves several chain heads. Every one stands, each area's chain grows by its own
/// registrations and verifies.
pub async fn registrations_of_many_areas_at_once_all_stand_on_unbroken_chains(db: &TestDb) {
    const AREAS: [&str; 3] = [SAIJO, CHIYODA, "011002"];
    let people: Vec<Vec<_>> = (0..AREAS.len() as u64)
        .map(|a| {
            (0..30)
                .map(|n| resident(AREAS[a as usize], 400 + 100 * a + n))
                .collect()
        })
        .collect();
    for r in people.iter().flatten() {
        put(db, r).await;
    }
    let s = &db.store;
    let mut before = Vec::new();
    for area in AREAS {
        before.push(audit_count(db, area).await);
    }
    for wave in 0..6 {
        // Each wave registers five people of each area, the areas interleaved in an order that
        // changes from wave to wave.
        let sent: Vec<&vrs_domain::Resident> = (0..5)
            .flat_map(|n| {
                (0..AREAS.len())
                    .map(move |a| (a + wave + n) % AREAS.len())
                    .map(move |a| (a, n))
            })
            .map(|(a, n)| &people[a][wave * 5 + n])
            .collect();
        let results = futures_util::future::join_all(sent.iter().map(|person| {
            let r = reg(dose(person, 1));
            let target = person.atena.as_str().to_owned();
            async move {
                s.area(person.municipality)
                    .add_dose(&r, &audit("dose.register", &target))
                    .await
            }
        }))
        .await;
        for (person, result) in sent.iter().zip(&results) {
            assert!(
                result.is_ok(),
                "wave {wave}, {}: {result:?}",
                person.atena.as_str()
            );
        }
    }
    for ((area, before), people) in AREAS.iter().zip(before).zip(&people) {
        let log = s.audit_log(code(area).into(), 1, 1000).await.unwrap();
        assert_eq!(log.len(), before + 30, "{area}");
        let mut prev = vrs_crypto::chain::GENESIS;
        for r in &log {
            assert_eq!(r.hash, r.expected_hash(&prev), "{area}: entry {}", r.seq);
            prev = r.hash;
        }
        for person in people {
            let stored = s.area(code(area)).doses_of(&person.atena).await.unwrap();
            assert_eq!(stored.len(), 1, "{area}: {}", person.atena.as_str());
        }
    }
}

/// The same dose of many people sent twice at once, with different lots and keys (two tablets
/// tapped together): the backends commit what arrives together in one transaction, so many pairs
/// meet in one group. For each person exactly one stands, the dose stored is the one that stood
/// (its lot), its key keeps its answer and the other key none, and the chain has one entry each.
pub async fn the_same_dose_sent_twice_at_once_stores_the_one_that_stood(db: &TestDb) {
    let people: Vec<_> = (201..241).map(|n| resident(SAIJO, n)).collect();
    for r in &people {
        put(db, r).await;
    }
    let s = &db.store;
    let before = audit_count(db, SAIJO).await;
    let sent: Vec<(usize, &'static str, String)> = (0..people.len())
        .flat_map(|i| {
            [
                (i, "LOT-A", format!("twice-{i}-a")),
                (i, "LOT-B", format!("twice-{i}-b")),
            ]
        })
        .collect();
    let results = futures_util::future::join_all(sent.iter().map(|(i, lot, key)| {
        let mut record = dose(&people[*i], 1);
        record.dose.lot_number = LotNumber::parse(lot).unwrap();
        let mut r = reg(record);
        r.answer = Some(answer(key, "tablet-7", *i as u8));
        let target = people[*i].atena.as_str().to_owned();
        async move {
            s.area(code(SAIJO))
                .add_dose(&r, &audit("dose.register", &target))
                .await
        }
    }))
    .await;
    for (i, person) in people.iter().enumerate() {
        let (a, b) = (&results[2 * i], &results[2 * i + 1]);
        assert_eq!(
            a.is_ok() as u8 + b.is_ok() as u8,
            1,
            "person {i}: {a:?} {b:?}"
        );
        let (stood, lost) = if a.is_ok() { (0, 1) } else { (1, 0) };
        assert!(
            matches!(results[2 * i + lost], Err(StoreError::Conflict(_))),
            "person {i}: {:?}",
            results[2 * i + lost]
        );
        let stored = s.area(code(SAIJO)).doses_of(&person.atena).await.unwrap();
        assert_eq!(stored.len(), 1, "person {i}");
        assert_eq!(
            stored[0].dose.lot_number.as_str(),
            sent[2 * i + stood].1,
            "person {i}"
        );
        let kept = |key: &str| {
            let key = key.to_owned();
            async move {
                s.stored_answer(code(CHIYODA), &user_id_of("tablet-7"), &key)
                    .await
                    .unwrap()
            }
        };
        assert!(kept(&sent[2 * i + stood].2).await.is_some(), "person {i}");
        assert!(kept(&sent[2 * i + lost].2).await.is_none(), "person {i}");
    }
    assert_eq!(audit_count(db, SAIJO).await, before + people.len());
}

pub async fn corrections_and_deletions_need_the_dose_as_stored(db: &TestDb) {
    let r = resident(SAIJO, 23);
    put(db, &r).await;
    let s = &db.store;
    let scope = code(SAIJO);
    for n in [1, 2] {
        s.area(scope)
            .add_dose(&reg(dose(&r, n)), &audit("dose.add", "23"))
            .await
            .unwrap();
    }
    let stored = dose(&r, 2);
    let mut after = stored.clone();
    after.dose.lot_number = LotNumber::parse("FF2018").unwrap();
    after.source = DoseSource::Staff;
    after.recorded_at = chrono::Utc::now();
    // A stale "before" (someone changed the lot meanwhile) is refused and changes nothing.
    let mut stale = stored.clone();
    stale.dose.lot_number = LotNumber::parse("EY0000").unwrap();
    let err = s
        .area(scope)
        .correct_dose(&stale, &after, &audit("dose.correct", "23"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.to_string().contains("meanwhile")),
        "{err}"
    );
    s.area(scope)
        .correct_dose(&stored, &after, &audit("dose.correct", "23"))
        .await
        .unwrap();
    let now = s.area(scope).doses_of(&r.atena).await.unwrap();
    // What the dose states changed; when and how it was first recorded did not.
    assert_eq!(now[1].dose.lot_number.as_str(), "FF2018");
    assert_eq!(now[1].recorded_at, stored.recorded_at);
    assert_eq!(now[1].source, DoseSource::Tablet);
    // Renumbering onto a taken dose number is refused and the dose stays as it was.
    let mut onto_first = now[1].clone();
    onto_first.dose.dose_number = vrs_domain::DoseNumber::FIRST;
    let err = s
        .area(scope)
        .correct_dose(&now[1], &onto_first, &audit("dose.correct", "23"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.to_string().contains("dose 1")),
        "{err}"
    );
    assert_eq!(s.area(scope).doses_of(&r.atena).await.unwrap(), now);
    // Another municipality cannot touch it.
    let mut foreign = now[1].clone();
    foreign.dose.municipality = code(CHIYODA);
    assert!(s
        .area(code(CHIYODA))
        .delete_dose(&foreign, &audit("dose.delete", "23"))
        .await
        .is_err());
    assert!(s
        .area(code(CHIYODA))
        .delete_dose(&now[1], &audit("dose.delete", "23"))
        .await
        .is_err());
    s.area(scope)
        .delete_dose(&now[1], &audit("dose.delete", "23"))
        .await
        .unwrap();
    assert!(matches!(
        s.area(scope)
            .delete_dose(&now[1], &audit("dose.delete", "23"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.area(scope).doses_of(&r.atena).await.unwrap(),
        vec![now[0].clone()]
    );
    // 2 adds + 1 correction + 1 deletion; refusals wrote nothing.
    assert_eq!(audit_count(db, SAIJO).await, 1 + 2 + 1 + 1);
}

pub async fn many_doses_are_added_all_or_none(db: &TestDb) {
    let a = resident(SAIJO, 24);
    let b = resident(SAIJO, 25);
    put(db, &a).await;
    put(db, &b).await;
    let s = &db.store;
    let scope = code(SAIJO);
    s.area(scope)
        .add_dose(&reg(dose(&b, 1)), &audit("dose.add", "25"))
        .await
        .unwrap();
    let batch = [dose(&a, 1), dose(&a, 2), dose(&b, 1)];
    let err = s
        .area(scope)
        .add_doses(&batch, "staff-1", &audit("doses.import", "file.csv"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(s.area(scope).doses_of(&a.atena).await.unwrap().is_empty());
    s.area(scope)
        .add_doses(&batch[..2], "staff-1", &audit("doses.import", "file.csv"))
        .await
        .unwrap();
    assert_eq!(
        s.area(scope).doses_of(&a.atena).await.unwrap(),
        batch[..2].to_vec()
    );
    // A batch holding another municipality's dose is refused as a whole.
    let c = resident(CHIYODA, 26);
    put(db, &c).await;
    let err = s
        .area(scope)
        .add_doses(
            &[dose(&b, 2), dose(&c, 1)],
            "staff-1",
            &audit("doses.import", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.area(scope).doses_of(&b.atena).await.unwrap().len(), 1);
}

pub async fn flags_are_set_and_cleared_without_touching_doses(db: &TestDb) {
    let r = resident(SAIJO, 27);
    put(db, &r).await;
    let s = &db.store;
    let scope = code(SAIJO);
    s.area(scope)
        .add_dose(&reg(dose(&r, 1)), &audit("dose.add", "27"))
        .await
        .unwrap();
    let moved = NaiveDate::from_ymd_opt(2022, 4, 1);
    let died = NaiveDate::from_ymd_opt(2023, 1, 9);
    s.area(scope)
        .set_flags(&r.atena, moved, died, &audit("person.flags", "27"))
        .await
        .unwrap();
    let now = s.area(scope).resident(&r.atena).await.unwrap();
    assert_eq!((now.moved_out_on, now.deceased_on), (moved, died));
    assert_eq!(s.area(scope).doses_of(&r.atena).await.unwrap().len(), 1);
    s.area(scope)
        .set_flags(&r.atena, None, None, &audit("person.flags", "27"))
        .await
        .unwrap();
    assert_eq!(s.area(scope).resident(&r.atena).await.unwrap(), r);
    // Through another municipality's scope the person does not exist.
    s.activate_municipality(code(CHIYODA)).await.unwrap();
    assert!(matches!(
        s.area(code(CHIYODA))
            .set_flags(&r.atena, moved, None, &audit("person.flags", "27"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.area(scope).resident(&r.atena).await.unwrap(), r);
}

pub async fn kana_name_and_birth_date_find_people_through_the_search_index(db: &TestDb) {
    let a = resident(SAIJO, 28);
    let mut twin = resident(SAIJO, 29);
    twin.birth_date = a.birth_date;
    let other_day = resident(SAIJO, 30);
    for r in [&a, &twin, &other_day] {
        put(db, r).await;
    }
    let s = &db.store;
    let kana = KanaName::parse("サイジョウタロウ").unwrap();
    let found = s
        .area(code(SAIJO))
        .residents_by_kana_birth(&kana, a.birth_date)
        .await
        .unwrap();
    assert_eq!(found, vec![a.clone(), twin]);
    let spaced = KanaName::parse("サイジョウ　タロウ").unwrap();
    assert_eq!(
        s.area(code(SAIJO))
            .residents_by_kana_birth(&spaced, other_day.birth_date)
            .await
            .unwrap(),
        vec![other_day]
    );
    // Rows stored before the birth date's index (in the search index with none) are found too.
    db.exec("UPDATE residents SET birth_index = NULL WHERE atena_number LIKE '%29'")
        .await
        .unwrap();
    assert_eq!(
        s.area(code(SAIJO))
            .residents_by_kana_birth(&kana, a.birth_date)
            .await
            .unwrap(),
        found
    );
    let wrong = KanaName::parse("サイジョウハナコ").unwrap();
    assert!(s
        .area(code(SAIJO))
        .residents_by_kana_birth(&wrong, a.birth_date)
        .await
        .unwrap()
        .is_empty());
    // Another municipality's index (another key) finds nobody.
    s.activate_municipality(code(CHIYODA)).await.unwrap();
    assert!(s
        .area(code(CHIYODA))
        .residents_by_kana_birth(&kana, a.birth_date)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_birth_date_finds_everyone_born_that_day_also_rows_stored_before_its_index(
    db: &TestDb,
) {
    let a = resident(SAIJO, 40);
    let mut twin = resident(SAIJO, 41);
    twin.birth_date = a.birth_date;
    let other_day = resident(SAIJO, 42);
    let mut elsewhere = resident(CHIYODA, 43);
    elsewhere.birth_date = a.birth_date;
    for r in [&a, &twin, &other_day, &elsewhere] {
        put(db, r).await;
    }
    let s = &db.store;
    let found = s
        .area(code(SAIJO))
        .residents_born_on(a.birth_date)
        .await
        .unwrap();
    assert_eq!(
        found,
        vec![a.clone(), twin.clone()],
        "by 宛名番号, only this area"
    );
    assert_eq!(
        s.area(code(SAIJO))
            .residents_born_on(other_day.birth_date)
            .await
            .unwrap(),
        vec![other_day.clone()]
    );
    // Rows stored before the index existed are indexed on the first search, then found.
    db.exec("UPDATE residents SET birth_index = NULL")
        .await
        .unwrap();
    assert_eq!(
        s.area(code(SAIJO))
            .residents_born_on(a.birth_date)
            .await
            .unwrap(),
        vec![a.clone(), twin.clone()]
    );
    assert_eq!(
        s.area(code(CHIYODA))
            .residents_born_on(a.birth_date)
            .await
            .unwrap(),
        vec![elsewhere]
    );
    // One row without the index, born on another day than the one searched: it is indexed, and
    // not returned for that day.
    db.exec("UPDATE residents SET birth_index = NULL WHERE atena_number LIKE '%41'")
        .await
        .unwrap();
    assert_eq!(
        s.area(code(SAIJO))
            .residents_born_on(other_day.birth_date)
            .await
            .unwrap(),
        vec![other_day.clone()]
    );
    assert_eq!(
        s.area(code(SAIJO))
            .residents_born_on(a.birth_date)
            .await
            .unwrap(),
        vec![a.clone(), twin]
    );
    let day_after = a.birth_date.succ_opt().unwrap();
    if day_after != other_day.birth_date {
        assert!(s
            .area(code(SAIJO))
            .residents_born_on(day_after)
            .await
            .unwrap()
            .is_empty());
    }
}

pub async fn the_coupon_holder_is_read_without_opening_a_sealed_field(db: &TestDb) {
    let mut r = resident(SAIJO, 31);
    r.moved_out_on = NaiveDate::from_ymd_opt(2022, 4, 1);
    put(db, &r).await;
    // Scramble the sealed fields: reading the person fails, reading the holder does not need them.
    db.exec("UPDATE residents SET my_number_enc = name_enc, name_kana_enc = name_enc WHERE atena_number = '31'")
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .area(code(SAIJO))
            .resident_by_coupon(&r.coupon)
            .await,
        Err(StoreError::Integrity { .. })
    ));
    let holder = db
        .store
        .area(code(SAIJO))
        .coupon_holder(&r.coupon)
        .await
        .unwrap();
    assert_eq!(holder, vrs_store::CouponHolder::from(&r));
    db.store.activate_municipality(code(CHIYODA)).await.unwrap();
    assert!(matches!(
        db.store.area(code(CHIYODA)).coupon_holder(&r.coupon).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_coupon_holder_is_read_with_their_doses_in_one_read(db: &TestDb) {
    let with = resident(SAIJO, 32);
    let without = resident(SAIJO, 33);
    put(db, &with).await;
    put(db, &without).await;
    for n in [2, 1] {
        db.store
            .area(code(SAIJO))
            .add_dose(&reg(dose(&with, n)), &audit("dose.add", "32"))
            .await
            .unwrap();
    }
    // The sealed fields are not needed: scrambled, the read still succeeds.
    db.exec("UPDATE residents SET name_enc = my_number_enc WHERE atena_number = '32'")
        .await
        .unwrap();
    let (holder, doses) = db
        .store
        .area(code(SAIJO))
        .holder_and_doses(&with.coupon)
        .await
        .unwrap();
    assert_eq!(holder, vrs_store::CouponHolder::from(&with));
    assert_eq!(
        doses,
        vec![dose(&with, 1), dose(&with, 2)],
        "by dose number"
    );
    assert_eq!(
        doses,
        db.store
            .area(code(SAIJO))
            .doses_of(&with.atena)
            .await
            .unwrap()
    );
    let (holder, doses) = db
        .store
        .area(code(SAIJO))
        .holder_and_doses(&without.coupon)
        .await
        .unwrap();
    assert_eq!(holder, vrs_store::CouponHolder::from(&without));
    assert!(doses.is_empty());
    // Another municipality's scope finds neither.
    db.store.activate_municipality(code(CHIYODA)).await.unwrap();
    for coupon in [&with.coupon, &without.coupon] {
        assert!(matches!(
            db.store.area(code(CHIYODA)).holder_and_doses(coupon).await,
            Err(StoreError::NotFound)
        ));
    }
}
