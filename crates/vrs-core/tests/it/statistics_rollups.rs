//! Statistics roll-ups on both backends: after random registrations, corrections and deletions of
//! doses and deaths in municipalities of four prefectures, over several runs of the job, each
//! prefecture's and the nation's sums and every municipality's figures equal the sums of the
//! municipalities' own counts; a rebuild and a shred keep them equal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use vrs_store::Areas;

use chrono::NaiveDate;
use vrs_core::statistics::{rebuild, refresh};
use vrs_core::Actor;
use vrs_domain::{
    AuditAction, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, PrefectureCode,
    Resident, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::{code, TestDb};
use vrs_store::{
    on_both_backends, AgeCount, AuditEntry, CoverageCount, DailyCount, MunicipalityFigures,
    ProductCount, ScopeStatistics, StatScope, Store,
};

on_both_backends!(rollups_equal_a_recount_after_random_changes);

/// 愛媛県 (three), 東京都 (two), 北海道 and 大阪府 (one each).
const AREAS: [&str; 7] = [
    "382060", "382019", "382027", "131016", "131024", "011002", "271004",
];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 6, 1).unwrap()
}

fn audit() -> AuditEntry {
    AuditEntry::now("test", "test", "local", "test", "x")
}

fn staff() -> Actor {
    Actor {
        user: "staff".into(),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
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

fn product(rng: &mut Lcg) -> &'static str {
    if rng.next(3) == 0 {
        "spikevax"
    } else {
        "comirnaty"
    }
}

/// A random day of the campaign.
fn day(rng: &mut Lcg) -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 3, 1).unwrap() + chrono::Days::new(rng.next(400))
}

