//! Statistics on both backends: after random registrations, corrections, deletions and flags, the
//! stored aggregates equal an independent recount of the records; the job recomputes exactly the
//! municipalities that changed; a rebuild gives the same numbers; prefecture and nation sums add
//! up; every view that leaves the municipality suppresses small counts, complementary included;
//! the public open data shows no count 1–9, directly or by differencing its files and releases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use vrs_store::testkit::code;

use chrono::NaiveDate;
use vrs_core::statistics::view::{dashboard, Audience};
use vrs_core::statistics::{rebuild, refresh};
use vrs_core::Actor;
use vrs_domain::{
    AgeBand, AuditAction, Cell, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode,
    PrefectureCode, Resident, Sex, VaccineProduct, SUPPRESS_BELOW,
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
            store.put_resident(m, p, &audit()).await.unwrap();
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
                    .correct_dose(
                        saijo,
                        last,
                        &after,
                        &staff.audit(AuditAction::DoseCorrect, "x"),
                    )
                    .await
                    .unwrap();
                changed += 1;
            }
            (1, Some(last)) => {
                store
                    .delete_dose(saijo, last, &staff.audit(AuditAction::DoseDelete, "x"))
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
fn all_cells(t: &vrs_core::statistics::view::Table) -> Vec<Cell> {
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

/// Every number anywhere in a JSON value, with its path.
fn numbers(v: &serde_json::Value, path: String, out: &mut BTreeMap<String, f64>) {
    match v {
        serde_json::Value::Number(n) => {
            out.insert(path, n.as_f64().unwrap());
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                // Arrays of areas or days are keyed by their code or date, so two releases line up.
                let key = x
                    .get("code")
                    .or_else(|| x.get("date"))
                    .or_else(|| x.get("age_band"))
                    .and_then(|k| k.as_str())
                    .map_or(i.to_string(), str::to_owned);
                numbers(x, format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                numbers(x, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The counts of a release: each daily record's count (a number, or none for `<10`) and every
/// count of the summary (coverage percentages and settings left out).
struct Release {
    daily: BTreeMap<String, Option<u64>>,
    summary: serde_json::Value,
    counts: BTreeMap<String, f64>,
    files: BTreeMap<String, Vec<u8>>,
}

async fn release(store: &dyn Store) -> Release {
    let mut files = BTreeMap::new();
    for f in store.open_release().await.unwrap() {
        let body = store.open_file(&f.name).await.unwrap().unwrap().body;
        files.insert(f.name, body);
    }
    let daily = vrs_core::statistics::opendata::daily_counts(&files["daily.ndjson"])
        .into_iter()
        .map(|(k, v)| (k, v.as_u64()))
        .collect();
    let summary: serde_json::Value = serde_json::from_slice(&files["summary.json"]).unwrap();
    let mut all = BTreeMap::new();
    numbers(&summary, String::new(), &mut all);
    let counts = all
        .into_iter()
        .filter(|(k, _)| {
            !k.contains("coverage_percent")
                && !k.ends_with("suppressed_below")
                && !k.ends_with("rounded_to")
        })
        .collect();
    Release {
        daily,
        summary,
        counts,
        files,
    }
}

fn small(d: f64) -> bool {
    (1.0..10.0).contains(&d.abs())
}

/// The differences a reader could take within one release: each prefecture's total doses against
/// its daily records, the nation against its prefectures (doses, targets, people with n doses),
/// and each day of the nation against that day's records.
fn differences_within(r: &Release) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let s = &r.summary;
    let mut by_prefecture: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_day_dose: BTreeMap<(String, u64), f64> = BTreeMap::new();
    for (key, count) in &r.daily {
        let record: serde_json::Value = serde_json::from_str(key).unwrap();
        let n = count.unwrap_or(0) as f64;
        *by_prefecture
            .entry(record["prefecture"].as_str().unwrap().to_owned())
            .or_default() += n;
        *by_day_dose
            .entry((
                record["date"].as_str().unwrap().to_owned(),
                record["dose_number"].as_u64().unwrap(),
            ))
            .or_default() += n;
    }
    for p in s["prefectures"].as_array().unwrap() {
        if let Some(total) = p["doses"].as_f64() {
            let code = p["code"].as_str().unwrap();
            let sum = by_prefecture.get(code).copied().unwrap_or(0.0);
            out.push((
                format!("prefecture {code} doses − its records"),
                total - sum,
            ));
        }
    }
    let prefectures = s["prefectures"].as_array().unwrap();
    let mut fields = vec!["doses".to_owned(), "targets".to_owned()];
    fields.extend((1..=3).map(|n| format!("people_with_at_least/{n}")));
    for f in fields {
        let pointer = format!("/{f}");
        if let Some(nation) = s["nation"].pointer(&pointer).and_then(|v| v.as_f64()) {
            let sum: f64 = prefectures
                .iter()
                .filter_map(|p| p.pointer(&pointer).and_then(|v| v.as_f64()))
                .sum();
            out.push((format!("nation {f} − prefectures"), nation - sum));
        }
    }
    for d in s["daily"].as_array().unwrap() {
        let date = d["date"].as_str().unwrap();
        for (n, v) in d["doses"].as_object().unwrap() {
            if let Some(v) = v.as_f64() {
                let sum = by_day_dose
                    .get(&(date.to_owned(), n.parse().unwrap()))
                    .copied()
                    .unwrap_or(0.0);
                out.push((format!("nation on {date} dose {n} − records"), v - sum));
            }
        }
    }
    out
}

async fn open_data_never_lets_a_count_from_1_to_9_be_recovered(db: &TestDb) {
    use vrs_core::statistics::opendata::{publish, OpenDataSettings};
    let store = db.store.as_ref();
    let mut rng = Lcg(24);
    let people = populate_over(store, 400, &mut rng, 3).await;
    refresh(store, today()).await.unwrap();

    // The stored open counts equal a recount of the records.
    let mut recounted: BTreeMap<String, u64> = BTreeMap::new();
    for p in &people {
        let m = p.municipality;
        for d in store.doses_of(m, &p.atena).await.unwrap() {
            let d = &d.dose;
            let group = vrs_domain::OpenAgeGroup::of(AgeBand::on(p.birth_date, d.administered_on));
            let key = format!(
                "{m} {} {:?} {} {} {}",
                d.administered_on,
                p.sex,
                group.code(),
                d.dose_number,
                vrs_domain::opendata::product_group(d.product.code)
            );
            *recounted.entry(key).or_default() += 1;
        }
    }
    let stored: BTreeMap<String, u64> = store
        .open_counts(vrs_store::OpenGrain::Municipality)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let c = r.count;
            (
                format!(
                    "{} {} {:?} {} {} {}",
                    r.area,
                    c.day,
                    c.sex,
                    c.age_group.code(),
                    c.dose_number,
                    c.product_group
                ),
                c.doses,
            )
        })
        .collect();
    assert_eq!(stored, recounted);

    let t1 = chrono::Utc::now();
    publish(store, &OpenDataSettings::default(), t1)
        .await
        .unwrap();
    let first = release(store).await;
    assert!(first.daily.len() > 50, "{} records", first.daily.len());

    // Directly: every count is <10 or a multiple of ten of at least ten; a record's count follows
    // the stored truth.
    let truth: BTreeMap<(String, String), u64> = store
        .open_counts(vrs_store::OpenGrain::Prefecture)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let c = r.count;
            (
                (
                    r.area,
                    format!("{} {} {}", c.day, c.age_group.code(), c.dose_number),
                ),
                c.doses,
            )
        })
        .fold(BTreeMap::new(), |mut m, (k, v)| {
            *m.entry(k).or_default() += v;
            m
        });
    assert!(
        truth.values().any(|&n| n > 0 && n < 10),
        "no small count to hide"
    );
    let marks = vrs_core::statistics::opendata::daily_counts(&first.files["daily.ndjson"]);
    let mut shown = 0;
    for (key, count) in &first.daily {
        let record: serde_json::Value = serde_json::from_str(key).unwrap();
        assert!(record.get("municipality").is_none());
        match count {
            Some(n) => {
                assert!(*n >= 10 && n % 10 == 0, "{key}: {n}");
                shown += 1;
            }
            None => assert_eq!(marks[key], serde_json::json!("<10")),
        }
    }
    assert!(shown > 10, "too few shown counts to test ({shown})");
    for (path, v) in &first.counts {
        assert!(*v == 0.0 || (*v >= 10.0 && v % 10.0 == 0.0), "{path}: {v}");
    }

    // The totals are the staff statistics' suppressed totals, rounded to ten.
    let staff = |scope| dashboard(store, scope, Audience::Outside);
    let rounded =
        |c: Cell| vrs_core::statistics::opendata::cell_json(vrs_domain::opendata::publish_cell(c));
    let nation = staff(StatScope::Nation).await.unwrap();
    assert_eq!(
        first.summary["nation"]["doses"],
        rounded(nation.daily.total.unwrap())
    );
    assert_eq!(
        first.summary["nation"]["targets"],
        rounded(nation.coverage.column_totals[0])
    );
    for p in first.summary["prefectures"].as_array().unwrap() {
        let code = PrefectureCode::parse(p["code"].as_str().unwrap()).unwrap();
        let d = staff(StatScope::Prefecture(code)).await.unwrap();
        assert_eq!(p["doses"], rounded(d.daily.total.unwrap()), "{code}");
        for (k, cell) in d.coverage.column_totals.iter().enumerate().skip(1) {
            assert_eq!(
                p["people_with_at_least"][k.to_string()],
                rounded(*cell),
                "{code} ≥{k}"
            );
        }
    }
    assert_eq!(first.summary["prefectures"].as_array().unwrap().len(), 47);

    // Nothing personal and nothing of a municipality: no code or name of one, no person's name,
    // no date before the campaign (a birth date), no 宛名番号.
    for (name, body) in &first.files {
        let text = match name.ends_with(".sjis.csv") {
            true => encoding_rs::SHIFT_JIS.decode(body).0.into_owned(),
            false => String::from_utf8(body.clone()).unwrap(),
        };
        for a in AREAS {
            assert!(!text.contains(a), "{name} names municipality {a}");
            let m = code(a).info().full_name();
            assert!(!text.contains(&m), "{name} names {m}");
        }
        for p in people.iter().take(50) {
            assert!(!text.contains(p.name.as_str()), "{name} holds a name");
            assert!(!text.contains(p.name_kana.as_str()), "{name} holds a name");
            assert!(!text.contains(p.atena.as_str()), "{name} holds a 宛名番号");
        }
        // Every date is a day of the campaign, never a birth date.
        let dates = text.match_indices('-').filter_map(|(i, _)| {
            let start = i.checked_sub(4)?;
            text.get(start..i)
                .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
        });
        for year in dates {
            assert!(year >= "2021", "{name} holds a date of {year}");
        }
    }
    assert!(!first.files.contains_key("municipalities.ndjson"));

    // Within the release: no difference of its figures is 1–9.
    let within = differences_within(&first);
    assert!(within.len() > 20);
    for (what, d) in &within {
        assert!(!small(*d), "{what}: {d}");
    }

    // A day later, three late registrations for a past day in 西条市 (and nothing else).
    let saijo = code("382060");
    let true_total = || async {
        let s = store.scope_statistics(StatScope::Nation).await.unwrap();
        s.daily.iter().map(|d| d.doses).sum::<u64>()
    };
    let true_before = true_total().await;
    let mut added = 0;
    for p in people.iter().filter(|p| p.municipality == saijo) {
        if added == 3 {
            break;
        }
        if store.doses_of(saijo, &p.atena).await.unwrap().is_empty() {
            let d = dose(
                p,
                1,
                NaiveDate::from_ymd_opt(2021, 6, 10).unwrap(),
                "comirnaty",
            );
            store
                .add_doses(saijo, &[d], "late", &audit())
                .await
                .unwrap();
            added += 1;
        }
    }
    assert_eq!(added, 3);
    refresh(store, today()).await.unwrap();
    assert_eq!(true_total().await, true_before + 3);
    publish(
        store,
        &OpenDataSettings::default(),
        t1 + chrono::Duration::days(1),
    )
    .await
    .unwrap();
    let second = release(store).await;
    // The true national total moved by exactly 3; what is published moved by 0 or 10.
    let published = |r: &Release| r.summary["nation"]["doses"].as_f64().unwrap();
    let moved = published(&second) - published(&first);
    assert!(moved == 0.0 || moved == 10.0, "{moved}");
    for (key, a) in &first.daily {
        if let (Some(a), Some(Some(b))) = (a, second.daily.get(key)) {
            assert!(!small(*b as f64 - *a as f64), "{key}: {a} → {b}");
        }
    }
    let mut compared = 0;
    for (path, a) in &first.counts {
        if let Some(b) = second.counts.get(path) {
            assert!(!small(b - a), "{path}: {a} → {b}");
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
    for (what, d) in differences_within(&second) {
        assert!(!small(d), "{what}: {d}");
    }
}

async fn municipality_level_open_data_only_when_enabled(db: &TestDb) {
    use vrs_core::statistics::opendata::{publish, OpenDataSettings};
    let store = db.store.as_ref();
    let mut rng = Lcg(5);
    populate(store, 40, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let on = OpenDataSettings {
        municipalities: true,
        ..OpenDataSettings::default()
    };
    publish(store, &on, chrono::Utc::now()).await.unwrap();
    let r = release(store).await;
    let municipal = String::from_utf8(r.files["municipalities.ndjson"].clone()).unwrap();
    assert!(municipal.contains("\"municipality\":\"382060\""));
    assert!(municipal.contains("西条市"));
    for line in municipal.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let c = &v["count"];
        assert!(
            c == "<10" || c.as_u64().is_some_and(|n| n >= 10 && n % 10 == 0),
            "{line}"
        );
    }
    let csv = encoding_rs::SHIFT_JIS
        .decode(&r.files["municipalities.sjis.csv"])
        .0
        .into_owned();
    assert!(csv.starts_with("date,prefecture,prefecture_name,municipality,municipality_name,sex"));
    assert!(csv.contains("愛媛県") && csv.contains("千代田区"));
    let listed: Vec<&str> = r.summary["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["131016", "382019", "382060"]);
    // Turned off again, the next release has none of it.
    publish(store, &OpenDataSettings::default(), chrono::Utc::now())
        .await
        .unwrap();
    let r = release(store).await;
    assert!(!r.files.contains_key("municipalities.ndjson"));
    assert!(r.summary.get("municipalities").is_none());
    // UTF-8 with a byte-order mark (so a spreadsheet reads it as UTF-8), lines ending CRLF.
    let daily = String::from_utf8(r.files["daily.csv"].clone()).unwrap();
    assert!(daily.starts_with(
        "\u{feff}date,prefecture,prefecture_name,sex,age_group,dose_number,product_group,count\r\n"
    ));
    assert!(!daily.contains("382060"));
}
