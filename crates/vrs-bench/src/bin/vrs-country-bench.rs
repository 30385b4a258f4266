//! `vrs-country-bench`: a synthetic country of N people over the 1,741 municipalities, and the
//! person lookups at that size, for `bench/country.sh`.
//!
//! - `load`: creates a fresh database at `--database` (its master key in the new file
//!   `--key-file`, so `vrs serve` can open it), shares `--people` among the municipalities by
//!   [`vrs_bench::country::apportion`], and loads each area through the store's bulk paths
//!   ([`vrs_bench::load`]: targets sealed and audited as `vrs import` stores them, about 2.2 doses a
//!   person over a campaign of about 700 days). The `--undosed` municipality gets its people but no
//!   doses, so a registration load can run there afterwards. Then, in process, for about
//!   `--lookups` people drawn across the country (in proportion to population): the search by
//!   My Number (through the area's blind index) and by kana name + birth date (through its search
//!   index), each as the store's read alone and as staff make it (`vrs_core::records::search_people`,
//!   which also appends the search's audit entry).
//! - `http`: the same two searches over HTTP against a running `vrs serve`, as municipal staff of
//!   `--municipality` on an LG-WAN terminal (`POST /records` with the My Number, `GET /records` with
//!   kana and birth date), one request at a time; the people are regenerated from the area's count
//!   and seed, as `load` made them.
//!
//! Prints progress, then one line per measure: `result<TAB>name<TAB>p50<TAB>p99<TAB>max<TAB>n`
//! (ms), and for `load` the lines `area<TAB>role<TAB>code<TAB>people` that the script reads.

use std::sync::Arc;
use std::time::Instant;
use vrs_store::Areas;

use clap::{Parser, Subcommand};
use vrs_bench::load::{load, Area, Loaded};
use vrs_bench::{country, mix, quantile, Failure};
use vrs_core::records::{search_people, PersonQuery};
use vrs_core::Actor;
use vrs_crypto::MasterKey;
use vrs_domain::{MunicipalityCode, Resident};
use vrs_interop::Synthetic;
use vrs_store::Store;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Build the country in a new database, then time the lookups in process.
    Load {
        /// A new database: sqlite://path or postgres://…
        #[arg(long)]
        database: String,
        /// A new file for the master key
        #[arg(long)]
        key_file: std::path::PathBuf,
        /// People in the whole country
        #[arg(long, default_value_t = 10_000_000)]
        people: u64,
        /// Seed of the people (the country's shape does not depend on it)
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Days over which first doses are spread (second doses 21 and third 261 days later)
        #[arg(long, default_value_t = 440)]
        first_dose_days: u64,
        /// Municipalities loaded at the same time
        #[arg(long, default_value_t = 2)]
        parallel: usize,
        /// The municipality left without doses
        #[arg(long, default_value = "141003")]
        undosed: String,
        /// About how many people to look up
        #[arg(long, default_value_t = 10_000)]
        lookups: u64,
    },
    /// Time the same lookups over HTTP against a running server.
    Http {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// A municipal staff account of --municipality
        #[arg(long)]
        user: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        municipality: String,
        /// The area's people and seed, as `load` printed and used them
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Timed requests of each kind (after 100 untimed)
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
    },
}

fn report(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "result\t{name}\t{:.3}\t{:.3}\t{:.3}\t{}",
        quantile(&ms, 0.5),
        quantile(&ms, 0.99),
        quantile(&ms, 1.0),
        ms.len()
    );
}

#[allow(clippy::too_many_arguments)]
async fn build(
    database: &str,
    key_file: &std::path::Path,
    people: u64,
    seed: u64,
    spread: u64,
    parallel: usize,
    undosed: MunicipalityCode,
    lookups: u64,
) -> Result<(Arc<dyn Store>, Vec<Resident>), Failure> {
    let store = vrs_store::open(database, MasterKey::create_file(key_file)?, true).await?;
    let pg = (store.backend() == "postgres").then(|| database.to_owned());
    let counts = country::apportion(people);
    let total: u64 = counts.iter().map(|c| c.1).sum();
    let largest = counts.iter().max_by_key(|c| c.1).ok_or("no municipality")?;
    let undosed_people = counts
        .iter()
        .find(|c| c.0 == undosed)
        .ok_or("--undosed is not a populated municipality")?
        .1;
    println!(
        "{}: {total} people over {} municipalities (largest {} {}: {}; smallest {})",
        store.backend(),
        counts.len(),
        largest.0,
        largest.0.info().name,
        largest.1,
        counts.iter().map(|c| c.1).min().unwrap_or(0)
    );
    println!("area\tlargest\t{}\t{}", largest.0, largest.1);
    println!("area\tundosed\t{undosed}\t{undosed_people}");

    // The big areas first, so the two loaders finish together.
    let mut order = counts.clone();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let sample_every = (total / lookups.max(1)).max(1);
    let t = Instant::now();
    let (mut targets, mut doses, mut done) = (0u64, 0u64, 0usize);
    let mut sample = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    let mut finish = |r: Loaded, sample: &mut Vec<Resident>| {
        targets += r.targets;
        doses += r.doses;
        sample.extend(r.sample);
        done += 1;
        if done.is_multiple_of(100) || done == order.len() {
            println!(
                "  loaded {done}/{}: {targets} targets, {doses} doses, {:.0} s",
                order.len(),
                t.elapsed().as_secs_f64()
            );
        }
    };
    for &(code, people) in &order {
        if running.len() >= parallel.max(1) {
            if let Some(r) = running.join_next().await {
                finish(r??, &mut sample);
            }
        }
        let area = Area {
            code,
            people,
            seed,
            spread,
            doses: code != undosed,
            sample_every,
        };
        let (store, pg) = (store.clone(), pg.clone());
        running.spawn(async move { load(store, pg, area, "vrs-country-bench").await });
    }
    while let Some(r) = running.join_next().await {
        finish(r??, &mut sample);
    }
    let load_s = t.elapsed().as_secs_f64();
    println!("load: {targets} targets, {doses} doses in {load_s:.1} s");
    println!(
        "result\tload_s\t{load_s:.1}\t{load_s:.1}\t{load_s:.1}\t{targets}\nresult\tdoses\t{doses}\t{doses}\t{doses}\t{targets}"
    );
    if targets != total {
        return Err(format!("{targets} targets stored of {total}").into());
    }
    // A reproducible order across areas (the loaders finish in any order).
    sample.sort_by_key(|r| {
        let code: u64 = r.municipality.as_str().parse().unwrap_or(0);
        let coupon: u64 = r.coupon.as_str().parse().unwrap_or(0);
        mix(seed ^ code << 34 ^ coupon)
    });
    Ok((store, sample))
}

