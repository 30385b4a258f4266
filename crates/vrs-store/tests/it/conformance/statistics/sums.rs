//! Conformance cases for the sums over scopes: a prefecture and the nation sum over their
//! municipalities, with the oldest computation time; each municipality's figures (targets,
//! people with n doses, doses) by code; the nation summed over ninety thousand daily rows.

use super::*;
use vrs_domain::{master_list, MunicipalityKind, PrefectureCode};
use vrs_store::Areas;
use vrs_store::MunicipalityFigures;

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
        assert!(s.area(code(m)).replace_statistics(stats).await.unwrap());
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
        assert!(s.area(code(m)).replace_statistics(stats).await.unwrap());
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
        assert!(s.area(*m).replace_statistics(&stats).await.unwrap());
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
