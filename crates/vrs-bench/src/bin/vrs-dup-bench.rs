//! `vrs-dup-bench`: the duplicate scan's kanji signal on one large area.
//!
//! Creates a fresh database at `--database` and loads `--people` synthetic targets (seed 42, no
//! doses) into 西条市 through the store's bulk import, sealed like `vrs import`. Then times, after one
//! untimed run each, `--repeat` times:
//! - `opened`: the signal as the scan computed it before the kanji search index — every person of
//!   the area opened page by page (1,000 at a time) and grouped in memory;
//! - `sql`: `DuplicateStore::duplicate_pairs_by_kanji_birth_sex`, through the indexes;
//! - `kana`: the kana signal's SQL, for comparison;
//! - on PostgreSQL, `fill`: the first `sql` after the area's kanji index was emptied (as rows
//!   stored before the index have it), which opens and indexes every row once.
//!
//! Both ways must find the same pairs. Prints `result<TAB>name<TAB>min<TAB>median<TAB>max` (ms).

use std::collections::HashMap;
use std::time::Instant;
use vrs_store::Areas;

use chrono::NaiveDate;
use clap::Parser;
use vrs_bench::load::{load, Area};
use vrs_bench::Failure;
use vrs_crypto::MasterKey;
use vrs_domain::{AtenaNumber, MunicipalityCode};
use vrs_store::Store;

#[derive(Parser)]
struct Cli {
    /// A new database: sqlite://path or postgres://…
    #[arg(long)]
    database: String,
    /// Synthetic targets in the area
    #[arg(long, default_value_t = 100_000)]
    people: u64,
    /// Timed runs of each measure
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

type Pairs = Vec<(AtenaNumber, AtenaNumber)>;

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The kanji signal from the opened rows, as the scan found it before the index.
async fn opened(store: &dyn Store, scope: MunicipalityCode) -> Result<Pairs, Failure> {
    let mut groups: HashMap<(String, NaiveDate, u8), Vec<(AtenaNumber, String)>> = HashMap::new();
    let mut after: Option<AtenaNumber> = None;
    loop {
        let page = store
            .area(scope)
            .residents_page(after.as_ref(), 1_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.atena.clone());
        for r in page {
            let key = (squeeze(r.name.as_str()), r.birth_date, r.sex.code());
            let kana = squeeze(r.name_kana.as_str());
            groups.entry(key).or_default().push((r.atena, kana));
        }
    }
    let mut pairs = Vec::new();
    for people in groups.values().filter(|g| g.len() > 1) {
        for (i, (a, kana_a)) in people.iter().enumerate() {
            for (b, kana_b) in &people[i + 1..] {
                if kana_a != kana_b {
                    pairs.push((a.clone(), b.clone()));
                }
            }
        }
    }
    pairs.sort();
    Ok(pairs)
}

fn report(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "result\t{name}\t{:.1}\t{:.1}\t{:.1}",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    let store = vrs_store::open(&cli.database, MasterKey::generate()?, true).await?;
    let scope = MunicipalityCode::parse("382060")?;
    let pg = (store.backend() == "postgres").then(|| cli.database.clone());
    let t = Instant::now();
    let area = Area {
        code: scope,
        people: cli.people,
        seed: 42,
        spread: 440,
        doses: false,
        sample_every: 0,
    };
    let loaded = load(store.clone(), pg.clone(), area, "vrs-dup-bench").await?;
    println!(
        "{}: {} targets loaded in {:.1} s",
        store.backend(),
        loaded.targets,
        t.elapsed().as_secs_f64()
    );

    let before = opened(&*store, scope).await?;
    let after = store
        .area(scope)
        .duplicate_pairs_by_kanji_birth_sex()
        .await?;
    if before != after {
        return Err(format!("{} pairs opened, {} by SQL", before.len(), after.len()).into());
    }
    println!("kanji pairs: {} (both ways)", after.len());
    let repeat = cli.repeat.max(1);
    let (mut old, mut new, mut kana) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        let t = Instant::now();
        std::hint::black_box(opened(&*store, scope).await?);
        old.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(
            store
                .area(scope)
                .duplicate_pairs_by_kanji_birth_sex()
                .await?,
        );
        new.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(
            store
                .area(scope)
                .duplicate_pairs_by_kana_birth_sex()
                .await?,
        );
        kana.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("opened", old);
    report("sql", new);
    report("kana", kana);
    if let Some(url) = pg {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        let mut fill = Vec::new();
        for _ in 0..repeat {
            client
                .execute(
                    "UPDATE residents SET kanji_birth_index = NULL WHERE municipality_code = $1",
                    &[&scope.as_str()],
                )
                .await?;
            let t = Instant::now();
            let again = store
                .area(scope)
                .duplicate_pairs_by_kanji_birth_sex()
                .await?;
            fill.push(t.elapsed().as_secs_f64() * 1e3);
            if again != after {
                return Err("the pairs after the fill differ".into());
            }
        }
        report("fill", fill);
    }
    Ok(())
}
