//! Statistics on both backends: after random registrations, corrections, deletions and flags, the
//! stored aggregates equal an independent recount of the records; the job recomputes exactly the
//! municipalities that changed; a rebuild gives the same numbers; prefecture and nation sums add
//! up. Every view that leaves the municipality suppresses small counts, complementary included
//! (`statistics/views.rs`); the public open data shows no count 1–9, directly or by differencing
//! its files and releases (`statistics/opendata.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "statistics/opendata.rs"]
mod opendata;
#[path = "statistics/views.rs"]
mod views;

use opendata::{
    a_release_larger_than_a_part_is_stored_in_parts_and_reads_back_whole,
    municipality_level_open_data_only_when_enabled,
    open_data_never_lets_a_count_from_1_to_9_be_recovered,
};
use views::{
    every_published_small_mark_is_a_true_small_count,
    views_outside_the_municipality_suppress_small_counts,
};
use vrs_store::Areas;

use std::collections::BTreeMap;
use vrs_store::testkit::code;

use chrono::NaiveDate;
use vrs_core::statistics::{rebuild, refresh};
use vrs_core::Actor;
use vrs_domain::{
    AgeBand, AuditAction, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode,
    PrefectureCode, Resident, Sex, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditEntry, ScopeStatistics, StatScope, Store};

use vrs_store::on_both_backends;

on_both_backends!(
    aggregates_equal_a_recount_after_random_changes,
    views_outside_the_municipality_suppress_small_counts,
    every_published_small_mark_is_a_true_small_count,
    open_data_never_lets_a_count_from_1_to_9_be_recovered,
    municipality_level_open_data_only_when_enabled,
    a_release_larger_than_a_part_is_stored_in_parts_and_reads_back_whole,
);

const AREAS: [&str; 3] = ["382060", "382019", "131016"];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 6, 1).unwrap()
}

fn audit() -> AuditEntry {
    AuditEntry::now("test", "test", "local", "test", "x")
}

/// A small deterministic generator (no dependency on a rand version).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn dose(p: &Resident, n: u8, day: NaiveDate, product: &str) -> DoseRecord {
    DoseRecord::now(
        Dose {
            municipality: p.municipality,
            atena: p.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: day,
            product: VaccineProduct::by_code(product).unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: p.municipality,
            coupon: p.coupon,
        },
        DoseSource::Csv,
    )
}

/// People of each area, with up to three doses each at random days and products.
async fn populate(store: &dyn Store, people: u64, rng: &mut Lcg) -> Vec<Resident> {
    populate_over(store, people, rng, 60).await
}

/// As [`populate`], first doses within `days` days.
async fn populate_over(store: &dyn Store, people: u64, rng: &mut Lcg, days: u64) -> Vec<Resident> {
    let mut all = Vec::new();
    for (i, a) in AREAS.iter().enumerate() {
        let m = code(a);
        let residents: Vec<Resident> = Synthetic::new(m, people, 40 + i as u64).collect();
        let mut doses = Vec::new();
        for p in &residents {
            store.area(m).put_resident(p, &audit()).await.unwrap();
            let first =
                NaiveDate::from_ymd_opt(2021, 5, 1).unwrap() + chrono::Days::new(rng.next(days));
            let count = rng.next(4) as u8;
            for n in 1..=count {
                let day = first + chrono::Days::new(u64::from(n - 1) * 30);
                let product = if rng.next(3) == 0 {
                    "spikevax"
                } else {
                    "comirnaty"
                };
                doses.push(dose(p, n, day, product));
            }
        }
        store
            .area(m)
            .add_doses(&doses, "test", &audit())
            .await
            .unwrap();
        all.extend(residents);
    }
    all
}

/// The aggregates recounted from the records, independently of the job.
async fn recount(store: &dyn Store, m: MunicipalityCode, people: &[Resident]) -> ScopeStatistics {
    let mut daily: BTreeMap<(NaiveDate, u8), u64> = BTreeMap::new();
    let mut products: BTreeMap<(u8, String), u64> = BTreeMap::new();
    let mut ages: BTreeMap<(AgeBand, Sex, u8), u64> = BTreeMap::new();
    let mut coverage: BTreeMap<(AgeBand, Sex, u8), u64> = BTreeMap::new();
    for p in people.iter().filter(|p| p.municipality == m) {
        let r = store.area(m).resident(&p.atena).await.unwrap();
        let doses = store.area(m).doses_of(&p.atena).await.unwrap();
        for d in &doses {
            let d = &d.dose;
            *daily
                .entry((d.administered_on, d.dose_number.get()))
                .or_default() += 1;
            *products
                .entry((d.dose_number.get(), d.product.code.to_owned()))
                .or_default() += 1;
            let band = AgeBand::on(r.birth_date, d.administered_on);
            *ages.entry((band, r.sex, d.dose_number.get())).or_default() += 1;
        }
        if r.is_active_on(today()) {
            let band = AgeBand::on(r.birth_date, today());
            for k in 0..=doses.len() as u8 {
                *coverage.entry((band, r.sex, k)).or_default() += 1;
            }
        }
    }
    ScopeStatistics {
        daily: daily
            .into_iter()
            .map(|((day, dose_number), doses)| vrs_store::DailyCount {
                day,
                dose_number,
                doses,
            })
            .collect(),
        by_product: products
            .into_iter()
            .map(
                |((dose_number, product_code), doses)| vrs_store::ProductCount {
                    dose_number,
                    product_code,
                    doses,
                },
            )
            .collect(),
        by_age: ages
            .into_iter()
            .map(
                |((age_band, sex, dose_number), doses)| vrs_store::AgeCount {
                    age_band,
                    sex,
                    dose_number,
                    doses,
                },
            )
            .collect(),
        coverage: coverage
            .into_iter()
            .map(
                |((age_band, sex, doses), people)| vrs_store::CoverageCount {
                    age_band,
                    sex,
                    doses,
                    people,
                },
            )
            .collect(),
        oldest: None,
    }
}

