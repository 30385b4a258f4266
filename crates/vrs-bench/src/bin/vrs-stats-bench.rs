//! `vrs-stats-bench`: the national statistics dashboard's reads at scale, for `bench/statistics.sh`.
//!
//! Creates a fresh database at `--database`, opens `--municipalities` areas spread over the master
//! list, and loads into each `--people` synthetic targets (through the store's bulk import, sealed
//! like `vrs import`) and their doses (through `Store::add_doses` on SQLite, one `INSERT … SELECT`
//! per municipality on PostgreSQL, see [`vrs_bench::load::pg_doses`]): everyone a first dose spread
//! over `--first-dose-days` days (default 440, so that third doses end about 700 days into the
//! campaign), 9 in 10 a second three weeks later, a third of those a third dose eight months
//! on — about 2.2 doses a person. Then runs the statistics job once over the whole country
//! (`vrs_core::statistics::refresh`), publishes the open data release once (both timed), and times,
//! `--repeat` times each after one untimed warm-up:
//! the nation's sums, the nation's per-municipality figures, the whole national dashboard as a page
//! view builds it before rendering (both reads and the suppressed tables), a prefecture's sums and
//! its whole dashboard, one municipality's sums, and the statistics job after one municipality's
//! chain moved (an audit entry appended, untimed; the job then recomputes that municipality).
//!
//! With `--load-only KEYFILE` it stops after loading (for `bench/backup.sh`).
//!
//! Prints progress, then one line per measure: `result<TAB>name<TAB>min<TAB>median<TAB>max` (ms).

use std::time::Instant;

use chrono::Utc;
use clap::Parser;
use vrs_bench::load::{load, Area};
use vrs_bench::Failure;
use vrs_core::statistics::view::{dashboard, Audience};
use vrs_core::Actor;
use vrs_crypto::MasterKey;
use vrs_domain::{master_list, AuditAction, MunicipalityCode, MunicipalityKind};
use vrs_store::{AuditScope, StatScope, Store};

#[derive(Parser)]
struct Cli {
    /// A new database: sqlite://path or postgres://…
    #[arg(long)]
    database: String,
    /// Municipalities loaded (spread over the master list)
    #[arg(long, default_value_t = 100)]
    municipalities: usize,
    /// Synthetic targets per municipality
    #[arg(long, default_value_t = 50_000)]
    people: u64,
    /// Timed runs of each read
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// Days over which first doses are spread (second doses 21 days and third doses 261 days later)
    #[arg(long, default_value_t = 440)]
    first_dose_days: u64,
    /// Municipalities loaded at the same time
    #[arg(long, default_value_t = 2)]
    parallel: usize,
    /// Only load (no statistics), keeping the master key in this new file so that `vrs` can open
    /// the database afterwards (`bench/backup.sh`)
    #[arg(long)]
    load_only: Option<std::path::PathBuf>,
}

/// The `n` municipalities (not wards, not prefectures) at even steps through the master list, so
/// that most prefectures are present.
fn chosen(n: usize) -> Vec<MunicipalityCode> {
    let all: Vec<_> = master_list()
        .iter()
        .filter(|m| m.kind == MunicipalityKind::Municipality)
        .collect();
    let n = n.min(all.len()).max(1);
    (0..n).map(|i| all[i * all.len() / n].code).collect()
}

/// Runs `f` once untimed, then `repeat` times; returns the sorted times in ms.
async fn time<F, Fut, T>(repeat: usize, mut f: F) -> Result<Vec<f64>, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    f().await?;
    let mut ms = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        std::hint::black_box(f().await?);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}

