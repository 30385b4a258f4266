//! Statistics: counts by day, dose number, product, age band and sex, and coverage, computed from
//! the records and kept current by a job; read by municipalities (their own, as counted), by
//! prefectures (their municipalities) and by the nation — always as counts, never a person, and
//! with small counts suppressed in every view that leaves the municipality.
//!
//! **Kept current**: every change of a municipality's records appends an entry to its audit chain,
//! so the job ([`refresh`]) recomputes exactly the municipalities whose chain head moved since their
//! statistics were computed, each from one pass over its records, and replaces them as a whole. In
//! `vrs serve` the job runs every `statistics_interval` (default 60 s): that is the lag.
//! [`rebuild`] recomputes regardless; both compute the same way, so a rebuild gives the same numbers.

pub mod opendata;
pub mod view;

use std::collections::BTreeMap;
use vrs_store::Areas;

use chrono::{NaiveDate, Utc};
use vrs_domain::opendata::product_group;
use vrs_domain::{AgeBand, AuditAction, MunicipalityCode, OpenAgeGroup, Sex};
use vrs_store::{
    AgeCount, AreaStatistics, AuditScope, AuditStore, CoverageCount, DailyCount, OpenCount,
    ProductCount, StatisticsStore, Store, StoreError,
};

use crate::Actor;

/// People read per page from the store.
const PAGE: u32 = 5_000;

/// Computes one municipality's statistics from its records. `today` decides who is a target
/// (neither moved out nor deceased on that day) and the age bands of coverage.
pub async fn compute(
    store: &(impl AuditStore + StatisticsStore + ?Sized),
    scope: MunicipalityCode,
    today: NaiveDate,
) -> Result<AreaStatistics, StoreError> {
    // Read the head first: a change made during the pass moves it again, and the next run redoes it.
    let source_seq = store
        .audit_head(AuditScope::Area(scope))
        .await?
        .map_or(0, |(seq, _)| seq);
    let mut daily: BTreeMap<(NaiveDate, u8), u64> = BTreeMap::new();
    let mut products: BTreeMap<(u8, String), u64> = BTreeMap::new();
    let mut ages: BTreeMap<(AgeBand, Sex, u8), u64> = BTreeMap::new();
    let mut coverage: BTreeMap<(AgeBand, Sex, u8), u64> = BTreeMap::new();
    let mut open: BTreeMap<(NaiveDate, Sex, OpenAgeGroup, u8, &'static str), u64> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store
            .area(scope)
            .statistics_source(after.as_ref(), PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        for p in &page {
            for (n, day, product) in &p.doses {
                *daily.entry((*day, *n)).or_default() += 1;
                *products.entry((*n, product.clone())).or_default() += 1;
                let band = AgeBand::on(p.birth_date, *day);
                *ages.entry((band, p.sex, *n)).or_default() += 1;
                let group = OpenAgeGroup::of(band);
                *open
                    .entry((*day, p.sex, group, *n, product_group(product)))
                    .or_default() += 1;
            }
            let gone = |d: Option<NaiveDate>| d.is_some_and(|d| d <= today);
            if !gone(p.moved_out_on) && !gone(p.deceased_on) {
                let band = AgeBand::on(p.birth_date, today);
                let received = u8::try_from(p.doses.len()).unwrap_or(u8::MAX);
                for k in 0..=received {
                    *coverage.entry((band, p.sex, k)).or_default() += 1;
                }
            }
        }
        after = page.last().map(|p| p.atena.clone());
        if !full {
            break;
        }
    }
    Ok(AreaStatistics {
        source_seq,
        computed_at: Some(Utc::now()),
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
        open: open
            .into_iter()
            .map(
                |((day, sex, age_group, dose_number, group), doses)| OpenCount {
                    day,
                    sex,
                    age_group,
                    dose_number,
                    product_group: group.to_owned(),
                    doses,
                },
            )
            .collect(),
    })
}

/// Recomputes the municipalities whose records changed since their statistics were computed
/// (found in one read, so a pass after one change costs that municipality, not the country; a
/// municipality whose chain moved on only by reads is marked current instead); returns those it
/// replaced.
pub async fn refresh(
    store: &(impl AuditStore + StatisticsStore + ?Sized),
    today: NaiveDate,
) -> Result<Vec<MunicipalityCode>, StoreError> {
    let mut replaced = Vec::new();
    for m in store.statistics_stale().await? {
        // A chain moved on only by reads (searches, record views, exports, sign-ins) leaves the
        // figures as they were: marked current, not computed again. Staff looking people up all
        // day must not make the job read a city of millions after every search.
        if store.area(m).statistics_still_current().await? {
            continue;
        }
        let stats = compute(store, m, today).await?;
        if store.area(m).replace_statistics(&stats).await? {
            replaced.push(m);
        }
    }
    Ok(replaced)
}

/// Recomputes the statistics of `only` (or of every municipality) from the records, whatever is
/// stored. Audited in each municipality's chain (which also marks the new computation as newer).
pub async fn rebuild(
    store: &dyn Store,
    actor: &Actor,
    only: Option<MunicipalityCode>,
    today: NaiveDate,
) -> Result<Vec<MunicipalityCode>, StoreError> {
    let all = match only {
        Some(m) => vec![m],
        None => store.municipalities().await?,
    };
    for &m in &all {
        store
            .append_audit(
                AuditScope::Area(m),
                &actor.audit(AuditAction::StatisticsRebuild, m.as_str()),
            )
            .await?;
        let stats = compute(store, m, today).await?;
        store.area(m).replace_statistics(&stats).await?;
    }
    Ok(all)
}