/// People of each area with up to three doses each.
async fn populate(store: &dyn Store, rng: &mut Lcg) -> Vec<Resident> {
    let mut all = Vec::new();
    for (i, a) in AREAS.iter().enumerate() {
        let m = code(a);
        let residents: Vec<Resident> = Synthetic::new(m, 25, 60 + i as u64).collect();
        let mut doses = Vec::new();
        for p in &residents {
            store.area(m).put_resident(p, &audit()).await.unwrap();
            for n in 1..=rng.next(4) as u8 {
                doses.push(dose(p, n, day(rng), product(rng)));
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

/// One random change to the person: a dose added, the last corrected or deleted, or a death.
async fn change(store: &dyn Store, p: &Resident, rng: &mut Lcg) {
    let m = p.municipality;
    let doses = store.area(m).doses_of(&p.atena).await.unwrap();
    match (rng.next(4), doses.last()) {
        (0, Some(last)) => {
            let mut after = last.clone();
            after.dose.administered_on = day(rng);
            after.dose.product = VaccineProduct::by_code(product(rng)).unwrap();
            let entry = staff().audit(AuditAction::DoseCorrect, "x");
            store
                .area(m)
                .correct_dose(last, &after, &entry)
                .await
                .unwrap();
        }
        (1, Some(last)) => {
            let entry = staff().audit(AuditAction::DoseDelete, "x");
            store.area(m).delete_dose(last, &entry).await.unwrap();
        }
        (3, _) if rng.next(4) == 0 => {
            let died = NaiveDate::from_ymd_opt(2022, 3, 1);
            store
                .area(m)
                .set_flags(&p.atena, None, died, &audit())
                .await
                .unwrap();
        }
        _ if doses.len() < 5 => {
            let n = doses.len() as u8 + 1;
            let d = dose(p, n, day(rng), product(rng));
            store.area(m).add_doses(&[d], "t", &audit()).await.unwrap();
        }
        _ => {}
    }
}

/// The sums of the municipalities' own counts (each read from its per-municipality rows).
fn add_up(parts: &[ScopeStatistics]) -> ScopeStatistics {
    let mut daily: BTreeMap<(NaiveDate, u8), u64> = BTreeMap::new();
    let mut products: BTreeMap<(u8, String), u64> = BTreeMap::new();
    let mut ages = BTreeMap::new();
    let mut coverage = BTreeMap::new();
    for s in parts {
        for d in &s.daily {
            *daily.entry((d.day, d.dose_number)).or_default() += d.doses;
        }
        for p in &s.by_product {
            *products
                .entry((p.dose_number, p.product_code.clone()))
                .or_default() += p.doses;
        }
        for a in &s.by_age {
            *ages.entry((a.age_band, a.sex, a.dose_number)).or_default() += a.doses;
        }
        for c in &s.coverage {
            *coverage.entry((c.age_band, c.sex, c.doses)).or_default() += c.people;
        }
    }
    ScopeStatistics {
        daily: daily
            .into_iter()
            .map(|((day, dose_number), doses)| DailyCount {
                day,
                dose_number,
                doses,
            })
            .collect(),
        by_product: products
            .into_iter()
            .map(|((dose_number, product_code), doses)| ProductCount {
                dose_number,
                product_code,
                doses,
            })
            .collect(),
        by_age: ages
            .into_iter()
            .map(|((age_band, sex, dose_number), doses)| AgeCount {
                age_band,
                sex,
                dose_number,
                doses,
            })
            .collect(),
        coverage: coverage
            .into_iter()
            .map(|((age_band, sex, doses), people)| CoverageCount {
                age_band,
                sex,
                doses,
                people,
            })
            .collect(),
        oldest: parts.iter().filter_map(|s| s.oldest).min(),
    }
}

/// A municipality's figures recounted from its own counts.
fn figures_of(m: MunicipalityCode, s: &ScopeStatistics) -> MunicipalityFigures {
    let mut people_with = Vec::new();
    let mut targets = 0;
    for c in &s.coverage {
        match usize::from(c.doses) {
            0 => targets += c.people,
            k => {
                if people_with.len() < k {
                    people_with.resize(k, 0);
                }
                people_with[k - 1] += c.people;
            }
        }
    }
    MunicipalityFigures {
        municipality: m,
        targets,
        people_with,
        doses: s.daily.iter().map(|d| d.doses).sum(),
        computed_at: s.oldest,
    }
}

/// Every prefecture's and the nation's sums and figures equal the sums of the municipalities'
/// counts, for the municipalities in `areas`.
async fn assert_rollups(store: &dyn Store, areas: &[&str], when: &str) {
    let mut own = BTreeMap::new();
    for a in areas {
        let m = code(a);
        own.insert(
            m,
            store
                .scope_statistics(StatScope::Municipality(m))
                .await
                .unwrap(),
        );
    }
    let prefectures: BTreeSet<PrefectureCode> = own.keys().map(|m| m.prefecture()).collect();
    let mut scopes: Vec<StatScope> = prefectures.into_iter().map(StatScope::Prefecture).collect();
    scopes.push(StatScope::Nation);
    for scope in scopes {
        let within = |m: &MunicipalityCode| match scope {
            StatScope::Prefecture(p) => m.prefecture() == p,
            _ => true,
        };
        let parts: Vec<ScopeStatistics> = own
            .iter()
            .filter(|(m, _)| within(m))
            .map(|(_, s)| s.clone())
            .collect();
        assert_eq!(
            store.scope_statistics(scope).await.unwrap(),
            add_up(&parts),
            "{when}: sums of {scope:?}"
        );
        let figures: Vec<MunicipalityFigures> = own
            .iter()
            .filter(|(m, _)| within(m))
            .map(|(m, s)| figures_of(*m, s))
            .collect();
        assert_eq!(
            store.municipality_figures(scope).await.unwrap(),
            figures,
            "{when}: figures of {scope:?}"
        );
    }
}

async fn rollups_equal_a_recount_after_random_changes(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(1741);
    let people = populate(store, &mut rng).await;
    assert_eq!(refresh(store, today()).await.unwrap().len(), AREAS.len());
    assert_rollups(store, &AREAS, "first run").await;

    for round in 0..4 {
        // Changes in a random few of the municipalities, to a random few of their people.
        let mut touched = BTreeSet::new();
        for a in AREAS {
            if rng.next(3) == 0 {
                continue;
            }
            let m = code(a);
            for p in people.iter().filter(|p| p.municipality == m) {
                if rng.next(4) == 0 {
                    change(store, p, &mut rng).await;
                    touched.insert(m);
                }
            }
        }
        let replaced: BTreeSet<MunicipalityCode> =
            refresh(store, today()).await.unwrap().into_iter().collect();
        assert_eq!(
            replaced, touched,
            "round {round}: the job redoes what changed"
        );
        assert_rollups(store, &AREAS, &format!("round {round}")).await;
    }

    // A rebuild of one municipality, then of all, changes nothing.
    let before = store.scope_statistics(StatScope::Nation).await.unwrap();
    rebuild(store, &Actor::command_line(), Some(code("131016")), today())
        .await
        .unwrap();
    rebuild(store, &Actor::command_line(), None, today())
        .await
        .unwrap();
    assert_rollups(store, &AREAS, "rebuild").await;
    let after = store.scope_statistics(StatScope::Nation).await.unwrap();
    assert_eq!(
        (after.daily, after.by_product, after.by_age, after.coverage),
        (
            before.daily,
            before.by_product,
            before.by_age,
            before.coverage
        )
    );

    // A shredded area leaves its prefecture's and the nation's sums.
    let imabari = code("382027");
    store
        .area(imabari)
        .consent_to_shred("今総第1号", &audit())
        .await
        .unwrap();
    store.area(imabari).shred_area(&audit()).await.unwrap();
    let rest: Vec<&str> = AREAS.into_iter().filter(|a| *a != "382027").collect();
    assert_rollups(store, &rest, "shred").await;
}