/// Times each person's two searches: the store's reads, then as staff make them (audited).
async fn lookups(store: &dyn Store, sample: &[Resident]) -> Result<(), Failure> {
    let actor = Actor::command_line();
    let (mut by_number, mut by_kana, mut staff_number, mut staff_kana) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in sample {
        let m = r.municipality;
        let t = Instant::now();
        let found = store.area(m).resident_by_my_number(&r.my_number).await?;
        by_number.push(t.elapsed().as_secs_f64() * 1e3);
        if found.atena != r.atena {
            return Err(format!("My Number of {m} {} found {}", r.atena, found.atena).into());
        }
        let t = Instant::now();
        let found = store
            .area(m)
            .residents_by_kana_birth(&r.name_kana, r.birth_date)
            .await?;
        by_kana.push(t.elapsed().as_secs_f64() * 1e3);
        if !found.iter().any(|f| f.atena == r.atena) {
            return Err(format!("kana + birth date of {m} {} not found", r.atena).into());
        }
    }
    for r in sample {
        let m = r.municipality;
        let q = PersonQuery::MyNumber(r.my_number.clone());
        let t = Instant::now();
        let found = search_people(store, &actor, m, &q).await?;
        staff_number.push(t.elapsed().as_secs_f64() * 1e3);
        if found.len() != 1 {
            return Err(format!("staff search by My Number in {m} found {}", found.len()).into());
        }
        let q = PersonQuery::KanaBirth(r.name_kana.clone(), r.birth_date);
        let t = Instant::now();
        search_people(store, &actor, m, &q).await?;
        staff_kana.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("in_process_my_number(store read)", by_number);
    report("in_process_kana_birth(store read)", by_kana);
    report("in_process_my_number(staff search, audited)", staff_number);
    report("in_process_kana_birth(staff search, audited)", staff_kana);
    Ok(())
}

async fn http(
    url: &str,
    user: &str,
    password: &str,
    municipality: MunicipalityCode,
    count: u64,
    seed: u64,
    requests: usize,
) -> Result<(), Failure> {
    let people: Vec<Resident> = Synthetic::new(municipality, count, seed).collect();
    if people.is_empty() {
        return Err("no people".into());
    }
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    vrs_bench::web::sign_in(&client, url, user, password).await?;
    let page = client
        .get(format!("{url}/records"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = vrs_bench::web::hidden(&page, "csrf").ok_or("no csrf on /records")?;
    let warmup = 100;
    let (mut by_number, mut by_kana) = (Vec::new(), Vec::new());
    for k in 0..warmup + requests {
        let r = &people[(mix(seed ^ k as u64) % people.len() as u64) as usize];
        let link = format!("/records/{}", r.atena);
        let t = Instant::now();
        let resp = client
            .post(format!("{url}/records"))
            .form(&[("csrf", csrf.as_str()), ("my_number", r.my_number.expose())])
            .send()
            .await?;
        let status = resp.status();
        let body = resp.text().await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if status != 200 || !body.contains(&link) {
            return Err(
                format!("POST /records by My Number: {status}, {link} not in the page").into(),
            );
        }
        if k >= warmup {
            by_number.push(ms);
        }
        let birth = r.birth_date.format("%Y-%m-%d").to_string();
        let t = Instant::now();
        let resp = client
            .get(format!("{url}/records"))
            .query(&[("kana", r.name_kana.as_str()), ("birth", birth.as_str())])
            .send()
            .await?;
        let status = resp.status();
        let body = resp.text().await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if status != 200 || !body.contains(&link) {
            return Err(
                format!("GET /records by kana + birth: {status}, {link} not in the page").into(),
            );
        }
        if k >= warmup {
            by_kana.push(ms);
        }
    }
    report("http_my_number(POST /records)", by_number);
    report("http_kana_birth(GET /records)", by_kana);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    match Cli::parse().mode {
        Mode::Load {
            database,
            key_file,
            people,
            seed,
            first_dose_days,
            parallel,
            undosed,
            lookups: n,
        } => {
            let undosed =
                MunicipalityCode::parse(&undosed).map_err(|e| format!("--undosed: {e}"))?;
            let (store, sample) = build(
                &database,
                &key_file,
                people,
                seed,
                first_dose_days,
                parallel,
                undosed,
                n,
            )
            .await?;
            println!("lookups: {} people", sample.len());
            lookups(store.as_ref(), &sample).await
        }
        Mode::Http {
            url,
            user,
            password,
            municipality,
            count,
            seed,
            requests,
        } => {
            let m = MunicipalityCode::parse(&municipality)
                .map_err(|e| format!("--municipality: {e}"))?;
            http(
                url.trim_end_matches('/'),
                &user,
                &password,
                m,
                count,
                seed,
                requests,
            )
            .await
        }
    }
}
