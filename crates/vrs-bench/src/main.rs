//! `vrs-load`: drives a running `vrs serve` over HTTP for `bench/doses.sh`.
//!
//! - `vrs-load doses`: signs in as a site tablet (changing its one-time password if due), then
//!   registers one dose per synthetic target (the same people `vrs gen targets` made with the same
//!   municipality, count and seed) from `--concurrency` workers for `--seconds`, each with its own
//!   Idempotency-Key. Every acknowledged registration (201) is appended to `--acked` so a later check
//!   can prove it survived.
//! - `vrs-load healthz`: the same workers on `GET /healthz`, the baseline of the same server.
//!
//! Prints one JSON line: requests, acknowledged, errors, requests per second, p50/p99/max latency.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use reqwest::cookie::CookieStore;
use vrs_bench::Failure;
use vrs_domain::MunicipalityCode;
use vrs_interop::Synthetic;

#[derive(Parser)]
struct Cli {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Parallel workers (each keeps one connection)
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to run
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand)]
enum Target {
    /// POST /api/v1/doses as a site tablet.
    Doses {
        #[arg(long)]
        user: String,
        #[arg(long)]
        password: String,
        /// The targets' municipality, count and seed, as given to `vrs gen targets`
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Start at this target (a second run continues where the first stopped)
        #[arg(long, default_value_t = 0)]
        from: usize,
        /// Append "coupon,key" of every acknowledged registration to this file
        #[arg(long)]
        acked: Option<std::path::PathBuf>,
    },
    /// GET /healthz.
    Healthz,
}

/// Signs in (changing a due one-time password) with a client of its own, and returns the CSRF
/// token of the tablet page and the session's `Cookie` header.
async fn sign_in(
    url: &str,
    user: &str,
    password: &str,
) -> Result<(String, reqwest::header::HeaderValue), Failure> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    vrs_bench::web::sign_in(&client, url, user, password).await?;
    let cookie = jar
        .cookies(&url.parse()?)
        .ok_or("no session cookie after signing in")?;
    let page = client
        .get(format!("{url}/tablet"))
        .send()
        .await?
        .text()
        .await?;
    let start = page.find("data-csrf=\"").ok_or("no tablet page")? + "data-csrf=\"".len();
    let end = page[start..].find('"').ok_or("no tablet page")?;
    Ok((page[start..start + end].to_owned(), cookie))
}

