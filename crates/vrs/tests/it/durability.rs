//! A kill -9 of `vrs serve` (SQLite) during a registration load loses no acknowledged dose: tablets
//! register doses concurrently, the server is killed mid-load, and every registration that was
//! answered 201 is in the database file afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn vrs(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vrs"));
    c.current_dir(dir)
        .env_remove("VRS_DATABASE_URL")
        .env_remove("VRS_KEY_FILE")
        .env_remove("VRS_MASTER_KEY")
        .env("VRS_LOG", "warn");
    c
}

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = vrs(dir).args(args).output().unwrap();
    assert!(out.status.success(), "vrs {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_registration_load_loses_no_acknowledged_dose() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, &["init"]);
    let targets = dir.join("targets.csv");
    let count = "3000";
    run(
        dir,
        &[
            "gen",
            "targets",
            "--municipality",
            "382060",
            "--count",
            count,
            "--seed",
            "7",
            "--out",
            targets.to_str().unwrap(),
        ],
    );
    run(
        dir,
        &[
            "import",
            "targets",
            targets.to_str().unwrap(),
            "--municipality",
            "382060",
        ],
    );
    let issued = run(
        dir,
        &[
            "accounts",
            "create",
            "durable-tablet",
            "--role",
            "site_tablet",
            "--municipality",
            "382060",
        ],
    );
    let password = issued.trim().split('\t').nth(1).unwrap().to_owned();
    let mut server = vrs(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server stopped early").unwrap();
        if let Some(rest) = line.strip_prefix("VRS is serving on http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = crate::support::sign_in(&client, &base, "durable-tablet", &password).await;
    let coupons: Vec<String> = vrs_interop::Synthetic::new(
        vrs_domain::MunicipalityCode::parse("382060").unwrap(),
        3000,
        7,
    )
    .map(|p| p.coupon.as_str().to_owned())
    .collect();
    let coupons = Arc::new(coupons);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (client, base, csrf, coupons, acked, next) = (
            client.clone(),
            base.clone(),
            csrf.clone(),
            coupons.clone(),
            acked.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(coupon) = coupons.get(i) else { return };
                let body = serde_json::json!({
                    "coupon": format!("382060-{coupon}"), "dose_number": 1,
                    "administered_on": "2021-06-01", "product": "comirnaty", "lot_number": "FA4597",
                });
                let sent = client
                    .post(format!("{base}/api/v1/doses"))
                    .header("idempotency-key", format!("durable-{i}"))
                    .header("x-csrf-token", &csrf)
                    .json(&body)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        acked.lock().unwrap().push(coupon.clone())
                    }
                    Ok(r) => panic!("registration answered {}", r.status()),
                    // The server is gone: the load is over.
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill the server once the load is well under way.
    for _ in 0..400 {
        if acked.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "only {} registrations before the kill",
        acked.len()
    );
    assert!(
        acked.len() < coupons.len(),
        "the load finished before the kill"
    );
    let db = rusqlite::Connection::open(dir.join("vrs-data/vrs.db")).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT count(*) FROM doses WHERE municipality_code = '382060' AND coupon_number = ?1",
        )
        .unwrap();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|c| {
            stmt.query_row([c.as_str()], |r| r.get::<_, i64>(0))
                .unwrap()
                != 1
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged doses lost: {missing:?}",
        missing.len()
    );
    eprintln!(
        "{} acknowledged registrations, all stored after kill -9",
        acked.len()
    );
}
