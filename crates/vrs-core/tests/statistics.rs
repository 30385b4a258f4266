//! Statistics on both backends: after random registrations, corrections, deletions and flags, the
//! stored aggregates equal an independent recount of the records; the job recomputes exactly the
//! municipalities that changed; a rebuild gives the same numbers; prefecture and nation sums add
//! up; every view that leaves the municipality suppresses small counts, complementary included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use vrs_core::statistics::{rebuild, refresh};
use vrs_core::statistics_view::{dashboard, Audience};
use vrs_core::Actor;
use vrs_domain::{
    AgeBand, Cell, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, PrefectureCode,
    Resident, Sex, VaccineProduct, SUPPRESS_BELOW,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditEntry, ScopeStatistics, StatScope, Store};

mod support;

use support::on_both_backends;

on_both_backends!(
    aggregates_equal_a_recount_after_random_changes,
    views_outside_the_municipality_suppress_small_counts,
    every_published_small_mark_is_a_true_small_count,
);

fn code(s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s).unwrap()
}

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
            dose_number: n,
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
    let mut all = Vec::new();
    for (i, a) in AREAS.iter().enumerate() {
        let m = code(a);
        let residents: Vec<Resident> = Synthetic::new(m, people, 40 + i as u64).collect();
        let mut doses = Vec::new();
        for p in &residents {
            store.put_resident(m, p, &audit()).await.unwrap();
            let first =
                NaiveDate::from_ymd_opt(2021, 5, 1).unwrap() + chrono::Days::new(rng.next(60));
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
        store.add_doses(m, &doses, "test", &audit()).await.unwrap();
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
        let r = store.resident(m, &p.atena).await.unwrap();
        let doses = store.doses_of(m, &p.atena).await.unwrap();
        for d in &doses {
            let d = &d.dose;
            *daily.entry((d.administered_on, d.dose_number)).or_default() += 1;
            *products
                .entry((d.dose_number, d.product.code.to_owned()))
                .or_default() += 1;
            let band = AgeBand::on(r.birth_date, d.administered_on);
            *ages.entry((band, r.sex, d.dose_number)).or_default() += 1;
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

    // Random corrections (date and product), deletions, new doses and deaths in 西条市 only.
    let saijo = code("382060");
    let staff = Actor {
        user: "saijo-staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    };
    let mut changed = 0;
    for p in people.iter().filter(|p| p.municipality == saijo) {
        let doses = store.doses_of(saijo, &p.atena).await.unwrap();
        match (rng.next(5), doses.last()) {
            (0, Some(last)) => {
                let mut after = last.clone();
                after.dose.administered_on = after.dose.administered_on + chrono::Days::new(3);
                after.dose.product = VaccineProduct::by_code("spikevax").unwrap();
                store
                    .correct_dose(saijo, last, &after, &staff.audit("dose.correct", "x"))
                    .await
                    .unwrap();
                changed += 1;
            }
            (1, Some(last)) => {
                store
                    .delete_dose(saijo, last, &staff.audit("dose.delete", "x"))
                    .await
                    .unwrap();
                changed += 1;
            }
            (2, _) => {
                let n = doses.len() as u8 + 1;
                let day =
                    NaiveDate::from_ymd_opt(2022, 1, 10).unwrap() + chrono::Days::new(rng.next(20));
                store
                    .add_doses(saijo, &[dose(p, n, day, "comirnaty")], "t", &audit())
                    .await
                    .unwrap();
                changed += 1;
            }
            (3, _) => {
                let day = NaiveDate::from_ymd_opt(2022, 3, 1);
                store
                    .set_flags(saijo, &p.atena, None, day, &audit())
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

async fn views_outside_the_municipality_suppress_small_counts(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(7);
    populate(store, 30, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let saijo = code("382060");
    let own = dashboard(
        store,
        StatScope::Municipality(saijo),
        Audience::OwnMunicipality,
    )
    .await
    .unwrap();
    let outside = dashboard(store, StatScope::Municipality(saijo), Audience::Outside)
        .await
        .unwrap();
    let mut small_seen = 0;
    for (o, s) in own.tables().iter().zip(outside.tables()) {
        for ((_, _, own_cells), (_, _, cells)) in o.rows.iter().zip(&s.rows) {
            for (a, b) in own_cells.iter().zip(cells) {
                let Cell::Shown(n) = a else {
                    panic!("the own view hides nothing")
                };
                if *n > 0 && *n < SUPPRESS_BELOW {
                    small_seen += 1;
                    assert_eq!(*b, Cell::Small, "{}: {n} shown outside", s.name);
                }
                if let Cell::Shown(m) = b {
                    assert_eq!(m, n);
                }
            }
        }
        // No line with a shown total hides exactly one cell.
        if let Some(totals) = &s.row_totals {
            for ((_, _, cells), t) in s.rows.iter().zip(totals) {
                let hidden = cells.iter().filter(|c| c.is_withheld()).count();
                assert!(
                    t.value().is_none() || hidden != 1,
                    "{}: a row reveals its hidden cell",
                    s.name
                );
            }
        }
        for c in 0..s.columns.len() {
            let hidden = s
                .rows
                .iter()
                .filter(|(_, _, cells)| cells[c].is_withheld())
                .count();
            assert!(
                s.column_totals[c].value().is_none() || hidden != 1,
                "{}: column {c} reveals its hidden cell",
                s.name
            );
        }
    }
    assert!(
        small_seen > 5,
        "the data had too few small counts to test ({small_seen})"
    );
    // The nation's table of municipalities is suppressed as well.
    let nation = dashboard(store, StatScope::Nation, Audience::Outside)
        .await
        .unwrap();
    assert_eq!(nation.municipalities.rows.len(), 3);
}

/// Every cell, row total, column total and grand total of a table, in one order.
fn all_cells(t: &vrs_core::statistics_view::Table) -> Vec<Cell> {
    let mut out: Vec<Cell> = t
        .rows
        .iter()
        .flat_map(|(_, _, c)| c.iter().copied())
        .collect();
    out.extend(t.row_totals.iter().flatten().copied());
    out.extend(t.column_totals.iter().copied());
    out.extend(t.total);
    out
}

/// Regression: cells hidden only to protect a small one were published as `<10` whatever their
/// count (the prefecture's 60–64 band showed `<10` for 96 and 88). In every view that leaves a
/// municipality — one municipality, its prefecture, the nation — a cell reads `<10` exactly when
/// its true count is 1–9; a cell hidden for protection reads `X`; a shown count is the count.
async fn every_published_small_mark_is_a_true_small_count(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(11);
    populate(store, 60, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let scopes = [
        StatScope::Municipality(code("382060")),
        StatScope::Prefecture(PrefectureCode::parse("38").unwrap()),
        StatScope::Nation,
    ];
    let (mut small, mut hidden) = (0, 0);
    for scope in scopes {
        // The same sums without suppression are the truth.
        let truth = dashboard(store, scope, Audience::OwnMunicipality)
            .await
            .unwrap();
        let published = dashboard(store, scope, Audience::Outside).await.unwrap();
        for (t, p) in truth.tables().iter().zip(published.tables()) {
            let (t_cells, p_cells) = (all_cells(t), all_cells(p));
            assert_eq!(t_cells.len(), p_cells.len(), "{}", p.name);
            for (truth, shown) in t_cells.iter().zip(&p_cells) {
                let Cell::Shown(n) = *truth else {
                    panic!("the unsuppressed view hides nothing")
                };
                let is_small = n > 0 && n < SUPPRESS_BELOW;
                match shown {
                    Cell::Small => {
                        small += 1;
                        assert!(is_small, "{scope:?} {}: <10 published for {n}", p.name);
                    }
                    Cell::Hidden => {
                        hidden += 1;
                        assert!(!is_small, "{scope:?} {}: X published for {n}", p.name);
                    }
                    Cell::Shown(m) => assert_eq!(*m, n, "{scope:?} {}", p.name),
                }
            }
        }
    }
    assert!(
        small > 5 && hidden > 5,
        "the data must have small and protecting cells ({small}, {hidden})"
    );
}
