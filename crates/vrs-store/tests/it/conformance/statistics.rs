//! Conformance cases for statistics: the statistics job's source pages (every person of the area
//! once, birth date opened, doses attached, nobody of another area), the replacement of a
//! municipality's counts as a whole (refused for an older or equal audit head), counts kept current
//! when only reads were audited since they were computed, the sums over a
//! prefecture and the nation (`statistics/sums.rs`), and open counts with the open-data release
//! (`statistics/opendata.rs`).

#[path = "statistics/opendata.rs"]
mod opendata;
#[path = "statistics/sums.rs"]
mod sums;

pub use opendata::open_counts_sum_per_prefecture_or_municipality_and_a_release_is_replaced_whole;
pub use sums::{
    municipality_figures_give_targets_people_with_and_doses_by_code,
    prefecture_and_nation_scopes_sum_over_their_municipalities,
    the_nation_sums_ninety_thousand_daily_rows,
};

use std::collections::BTreeMap;
use vrs_store::Areas;

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{AgeBand, AtenaNumber, MunicipalityCode, Sex};
use vrs_store::testkit::TestDb;
use vrs_store::{
    AgeCount, AreaStatistics, CoverageCount, DailyCount, ProductCount, ScopeStatistics, StatPerson,
    StatScope,
};

use super::{audit, code, dose, reg, resident, CHIYODA, SAIJO};

const MATSUYAMA: &str = "382019";

fn day(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().to_utc()
}

