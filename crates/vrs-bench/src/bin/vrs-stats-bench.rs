//! `vrs-stats-bench`: the national statistics dashboard's reads at scale, for `bench/statistics.sh`.
//!
//! Creates a fresh database at `--database`, opens `--municipalities` areas spread over the master
//! list, and loads into each `--people` synthetic targets (through the store's bulk import, sealed
//! like `vrs import`) and their doses (through `Store::add_doses` on SQLite, one `INSERT … SELECT`
//! per municipality on PostgreSQL, see [`pg_doses`]): everyone a first dose spread
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

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use clap::Parser;
use vrs_core::statistics::view::{dashboard, Audience};
use vrs_core::Actor;
use vrs_crypto::MasterKey;
use vrs_domain::{
    master_list, AuditAction, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode,
    MunicipalityKind, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::{AuditScope, ImportRow, StatScope, Store};

type Failure = Box<dyn Error + Send + Sync>;

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

/// Rows sealed and staged per batch, doses written per `add_doses` call.
const BATCH: usize = 4_096;
const DOSE_CHUNK: usize = 20_000;

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

/// Loads one municipality's targets and doses; returns (targets, doses).
async fn load(
    store: Arc<dyn Store>,
    pg: Option<String>,
    m: MunicipalityCode,
    people: u64,
    spread: u64,
) -> Result<(u64, u64), Failure> {
    let actor = Actor::command_line();
    let mut import = store.begin_import(m).await?;
    let sealer = import.sealer();
    let mut keys = Vec::with_capacity(people as usize);
    let mut batch = Vec::with_capacity(BATCH);
    for (i, resident) in Synthetic::new(m, people, 42).enumerate() {
        keys.push((resident.atena.clone(), resident.coupon));
        batch.push(ImportRow {
            line: i as u64 + 2,
            resident,
        });
        if batch.len() == BATCH {
            import
                .stage(sealer.seal(std::mem::take(&mut batch))?)
                .await?;
        }
    }
    if !batch.is_empty() {
        import.stage(sealer.seal(batch)?).await?;
    }
    let refused: Vec<u64> = import.check().await?.into_iter().map(|(l, _)| l).collect();
    let summary = import
        .commit(
            &refused,
            actor.audit(AuditAction::TargetsImport, "vrs-stats-bench"),
        )
        .await?;

    if let Some(url) = pg {
        return Ok((summary.added, pg_doses(&store, &url, m, spread).await?));
    }
    let comirnaty = VaccineProduct::by_code("comirnaty").ok_or("no comirnaty")?;
    let spikevax = VaccineProduct::by_code("spikevax").ok_or("no spikevax")?;
    let lots = ["FA4597", "FC3661", "FF2018", "EY0779"]
        .map(|l| LotNumber::parse(l).map_err(|e| e.to_string()));
    let start = NaiveDate::from_ymd_opt(2021, 3, 1).ok_or("date")?;
    let mut doses = Vec::with_capacity(DOSE_CHUNK);
    let mut written = 0u64;
    for (i, (atena, coupon)) in keys.into_iter().enumerate() {
        if refused.contains(&(i as u64 + 2)) {
            continue;
        }
        let first = start + Days::new((i as u64).wrapping_mul(7_919) % spread.max(1));
        let second = i % 10 != 0;
        let dates = [
            Some(first),
            second.then(|| first + Days::new(21)),
            (second && i % 3 == 0).then(|| first + Days::new(21 + 240)),
        ];
        for (n, day) in dates.into_iter().enumerate() {
            let Some(day) = day else { continue };
            let dose = Dose {
                municipality: m,
                atena: atena.clone(),
                dose_number: vrs_domain::DoseNumber::from_int(n + 1)?,
                administered_on: day,
                product: if n == 2 && i % 2 == 0 {
                    spikevax
                } else {
                    comirnaty
                },
                lot_number: lots[(i + n) % 4].clone()?,
                site_municipality: m,
                coupon,
            };
            doses.push(DoseRecord::now(dose, DoseSource::Csv));
        }
        if doses.len() >= DOSE_CHUNK {
            store
                .add_doses(
                    m,
                    &doses,
                    "vrs-stats-bench",
                    &actor.audit(AuditAction::DosesImport, "vrs-stats-bench"),
                )
                .await?;
            written += doses.len() as u64;
            doses.clear();
        }
    }
    if !doses.is_empty() {
        store
            .add_doses(
                m,
                &doses,
                "vrs-stats-bench",
                &actor.audit(AuditAction::DosesImport, "vrs-stats-bench"),
            )
            .await?;
        written += doses.len() as u64;
    }
    Ok((summary.added, written))
}

/// The same doses on PostgreSQL, written by one `INSERT … SELECT` over the area's residents (in
/// 宛名番号 order rather than the generator's, so the same counts), with one audit entry: through
/// `Store::add_doses`, one round trip a dose, PostgreSQL took about 20 minutes for 10 M doses here.
async fn pg_doses(
    store: &Arc<dyn Store>,
    url: &str,
    m: MunicipalityCode,
    spread: u64,
) -> Result<u64, Failure> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let written = client
        .execute(
            "INSERT INTO doses (municipality_code, atena_number, dose_number, administered_on, product_code, \
             lot_number, site_municipality_code, coupon_number, recorded_at, source, recorded_by) \
             SELECT r.municipality_code, r.atena_number, n, \
               DATE '2021-03-01' + ((r.i * 7919) % $2)::int + (CASE n WHEN 1 THEN 0 WHEN 2 THEN 21 ELSE 261 END), \
               CASE WHEN n = 3 AND r.i % 2 = 0 THEN 'spikevax' ELSE 'comirnaty' END, \
               (ARRAY['FA4597','FC3661','FF2018','EY0779'])[((r.i + n - 1) % 4)::int + 1], \
               r.municipality_code, r.coupon_number, now(), 'csv', 'vrs-stats-bench' \
             FROM (SELECT municipality_code, atena_number, coupon_number, \
                     row_number() OVER (ORDER BY atena_number) - 1 AS i \
                   FROM residents WHERE municipality_code = $1) r \
             CROSS JOIN generate_series(1, 3) n \
             WHERE n = 1 OR (r.i % 10 <> 0 AND (n = 2 OR r.i % 3 = 0))",
            &[&m.as_str(), &i64::try_from(spread.max(1))?],
        )
        .await?;
    store
        .append_audit(
            AuditScope::Area(m),
            &Actor::command_line().audit(AuditAction::DosesImport, "vrs-stats-bench"),
        )
        .await?;
    Ok(written)
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
    let mut finish = |r: (u64, u64), done: &mut usize| {
        targets += r.0;
        doses += r.1;
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
        running.spawn(load(
            store.clone(),
            pg.clone(),
            m,
            cli.people,
            cli.first_dose_days,
        ));
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
