//! The `vrs` binary as an operator uses it: exit codes, messages, and an import killed with -9;
//! dose files (`cli/doses.rs`), administration (`cli/administration.rs`) and certificates
//! (`cli/certificates.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

#[path = "cli/administration.rs"]
mod administration;
#[path = "cli/certificates.rs"]
mod certificates;
#[path = "cli/doses.rs"]
mod doses;

use crate::support;

use support::{shared_testdata, text, Deployment};

#[test]
fn init_creates_a_private_key_and_is_idempotent() {
    let d = Deployment::new();
    let first = d.run(&["init"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("created master key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("vrs-data/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = d.run(&["init"]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(!text(&second).contains("created master key"));
}

#[test]
fn a_wrong_master_key_is_refused_with_a_clear_message() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let out = d
        .command()
        .args(["import", "targets", "x.csv", "--municipality", "382060"])
        .env("VRS_MASTER_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    // The missing file is reported first (bad input); with a real file the key is checked.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let sample = d.targets();
    let out = d
        .command()
        .args([
            "import",
            "targets",
            sample.to_str().unwrap(),
            "--municipality",
            "382060",
        ])
        .env("VRS_MASTER_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("master key does not match"),
        "{}",
        text(&out)
    );
}

#[test]
fn municipalities_lists_a_prefecture_and_refuses_a_bad_one() {
    let d = Deployment::new();
    let out = d.run(&["municipalities", "--prefecture", "38"]);
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("382060,municipality,38,西条市"),
        "{listing}"
    );
    assert!(!listing.contains("131016"));
    let bad = d.run(&["municipalities", "--prefecture", "99"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--prefecture"));
}

#[test]
fn import_exit_codes_and_error_report() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let bad = d.targets_with_errors();
    let out = d.run(&[
        "import",
        "targets",
        bad.to_str().unwrap(),
        "--municipality",
        "131016",
        "--errors",
        "errors.csv",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nothing was stored"));
    let report = std::fs::read_to_string(d.path("errors.csv")).unwrap();
    let mut lines: Vec<u64> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, [32, 33, 34, 35, 36, 37, 38, 39]);
    assert!(report.starts_with("line,column,reason"));

    let partial = d.run(&[
        "import",
        "targets",
        bad.to_str().unwrap(),
        "--municipality",
        "131016",
        "--partial",
    ]);
    assert!(partial.status.success(), "{}", text(&partial));
    assert!(text(&partial).contains("added 30"), "{}", text(&partial));

    let again = d.run(&[
        "import",
        "targets",
        bad.to_str().unwrap(),
        "--municipality",
        "131016",
        "--partial",
    ]);
    assert!(text(&again).contains("nothing changed"), "{}", text(&again));

    let bad_code = d.run(&[
        "import",
        "targets",
        bad.to_str().unwrap(),
        "--municipality",
        "131017",
    ]);
    assert_eq!(bad_code.status.code(), Some(2));
    assert!(text(&bad_code).contains("--municipality"));
    let bad_encoding = d.run(&[
        "import",
        "targets",
        bad.to_str().unwrap(),
        "--municipality",
        "131016",
        "--encoding",
        "latin1",
    ]);
    assert_eq!(bad_encoding.status.code(), Some(2));
}

#[test]
fn no_my_number_in_logs_or_messages() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let bad = d.targets_with_errors();
    let mut output = String::new();
    for partial in [false, true] {
        let mut args = vec![
            "import",
            "targets",
            bad.to_str().unwrap(),
            "--municipality",
            "131016",
        ];
        if partial {
            args.push("--partial");
        }
        output.push_str(&text(&d.run(&args)));
    }
    let file = std::fs::read_to_string(&bad).unwrap();
    for number in file.lines().skip(1).filter_map(|l| l.split(',').next()) {
        assert!(!output.contains(number), "output reveals a My Number");
    }
}

fn count_rows(dir: &Path) -> u64 {
    let conn = rusqlite::Connection::open(dir.join("vrs-data/vrs.db")).unwrap();
    conn.query_row("SELECT count(*) FROM residents", [], |r| r.get(0))
        .unwrap()
}

/// Runs SQL on the database file directly, as someone with access to the file could.
fn by_hand(db: &Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn an_import_killed_mid_way_leaves_the_database_as_before() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let sample = d.targets();
    let out = d.run(&[
        "import",
        "targets",
        sample.to_str().unwrap(),
        "--municipality",
        "382060",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let big = d.path("big.csv");
    let gen = d.run(&[
        "gen",
        "targets",
        "--municipality",
        "382060",
        "--count",
        "300000",
        "--seed",
        "9",
        "--out",
        big.to_str().unwrap(),
    ]);
    assert!(gen.status.success(), "{}", text(&gen));
    // Atena numbers of generated people start at 100000 whatever the seed, so this import would
    // update the first file's 40 people (seed 1) and add the rest: kill it while it runs.
    let mut child = d
        .command()
        .args([
            "import",
            "targets",
            big.to_str().unwrap(),
            "--municipality",
            "382060",
            "--partial",
        ])
        .env("VRS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill -9 once the import starts merging into the area (the moment it writes the database).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("merging") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the import never reached its merge");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(count_rows(d.dir.path()), 40);
    // And the database still opens and works.
    let again = d.run(&[
        "import",
        "targets",
        sample.to_str().unwrap(),
        "--municipality",
        "382060",
    ]);
    assert!(text(&again).contains("nothing changed"), "{}", text(&again));
}

#[test]
fn audit_verify_passes_on_a_busy_log_and_names_an_entry_altered_by_hand() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let sample = d.targets();
    let bad = d.targets_with_errors();
    for _ in 0..3 {
        d.run(&[
            "import",
            "targets",
            sample.to_str().unwrap(),
            "--municipality",
            "382060",
        ]);
        d.run(&[
            "import",
            "targets",
            bad.to_str().unwrap(),
            "--municipality",
            "131016",
            "--partial",
        ]);
    }
    let ok = d.run(&["audit", "verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("382060 西条市: 3 entries, intact"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("131016 千代田区: 3 entries, intact"),
        "{}",
        text(&ok)
    );

    // An anchor of the heads now, kept apart; the chains verify against it. An anchor file
    // altered by hand does not verify (exit 1, naming the file); a missing one is a bad argument.
    let anchor = d.path("anchor.json");
    let made = d.run(&["audit", "anchor", "--out", anchor.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made));
    let against = d.run(&["audit", "verify", "--anchor", anchor.to_str().unwrap()]);
    assert!(against.status.success(), "{}", text(&against));
    assert!(
        text(&against).contains("382060 西条市: 3 entries, intact (anchored at entry 3)"),
        "{}",
        text(&against)
    );
    let anchored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&anchor).unwrap()).unwrap();
    let mut altered = anchored.clone();
    altered["heads"][0]["seq"] = serde_json::json!(2);
    let altered_path = d.path("altered.json");
    std::fs::write(&altered_path, altered.to_string()).unwrap();
    let refused = d.run(&[
        "audit",
        "verify",
        "--anchor",
        altered_path.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("master key"), "{}", text(&refused));
    let missing = d.run(&["audit", "verify", "--anchor", "none.json"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));

    // Someone with the database file drops the guard trigger and edits an entry.
    let db = d.path("vrs-data/vrs.db");
    by_hand(
        &db,
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET actor = 'someone-else' WHERE municipality_code = '382060' AND seq = 2;",
    );
    let broken = d.run(&["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        text(&broken).contains("382060 西条市: BROKEN at entry 2"),
        "{}",
        text(&broken)
    );
    assert!(
        text(&broken).contains("131016 千代田区: 3 entries, intact"),
        "{}",
        text(&broken)
    );
    let only = d.run(&["audit", "verify", "--municipality", "131016"]);
    assert!(only.status.success(), "{}", text(&only));

    // Cutting the chain short is found too.
    by_hand(
        &db,
        "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE municipality_code = '131016' AND seq = 3;",
    );
    let short = d.run(&["audit", "verify", "--municipality", "131016"]);
    assert_eq!(short.status.code(), Some(1));
    assert!(
        text(&short).contains("BROKEN at entry 3"),
        "{}",
        text(&short)
    );
}

#[test]
fn demo_prints_every_role_and_serves() {
    use std::io::{BufRead, Read, Write};
    let d = Deployment::new();
    let mut child = d
        .command()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--targets",
            "50",
            "--dir",
            "demo",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut printed = String::new();
    let address = loop {
        let line = lines.next().expect("the demo stopped early").unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("VRS is serving on http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    for role in [
        "national_operator",
        "prefecture_viewer",
        "municipal_admin",
        "municipal_staff",
        "site_tablet",
        "certificate_service",
    ] {
        assert!(printed.contains(role), "{role} missing from:\n{printed}");
    }
    assert!(
        printed.contains("382060 愛媛県西条市: 50 targets"),
        "{printed}"
    );
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
}