struct Tally {
    latencies_us: Vec<u32>,
    ok: u64,
    errors: std::collections::BTreeMap<String, u64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    // The workers' client keeps no cookie store: one matches every request's URL against its
    // cookies (about a fifth of this process's samples in a profile), on the two cores the load
    // generator shares with the server. The session's cookie, read once after signing in, is sent
    // as a header instead, as the tablet's browser sends it.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(cli.concurrency)
        .build()?;
    let url = cli.url.trim_end_matches('/').to_owned();
    let (name, coupons, csrf, cookie, acked, start) = match &cli.target {
        Target::Doses {
            user,
            password,
            municipality,
            count,
            seed,
            from,
            acked,
        } => {
            let code = MunicipalityCode::parse(municipality)
                .map_err(|e| format!("--municipality: {e}"))?;
            let coupons: Vec<String> = Synthetic::new(code, *count, *seed)
                .map(|p| format!("{code}-{}", p.coupon.as_str()))
                .collect();
            let (csrf, cookie) = sign_in(&url, user, password).await?;
            let acked = match acked {
                Some(path) => Some(Arc::new(Mutex::new(std::io::BufWriter::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                )))),
                None => None,
            };
            ("doses", Arc::new(coupons), csrf, Some(cookie), acked, *from)
        }
        Target::Healthz => (
            "healthz",
            Arc::new(Vec::new()),
            String::new(),
            None,
            None,
            0,
        ),
    };
    // Parsed once: every request takes a copy.
    let healthz: reqwest::Url = format!("{url}/healthz").parse()?;
    let doses: reqwest::Url = format!("{url}/api/v1/doses").parse()?;
    let next = Arc::new(AtomicUsize::new(start));
    let ticks_before = own_cpu_ticks();
    let deadline = Instant::now() + Duration::from_secs(cli.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..cli.concurrency {
        let (client, healthz, doses, coupons, csrf, cookie, next, acked) = (
            client.clone(),
            healthz.clone(),
            doses.clone(),
            coupons.clone(),
            csrf.clone(),
            cookie.clone(),
            next.clone(),
            acked.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut tally = Tally {
                latencies_us: Vec::with_capacity(100_000),
                ok: 0,
                errors: Default::default(),
            };
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let (outcome, record) = if coupons.is_empty() {
                    let r = client.get(healthz.clone()).send().await;
                    (
                        r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
                        None,
                    )
                } else {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(coupon) = coupons.get(i) else { break };
                    let key = format!("bench-{i}");
                    let body = serde_json::json!({
                        "coupon": coupon, "dose_number": 1, "administered_on": "2021-06-01",
                        "product": "comirnaty", "lot_number": "FA4597",
                    });
                    let mut request = client
                        .post(doses.clone())
                        .header("idempotency-key", &key)
                        .header("x-csrf-token", &csrf);
                    if let Some(cookie) = &cookie {
                        request = request.header(reqwest::header::COOKIE, cookie.clone());
                    }
                    let r = request.json(&body).send().await;
                    let status = match r {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            Ok(s)
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    (status, Some(format!("{coupon},{key}")))
                };
                let took = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                match outcome {
                    Ok(200 | 201) => {
                        tally.ok += 1;
                        tally.latencies_us.push(took);
                        if let (Some(file), Some(line)) = (&acked, record) {
                            if let Ok(mut f) = file.lock() {
                                let _ = writeln!(f, "{line}");
                            }
                        }
                    }
                    Ok(status) => *tally.errors.entry(format!("http {status}")).or_default() += 1,
                    Err(e) => {
                        *tally
                            .errors
                            .entry(e.chars().take(60).collect())
                            .or_default() += 1
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally {
        latencies_us: Vec::new(),
        ok: 0,
        errors: Default::default(),
    };
    for w in workers {
        let t = w.await?;
        all.ok += t.ok;
        all.latencies_us.extend(t.latencies_us);
        for (k, v) in t.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // The load generator shares the machine with the server: what it spends per request (its
    // requests and answers differ between the loads) is printed beside the rates.
    let client_us = ticks_before.zip(own_cpu_ticks()).map(|(before, after)| {
        let per = (after - before) as f64 * 1e6 / CLOCK_TICKS_PER_SECOND / all.ok.max(1) as f64;
        (per * 10.0).round() / 10.0
    });
    if let Some(file) = &acked {
        if let Ok(mut f) = file.lock() {
            f.flush()?;
        }
    }
    all.latencies_us.sort_unstable();
    let l = &all.latencies_us;
    println!(
        "{}",
        serde_json::json!({
            "target": name,
            "concurrency": cli.concurrency,
            "seconds": (secs * 100.0).round() / 100.0,
            "acknowledged": all.ok,
            "per_second": (all.ok as f64 / secs).round(),
            "p50_ms": percentile(l, 0.50),
            "p99_ms": percentile(l, 0.99),
            "max_ms": percentile(l, 1.0),
            "errors": all.errors,
            "client_cpu_us_per_request": client_us,
        })
    );
    Ok(())
}

/// Linux's `USER_HZ`, the unit of `/proc/*/stat`'s CPU times (fixed at 100 on every architecture
/// the project runs on).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// This process's CPU time so far (user + system, in clock ticks), from `/proc/self/stat`.
fn own_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) start at the state, field 3.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let (user, system) = (fields.get(11)?, fields.get(12)?);
    Some(user.parse::<u64>().ok()? + system.parse::<u64>().ok()?)
}