/// Every person of `scope`, read in pages of `limit`.
async fn all_pages(db: &TestDb, scope: MunicipalityCode, limit: u32) -> Vec<StatPerson> {
    let mut out: Vec<StatPerson> = Vec::new();
    loop {
        let after = out.last().map(|p| p.atena.clone());
        let page = db
            .store
            .area(scope)
            .statistics_source(after.as_ref(), limit)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

pub async fn the_statistics_source_pages_through_every_resident_once_with_birth_date_sex_flags_and_doses(
    db: &TestDb,
) {
    let s = &db.store;
    let mut expected: BTreeMap<String, StatPerson> = BTreeMap::new();
    for i in 1..=23u64 {
        let mut r = resident(SAIJO, i);
        if i == 7 {
            r.moved_out_on = Some(day("2022-04-01"));
        }
        if i == 11 {
            r.deceased_on = Some(day("2023-01-15"));
        }
        s.area(r.municipality)
            .put_resident(&r, &audit("resident.put", r.atena.as_str()))
            .await
            .unwrap();
        // Every third person has two doses, every fifth (not third) one; the others none.
        let count = if i % 3 == 0 {
            2
        } else if i % 5 == 0 {
            1
        } else {
            0
        };
        let mut doses = Vec::new();
        for n in 1..=count {
            let d = dose(&r, n);
            doses.push((n, d.dose.administered_on, d.dose.product.code.to_string()));
            s.area(code(SAIJO))
                .add_dose(&reg(d), &audit("dose.add", r.atena.as_str()))
                .await
                .unwrap();
        }
        expected.insert(
            r.atena.as_str().to_owned(),
            StatPerson {
                atena: r.atena.clone(),
                birth_date: r.birth_date,
                sex: r.sex,
                moved_out_on: r.moved_out_on,
                deceased_on: r.deceased_on,
                doses,
            },
        );
    }
    for limit in [1, 4, 7, 23, 100] {
        let people = all_pages(db, code(SAIJO), limit).await;
        assert_eq!(people.len(), 23, "limit {limit}");
        // By 宛名番号 as stored text ("1", "10", "11", …, "2", …), each exactly once.
        let order: Vec<&str> = people.iter().map(|p| p.atena.as_str()).collect();
        let keys: Vec<&str> = expected.keys().map(String::as_str).collect();
        assert_eq!(order, keys, "limit {limit}");
        for p in &people {
            assert_eq!(p, &expected[p.atena.as_str()], "limit {limit}");
        }
    }
    let people = all_pages(db, code(SAIJO), 5).await;
    assert_eq!(people.iter().filter(|p| p.doses.is_empty()).count(), 13);
    assert!(
        people.iter().any(|p| p.sex == Sex::Male) && people.iter().any(|p| p.sex == Sex::Female)
    );
    // After the last one there is nothing.
    let last = AtenaNumber::parse("9").unwrap();
    assert!(s
        .area(code(SAIJO))
        .statistics_source(Some(&last), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_municipality_statistics_source_never_holds_another_municipality_people(db: &TestDb) {
    let s = &db.store;
    for i in 1..=4u64 {
        let r = resident(SAIJO, i);
        s.area(r.municipality)
            .put_resident(&r, &audit("resident.put", "x"))
            .await
            .unwrap();
        s.area(code(SAIJO))
            .add_dose(&reg(dose(&r, 1)), &audit("dose.add", "x"))
            .await
            .unwrap();
    }
    // Chiyoda has a person under the same 宛名番号 "1" (another person, born another day) and one
    // of its own; neither has a dose.
    let mut same = resident(CHIYODA, 1);
    same.birth_date = day("1999-09-09");
    same.my_number = super::my_number(55_555_555_501);
    let own = resident(CHIYODA, 500);
    for r in [&same, &own] {
        s.area(r.municipality)
            .put_resident(r, &audit("resident.put", "x"))
            .await
            .unwrap();
    }
    let chiyoda = all_pages(db, code(CHIYODA), 10).await;
    assert_eq!(
        chiyoda.iter().map(|p| p.atena.as_str()).collect::<Vec<_>>(),
        ["1", "500"]
    );
    assert_eq!(chiyoda[0].birth_date, day("1999-09-09"));
    assert!(chiyoda.iter().all(|p| p.doses.is_empty()));
    let saijo = all_pages(db, code(SAIJO), 10).await;
    assert_eq!(saijo.len(), 4);
    assert!(saijo.iter().all(|p| p.doses.len() == 1));
    assert_eq!(saijo[0].birth_date, resident(SAIJO, 1).birth_date);
    // An area never opened has nobody.
    assert!(all_pages(db, code(MATSUYAMA), 10).await.is_empty());
}

/// A small, varied set of counts for one municipality; `scale` changes every count.
fn sample(seq: i64, computed_at: &str, scale: u64) -> AreaStatistics {
    let f = Sex::Female;
    let m = Sex::Male;
    AreaStatistics {
        open: Vec::new(),
        source_seq: seq,
        computed_at: Some(at(computed_at)),
        // Deliberately out of order: reads return each list in its natural order.
        daily: vec![
            DailyCount {
                day: day("2021-06-02"),
                dose_number: 1,
                doses: 5 * scale,
            },
            DailyCount {
                day: day("2021-06-01"),
                dose_number: 2,
                doses: 3 * scale,
            },
            DailyCount {
                day: day("2021-06-01"),
                dose_number: 1,
                doses: 10 * scale,
            },
        ],
        by_product: vec![
            ProductCount {
                dose_number: 2,
                product_code: "comirnaty".into(),
                doses: 3 * scale,
            },
            ProductCount {
                dose_number: 1,
                product_code: "spikevax".into(),
                doses: 4 * scale,
            },
            ProductCount {
                dose_number: 1,
                product_code: "comirnaty".into(),
                doses: 11 * scale,
            },
        ],
        by_age: vec![
            AgeCount {
                age_band: AgeBand::A100Plus,
                sex: f,
                dose_number: 1,
                doses: scale,
            },
            AgeCount {
                age_band: AgeBand::A12to19,
                sex: m,
                dose_number: 1,
                doses: 2 * scale,
            },
            AgeCount {
                age_band: AgeBand::A5to11,
                sex: f,
                dose_number: 2,
                doses: 3 * scale,
            },
            AgeCount {
                age_band: AgeBand::A5to11,
                sex: m,
                dose_number: 1,
                doses: 12 * scale,
            },
        ],
        coverage: vec![
            CoverageCount {
                age_band: AgeBand::A100Plus,
                sex: f,
                doses: 0,
                people: 2 * scale,
            },
            CoverageCount {
                age_band: AgeBand::A100Plus,
                sex: f,
                doses: 1,
                people: scale,
            },
            CoverageCount {
                age_band: AgeBand::A5to11,
                sex: m,
                doses: 0,
                people: 20 * scale,
            },
            CoverageCount {
                age_band: AgeBand::A5to11,
                sex: m,
                doses: 1,
                people: 12 * scale,
            },
            CoverageCount {
                age_band: AgeBand::A5to11,
                sex: f,
                doses: 0,
                people: 18 * scale,
            },
            CoverageCount {
                age_band: AgeBand::A5to11,
                sex: f,
                doses: 2,
                people: 3 * scale,
            },
        ],
    }
}

/// What a scope read of exactly `stats` returns.
fn read_back(stats: &AreaStatistics) -> ScopeStatistics {
    let mut daily = stats.daily.clone();
    daily.sort();
    let mut by_product = stats.by_product.clone();
    by_product.sort();
    let mut by_age = stats.by_age.clone();
    by_age.sort();
    let mut coverage = stats.coverage.clone();
    coverage.sort();
    ScopeStatistics {
        daily,
        by_product,
        by_age,
        coverage,
        oldest: stats.computed_at,
    }
}

pub async fn replaced_statistics_read_back_exactly_and_an_older_or_equal_source_is_refused(
    db: &TestDb,
) {
    let s = &db.store;
    let saijo = StatScope::Municipality(code(SAIJO));
    assert_eq!(
        s.scope_statistics(saijo).await.unwrap(),
        ScopeStatistics::default()
    );
    let first = sample(10, "2026-05-01T03:00:00.123456Z", 1);
    assert!(s
        .area(code(SAIJO))
        .replace_statistics(&first)
        .await
        .unwrap());
    let stored = s.scope_statistics(saijo).await.unwrap();
    assert_eq!(stored, read_back(&first));
    // Age bands come by age (5–11 before 12–19 before 100+), not by their code text.
    assert_eq!(
        stored.by_age.iter().map(|c| c.age_band).collect::<Vec<_>>(),
        [
            AgeBand::A5to11,
            AgeBand::A5to11,
            AgeBand::A12to19,
            AgeBand::A100Plus
        ]
    );
    assert_eq!(stored.by_age[0].sex, Sex::Male);

    // The same or an older audit head changes nothing.
    for seq in [10, 9, 0] {
        let other = sample(seq, "2026-05-02T03:00:00Z", 7);
        assert!(
            !s.area(code(SAIJO))
                .replace_statistics(&other)
                .await
                .unwrap(),
            "seq {seq}"
        );
        assert_eq!(s.scope_statistics(saijo).await.unwrap(), read_back(&first));
    }
    assert_eq!(
        s.statistics_computed().await.unwrap(),
        vec![(code(SAIJO), 10, at("2026-05-01T03:00:00.123456Z"))]
    );

    // A newer one replaces everything: rows missing from it are gone.
    let newer = AreaStatistics {
        open: Vec::new(),
        source_seq: 11,
        computed_at: Some(at("2026-05-03T00:00:00Z")),
        daily: vec![DailyCount {
            day: day("2021-07-01"),
            dose_number: 3,
            doses: 42,
        }],
        by_product: vec![],
        by_age: vec![AgeCount {
            age_band: AgeBand::A65to69,
            sex: Sex::Male,
            dose_number: 3,
            doses: 42,
        }],
        coverage: vec![CoverageCount {
            age_band: AgeBand::A65to69,
            sex: Sex::Male,
            doses: 0,
            people: 50,
        }],
    };
    assert!(s
        .area(code(SAIJO))
        .replace_statistics(&newer)
        .await
        .unwrap());
    assert_eq!(s.scope_statistics(saijo).await.unwrap(), read_back(&newer));
    assert_eq!(
        s.statistics_computed().await.unwrap(),
        vec![(code(SAIJO), 11, at("2026-05-03T00:00:00Z"))]
    );

    // Without a time the store stamps the replacement itself.
    let before = Utc::now();
    let unstamped = AreaStatistics {
        source_seq: 12,
        computed_at: None,
        ..newer.clone()
    };
    assert!(s
        .area(code(SAIJO))
        .replace_statistics(&unstamped)
        .await
        .unwrap());
    let (_, seq, when) = s.statistics_computed().await.unwrap()[0];
    assert_eq!(seq, 12);
    assert!(when >= before - chrono::Duration::seconds(1) && when <= Utc::now());
    // Another municipality's counts are not in this one's scope.
    assert!(s
        .scope_statistics(StatScope::Municipality(code(CHIYODA)))
        .await
        .unwrap()
        .daily
        .is_empty());
}

pub async fn statistics_stay_current_when_only_reads_were_audited_since(db: &TestDb) {
    let s = &db.store;
    let m = code(SAIJO);
    let append = |action: &'static str| async move {
        s.append_audit(m.into(), &audit(action, "382060-1"))
            .await
            .unwrap()
            .seq
    };
    // The area opens with a person; nothing stored yet: nothing to keep current.
    let r = resident(SAIJO, 1);
    s.area(m)
        .put_resident(&r, &audit("targets.import", r.atena.as_str()))
        .await
        .unwrap();
    assert_eq!(s.statistics_stale().await.unwrap(), vec![m]);
    assert!(!s.area(m).statistics_still_current().await.unwrap());
    let computed = append("dose.register").await;
    assert!(s
        .area(m)
        .replace_statistics(&sample(computed, "2026-05-01T03:00:00Z", 1))
        .await
        .unwrap());
    assert!(s.statistics_stale().await.unwrap().is_empty());
    // At the head already: nothing to mark.
    assert!(!s.area(m).statistics_still_current().await.unwrap());

    // Searches, a record read, an export and a sign-in: stale by the head, yet current.
    for action in [
        "person.search",
        "person.search_by_my_number",
        "person.read",
        "records.export",
        "login",
    ] {
        append(action).await;
    }
    let head = append("person.search").await;
    assert_eq!(s.statistics_stale().await.unwrap(), vec![m]);
    assert!(s.area(m).statistics_still_current().await.unwrap());
    assert!(s.statistics_stale().await.unwrap().is_empty());
    let (_, seq, when) = s.statistics_computed().await.unwrap()[0];
    assert_eq!((seq, when), (head, at("2026-05-01T03:00:00Z")));
    // The figures are the ones computed, untouched.
    assert_eq!(
        s.scope_statistics(StatScope::Municipality(m))
            .await
            .unwrap(),
        read_back(&sample(computed, "2026-05-01T03:00:00Z", 1))
    );

    // A change among reads, or an action this build does not know, needs the figures again.
    for changing in ["dose.correct", "no.such.action"] {
        append("person.search").await;
        append(changing).await;
        append("person.read").await;
        assert!(
            !s.area(m).statistics_still_current().await.unwrap(),
            "{changing}"
        );
        assert_eq!(s.statistics_stale().await.unwrap(), vec![m], "{changing}");
        let head = append("person.read").await;
        assert!(s
            .area(m)
            .replace_statistics(&sample(head, "2026-05-02T03:00:00Z", 1))
            .await
            .unwrap());
    }
    // Another municipality's reads do not touch this one's state.
    s.append_audit(code(CHIYODA).into(), &audit("person.search", "131016-1"))
        .await
        .unwrap();
    assert!(!s
        .area(code(CHIYODA))
        .statistics_still_current()
        .await
        .unwrap());
    assert!(!s.area(m).statistics_still_current().await.unwrap());
}