async fn stored(store: &dyn Store, scope: StatScope) -> ScopeStatistics {
    let mut s = store.scope_statistics(scope).await.unwrap();
    assert!(s.oldest.is_some(), "{scope:?} was never counted");
    s.oldest = None;
    s
}

async fn assert_recount(store: &dyn Store, people: &[Resident]) {
    for a in AREAS {
        let m = code(a);
        assert_eq!(
            stored(store, StatScope::Municipality(m)).await,
            recount(store, m, people).await,
            "{a}"
        );
    }
}

async fn aggregates_equal_a_recount_after_random_changes(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(2026);
    let people = populate(store, 40, &mut rng).await;
    let replaced = refresh(store, today()).await.unwrap();
    assert_eq!(replaced.len(), 3);
    assert_recount(store, &people).await;
    // Nothing changed: nothing recomputed.
    assert!(refresh(store, today()).await.unwrap().is_empty());
    // Staff looking people up change no record: nothing recomputed, and the figures are marked
    // current (not stale again at the next pass).
    let searcher = Actor {
        user: "matsuyama-staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    };
    for action in [AuditAction::PersonSearch, AuditAction::PersonRead] {
        store
            .append_audit(code("382019").into(), &searcher.audit(action, "1"))
            .await
            .unwrap();
    }
    assert_eq!(store.statistics_stale().await.unwrap(), [code("382019")]);
    assert!(refresh(store, today()).await.unwrap().is_empty());
    assert!(store.statistics_stale().await.unwrap().is_empty());
    assert_recount(store, &people).await;

    // Random corrections (date and product), deletions, new doses and deaths in 西条市 only.
    let saijo = code("382060");
    let staff = Actor {
        user: "saijo-staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    };
    let mut changed = 0;
    for p in people.iter().filter(|p| p.municipality == saijo) {
        let doses = store.area(saijo).doses_of(&p.atena).await.unwrap();
        match (rng.next(5), doses.last()) {
            (0, Some(last)) => {
                let mut after = last.clone();
                after.dose.administered_on = after.dose.administered_on + chrono::Days::new(3);
                after.dose.product = VaccineProduct::by_code("spikevax").unwrap();
                store
                    .area(saijo)
                    .correct_dose(last, &after, &staff.audit(AuditAction::DoseCorrect, "x"))
                    .await
                    .unwrap();
                changed += 1;
            }
            (1, Some(last)) => {
                store
                    .area(saijo)
                    .delete_dose(last, &staff.audit(AuditAction::DoseDelete, "x"))
                    .await
                    .unwrap();
                changed += 1;
            }
            (2, _) => {
                let n = doses.len() as u8 + 1;
                let day =
                    NaiveDate::from_ymd_opt(2022, 1, 10).unwrap() + chrono::Days::new(rng.next(20));
                store
                    .area(saijo)
                    .add_doses(&[dose(p, n, day, "comirnaty")], "t", &audit())
                    .await
                    .unwrap();
                changed += 1;
            }
            (3, _) => {
                let day = NaiveDate::from_ymd_opt(2022, 3, 1);
                store
                    .area(saijo)
                    .set_flags(&p.atena, None, day, &audit())
                    .await
                    .unwrap();
                changed += 1;
            }
            _ => {}
        }
    }
    assert!(changed > 5, "the test changed too little ({changed})");
    let replaced = refresh(store, today()).await.unwrap();
    assert_eq!(
        replaced,
        [saijo],
        "only the municipality that changed is recomputed"
    );
    assert_recount(store, &people).await;

    // A rebuild from the records gives the same numbers.
    let before: Vec<ScopeStatistics> = {
        let mut v = Vec::new();
        for a in AREAS {
            v.push(stored(store, StatScope::Municipality(code(a))).await);
        }
        v
    };
    rebuild(store, &Actor::command_line(), None, today())
        .await
        .unwrap();
    for (a, b) in AREAS.iter().zip(before) {
        assert_eq!(
            stored(store, StatScope::Municipality(code(a))).await,
            b,
            "{a}"
        );
    }

    // Prefecture and nation sums add up.
    let ehime = PrefectureCode::parse("38").unwrap();
    let sum = |stats: &[ScopeStatistics]| -> u64 {
        stats
            .iter()
            .flat_map(|s| s.daily.iter().map(|d| d.doses))
            .sum()
    };
    let saijo_s = stored(store, StatScope::Municipality(saijo)).await;
    let matsuyama = stored(store, StatScope::Municipality(code("382019"))).await;
    let chiyoda = stored(store, StatScope::Municipality(code("131016"))).await;
    let pref = stored(store, StatScope::Prefecture(ehime)).await;
    let nation = stored(store, StatScope::Nation).await;
    assert_eq!(sum(&[pref]), sum(&[saijo_s.clone(), matsuyama.clone()]));
    assert_eq!(
        sum(std::slice::from_ref(&nation)),
        sum(&[saijo_s, matsuyama, chiyoda])
    );
    let figures = store
        .municipality_figures(StatScope::Prefecture(ehime))
        .await
        .unwrap();
    let codes: Vec<&str> = figures.iter().map(|f| f.municipality.as_str()).collect();
    assert_eq!(codes, ["382019", "382060"]);
    let targets: u64 = nation
        .coverage
        .iter()
        .filter(|c| c.doses == 0)
        .map(|c| c.people)
        .sum();
    // Every target is counted once, less those who died.
    assert!(targets > 0 && targets <= people.len() as u64);
}