/// The statistics job after one municipality's records changed, `repeat` times (ms, sorted): each
/// time an audit entry moves its chain head (untimed), then the job runs over the whole country and
/// recomputes that municipality alone.
async fn refresh_one(
    store: &dyn Store,
    m: MunicipalityCode,
    repeat: usize,
) -> Result<Vec<f64>, Failure> {
    let today = Utc::now().date_naive();
    let mut ms = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        store
            .append_audit(
                AuditScope::Area(m),
                &Actor::command_line().audit(AuditAction::StatisticsRebuild, m.as_str()),
            )
            .await?;
        let t = Instant::now();
        let replaced = vrs_core::statistics::refresh(store, today).await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if replaced != [m] {
            return Err(format!("the job recomputed {replaced:?}, not {m}").into());
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    let key = match &cli.load_only {
        Some(path) => MasterKey::create_file(path)?,
        None => MasterKey::generate()?,
    };
    let store = vrs_store::open(&cli.database, key, true).await?;
    let areas = chosen(cli.municipalities);
    let pg = (store.backend() == "postgres").then(|| cli.database.clone());
    println!(
        "{}: {} municipalities × {} targets",
        store.backend(),
        areas.len(),
        cli.people
    );

    let t = Instant::now();
    let (mut targets, mut doses) = (0u64, 0u64);
    let mut running = tokio::task::JoinSet::new();
    let mut done = 0;
    let mut finish = |r: vrs_bench::load::Loaded, done: &mut usize| {
        targets += r.targets;
        doses += r.doses;
        *done += 1;
        if done.is_multiple_of(10) || *done == areas.len() {
            println!(
                "  loaded {done}/{}: {targets} targets, {doses} doses, {:.0} s",
                areas.len(),
                t.elapsed().as_secs_f64()
            );
        }
    };
    for &m in &areas {
        if running.len() >= cli.parallel.max(1) {
            if let Some(r) = running.join_next().await {
                finish(r??, &mut done);
            }
        }
        let area = Area {
            code: m,
            people: cli.people,
            seed: 42,
            spread: cli.first_dose_days,
            doses: true,
            sample_every: 0,
        };
        let (store, pg) = (store.clone(), pg.clone());
        running.spawn(async move { load(store, pg, area, "vrs-stats-bench").await });
    }
    while let Some(r) = running.join_next().await {
        finish(r??, &mut done);
    }
    let load_s = t.elapsed().as_secs_f64();
    println!("load: {targets} targets, {doses} doses in {load_s:.1} s");
    if cli.load_only.is_some() {
        println!("loaded\t{}", areas[0]);
        return Ok(());
    }

    let t = Instant::now();
    let replaced = vrs_core::statistics::refresh(store.as_ref(), Utc::now().date_naive()).await?;
    let refresh_s = t.elapsed().as_secs_f64();
    println!(
        "statistics job (refresh of {} municipalities): {refresh_s:.1} s",
        replaced.len()
    );

    let t = Instant::now();
    let files = vrs_core::statistics::opendata::publish(
        store.as_ref(),
        &vrs_core::statistics::opendata::OpenDataSettings::default(),
        Utc::now(),
    )
    .await?;
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    println!(
        "open data release ({} files, {bytes} bytes): {:.1} s",
        files.len(),
        t.elapsed().as_secs_f64()
    );

    let nation = store.scope_statistics(StatScope::Nation).await?;
    let counted: u64 = nation.daily.iter().map(|d| d.doses).sum();
    println!(
        "national sums: {counted} doses in {} (day, dose) rows, {} product, {} age, {} coverage rows",
        nation.daily.len(),
        nation.by_product.len(),
        nation.by_age.len(),
        nation.coverage.len()
    );
    if counted != doses {
        return Err(format!("the national sums count {counted} doses, {doses} were loaded").into());
    }

    let first = areas[0];
    let prefecture = first.info().prefecture;
    let pref_scope = StatScope::Prefecture(prefecture);
    let pref_count = areas
        .iter()
        .filter(|m| m.info().prefecture == prefecture)
        .count();
    let s: &dyn Store = store.as_ref();
    let mut measures: Vec<(String, Vec<f64>)> = vec![
        (
            "nation_sums".into(),
            time(cli.repeat, || async {
                Ok::<_, Failure>(s.scope_statistics(StatScope::Nation).await?)
            })
            .await?,
        ),
        (
            "nation_municipality_figures".into(),
            time(cli.repeat, || async {
                Ok::<_, Failure>(s.municipality_figures(StatScope::Nation).await?)
            })
            .await?,
        ),
        (
            "nation_dashboard".into(),
            time(cli.repeat, || async {
                Ok::<_, Failure>(dashboard(s, StatScope::Nation, Audience::Outside).await?)
            })
            .await?,
        ),
        (
            format!(
                "prefecture_sums({}, {pref_count} municipalities)",
                prefecture.info().code
            ),
            time(cli.repeat, || async {
                Ok::<_, Failure>(s.scope_statistics(pref_scope).await?)
            })
            .await?,
        ),
        (
            format!("prefecture_dashboard({})", prefecture.info().code),
            time(cli.repeat, || async {
                Ok::<_, Failure>(dashboard(s, pref_scope, Audience::Outside).await?)
            })
            .await?,
        ),
        (
            format!("municipality_sums({first})"),
            time(cli.repeat, || async {
                Ok::<_, Failure>(s.scope_statistics(StatScope::Municipality(first)).await?)
            })
            .await?,
        ),
    ];
    measures.push((
        format!("refresh_one({first}, {} people)", cli.people),
        refresh_one(s, first, cli.repeat).await?,
    ));
    println!("result\tload_s\t{load_s:.1}\t{load_s:.1}\t{load_s:.1}");
    println!("result\trefresh_s\t{refresh_s:.1}\t{refresh_s:.1}\t{refresh_s:.1}");
    for (name, ms) in measures {
        println!(
            "result\t{name}\t{:.2}\t{:.2}\t{:.2}",
            ms[0],
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        );
    }
    Ok(())
}
