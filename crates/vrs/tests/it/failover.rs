//! The production topology's two promises under load (docs/operations.md, "Production topology"),
//! with real processes:
//!
//! * A database failover loses no acknowledged registration: a pg_auto_failover monitor and two
//!   PostgreSQL nodes with synchronous replication on loopback ports, `vrs init` and two `vrs
//!   serve` nodes on the multi-host URL (`target_session_attrs=read-write`), site tablets
//!   registering doses on both nodes; `kill -9` of the primary's postmaster; pg_auto_failover
//!   promotes the standby. Every registration acknowledged (201) is on the new primary exactly
//!   once, no dose is stored twice, and no request was answered 500 or hung: while no primary
//!   answered, the servers said 503 with `Retry-After` and the tablets sent the same registration
//!   again with the same Idempotency-Key.
//! * The loss of a `vrs serve` node behind HAProxy (health checks on `/healthz`) is not seen beyond
//!   retries: tablets register through HAProxy, one node is killed with `kill -9`, the other takes
//!   the load, and every acknowledged registration is stored exactly once.
//!
//! Each prints what it measured (the window in which registrations failed, registrations per
//! second) for BENCHMARKS.md. They need root, `runuser`, pg_auto_failover (`pg_autoctl` and the
//! PostgreSQL extension), `psql` and HAProxy; without them they are skipped with a message, except
//! under CI (`VRS_REQUIRE_FAILOVER=1`), where they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vrs_domain::MunicipalityCode;

#[path = "failover/cluster.rs"]
mod cluster;
#[path = "failover/processes.rs"]
mod processes;
#[path = "failover/tablets.rs"]
mod tablets;

use cluster::*;
use processes::*;
use tablets::*;

