//! The emergency stop across processes: two `vrs serve` processes over one PostgreSQL database; the
//! operator stops tablet registration from the command line (a third process) and both servers
//! refuse the very next registration with the operator's reason, without a restart; resuming works
//! the same way. Needs PostgreSQL (required under CI, like every PostgreSQL test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use vrs_store::testkit::TestDb;

const PASSWORD: &str = "Stop-Test-Pass-2026";

fn vrs(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vrs"));
    c.env("VRS_DATABASE_URL", &db.url)
        .env("VRS_MASTER_KEY", &db.key_hex)
        .env_remove("VRS_KEY_FILE")
        .env("VRS_LOG", "warn");
    c
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &TestDb, anchors: Option<&std::path::Path>) -> Server {
    let mut command = vrs(db);
    if let Some(dir) = anchors {
        command
            .env("VRS_AUDIT_ANCHOR_DIR", dir)
            .env("VRS_AUDIT_ANCHOR_INTERVAL_SECS", "1");
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server stopped early").unwrap();
        if let Some(rest) = line.strip_prefix("VRS is serving on http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    Server(child, format!("http://{address}"))
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// A signed-in tablet on `base`: its client and the tablet page's CSRF token.
async fn tablet(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("user_id", "stop-tablet"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("location").unwrap(), "/");
    let body = client
        .get(format!("{base}/tablet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let csrf = body[start..start + body[start..].find('"').unwrap()].to_owned();
    (client, csrf)
}

async fn register(
    base: &str,
    tablet: &(reqwest::Client, String),
    key: &str,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({
        "coupon": "382060-0000000999", "dose_number": 1,
        "administered_on": "2021-06-01", "product": "comirnaty", "lot_number": "FA4597",
    });
    let r = tablet
        .0
        .post(format!("{base}/api/v1/doses"))
        .header("idempotency-key", key)
        .header("x-csrf-token", &tablet.1)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = vrs(db).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_takes_effect_on_every_server_process_without_a_restart() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let account = vrs_store::Account {
        user_id: "stop-tablet".parse().unwrap(),
        role: vrs_domain::Role::SiteTablet,
        municipality: Some(vrs_domain::MunicipalityCode::parse("382060").unwrap()),
        prefecture: None,
        display_name: "tablet".into(),
        password_hash: vrs_crypto::password::hash_password(PASSWORD).unwrap(),
        must_change_password: false,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "test".into(),
        created_at: chrono::Utc::now(),
    };
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "account.issue", "stop-tablet");
    db.store
        .create_account(&account, vrs_store::AuditScope::National, &audit)
        .await
        .unwrap();
    // Server a also writes the audit anchor every second.
    let anchors = tempfile::tempdir().unwrap();
    let (a, b) = (serve(&db, Some(anchors.path())), serve(&db, None));
    let on_a = tablet(&a.1).await;
    let on_b = tablet(&b.1).await;
    // Running: an invented coupon is refused as such by both.
    for (base, t) in [(&a.1, &on_a), (&b.1, &on_b)] {
        let (status, body) = register(base, t, "before").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("unknown_coupon"))
        );
    }

    // Bad input to the command: named, exit 2, nothing switched.
    let (code, _, err) = cli(&db, &["function", "stop", "tablets", "--reason", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tablet_registration"), "{err}");
    let (code, _, err) = cli(
        &db,
        &["function", "stop", "tablet_registration", "--reason", " "],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(register(&b.1, &on_b, "still").await.0, 404);

    let (code, out, err) = cli(
        &db,
        &[
            "function",
            "stop",
            "tablet_registration",
            "--reason",
            "誤登録の調査のため",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stopped"));
    for (base, t) in [(&a.1, &on_a), (&b.1, &on_b)] {
        let (status, body) = register(base, t, "during").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["code"], "function_stopped");
        assert!(body["message_ja"]
            .as_str()
            .unwrap()
            .contains("誤登録の調査のため"));
    }
    let (_, list, _) = cli(&db, &["function", "list"]);
    assert!(list.contains("tablet_registration\tstopped"), "{list}");

    let (code, _, err) = cli(
        &db,
        &[
            "function",
            "resume",
            "tablet_registration",
            "--reason",
            "調査完了",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for (base, t) in [(&a.1, &on_a), (&b.1, &on_b)] {
        assert_eq!(register(base, t, "after").await.0, 404);
    }

    // The anchor job has written anchors that cover the stop and resume, and the chains verify
    // against the newest.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut written: Vec<_> = std::fs::read_dir(anchors.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    written.sort();
    let newest = written.last().expect("no anchor written");
    let (code, out, err) = cli(
        &db,
        &["audit", "verify", "--anchor", newest.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("anchored at entry"), "{out}");
    drop((a, b));
    db.cleanup().await;
}
