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

/// A pg_auto_failover formation on loopback: a monitor and two data nodes in a temporary directory
/// owned by `postgres`, each `pg_autoctl` in its own process group. Dropping it kills every process
/// it started and removes the directory.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    monitor: u16,
    nodes: [u16; 2],
    keepers: Vec<Child>,
}

impl Cluster {
    fn pg_autoctl(&self) -> Command {
        let root = self.dir.path();
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "env"])
            .arg(format!("XDG_CONFIG_HOME={}", root.join("config").display()))
            .arg(format!("XDG_DATA_HOME={}", root.join("data").display()))
            .arg(format!("XDG_RUNTIME_DIR={}", root.join("run").display()))
            .arg(format!("PATH={}:/usr/bin:/bin", self.bin.display()))
            .arg("pg_autoctl")
            .current_dir(root);
        c
    }

    /// Starts `pg_autoctl create … --run` in its own process group, logging to `name.log`.
    fn keeper(&mut self, name: &str, args: &[String]) {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = self
            .pg_autoctl()
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        self.keepers.push(child);
    }

    fn pgdata(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `(name, port, reported state, assigned state)` of each data node, from the monitor.
    fn states(&self) -> Vec<(String, u16, String, String)> {
        let out = self
            .pg_autoctl()
            .args(["show", "state", "--pgdata"])
            .arg(self.pgdata("monitor"))
            .stderr(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let port = cells.get(2)?.rsplit(':').next()?.parse().ok()?;
                Some((
                    cells[0].to_owned(),
                    port,
                    cells.get(5)?.to_string(),
                    cells.get(6)?.to_string(),
                ))
            })
            .collect()
    }

    /// Waits until the monitor shows a node in `state` on port `port` (any port when `None`).
    fn wait_for(&self, port: Option<u16>, states: &[&str], within: Duration) -> u16 {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .states()
                .into_iter()
                .find(|(_, p, reported, assigned)| {
                    port.is_none_or(|want| want == *p)
                        && reported == assigned
                        && states.contains(&reported.as_str())
                });
            if let Some((_, p, _, _)) = found {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "no node reached {states:?} within {within:?}: {:?}\n{}",
                self.states(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self) -> String {
        ["monitor", "node1", "node2"]
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.dir.path().join(format!("{n}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "== {n}.log\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A monitor, then the first node (it becomes the primary), then the second (its standby,
    /// synchronous); returns once the monitor shows `primary` and `secondary`.
    fn start(bin: PathBuf) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vrs-failover-")
            .tempdir()
            .unwrap();
        for sub in ["config", "data", "run"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let owner = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(owner.success());
        let mut cluster = Cluster {
            dir,
            bin,
            monitor: free_port(),
            nodes: [free_port(), free_port()],
            keepers: Vec::new(),
        };
        let common = |pgdata: PathBuf, port: u16| -> Vec<String> {
            [
                "--pgdata",
                pgdata.to_str().unwrap(),
                "--pgport",
                &port.to_string(),
                "--hostname",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--run",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let started = Instant::now();
        let mut monitor = vec!["create".to_owned(), "monitor".to_owned()];
        monitor.extend(common(cluster.pgdata("monitor"), cluster.monitor));
        cluster.keeper("monitor", &monitor);
        let monitor_url = format!(
            "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
            cluster.monitor
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while psql(&monitor_url, "SELECT 1").is_none() {
            assert!(
                Instant::now() < deadline,
                "the monitor did not start\n{}",
                cluster.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for (i, name) in ["node1", "node2"].into_iter().enumerate() {
            let mut node = vec![
                "create".to_owned(),
                "postgres".to_owned(),
                "--name".to_owned(),
                name.to_owned(),
                "--dbname".to_owned(),
                "vrs".to_owned(),
                "--monitor".to_owned(),
                monitor_url.clone(),
            ];
            node.extend(common(cluster.pgdata(name), cluster.nodes[i]));
            cluster.keeper(name, &node);
            if i == 0 {
                cluster.wait_for(Some(cluster.nodes[0]), &["single"], Duration::from_secs(60));
            }
        }
        // The standby's base backup starts with a checkpoint on the primary, spread over minutes
        // by default; an immediate CHECKPOINT makes the one under way finish at once.
        let first = format!("postgres://postgres@127.0.0.1:{}/vrs", cluster.nodes[0]);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let states = cluster.states();
            let formed = ["primary", "secondary"].iter().all(|want| {
                states
                    .iter()
                    .any(|(_, _, reported, assigned)| reported == want && assigned == want)
            });
            if formed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the formation did not form: {states:?}\n{}",
                cluster.logs()
            );
            let _ = psql(&first, "CHECKPOINT");
            std::thread::sleep(Duration::from_millis(300));
        }
        eprintln!(
            "pg_auto_failover formation (monitor and two nodes, synchronous) formed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        cluster
    }

    /// The multi-host URL of the formation's `vrs` database that `vrs` is given.
    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/vrs?target_session_attrs=read-write&connect_timeout=2",
            self.nodes[0], self.nodes[1]
        )
    }

    /// The port of the node that takes writes now, if one does.
    fn primary(&self) -> Option<u16> {
        psql(&self.url(), "SELECT inet_server_port()")?.parse().ok()
    }

    fn postmaster_pid(&self, port: u16) -> i64 {
        let name = if port == self.nodes[0] {
            "node1"
        } else {
            "node2"
        };
        let pid = std::fs::read_to_string(self.pgdata(name).join("postmaster.pid")).unwrap();
        pid.lines().next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for keeper in &self.keepers {
            kill9(-i64::from(keeper.id()));
        }
        for name in ["monitor", "node1", "node2"] {
            if let Ok(pid) = std::fs::read_to_string(self.pgdata(name).join("postmaster.pid")) {
                if let Some(pid) = pid.lines().next().and_then(|p| p.trim().parse().ok()) {
                    kill9(pid);
                }
            }
        }
        for keeper in &mut self.keepers {
            let _ = keeper.wait();
        }
    }
}

/// A `vrs serve` process; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path, url: &str, key_hex: &str, name: &str) -> Self {
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_vrs"))
            .current_dir(dir)
            .env("VRS_DATABASE_URL", url)
            .env("VRS_MASTER_KEY", key_hex)
            .env_remove("VRS_KEY_FILE")
            .env("VRS_LOG", "warn")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!(
                        "{name} stopped early: {}",
                        std::fs::read_to_string(dir.join(format!("{name}.log")))
                            .unwrap_or_default()
                    )
                })
                .unwrap();
            if let Some(rest) = line.strip_prefix("VRS is serving on http://") {
                break rest
                    .split('/')
                    .next()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
            }
        };
        // Whatever else it prints is read and dropped.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// docs/operations.md's HAProxy configuration, on loopback: `{listen}`, `{stats}`, `{errorfile}`
/// and `{servers}` are filled in.
const HAPROXY_CONFIG: &str = "\
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A request whose node fails before answering goes to another node: every write carries an
    # Idempotency-Key, so a registration sent twice is stored once.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # With no node up (all of them without a database during a failover), the API's own 503.
    errorfile 503 {errorfile}

frontend vrs
    bind {listen}
    default_backend vrs_nodes

frontend stats
    bind {stats}
    stats enable
    stats uri /stats

backend vrs_nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}";

/// The body of HAProxy's own answer when no node is up: the API's 503 (JSON, with `Retry-After`).
const UNAVAILABLE_BODY: &str = r#"{"code":"unavailable","message_ja":"ただいま利用できません。しばらくしてからもう一度お試しください。","message_en":"unavailable: try again in a moment"}"#;

/// HAProxy in front of `servers`, round robin, each checked with `GET /healthz` every 500 ms; a
/// request whose server fails before answering is sent again to the other (every registration
/// carries an Idempotency-Key, so this is safe). The configuration is docs/operations.md's, with
/// loopback addresses.
struct Haproxy {
    child: Child,
    port: u16,
    stats: u16,
}

impl Haproxy {
    fn start(dir: &Path, servers: &[&Server]) -> Self {
        let (port, stats) = (free_port(), free_port());
        let backends: String = servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("    server vrs{} 127.0.0.1:{} check\n", i + 1, s.port))
            .collect();
        let unavailable = dir.join("503.http");
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 2\r\n\
             Cache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{UNAVAILABLE_BODY}",
            UNAVAILABLE_BODY.len()
        );
        std::fs::write(&unavailable, answer).unwrap();
        let config = HAPROXY_CONFIG
            .replace("{errorfile}", unavailable.to_str().unwrap())
            .replace("{listen}", &format!("127.0.0.1:{port}"))
            .replace("{stats}", &format!("127.0.0.1:{stats}"))
            .replace("{servers}", &backends);
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let check = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        assert!(check.status.success(), "haproxy -c: {check:?}");
        let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let proxy = Haproxy { child, port, stats };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Each server's `(name, status, requests sent to it, retries, redispatches)` from HAProxy's
    /// statistics.
    async fn servers(&self) -> Vec<(String, String, u64, u64, u64)> {
        let csv = reqwest::get(format!("http://127.0.0.1:{}/stats;csv", self.stats))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (sv, status, stot, wretr, wredis) = (
            column("svname"),
            column("status"),
            column("stot"),
            column("wretr"),
            column("wredis"),
        );
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|cells| cells[sv].starts_with("vrs"))
            .map(|cells| {
                let n = |i: usize| cells[i].parse().unwrap_or(0);
                (
                    cells[sv].to_owned(),
                    cells[status].to_owned(),
                    n(stot),
                    n(wretr),
                    n(wredis),
                )
            })
            .collect()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deployment on `url`: `vrs init`, the targets, and a site tablet's account; its password.
fn deploy(dir: &Path, url: &str, key_hex: &str) -> String {
    let vrs = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vrs"))
            .current_dir(dir)
            .env("VRS_DATABASE_URL", url)
            .env("VRS_MASTER_KEY", key_hex)
            .env_remove("VRS_KEY_FILE")
            .env("VRS_LOG", "warn")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "vrs {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    vrs(&["init"]);
    let targets = dir.join("targets.csv");
    let (count, seed) = (TARGETS.to_string(), SEED.to_string());
    vrs(&[
        "gen",
        "targets",
        "--municipality",
        MUNICIPALITY,
        "--count",
        &count,
        "--seed",
        &seed,
        "--out",
        targets.to_str().unwrap(),
    ]);
    vrs(&[
        "import",
        "targets",
        targets.to_str().unwrap(),
        "--municipality",
        MUNICIPALITY,
    ]);
    let issued = vrs(&[
        "accounts",
        "create",
        "ha-tablet",
        "--role",
        "site_tablet",
        "--municipality",
        MUNICIPALITY,
    ]);
    issued.trim().split('\t').nth(1).unwrap().to_owned()
}

/// What the tablets did: each registration acknowledged (its index, when), each failed try (when,
/// what), and the longest wait for an answer.
#[derive(Default)]
struct Record {
    acked: Vec<(usize, Instant)>,
    failed: Vec<(Instant, String)>,
    slowest: Duration,
}

/// Tablets registering one dose per target, in order, each with its own Idempotency-Key, spread
/// over `bases` (tablet `t` sends to `bases[t % len]`). A registration that fails (no answer, 502,
/// 503, 504) is sent again with the same key and body until it is acknowledged; any other answer
/// fails the test, a 500 above all.
struct Tablets {
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Tablets {
    fn start(
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

    fn acked(&self) -> usize {
        self.record.lock().unwrap().acked.len()
    }

    /// Waits until `n` more registrations are acknowledged than now, at most `within`.
    async fn wait_acked(&self, more: usize, within: Duration) {
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
    async fn finish(self) -> Record {
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
fn rate(record: &Record, from: Instant, to: Instant) -> f64 {
    let n = record
        .acked
        .iter()
        .filter(|(_, at)| *at >= from && *at < to)
        .count();
    n as f64 / (to - from).as_secs_f64()
}

/// Every acknowledged registration is stored exactly once, and no coupon has two doses; the
/// number of doses stored.
fn check_stored(url: &str, record: &Record) -> usize {
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
fn window(record: &Record, from: Instant) -> Option<(f64, f64, f64, usize)> {
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

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(TABLETS)
        .build()
        .unwrap()
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