const MUNICIPALITY: &str = "382060";
const TARGETS: usize = 20_000;
const SEED: u64 = 11;
/// Tablets registering at once.
const TABLETS: usize = 16;
/// How long a tablet waits between two tries of one registration: shorter than the servers'
/// `Retry-After` so that the window in which registrations failed is measured finely.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Whether every tool is here; under CI (`VRS_REQUIRE_FAILOVER=1`) they must be.
fn available(tools: &[(&str, &[&str])], extra: &[(&str, bool)]) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|(tool, args)| {
            !Command::new(tool)
                .args(*args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(tool, _)| (*tool).to_owned())
        .collect();
    missing.extend(
        extra
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(what, _)| (*what).to_owned()),
    );
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("VRS_REQUIRE_FAILOVER").as_deref() != Ok("1"),
        "VRS_REQUIRE_FAILOVER=1 but these are missing: {}",
        missing.join(", ")
    );
    eprintln!(
        "skipped: missing {} (apt-get install postgresql-15-auto-failover pg-auto-failover-cli haproxy; run as root)",
        missing.join(", ")
    );
    false
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free TCP port on loopback (free when asked; nothing else on this machine takes ports so fast
/// that it matters).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `psql` at `url`, one query, unaligned rows; `None` when it fails.
fn psql(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .args(["-X", "-qAt", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "2")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Sends SIGKILL to a process, or with a negative id to a process group.
fn kill9(pid: i64) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The PostgreSQL binaries that pg_auto_failover's extension is installed for (Debian's layout).
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|v| {
            Path::new(&format!(
                "/usr/share/postgresql/{v}/extension/pgautofailover.control"
            ))
            .exists()
        })
        .collect();
    versions.sort_unstable();
    versions
        .last()
        .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failover_loses_no_acknowledged_registration() {
    let bin = postgres_bin();
    if !available(
        &[
            ("pg_autoctl", &["--version"]),
            ("runuser", &["--version"]),
            ("psql", &["--version"]),
        ],
        &[
            ("root", is_root()),
            ("the pgautofailover extension", bin.is_some()),
        ],
    ) {
        return;
    }
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(bin.unwrap()))
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let key_hex = vrs_store::testkit::key_pair().1;
    let password = deploy(work.path(), &url, &key_hex);
    let nodes = [
        Server::start(work.path(), &url, &key_hex, "serve-1"),
        Server::start(work.path(), &url, &key_hex, "serve-2"),
    ];
    let client = http_client();
    let csrf = crate::support::sign_in(&client, &nodes[0].base(), "ha-tablet", &password).await;
    let first_primary = cluster.primary().expect("a primary");
    assert_eq!(first_primary, cluster.nodes[0]);

    let next = Arc::new(AtomicUsize::new(0));
    let tablets = Tablets::start(&client, &csrf, &[nodes[0].base(), nodes[1].base()], &next);
    tablets.wait_acked(200, Duration::from_secs(60)).await;
    let steady = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // kill -9 of the primary's postmaster under load.
    let killed = Instant::now();
    kill9(cluster.postmaster_pid(first_primary));
    // Registrations go on through the failover: wait for 300 acknowledged after it.
    tablets.wait_acked(300, Duration::from_secs(90)).await;
    let resumed = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let record = tablets.finish().await;
    let new_primary = cluster.primary().expect("a primary after the failover");
    assert_ne!(
        new_primary,
        first_primary,
        "pg_auto_failover did not promote the standby: {:?}",
        cluster.states()
    );
    let stored = check_stored(&url, &record);
    let after_kill = record.acked.iter().filter(|(_, at)| *at >= killed).count();
    let before = record.acked.len() - after_kill;
    let (start, end, back, tries) = window(&record, killed).unwrap_or_default();
    // Commits on the old primary restarted without its standby, answered 503 rather than
    // acknowledged (PostgreSQL returned them without a standby's confirmation).
    let withheld: usize = ["serve-1.log", "serve-2.log"]
        .iter()
        .map(|log| {
            std::fs::read_to_string(work.path().join(log))
                .unwrap_or_default()
                .matches("has none connected")
                .count()
        })
        .sum();
    let reasons: std::collections::BTreeSet<String> = record
        .failed
        .iter()
        .map(|(_, why)| why.chars().take(60).collect())
        .collect();
    eprintln!(
        "database failover (kill -9 of the primary's postmaster, {TABLETS} tablets on two vrs serve nodes):\n\
         - {} registrations acknowledged ({before} before the kill, {after_kill} after), {stored} doses stored, \
         0 lost, 0 stored twice\n\
         - registrations failed from +{start:.1} s to +{end:.1} s after the kill ({tries} failed tries, \
         each sent again with its key); all acknowledged again from +{back:.1} s\n\
         - {:.0} registrations/s before the kill, {:.0}/s after\n\
         - the slowest answer took {:.1} s; failures seen: {reasons:?}; {withheld} refusals of a commit \
         on a primary without its standby\n\
         - new primary: port {new_primary} (was {first_primary}); states {:?}",
        record.acked.len(),
        rate(&record, steady, killed),
        rate(&record, resumed, Instant::now().min(resumed + Duration::from_secs(3))),
        record.slowest.as_secs_f64(),
        cluster.states(),
    );
    assert!(
        record.slowest < Duration::from_secs(30),
        "an answer took {:?}",
        record.slowest
    );
    drop(nodes);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_server_node_behind_haproxy_loses_nothing() {
    if !available(&[("haproxy", &["-v"]), ("psql", &["--version"])], &[]) {
        return;
    }
    let key_hex = vrs_store::testkit::key_pair().1;
    let Some(db) = vrs_store::testkit::TestDb::postgres_with_key(&key_hex).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let password = deploy(work.path(), &db.url, &key_hex);
    let nodes = [
        Server::start(work.path(), &db.url, &key_hex, "serve-1"),
        Server::start(work.path(), &db.url, &key_hex, "serve-2"),
    ];
    let proxy = Haproxy::start(work.path(), &[&nodes[0], &nodes[1]]);
    let client = http_client();
    let csrf = crate::support::sign_in(&client, &proxy.base(), "ha-tablet", &password).await;
    let next = Arc::new(AtomicUsize::new(0));
    let phase = Duration::from_secs(4);

    // One node, directly.
    let direct = Tablets::start(&client, &csrf, &[nodes[0].base()], &next);
    direct.wait_acked(50, Duration::from_secs(30)).await;
    let from = Instant::now();
    tokio::time::sleep(phase).await;
    let to = Instant::now();
    let direct = direct.finish().await;
    let direct_rate = rate(&direct, from, to);

    // Two nodes through HAProxy; then one of them killed.
    let proxied = Tablets::start(&client, &csrf, &[proxy.base()], &next);
    proxied.wait_acked(50, Duration::from_secs(30)).await;
    let from = Instant::now();
    tokio::time::sleep(phase).await;
    let killed = Instant::now();
    let [survivor, mut lost] = nodes;
    lost.child.kill().unwrap();
    lost.child.wait().unwrap();
    tokio::time::sleep(phase).await;
    let end = Instant::now();
    let proxied = proxied.finish().await;
    let two_rate = rate(&proxied, from, killed);
    let survivor_rate = rate(&proxied, killed + Duration::from_secs(1), end);

    let mut all = direct;
    all.acked.extend(proxied.acked.iter().copied());
    let stored = check_stored(&db.url, &all);
    assert_eq!(
        stored,
        all.acked.len(),
        "a dose stored that no tablet was told of"
    );
    let servers = proxy.servers().await;
    let seen = |name: &str| servers.iter().find(|s| s.0 == name).unwrap().clone();
    let (kept, gone) = (seen("vrs1"), seen("vrs2"));
    assert!(
        kept.2 > 0 && gone.2 > 0,
        "both nodes took registrations: {servers:?}"
    );
    assert!(kept.1.starts_with("UP"), "{servers:?}");
    assert!(
        gone.1.starts_with("DOWN"),
        "the health check took the killed node out: {servers:?}"
    );
    let clients_saw = match window(&proxied, killed) {
        Some((start, last, back, tries)) => format!(
            "{tries} failed tries after the kill (from +{start:.1} s to +{last:.1} s, all \
             acknowledged again from +{back:.1} s), each sent again by the tablet with its key"
        ),
        None => "no failed try: no tablet saw the kill".to_owned(),
    };
    eprintln!(
        "node loss behind HAProxy (kill -9 of one of two vrs serve nodes, {TABLETS} tablets):\n\
         - {} registrations acknowledged, {stored} doses stored, 0 lost, 0 stored twice\n\
         - {clients_saw}; HAProxy sent {} requests to the killed node and {} to the survivor, \
         retried {} and redispatched {} of them\n\
         - registrations/s: one node direct {direct_rate:.0}; two nodes through HAProxy {two_rate:.0}; \
         the survivor alone through HAProxy {survivor_rate:.0}\n\
         - the slowest answer took {:.1} s",
        all.acked.len(),
        gone.2,
        kept.2,
        gone.3 + kept.3,
        gone.4 + kept.4,
        proxied.slowest.as_secs_f64(),
    );
    // With no node left, HAProxy answers the API's 503 itself.
    drop(survivor);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let none = client
        .post(format!("{}/api/v1/doses", proxy.base()))
        .header("idempotency-key", "ha-none")
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 503);
    assert_eq!(none.headers()["retry-after"], "2");
    let body: serde_json::Value = none.json().await.unwrap();
    assert_eq!(body["code"], "unavailable");
    drop(proxy);
    db.cleanup().await;
}
