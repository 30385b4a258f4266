//! The other processes of the topology: `vrs serve` nodes on the multi-host URL, and HAProxy in
//! front of them with health checks on `/healthz`.

use super::*;

/// A `vrs serve` process; killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) port: u16,
}

impl Server {
    pub(super) fn start(dir: &Path, url: &str, key_hex: &str, name: &str) -> Self {
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

    pub(super) fn base(&self) -> String {
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
pub(super) const HAPROXY_CONFIG: &str = "\
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
pub(super) const UNAVAILABLE_BODY: &str = r#"{"code":"unavailable","message_ja":"ただいま利用できません。しばらくしてからもう一度お試しください。","message_en":"unavailable: try again in a moment"}"#;

/// HAProxy in front of `servers`, round robin, each checked with `GET /healthz` every 500 ms; a
/// request whose server fails before answering is sent again to the other (every registration
/// carries an Idempotency-Key, so this is safe). The configuration is docs/operations.md's, with
/// loopback addresses.
pub(super) struct Haproxy {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) stats: u16,
}

impl Haproxy {
    pub(super) fn start(dir: &Path, servers: &[&Server]) -> Self {
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

    pub(super) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Each server's `(name, status, requests sent to it, retries, redispatches)` from HAProxy's
    /// statistics.
    pub(super) async fn servers(&self) -> Vec<(String, String, u64, u64, u64)> {
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
pub(super) fn deploy(dir: &Path, url: &str, key_hex: &str) -> String {
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
