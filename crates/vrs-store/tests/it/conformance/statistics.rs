//! Conformance cases for statistics: the statistics job's source pages (every person of the area
//! once, birth date opened, doses attached, nobody of another area), the replacement of a
//! municipality's counts as a whole (refused for an older or equal audit head), and the sums over a
//! municipality, a prefecture and the nation.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{
    master_list, AgeBand, AtenaNumber, MunicipalityCode, MunicipalityKind, OpenAgeGroup,
    PrefectureCode, Sex,
};
use vrs_store::testkit::TestDb;
use vrs_store::{
    AgeCount, AreaStatistics, CoverageCount, DailyCount, MunicipalityFigures, OpenCount, OpenFile,
    OpenGrain, ProductCount, ScopeStatistics, StatPerson, StatScope,
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
            .statistics_source(scope, after.as_ref(), limit)
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
        s.put_resident(r.municipality, &r, &audit("resident.put", r.atena.as_str()))
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
            s.add_dose(code(SAIJO), &reg(d), &audit("dose.add", r.atena.as_str()))
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
        .statistics_source(code(SAIJO), Some(&last), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_municipality_statistics_source_never_holds_another_municipality_people(db: &TestDb) {
    let s = &db.store;
    for i in 1..=4u64 {
        let r = resident(SAIJO, i);
        s.put_resident(r.municipality, &r, &audit("resident.put", "x"))
            .await
            .unwrap();
        s.add_dose(code(SAIJO), &reg(dose(&r, 1)), &audit("dose.add", "x"))
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
        s.put_resident(r.municipality, r, &audit("resident.put", "x"))
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
    assert!(s.replace_statistics(code(SAIJO), &first).await.unwrap());
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
            !s.replace_statistics(code(SAIJO), &other).await.unwrap(),
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
    assert!(s.replace_statistics(code(SAIJO), &newer).await.unwrap());
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
    assert!(s.replace_statistics(code(SAIJO), &unstamped).await.unwrap());
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

pub async fn prefecture_and_nation_scopes_sum_over_their_municipalities(db: &TestDb) {
    let s = &db.store;
    let saijo = sample(5, "2026-05-01T00:00:00Z", 1);
    let matsuyama = sample(8, "2026-04-30T00:00:00Z", 10);
    let mut chiyoda = sample(3, "2026-04-01T00:00:00Z", 100);
    chiyoda.daily.push(DailyCount {
        day: day("2021-05-31"),
        dose_number: 1,
        doses: 1,
    });
    for (m, stats) in [
        (SAIJO, &saijo),
        (MATSUYAMA, &matsuyama),
        (CHIYODA, &chiyoda),
    ] {
        assert!(s.replace_statistics(code(m), stats).await.unwrap());
    }
    let ehime = s
        .scope_statistics(StatScope::Prefecture(PrefectureCode::parse("38").unwrap()))
        .await
        .unwrap();
    // Saijo ×1 plus Matsuyama ×10: every sum is 11 × Saijo's count.
    let mut expected = read_back(&sample(0, "2026-04-30T00:00:00Z", 11));
    assert_eq!(ehime, expected);
    let nation = s.scope_statistics(StatScope::Nation).await.unwrap();
    // Plus Chiyoda ×100 and its extra day, first in order; Chiyoda's time is the oldest.
    expected = read_back(&sample(0, "2026-04-01T00:00:00Z", 111));
    expected.daily.insert(
        0,
        DailyCount {
            day: day("2021-05-31"),
            dose_number: 1,
            doses: 1,
        },
    );
    assert_eq!(nation, expected);
    let tokyo = s
        .scope_statistics(StatScope::Prefecture(PrefectureCode::parse("13").unwrap()))
        .await
        .unwrap();
    assert_eq!(tokyo, read_back(&chiyoda));
    let hokkaido = s
        .scope_statistics(StatScope::Prefecture(PrefectureCode::parse("01").unwrap()))
        .await
        .unwrap();
    assert_eq!(hokkaido, ScopeStatistics::default());
    assert_eq!(
        s.statistics_computed().await.unwrap(),
        vec![
            (code(CHIYODA), 3, at("2026-04-01T00:00:00Z")),
            (code(MATSUYAMA), 8, at("2026-04-30T00:00:00Z")),
            (code(SAIJO), 5, at("2026-05-01T00:00:00Z")),
        ]
    );
}

pub async fn municipality_figures_give_targets_people_with_and_doses_by_code(db: &TestDb) {
    let s = &db.store;
    // Saijo: 38 + 2 targets, ≥1: 12 + 1, ≥2: 3 (see `sample`); 18 doses a day on three rows.
    let saijo = sample(5, "2026-05-01T00:00:00Z", 1);
    // Matsuyama has people with three doses but no row for two: that count is 0.
    let matsuyama = AreaStatistics {
        open: Vec::new(),
        source_seq: 2,
        computed_at: Some(at("2026-05-02T00:00:00Z")),
        daily: vec![
            DailyCount {
                day: day("2021-06-01"),
                dose_number: 1,
                doses: 7,
            },
            DailyCount {
                day: day("2021-09-01"),
                dose_number: 3,
                doses: 2,
            },
        ],
        by_product: vec![],
        by_age: vec![],
        coverage: vec![
            CoverageCount {
                age_band: AgeBand::A20to29,
                sex: Sex::Male,
                doses: 0,
                people: 30,
            },
            CoverageCount {
                age_band: AgeBand::A30to39,
                sex: Sex::Female,
                doses: 0,
                people: 40,
            },
            CoverageCount {
                age_band: AgeBand::A20to29,
                sex: Sex::Male,
                doses: 1,
                people: 5,
            },
            CoverageCount {
                age_band: AgeBand::A30to39,
                sex: Sex::Female,
                doses: 1,
                people: 2,
            },
            CoverageCount {
                age_band: AgeBand::A30to39,
                sex: Sex::Female,
                doses: 3,
                people: 2,
            },
        ],
    };
    // Chiyoda has statistics but nobody yet.
    let chiyoda = AreaStatistics {
        source_seq: 1,
        computed_at: Some(at("2026-05-03T00:00:00Z")),
        ..Default::default()
    };
    for (m, stats) in [
        (SAIJO, &saijo),
        (MATSUYAMA, &matsuyama),
        (CHIYODA, &chiyoda),
    ] {
        assert!(s.replace_statistics(code(m), stats).await.unwrap());
    }
    let figures_saijo = MunicipalityFigures {
        municipality: code(SAIJO),
        targets: 40,
        people_with: vec![13, 3],
        doses: 18,
        computed_at: Some(at("2026-05-01T00:00:00Z")),
    };
    let figures_matsuyama = MunicipalityFigures {
        municipality: code(MATSUYAMA),
        targets: 70,
        people_with: vec![7, 0, 2],
        doses: 9,
        computed_at: Some(at("2026-05-02T00:00:00Z")),
    };
    let figures_chiyoda = MunicipalityFigures {
        municipality: code(CHIYODA),
        targets: 0,
        people_with: vec![],
        doses: 0,
        computed_at: Some(at("2026-05-03T00:00:00Z")),
    };
    let ehime = PrefectureCode::parse("38").unwrap();
    assert_eq!(
        s.municipality_figures(StatScope::Prefecture(ehime))
            .await
            .unwrap(),
        vec![figures_matsuyama.clone(), figures_saijo.clone()]
    );
    assert_eq!(
        s.municipality_figures(StatScope::Nation).await.unwrap(),
        vec![figures_chiyoda, figures_matsuyama, figures_saijo.clone()]
    );
    assert_eq!(
        s.municipality_figures(StatScope::Municipality(code(SAIJO)))
            .await
            .unwrap(),
        vec![figures_saijo]
    );
}

/// Sums the nation over 100 municipalities of 300 days × 3 dose numbers each (90,000 daily rows):
/// the sum must be right. (Its speed is measured by bench/statistics.sh, not asserted here.)
pub async fn the_nation_sums_ninety_thousand_daily_rows(db: &TestDb) {
    let s = &db.store;
    let codes: Vec<MunicipalityCode> = master_list()
        .iter()
        .filter(|m| m.kind == MunicipalityKind::Municipality)
        .map(|m| m.code)
        .take(100)
        .collect();
    assert_eq!(codes.len(), 100);
    let start = day("2021-02-17");
    let daily: Vec<DailyCount> = (0..300u64)
        .flat_map(|d| {
            (1..=3u8).map(move |n| DailyCount {
                day: start + chrono::Days::new(d),
                dose_number: n,
                doses: d + u64::from(n),
            })
        })
        .collect();
    for (i, m) in codes.iter().enumerate() {
        let stats = AreaStatistics {
            source_seq: 1,
            computed_at: Some(at("2026-05-01T00:00:00Z") + chrono::Duration::seconds(i as i64)),
            daily: daily.clone(),
            ..Default::default()
        };
        assert!(s.replace_statistics(*m, &stats).await.unwrap());
    }
    let nation = s.scope_statistics(StatScope::Nation).await.unwrap();
    assert_eq!(nation.daily.len(), 900);
    assert_eq!(
        nation.daily[0],
        DailyCount {
            day: start,
            dose_number: 1,
            doses: 100
        }
    );
    assert_eq!(
        nation.daily[899],
        DailyCount {
            day: start + chrono::Days::new(299),
            dose_number: 3,
            doses: 100 * 302
        }
    );
    assert_eq!(nation.oldest, Some(at("2026-05-01T00:00:00Z")));
}

fn open(d: &str, sex: Sex, group: OpenAgeGroup, n: u8, product: &str, doses: u64) -> OpenCount {
    OpenCount {
        day: day(d),
        sex,
        age_group: group,
        dose_number: n,
        product_group: product.into(),
        doses,
    }
}

pub async fn open_counts_sum_per_prefecture_or_municipality_and_a_release_is_replaced_whole(
    db: &TestDb,
) {
    let s = &db.store;
    let a = open(
        "2021-06-01",
        Sex::Female,
        OpenAgeGroup::A65Plus,
        1,
        "pfizer",
        12,
    );
    let b = open(
        "2021-06-02",
        Sex::Male,
        OpenAgeGroup::A12to64,
        2,
        "moderna",
        30,
    );
    let with = |seq, open: Vec<OpenCount>| AreaStatistics {
        source_seq: seq,
        computed_at: Some(at("2026-05-01T00:00:00Z")),
        open,
        ..Default::default()
    };
    // 西条市 and 松山市 are both in 愛媛県; 千代田区 in 東京都.
    s.replace_statistics(code(SAIJO), &with(1, vec![b.clone(), a.clone()]))
        .await
        .unwrap();
    s.replace_statistics(code(MATSUYAMA), &with(1, vec![a.clone()]))
        .await
        .unwrap();
    s.replace_statistics(code(CHIYODA), &with(1, vec![b.clone()]))
        .await
        .unwrap();
    let by_prefecture = s.open_counts(OpenGrain::Prefecture).await.unwrap();
    let seen: Vec<(String, OpenCount)> = by_prefecture
        .into_iter()
        .map(|r| (r.area, r.count))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "38".into(),
                OpenCount {
                    doses: 24,
                    ..a.clone()
                }
            ),
            ("13".into(), b.clone()),
            ("38".into(), b.clone()),
        ]
    );
    let by_municipality = s.open_counts(OpenGrain::Municipality).await.unwrap();
    assert_eq!(by_municipality.len(), 4);
    assert!(by_municipality
        .iter()
        .any(|r| r.area == MATSUYAMA && r.count == a));
    // A newer computation replaces the municipality's open counts with the rest.
    s.replace_statistics(code(MATSUYAMA), &with(2, vec![]))
        .await
        .unwrap();
    let after = s.open_counts(OpenGrain::Prefecture).await.unwrap();
    assert_eq!(after[0].count, a);

    // Releases: none at first, then the files as stored, then replaced as a whole.
    assert!(s.open_release().await.unwrap().is_empty());
    assert_eq!(s.open_file("summary.json").await.unwrap(), None);
    let file = |name: &str, body: &[u8]| OpenFile {
        name: name.into(),
        content_type: "application/json".into(),
        body: body.to_vec(),
        etag: format!("\"{name}\""),
        generated_at: at("2026-05-02T21:00:00.5Z"),
    };
    s.put_open_release(&[file("summary.json", b"{}"), file("daily.csv", b"a,b\n")])
        .await
        .unwrap();
    let index = s.open_release().await.unwrap();
    assert_eq!(
        index
            .iter()
            .map(|f| (f.name.as_str(), f.size))
            .collect::<Vec<_>>(),
        [("daily.csv", 4), ("summary.json", 2)]
    );
    assert_eq!(
        s.open_file("daily.csv").await.unwrap(),
        Some(file("daily.csv", b"a,b\n"))
    );
    s.put_open_release(&[file("summary.json", b"{\"n\":1}")])
        .await
        .unwrap();
    assert_eq!(s.open_file("daily.csv").await.unwrap(), None);
    assert_eq!(
        s.open_file("summary.json").await.unwrap().unwrap().body,
        b"{\"n\":1}"
    );
}
