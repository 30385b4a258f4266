//! Promise 15 — the area that holds My Numbers answers LG-WAN terminals only — shown over a real
//! network. The test makes two hosts with network namespaces (iproute2): an LG-WAN terminal and an
//! internet host, each joined to this machine by its own veth link. `vrs serve` runs here, bound
//! to every address as the operations guide documents, with the LG-WAN network configured and no
//! proxy header trusted. Every route that takes or shows a My Number answers the LG-WAN host and
//! refuses the internet host — which is told apart by its address only: the same requests with a
//! forged `X-Forwarded-For` naming the LG-WAN host are refused just the same.
//!
//! Needs root and `ip` (iproute2) and `curl`; skipped with a message without them, except under
//! CI (`VRS_REQUIRE_NETNS=1`), where it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use vrs_store::Areas;

use vrs_domain::{MunicipalityCode, Resident};
use vrs_store::testkit::TestDb;

const PASSWORD: &str = "Separation-Pass-2026";

/// Runs `ip` with `args`; panics naming the command when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether network namespaces can be made here; under CI they must be.
fn namespaces_available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let tools = ["ip", "curl"].iter().all(|tool| {
        Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    let available = root && tools;
    if !available {
        assert!(
            std::env::var("VRS_REQUIRE_NETNS").as_deref() != Ok("1"),
            "VRS_REQUIRE_NETNS=1 but network namespaces cannot be made here (root: {root}, ip and \
             curl: {tools})"
        );
        eprintln!("skipped: network namespaces need root, ip (iproute2) and curl");
    }
    available
}

/// One host in its own network namespace, linked to this machine by a veth pair on a /30:
/// this machine is `.1` of it (`gateway`), the host `.2` (`address`).
struct Host {
    namespace: String,
    address: String,
    gateway: String,
}

impl Host {
    fn new(name: &str, subnet: [u8; 3], last: u8) -> Self {
        let pid = std::process::id();
        let namespace = format!("vrs-{name}-{pid}");
        let outside = format!("v{}{}o", &name[..1], pid % 1_000_000);
        let inside = format!("v{}{}i", &name[..1], pid % 1_000_000);
        let [a, b, c] = subnet;
        let gateway = format!("{a}.{b}.{c}.{}", last + 1);
        let address = format!("{a}.{b}.{c}.{}", last + 2);
        let _ = Command::new("ip")
            .args(["netns", "delete", &namespace])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &namespace]);
        let host = Host {
            namespace,
            address,
            gateway,
        };
        ip(&[
            "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ]);
        ip(&["link", "set", &inside, "netns", &host.namespace]);
        ip(&[
            "addr",
            "add",
            &format!("{}/30", host.gateway),
            "dev",
            &outside,
        ]);
        ip(&["link", "set", &outside, "up"]);
        let ns = host.namespace.as_str();
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/30", host.address),
            "dev",
            &inside,
        ]);
        ip(&["-n", ns, "link", "set", &inside, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        host
    }

    /// A request from this host with curl, keeping cookies in `jar`: (status, body).
    fn curl(&self, jar: &Path, args: &[&str]) -> (u16, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.namespace, "curl", "-sS", "-m", "20"])
            .arg("-b")
            .arg(jar)
            .arg("-c")
            .arg(jar)
            .args(["-o", "-", "-w", "\n%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        let status = status.trim().parse().unwrap_or(0);
        assert!(
            status != 0,
            "curl from {} failed: {}",
            self.namespace,
            String::from_utf8_lossy(&out.stderr)
        );
        (status, body.to_owned())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.namespace])
            .status();
    }
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vrs serve` on every address of this machine (as documented: `listen = "0.0.0.0:8080"`), with
/// `lgwan` as the LG-WAN network and no proxy header.
fn serve(db: &TestDb, lgwan: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vrs"))
        .env("VRS_DATABASE_URL", &db.url)
        .env("VRS_MASTER_KEY", &db.key_hex)
        .env_remove("VRS_KEY_FILE")
        .env_remove("VRS_CLIENT_ADDRESS_HEADER")
        .env_remove("VRS_TRUSTED_PROXIES")
        .env("VRS_LGWAN_NETWORKS", lgwan)
        .env("VRS_LOG", "warn")
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("the server stopped early").unwrap();
        if let Some(rest) = line.strip_prefix("VRS is serving on http://") {
            let address = rest.split('/').next().unwrap();
            break address.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    Server(child, port)
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} on the page: {body}"))
        + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// A staff member signed in from `host`: the cookie jar and the session's CSRF token.
fn sign_in(host: &Host, base: &str, dir: &Path, forged: Option<&str>) -> (PathBuf, String) {
    let jar = dir.join(format!("{}.cookies", host.namespace));
    let header = forged.map(|f| format!("X-Forwarded-For: {f}"));
    let with = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if let Some(h) = &header {
            all.push("-H".into());
            all.push(h.clone());
        }
        all
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        host.curl(&jar, &refs)
    };
    let (status, page) = run(with(&[&format!("{base}/login")]));
    assert_eq!(status, 200, "{page}");
    let csrf = hidden(&page, "csrf");
    let (status, body) = run(with(&[
        "--data-urlencode",
        "user_id=saijo-staff",
        "--data-urlencode",
        &format!("password={PASSWORD}"),
        "--data-urlencode",
        &format!("csrf={csrf}"),
        &format!("{base}/login"),
    ]));
    assert_eq!(status, 303, "{body}");
    let (status, page) = run(with(&[&format!("{base}/records")]));
    assert_eq!(status, 200, "{page}");
    (jar, hidden(&page, "csrf"))
}

/// What each My Number route answered one host: (route, status, body).
fn my_number_routes(
    host: &Host,
    base: &str,
    dir: &Path,
    person: &Resident,
    forged: Option<&str>,
) -> Vec<(&'static str, u16, String)> {
    let (jar, csrf) = sign_in(host, base, dir, forged);
    let number = person.my_number.expose();
    let mut common: Vec<String> = Vec::new();
    if let Some(f) = forged {
        common.extend(["-H".into(), format!("X-Forwarded-For: {f}")]);
    }
    let run = |extra: &[String]| {
        let mut args = common.clone();
        args.extend(extra.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        host.curl(&jar, &refs)
    };
    let s = |v: &str| v.to_owned();
    let mut answers = Vec::new();
    let (status, body) = run(&[
        s("--data-urlencode"),
        format!("csrf={csrf}"),
        s("--data-urlencode"),
        format!("my_number={number}"),
        format!("{base}/records"),
    ]);
    answers.push(("POST /records (search by My Number)", status, body));
    let (status, body) = run(&[format!("{base}/records/{}", person.atena)]);
    answers.push(("GET /records/{atena} (the My Number shown)", status, body));
    let (status, body) = run(&[
        s("-H"),
        format!("X-CSRF-Token: {csrf}"),
        s("--data-urlencode"),
        format!("identifier=urn:jp:mynumber|{number}"),
        format!("{base}/fhir/Patient/_search"),
    ]);
    answers.push(("POST /fhir/Patient/_search (by My Number)", status, body));
    let inquiry = serde_json::json!({
        "my_number": number, "former_municipality": "131016", "consent": true,
    });
    let (status, body) = run(&[
        s("-H"),
        format!("X-CSRF-Token: {csrf}"),
        s("-H"),
        s("Content-Type: application/json"),
        s("--data-binary"),
        inquiry.to_string(),
        format!("{base}/api/v1/inquiries"),
    ]);
    answers.push(("POST /api/v1/inquiries", status, body));
    let (status, body) = run(&[format!("{base}/inquiries")]);
    answers.push(("GET /inquiries (the inquiry form)", status, body));
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_number_routes_answer_the_lgwan_host_and_refuse_the_internet_host_by_address() {
    if !namespaces_available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let saijo = MunicipalityCode::parse("382060").unwrap();
    let people: Vec<Resident> = vrs_interop::Synthetic::new(saijo, 3, 15).collect();
    for p in &people {
        let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
        db.store.area(saijo).put_resident(p, &audit).await.unwrap();
    }
    let account = vrs_store::Account {
        user_id: "saijo-staff".parse().unwrap(),
        role: vrs_domain::Role::MunicipalStaff,
        municipality: Some(saijo),
        prefecture: None,
        display_name: "職員".into(),
        password_hash: vrs_crypto::password::hash_password(PASSWORD).unwrap(),
        must_change_password: false,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "test".into(),
        created_at: chrono::Utc::now(),
    };
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "account.issue", "saijo-staff");
    db.store
        .create_account(&account, vrs_store::AuditScope::Area(saijo), &audit)
        .await
        .unwrap();

    // Two /30 links in a private range chosen by the process ID, so concurrent runs differ.
    let pid = std::process::id();
    let subnet = [10, 100 + (pid % 100) as u8, ((pid / 100) % 250) as u8];
    let lgwan = Host::new("lgwan", subnet, 0);
    let internet = Host::new("inet", subnet, 4);
    let lgwan_network = format!("{}/30", lgwan.address);
    let server = serve(&db, &lgwan_network);
    let dir = tempfile::tempdir().unwrap();
    let person = &people[0];
    let number = person.my_number.expose().to_owned();

    // The LG-WAN terminal gets through, every route.
    let from_lgwan = format!("http://{}:{}", lgwan.gateway, server.1);
    for (route, status, body) in my_number_routes(&lgwan, &from_lgwan, dir.path(), person, None) {
        match route {
            "POST /records (search by My Number)" => {
                assert_eq!(status, 200, "{route}: {body}");
                assert!(
                    body.contains(&format!("/records/{}", person.atena)),
                    "{route}"
                );
            }
            "GET /records/{atena} (the My Number shown)" => {
                assert_eq!(status, 200, "{route}: {body}");
                assert!(body.contains("id=\"my-number\""), "{route}: {body}");
            }
            "POST /fhir/Patient/_search (by My Number)" => {
                assert_eq!(status, 200, "{route}: {body}");
                assert!(body.contains("\"total\":1"), "{route}: {body}");
            }
            // Heard and answered under the inquiry rules (the person is ours; 千代田区 is asked).
            "POST /api/v1/inquiries" => assert_eq!(status, 200, "{route}: {body}"),
            _ => assert_eq!(status, 200, "{route}: {body}"),
        }
        assert!(!body.contains(&number), "{route} showed the My Number");
    }

    // The internet host is refused on every route: by its address, with or without a forged
    // proxy header naming the LG-WAN terminal.
    let from_internet = format!("http://{}:{}", internet.gateway, server.1);
    for forged in [None, Some(lgwan.address.as_str())] {
        for (route, status, body) in
            my_number_routes(&internet, &from_internet, dir.path(), person, forged)
        {
            match route {
                "POST /records (search by My Number)" => {
                    assert_eq!(status, 422, "{route}: {body}");
                    assert!(body.contains("LGWAN"), "{route}: {body}");
                    assert!(!body.contains(&format!("/records/{}", person.atena)));
                }
                "GET /records/{atena} (the My Number shown)" => {
                    assert_eq!(status, 200, "{route}: {body}");
                    assert!(!body.contains("id=\"my-number\""), "{route}: {body}");
                }
                _ => assert_eq!(status, 403, "{route} (forged: {forged:?}): {body}"),
            }
            assert!(!body.contains(&number), "{route} showed the My Number");
        }
    }
    drop(server);
    db.cleanup().await;
}
