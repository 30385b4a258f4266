//! Site tablets registering doses under load, and what they recorded: every acknowledgement and
//! failure, the rate, the window in which registrations failed, and the check of what is stored.

use super::*;

/// What the tablets did: each registration acknowledged (its index, when), each failed try (when,
/// what), and the longest wait for an answer.
#[derive(Default)]
pub(super) struct Record {
    pub(super) acked: Vec<(usize, Instant)>,
    pub(super) failed: Vec<(Instant, String)>,
    pub(super) slowest: Duration,
}

/// Tablets registering one dose per target, in order, each with its own Idempotency-Key, spread
/// over `bases` (tablet `t` sends to `bases[t % len]`). A registration that fails (no answer, 502,
/// 503, 504) is sent again with the same key and body until it is acknowledged; any other answer
/// fails the test, a 500 above all.
pub(super) struct Tablets {
    pub(super) record: Arc<Mutex<Record>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Tablets {
    pub(super) fn start(
        client: &reqwest::Client,
        csrf: &str,
        bases: &[String],
        next: &Arc<AtomicUsize>,
    ) -> Self {
        let coupons: Arc<Vec<String>> = Arc::new(
            vrs_interop::Synthetic::new(
                MunicipalityCode::parse(MUNICIPALITY).unwrap(),
                TARGETS as u64,
                SEED,
            )
            .map(|p| p.coupon.as_str().to_owned())
            .collect(),
        );
        let record = Arc::new(Mutex::new(Record::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..TABLETS)
            .map(|t| {
                let (client, csrf, base) =
                    (client.clone(), csrf.to_owned(), bases[t % bases.len()].clone());
                let (coupons, record, stop, next) =
                    (coupons.clone(), record.clone(), stop.clone(), next.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let coupon = coupons.get(i).expect("every target registered: make TARGETS larger");
                        let body = serde_json::json!({
                            "coupon": format!("{MUNICIPALITY}-{coupon}"), "dose_number": 1,
                            "administered_on": "2021-06-01", "product": "comirnaty", "lot_number": "FA4597",
                        });
                        let first = Instant::now();
                        loop {
                            assert!(
                                first.elapsed() < Duration::from_secs(90),
                                "registration {i} not acknowledged within 90 s"
                            );
                            let sent = Instant::now();
                            let answer = client
                                .post(format!("{base}/api/v1/doses"))
                                .header("idempotency-key", format!("ha-{i}"))
                                .header("x-csrf-token", &csrf)
                                .json(&body)
                                .timeout(Duration::from_secs(60))
                                .send()
                                .await;
                            let took = sent.elapsed();
                            let failure = match answer {
                                Ok(r) if r.status().as_u16() == 201 || r.status().as_u16() == 200 => None,
                                Ok(r) if r.status().as_u16() == 503 => {
                                    let retry_after = r.headers().get("retry-after").cloned();
                                    let text = r.text().await.unwrap_or_default();
                                    assert!(
                                        retry_after.is_some() && text.contains("\"unavailable\""),
                                        "a 503 without Retry-After or not `unavailable`: {text}"
                                    );
                                    Some(format!("503 {text}"))
                                }
                                Ok(r) if [502, 504].contains(&r.status().as_u16()) => {
                                    Some(format!("{} from the load balancer", r.status()))
                                }
                                Ok(r) => {
                                    let status = r.status();
                                    panic!("registration {i} answered {status}: {}", r.text().await.unwrap_or_default())
                                }
                                Err(e) => Some(format!("no answer: {e}")),
                            };
                            let acknowledged = failure.is_none();
                            {
                                let mut seen = record.lock().unwrap();
                                seen.slowest = seen.slowest.max(took);
                                match failure {
                                    None => seen.acked.push((i, Instant::now())),
                                    Some(why) => seen.failed.push((Instant::now(), why)),
                                }
                            }
                            if acknowledged {
                                break;
                            }
                            tokio::time::sleep(RETRY_PAUSE).await;
                        }
                    }
                })
            })
            .collect();
        Tablets {
            record,
            stop,
            workers,
        }
    }

    pub(super) fn acked(&self) -> usize {
        self.record.lock().unwrap().acked.len()
    }

    /// Waits until `n` more registrations are acknowledged than now, at most `within`.
    pub(super) async fn wait_acked(&self, more: usize, within: Duration) {
        let target = self.acked() + more;
        let deadline = Instant::now() + within;
        while self.acked() < target {
            assert!(
                Instant::now() < deadline,
                "fewer than {more} registrations in {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Lets every tablet finish the registration it is sending, then stops them.
    pub(super) async fn finish(self) -> Record {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        Arc::try_unwrap(self.record)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Acknowledged per second between two instants.
pub(super) fn rate(record: &Record, from: Instant, to: Instant) -> f64 {
    let n = record
        .acked
        .iter()
        .filter(|(_, at)| *at >= from && *at < to)
        .count();
    n as f64 / (to - from).as_secs_f64()
}

/// Every acknowledged registration is stored exactly once, and no coupon has two doses; the
/// number of doses stored.
pub(super) fn check_stored(url: &str, record: &Record) -> usize {
    let coupons: Vec<String> = vrs_interop::Synthetic::new(
        MunicipalityCode::parse(MUNICIPALITY).unwrap(),
        TARGETS as u64,
        SEED,
    )
    .map(|p| p.coupon.as_str().to_owned())
    .collect();
    let rows = psql(
        url,
        &format!(
            "SELECT coupon_number, count(*) FROM doses WHERE municipality_code = '{MUNICIPALITY}' \
             GROUP BY coupon_number"
        ),
    )
    .expect("the database answers");
    let stored: std::collections::HashMap<&str, u32> = rows
        .lines()
        .filter_map(|l| {
            let (coupon, n) = l.split_once('|')?;
            Some((coupon, n.parse().ok()?))
        })
        .collect();
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "doses stored twice: {twice:?}");
    let missing: Vec<&String> = record
        .acked
        .iter()
        .map(|(i, _)| &coupons[*i])
        .filter(|c| !stored.contains_key(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged registrations lost: {missing:?}",
        missing.len()
    );
    stored.len()
}

/// The failed tries after `from`: the first, the last, and the first acknowledgement after the
/// last (seconds after `from`), and how many tries failed. `None` when none failed.
pub(super) fn window(record: &Record, from: Instant) -> Option<(f64, f64, f64, usize)> {
    let failed: Vec<Instant> = record
        .failed
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| *at >= from)
        .collect();
    let first = *failed.iter().min()?;
    let last = *failed.iter().max()?;
    let back = record
        .acked
        .iter()
        .map(|(_, at)| *at)
        .filter(|at| *at > last)
        .min()
        .unwrap_or(last);
    let secs = |at: Instant| (at - from).as_secs_f64();
    Some((secs(first), secs(last), secs(back), failed.len()))
}

pub(super) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(TABLETS)
        .build()
        .unwrap()
}
