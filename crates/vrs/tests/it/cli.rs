//! The `vrs` binary as an operator uses it: exit codes, messages, and an import killed with -9.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

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

#[test]
fn check_doses_reports_as_csv_and_names_a_bad_date() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let ok = d.run(&[
        "check",
        "doses",
        "--municipality",
        "382060",
        "--as-of",
        "R3.12.1",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout)
        .starts_with("atena_number,dose_number,administered_on,rule,message"));
    assert!(String::from_utf8_lossy(&ok.stderr).contains("0 doses checked"));
    let bad = d.run(&[
        "check",
        "doses",
        "--municipality",
        "382060",
        "--as-of",
        "令和3年2月30日",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--as-of"));
}

fn count_doses(dir: &Path) -> u64 {
    let conn = rusqlite::Connection::open(dir.join("vrs-data/vrs.db")).unwrap();
    conn.query_row("SELECT count(*) FROM doses", [], |r| r.get(0))
        .unwrap()
}

/// A dose file's header and one row per `(coupon, dose_number, date)`: Comirnaty, lot FA4597, given
/// in 西条市, CRLF line ends.
fn dose_file(rows: &[(&str, u8, &str)]) -> String {
    let mut file = String::from(
        "接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード,接種会場名,接種医師名\r\n",
    );
    for (coupon, dose_number, date) in rows {
        file.push_str(&format!(
            "{coupon},{dose_number},{date},comirnaty,FA4597,382060,西条市総合文化会館,\r\n"
        ));
    }
    file
}

#[test]
fn import_and_export_doses() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let targets = d.path("targets.csv");
    let gen = d.run(&[
        "gen",
        "targets",
        "--municipality",
        "382060",
        "--count",
        "5",
        "--seed",
        "3",
        "--out",
        targets.to_str().unwrap(),
    ]);
    assert!(gen.status.success(), "{}", text(&gen));
    let imported = d.run(&[
        "import",
        "targets",
        targets.to_str().unwrap(),
        "--municipality",
        "382060",
    ]);
    assert!(imported.status.success(), "{}", text(&imported));
    // Columns of a targets file: My Number, 宛名番号, municipality, coupon number, …
    let targets_text = std::fs::read_to_string(&targets).unwrap();
    let rows: Vec<Vec<&str>> = targets_text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 5);
    let my_numbers: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    let coupons: Vec<&str> = rows.iter().map(|r| r[3]).collect();
    assert!(my_numbers.iter().all(|n| n.len() == 12), "{my_numbers:?}");
    assert!(coupons.iter().all(|c| c.len() == 10), "{coupons:?}");

    // Three good rows and, on line 3, a coupon no target holds: refused whole.
    let doses = d.path("doses.csv");
    let with_bad = dose_file(&[
        (coupons[0], 1, "2021-06-01"),
        ("9999999999", 1, "2021-06-01"),
        (coupons[1], 1, "令和3年6月2日"),
        (coupons[2], 1, "20210603"),
    ]);
    std::fs::write(&doses, &with_bad).unwrap();
    let refused = d.run(&[
        "import",
        "doses",
        doses.to_str().unwrap(),
        "--municipality",
        "382060",
        "--errors",
        "dose-errors.csv",
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("接種券番号"), "{stderr}");
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert_eq!(count_doses(d.dir.path()), 0);
    let report = std::fs::read_to_string(d.path("dose-errors.csv")).unwrap();
    let report_lines: Vec<&str> = report.lines().collect();
    assert_eq!(report_lines.len(), 2, "{report}");
    assert_eq!(report_lines[0], "line,column,reason,reason_en");
    assert!(report_lines[1].starts_with("3,接種券番号,"), "{report}");

    // Without the bad row: stored; the same file again changes nothing.
    let good = dose_file(&[
        (coupons[0], 1, "2021-06-01"),
        (coupons[1], 1, "令和3年6月2日"),
        (coupons[2], 1, "20210603"),
    ]);
    std::fs::write(&doses, &good).unwrap();
    let args = [
        "import",
        "doses",
        doses.to_str().unwrap(),
        "--municipality",
        "382060",
        "--encoding",
        "utf-8",
    ];
    let stored = d.run(&args);
    assert!(stored.status.success(), "{}", text(&stored));
    assert!(
        String::from_utf8_lossy(&stored.stdout).contains("added 3"),
        "{}",
        text(&stored)
    );
    assert_eq!(count_doses(d.dir.path()), 3);
    let again = d.run(&args);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("added 0, unchanged 3"),
        "{}",
        text(&again)
    );
    assert_eq!(count_doses(d.dir.path()), 3);

    // A dose after the day the rules take as today.
    let future = d.path("future.csv");
    std::fs::write(&future, dose_file(&[(coupons[3], 1, "2021-08-01")])).unwrap();
    let late = d.run(&[
        "import",
        "doses",
        future.to_str().unwrap(),
        "--municipality",
        "382060",
        "--as-of",
        "2021-07-01",
    ]);
    assert_eq!(late.status.code(), Some(2), "{}", text(&late));
    assert!(text(&late).contains("future_date"), "{}", text(&late));
    assert_eq!(count_doses(d.dir.path()), 3);

    // The ledger layout in CP932: one row per person with doses, never a My Number.
    let ledger = d.run(&[
        "export",
        "doses",
        "--municipality",
        "382060",
        "--format",
        "vrs-ledger",
        "--encoding",
        "cp932",
        "--out",
        "ledger.csv",
    ]);
    assert!(ledger.status.success(), "{}", text(&ledger));
    let bytes = std::fs::read(d.path("ledger.csv")).unwrap();
    assert!(
        !bytes.starts_with(b"\xEF\xBB\xBF"),
        "a CP932 file has no BOM"
    );
    let (decoded, _, malformed) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!malformed, "the ledger is not CP932");
    assert!(
        decoded.starts_with("個別宛名番号,1回目接種履歴登録日時,1回目接種日"),
        "{decoded}"
    );
    let ledger_lines: Vec<&str> = decoded.split_terminator("\r\n").collect();
    assert_eq!(ledger_lines.len(), 4, "{decoded}");
    for (row, atena) in ledger_lines[1..].iter().zip(rows.iter().map(|r| r[1])) {
        assert!(row.starts_with(&format!("{atena},")), "{row}");
        assert!(row.contains("FA4597"), "{row}");
    }
    for number in &my_numbers {
        assert!(!decoded.contains(number), "the ledger reveals a My Number");
    }

    // One row per dose, UTF-8, to standard output.
    let csv = d.run(&[
        "export",
        "doses",
        "--municipality",
        "382060",
        "--format",
        "csv",
        "--encoding",
        "utf-8",
    ]);
    assert!(csv.status.success(), "{}", text(&csv));
    let out = String::from_utf8(csv.stdout).unwrap();
    let csv_lines: Vec<&str> = out.lines().collect();
    assert_eq!(csv_lines.len(), 4, "{out}");
    assert!(
        csv_lines[0]
            .trim_start_matches('\u{feff}')
            .starts_with("atena_number,"),
        "{out}"
    );

    let xml = d.run(&[
        "export",
        "doses",
        "--municipality",
        "382060",
        "--format",
        "xml",
    ]);
    assert_eq!(xml.status.code(), Some(2), "{}", text(&xml));
    assert!(text(&xml).contains("--format"), "{}", text(&xml));
}

#[test]
fn accounts_create_refuses_bad_input_and_issues_a_one_time_password() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    for (args, expected) in [
        (
            vec!["x", "--role", "site_tablet", "--municipality", "382060"],
            "user ID",
        ),
        (
            vec!["tablet-1", "--role", "nurse", "--municipality", "382060"],
            "--role",
        ),
        (
            vec!["tablet-1", "--role", "site_tablet"],
            "--municipality is required",
        ),
        (
            vec![
                "tablet-1",
                "--role",
                "site_tablet",
                "--municipality",
                "382061",
            ],
            "--municipality",
        ),
        (
            vec!["viewer-1", "--role", "prefecture_viewer"],
            "--prefecture is required",
        ),
    ] {
        let mut all = vec!["accounts", "create"];
        all.extend(&args);
        let out = d.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    let accounts = || {
        let conn = rusqlite::Connection::open(d.path("vrs-data/vrs.db")).unwrap();
        conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(accounts(), 0, "a refused call issued an account");
    let out = d.run(&[
        "accounts",
        "create",
        "tablet-1",
        "--role",
        "site_tablet",
        "--municipality",
        "382060",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (user, password) = stdout.trim().split_once('\t').unwrap();
    assert_eq!(user, "tablet-1");
    assert_eq!(password.len(), 16);
    let conn = rusqlite::Connection::open(d.path("vrs-data/vrs.db")).unwrap();
    let must_change: bool = conn
        .query_row(
            "SELECT must_change_password FROM accounts WHERE user_id = 'tablet-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        must_change,
        "the one-time password must be changed at first sign-in"
    );
    // An account waiting after failed sign-ins is unlocked from the command line, audited.
    conn.execute(
        "UPDATE accounts SET failed_logins = 7, locked_until = '2999-01-01T00:00:00.000000Z' \
         WHERE user_id = 'tablet-1'",
        [],
    )
    .unwrap();
    let unlocked = d.run(&["accounts", "unlock", "tablet-1"]);
    assert!(unlocked.status.success(), "{}", text(&unlocked));
    assert!(
        text(&unlocked).contains("after 7 failed"),
        "{}",
        text(&unlocked)
    );
    let (failures, until): (i64, Option<String>) = conn
        .query_row(
            "SELECT failed_logins, locked_until FROM accounts WHERE user_id = 'tablet-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((failures, until), (0, None));
    let unlocks: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'account.unlock' AND target = 'tablet-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unlocks, 1);
    let nobody = d.run(&["accounts", "unlock", "nobody-here"]);
    assert_eq!(nobody.status.code(), Some(2), "{}", text(&nobody));
    assert!(text(&nobody).contains("nobody-here"), "{}", text(&nobody));
    let again = d.run(&[
        "accounts",
        "create",
        "tablet-1",
        "--role",
        "site_tablet",
        "--municipality",
        "382060",
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already"), "{}", text(&again));
    assert_eq!(accounts(), 1);
    // One tablet account per vaccination site: a second account for the site is refused.
    let named = |user: &str, site: &str| {
        d.run(&[
            "accounts",
            "create",
            user,
            "--role",
            "site_tablet",
            "--municipality",
            "382060",
            "--name",
            site,
        ])
    };
    assert!(named("tablet-2", "西条市総合体育館").status.success());
    let second = named("tablet-3", "西条市 総合体育館");
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("one account per site") && text(&second).contains("tablet-2"),
        "{}",
        text(&second)
    );
    assert!(named("tablet-3", "西条市丹原文化会館").status.success());
    assert_eq!(accounts(), 3);
}

#[test]
fn statistics_rebuild_counts_targets_and_names_bad_arguments() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let targets = d.path("targets.csv");
    let gen = d.run(&[
        "gen",
        "targets",
        "--municipality",
        "382060",
        "--count",
        "12",
        "--seed",
        "4",
        "--out",
        targets.to_str().unwrap(),
    ]);
    assert!(gen.status.success(), "{}", text(&gen));
    let import = d.run(&[
        "import",
        "targets",
        targets.to_str().unwrap(),
        "--municipality",
        "382060",
    ]);
    assert!(import.status.success(), "{}", text(&import));
    let ok = d.run(&["statistics", "rebuild", "--as-of", "2022-01-01"]);
    assert!(ok.status.success(), "{}", text(&ok));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.contains("382060\t愛媛県西条市\ttargets 12\tdoses 0"),
        "{out}"
    );
    let bad = d.run(&["statistics", "rebuild", "--municipality", "382061"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--municipality"), "{}", text(&bad));
    let bad = d.run(&["statistics", "rebuild", "--as-of", "令和4年2月30日"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--as-of"));
}

#[test]
fn terms_publish_counts_versions_and_names_bad_input() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let file = d.path("terms.txt");
    std::fs::write(&file, "第1条 市区町村は…\n").unwrap();
    let f = file.to_str().unwrap();
    let bad = d.run(&[
        "terms", "publish", "--kind", "usage", "--title", "t", "--file", f,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("no_consent_inquiry"), "{}", text(&bad));
    let missing = d.run(&[
        "terms", "publish", "--kind", "use", "--title", "t", "--file", "none.txt",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("none.txt"));
    let untitled = d.run(&[
        "terms", "publish", "--kind", "use", "--title", " ", "--file", f,
    ]);
    assert_eq!(untitled.status.code(), Some(2), "{}", text(&untitled));
    for version in ["version 1", "version 2"] {
        let ok = d.run(&[
            "terms",
            "publish",
            "--kind",
            "use",
            "--title",
            "利用確認事項",
            "--file",
            f,
        ]);
        assert!(ok.status.success(), "{}", text(&ok));
        assert!(String::from_utf8_lossy(&ok.stdout).contains(version));
    }
    let list = d.run(&["terms", "list"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);
}

#[test]
fn cert_verify_accepts_the_example_card_and_names_why_a_bad_one_is_refused() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let shc = shared.join("shc");
    let jwks = shc.join("jwks.json");
    let issuer = "https://spec.smarthealth.cards/examples/issuer";
    let verify = |card: &std::path::Path| {
        d.run(&[
            "cert",
            "verify",
            card.to_str().unwrap(),
            "--issuer",
            issuer,
            "--jwks",
            jwks.to_str().unwrap(),
        ])
    };
    let ok = verify(&shc.join("examples/card.qr.txt"));
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("valid: SMART Health Card"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("issuer: https://spec.smarthealth.cards/examples/issuer"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("holder: Anyperson John B."),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("birth date: 1951-01-20"),
        "{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("dose: 2021-01-01 Spikevax (CVX 207), lot 0000001"),
        "{}",
        text(&ok)
    );
    let jws = verify(&shc.join("examples/card.jws"));
    assert!(jws.status.success(), "{}", text(&jws));

    // The .smart-health-card file the counter hands out: every credential, each summary whole.
    let card = std::fs::read_to_string(shc.join("examples/card.jws")).unwrap();
    let file = d.path("two.smart-health-card");
    std::fs::write(
        &file,
        serde_json::json!({ "verifiableCredential": [card.trim(), card.trim()] }).to_string(),
    )
    .unwrap();
    let both = verify(&file);
    assert!(both.status.success(), "{}", text(&both));
    let one = "valid: SMART Health Card\n\
               id: (none)\n\
               issuer: https://spec.smarthealth.cards/examples/issuer\n\
               holder: Anyperson John B.\n\
               birth date: 1951-01-20\n\
               dose: 2021-01-01 Spikevax (CVX 207), lot 0000001\n\
               dose: 2021-01-29 Spikevax (CVX 207), lot 0000007\n\
               dose: 2022-09-05 Spikevax Bivalent Original/Omicron BA.4-5 (CVX 229), lot 0000001\n";
    assert_eq!(
        String::from_utf8_lossy(&both.stdout),
        format!("{one}\n{one}")
    );
    // Standard error holds only the whole-line warning that no revocation list was given.
    let warning = String::from_utf8_lossy(&both.stderr);
    assert!(
        warning.starts_with(
            "warning: https://spec.smarthealth.cards/examples/issuer publishes a revocation list"
        ),
        "{warning}"
    );
    assert!(warning.ends_with("(give --bundle)\n"), "{warning}");
    assert_eq!(warning.lines().count(), 1, "{warning}");
    std::fs::write(
        &file,
        serde_json::json!({ "verifiableCredential": [card.trim(), "e30.e30.e30"] }).to_string(),
    )
    .unwrap();
    let second_bad = verify(&file);
    assert_eq!(second_bad.status.code(), Some(1), "{}", text(&second_bad));
    assert!(
        text(&second_bad).contains("invalid: credential 2 of 2: SMART Health Card"),
        "{}",
        text(&second_bad)
    );
    assert!(second_bad.stdout.is_empty(), "{}", text(&second_bad));
    let bad = verify(&shc.join("examples/bad-signature.qr.txt"));
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad).contains("signature does not verify"),
        "{}",
        text(&bad)
    );
    let nozip = verify(&shc.join("examples/bad-nozip.qr.txt"));
    assert_eq!(nozip.status.code(), Some(1));
    assert!(text(&nozip).contains("zip DEF"), "{}", text(&nozip));
    let missing = verify(&d.path("none.txt"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("none.txt"), "{}", text(&missing));
    let unpaired = d.run(&[
        "cert",
        "verify",
        shc.join("examples/card.qr.txt").to_str().unwrap(),
        "--issuer",
        issuer,
    ]);
    assert_eq!(unpaired.status.code(), Some(2), "{}", text(&unpaired));
    assert!(text(&unpaired).contains("--jwks"), "{}", text(&unpaired));
}

/// Standard base64 (the DCC vectors' `2DCODE`).
fn base64_decode(encoded: &str) -> Vec<u8> {
    use base64::Engine;
    let clean: String = encoded.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .unwrap()
}

#[test]
fn cert_verify_reads_an_eu_dcc_as_text_and_as_a_png_and_names_bad_trust_arguments() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("dcc/common/CO28.json")).unwrap(),
    )
    .unwrap();
    let signer = d.path("dsc.pem");
    std::fs::write(&signer, vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    let at = vector["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();
    let prefix = vector["PREFIX"].as_str().unwrap();
    std::fs::write(d.path("dcc.txt"), prefix).unwrap();
    std::fs::write(
        d.path("dcc.png"),
        base64_decode(vector["2DCODE"].as_str().unwrap()),
    )
    .unwrap();
    let verify = |code: &str, signer: &Path, at: &str| {
        d.run(&[
            "cert",
            "verify",
            code,
            "--signer",
            signer.to_str().unwrap(),
            "--at",
            at,
        ])
    };
    for code in ["dcc.txt", "dcc.png"] {
        let ok = verify(code, &signer, at);
        assert!(ok.status.success(), "{code}: {}", text(&ok));
        let out = text(&ok);
        assert!(out.contains("valid: EU DCC"), "{out}");
        assert!(out.contains("issuer: Swedish eHealth Agency (SE)"), "{out}");
        assert!(out.contains("holder: Lövström Oscar"), "{out}");
        assert!(out.contains("birth date: 1958-11-11"), "{out}");
        assert!(
            out.contains("dose 2: 2021-03-18 Vaxzevria (EU EU/1/21/1529)"),
            "{out}"
        );
    }

    // One Base45 character changed in the middle: refused with the step that failed.
    let mut tampered: Vec<char> = prefix.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    std::fs::write(d.path("tampered.txt"), tampered.iter().collect::<String>()).unwrap();
    let bad = verify("tampered.txt", &signer, at);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("invalid: EU DCC: "), "{}", text(&bad));

    // Valid when issued, expired a year later.
    let late = verify("dcc.txt", &signer, "2022-06-01T00:00:00Z");
    assert_eq!(late.status.code(), Some(1), "{}", text(&late));

    let missing = verify("dcc.txt", &d.path("none.pem"), at);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("--signer"), "{}", text(&missing));
    assert!(text(&missing).contains("none.pem"), "{}", text(&missing));
    let unreadable = verify("dcc.txt", &d.path("dcc.txt"), at);
    assert_eq!(unreadable.status.code(), Some(2), "{}", text(&unreadable));
    assert!(
        text(&unreadable).contains("--signer"),
        "{}",
        text(&unreadable)
    );
    let bad_time = verify("dcc.txt", &signer, "yesterday");
    assert_eq!(bad_time.status.code(), Some(2), "{}", text(&bad_time));
    assert!(text(&bad_time).contains("--at"), "{}", text(&bad_time));
}

#[test]
fn cert_verify_with_a_cached_bundle_refuses_a_revoked_dcc_and_names_a_bad_bundle_entry() {
    use base64::Engine;
    use vrs_cert::dcc::revocation::{HashType, RevocationList};

    let Some(shared) = shared_testdata() else {
        return;
    };
    let d = Deployment::new();
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("dcc/common/CO28.json")).unwrap(),
    )
    .unwrap();
    let signer_base64 = vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap();
    let signer = vrs_crypto::x509::Certificate::from_base64(signer_base64).unwrap();
    let kid = vrs_cert::dcc::kid(signer.der());
    let uvci = vector["JSON"]["v"][0]["ci"].as_str().unwrap();
    let at = vector["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();
    std::fs::write(d.path("dcc.txt"), vector["PREFIX"].as_str().unwrap()).unwrap();
    let der = base64::engine::general_purpose::STANDARD.encode(signer.der());
    let bundle = |revoked: &[&str], hash_type: &str| {
        let mut list = RevocationList::for_uvcis(kid, HashType::Uci, revoked.iter().copied());
        list.hash_type = hash_type.to_owned();
        serde_json::json!({
            "generated_at": "2026-12-01T00:00:00Z",
            "shc_issuers": [],
            "document_signers": [der],
            "cscas": [],
            "revocations": [list],
        })
        .to_string()
    };
    let verify = |name: &str, contents: &str| {
        std::fs::write(d.path(name), contents).unwrap();
        d.run(&[
            "cert",
            "verify",
            d.path("dcc.txt").to_str().unwrap(),
            "--bundle",
            d.path(name).to_str().unwrap(),
            "--at",
            at,
        ])
    };

    // The bundle alone is the trust: valid while another certificate is revoked. The summary
    // names the certificate's UVCI, every line ends, and the bundle's date goes to its own line.
    let ok = verify("clean.json", &bundle(&["URN:UVCI:01:SE:EHM/OTHER"], "UCI"));
    assert!(ok.status.success(), "{}", text(&ok));
    let stdout = String::from_utf8_lossy(&ok.stdout).into_owned();
    let expires = stdout
        .lines()
        .find_map(|l| l.strip_prefix("expires: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    assert_eq!(
        stdout,
        format!(
            "valid: EU DCC\n\
             id: {uvci}\n\
             issuer: Swedish eHealth Agency (SE)\n\
             holder: Lövström Oscar\n\
             birth date: 1958-11-11\n\
             expires: {expires}\n\
             dose 2: 2021-03-18 Vaxzevria (EU EU/1/21/1529)\n"
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stderr),
        format!(
            "revocations as of 2026-12-01T00:00:00+00:00 (--bundle {})\n",
            d.path("clean.json").display()
        )
    );

    let revoked = verify("revoked.json", &bundle(&[uvci], "UCI"));
    assert_eq!(revoked.status.code(), Some(1), "{}", text(&revoked));
    assert!(
        text(&revoked).contains("invalid: EU DCC: revoked"),
        "{}",
        text(&revoked)
    );
    assert!(
        !String::from_utf8_lossy(&revoked.stdout).contains("valid: EU DCC"),
        "{}",
        text(&revoked)
    );

    let unknown = verify("unknown.json", &bundle(&[uvci], "SIGNATURE"));
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    for part in ["--bundle", "unknown.json", "revocations[0]", "SIGNATURE"] {
        assert!(text(&unknown).contains(part), "{part}: {}", text(&unknown));
    }
    let garbled = verify("garbled.json", "{\"generated_at\": ");
    assert_eq!(garbled.status.code(), Some(2), "{}", text(&garbled));
    assert!(
        text(&garbled).contains("garbled.json"),
        "{}",
        text(&garbled)
    );
}

#[test]
fn dev_card_signs_card_data_the_app_flow_accepts_and_keys_rotate() {
    use base64::Engine;
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let out = d.path("card");
    let args = |my_number: &'static str| {
        vec![
            "dev".to_owned(),
            "card".into(),
            "--out".into(),
            out.to_str().unwrap().to_owned(),
            "--municipality".into(),
            "131016".into(),
            "--my-number".into(),
            my_number.into(),
            "--name".into(),
            "千代田　花子".into(),
            "--birth-date".into(),
            "1985-04-01".into(),
        ]
    };
    let run = |a: Vec<String>| d.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let first = run(args("123456789018"));
    assert!(first.status.success(), "{}", text(&first));
    // The private keys and the application (it carries a My Number) are the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["card-issuer.key", "card-signer.key", "application.json"] {
            let mode = std::fs::metadata(out.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }
    let issuer_before = std::fs::read(out.join("card-issuer.der")).unwrap();
    assert!(run(args("123456789018")).status.success());
    assert_eq!(
        std::fs::read(out.join("card-issuer.der")).unwrap(),
        issuer_before,
        "the test issuer is reused"
    );
    // The application verifies under the test issuer, as the server's app flow checks it.
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("application.json")).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let card = &body["card"];
    let application = vrs_core::certificates::app::Application {
        municipality: vrs_domain::MunicipalityCode::parse("131016").unwrap(),
        card: vrs_core::certificates::app::CardData {
            my_number: vrs_domain::MyNumber::parse(card["my_number"].as_str().unwrap()).unwrap(),
            name: card["name"].as_str().unwrap().to_owned(),
            address: card["address"].as_str().unwrap().to_owned(),
            birth_date: card["birth_date"].as_str().unwrap().parse().unwrap(),
            sex: card["sex"].as_u64().unwrap() as u8,
        },
        signature_algorithm: vrs_crypto::x509::SignatureAlgorithm::Es256,
        signature: b64.decode(body["signature"].as_str().unwrap()).unwrap(),
        card_certificate: b64
            .decode(body["card_certificate"].as_str().unwrap())
            .unwrap(),
        kind: vrs_domain::CertificateKind::Domestic,
        mrz: None,
        replaces: None,
    };
    let trust = vrs_core::certificates::app::CardTrust {
        anchors: vec![vrs_crypto::x509::Certificate::from_der(&issuer_before).unwrap()],
        ..Default::default()
    };
    vrs_core::certificates::app::verify_card(&trust, &application, chrono::Utc::now()).unwrap();
    let mut altered = application.clone();
    altered.card.name = "千代田　太郎".into();
    assert!(
        vrs_core::certificates::app::verify_card(&trust, &altered, chrono::Utc::now()).is_err()
    );

    // Bad input is named.
    let bad = run(args("123456789012"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--my-number"), "{}", text(&bad));

    // Rotating a key keeps the old one published.
    let rotate = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "shc"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    let again = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "shc"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("the old one stays published"));
    let bad = d.run(&["keys", "rotate", "--issuer", "131016", "--purpose", "rsa"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--purpose"), "{}", text(&bad));
    let bad = d.run(&["keys", "rotate", "--issuer", "131017", "--purpose", "shc"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn an_offline_csca_signs_a_document_signer_request_the_deployment_then_uses() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let file = |name: &str| d.path(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = d.run(args);
        (out.status.code(), text(&out))
    };

    // On the offline machine: the CSCA, its key readable by its owner only.
    let (code, said) = run(&[
        "keys",
        "csca",
        "--name",
        "VRS Japan",
        "--certificate",
        &file("csca.pem"),
        "--key",
        &file("csca.key"),
    ]);
    assert_eq!(code, Some(0), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("csca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(std::fs::read_to_string(d.path("csca.key"))
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));

    // Beside the deployment: the CSCA's certificate, then a request.
    let (code, said) = run(&["keys", "import-csca", &file("csca.pem")]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("held offline"), "{said}");
    let (code, said) = run(&["keys", "import-csca", &file("csca.pem")]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("already holds"), "{said}");
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131016",
        "--out",
        &file("req"),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let request = std::fs::read_to_string(d.path("req.csr.pem")).unwrap();
    assert!(request.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let sealed = std::fs::read_to_string(d.path("req.key.json")).unwrap();
    assert!(sealed.contains("vrs-dsc-request/1") && !sealed.contains("PRIVATE KEY"));
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131016",
        "--out",
        &file("req"),
    ]);
    assert_eq!(code, Some(2), "a request never replaces a file: {said}");
    let (code, said) = run(&[
        "keys",
        "request",
        "--issuer",
        "131017",
        "--out",
        &file("bad"),
    ]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("131017"), "{said}");

    // Offline again: the CSCA signs the request.
    let sign = |request: &str, out: &str| {
        run(&[
            "keys",
            "sign-request",
            "--csca-certificate",
            &file("csca.pem"),
            "--csca-key",
            &file("csca.key"),
            "--request",
            request,
            "--out",
            out,
        ])
    };
    let (code, said) = sign(&file("req.csr.pem"), &file("dsc.pem"));
    assert_eq!(code, Some(0), "{said}");
    std::fs::write(
        d.path("junk.csr.pem"),
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
    )
    .unwrap();
    let (code, said) = sign(&file("junk.csr.pem"), &file("junk.pem"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("request"), "{said}");

    // The certificate comes back: checked, then it signs.
    let import = |certificate: &str| {
        run(&[
            "keys",
            "import-dsc",
            "--key",
            &file("req.key.json"),
            "--certificate",
            certificate,
        ])
    };
    let (code, said) = import(&file("csca.pem"));
    assert_eq!(code, Some(2), "the CSCA is no signer: {said}");
    let (code, said) = import(&file("dsc.pem"));
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("now signs"), "{said}");
    let (code, said) = import(&file("dsc.pem"));
    assert_eq!(code, Some(2), "{said}");
    // Rotation cannot make a signer without the CSCA's key.
    let (code, said) = run(&["keys", "rotate", "--issuer", "131016", "--purpose", "dsc"]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("vrs keys request --issuer 131016"), "{said}");
}

#[test]
fn clients_key_register_sign_and_remove_and_name_bad_input() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let created = d.run(&[
        "accounts",
        "create",
        "app-backend",
        "--role",
        "certificate_service",
    ]);
    assert!(created.status.success(), "{}", text(&created));
    let key = d.run(&["clients", "key", "app-backend"]);
    assert!(key.status.success(), "{}", text(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("app-backend.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A private key is never replaced.
    let again = d.run(&["clients", "key", "app-backend"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    std::fs::write(
        d.path("private.json"),
        r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#,
    )
    .unwrap();
    for (args, expected) in [
        (
            vec![
                "app-backend",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "doses.write",
            ],
            "--scopes",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "everything",
            ],
            "unknown scope",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "private.json",
                "--scopes",
                "certificates.issue",
            ],
            "private key",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "missing.json",
                "--scopes",
                "certificates.issue",
            ],
            "--jwks",
        ),
        (
            vec![
                "nobody",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "certificates.issue",
            ],
            "no account",
        ),
    ] {
        let mut all = vec!["clients", "add"];
        all.extend(&args);
        let out = d.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    let added = d.run(&[
        "clients",
        "add",
        "app-backend",
        "--jwks",
        "app-backend.jwks.json",
        "--scopes",
        "certificates.issue",
    ]);
    assert!(added.status.success(), "{}", text(&added));
    let list = d.run(&["clients", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("app-backend\tcertificates.issue"),
        "{}",
        text(&list)
    );

    // The assertion is a compact JWS the registered key verifies, with the claims the endpoint
    // reads.
    let aud = "https://vrs.example.jp/oauth/token";
    let signed = d.run(&[
        "clients",
        "assertion",
        "--key",
        "app-backend.key.pem",
        "--client",
        "app-backend",
        "--aud",
        aud,
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let jws = String::from_utf8(signed.stdout).unwrap().trim().to_owned();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "{jws}");
    let claims: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "app-backend");
    assert_eq!(claims["sub"], "app-backend");
    assert_eq!(claims["aud"], aud);
    let jwks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("app-backend.jwks.json")).unwrap())
            .unwrap();
    let public = vrs_crypto::es256::PublicKey::from_jwk(
        jwks["keys"][0]["x"].as_str().unwrap(),
        jwks["keys"][0]["y"].as_str().unwrap(),
    )
    .unwrap();
    assert!(public.verifies(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &B64URL.decode(parts[2]).unwrap()
    ));

    assert!(d
        .run(&["clients", "remove", "app-backend"])
        .status
        .success());
    let gone = d.run(&["clients", "remove", "app-backend"]);
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone));
    assert!(
        text(&gone).contains("not a registered client"),
        "{}",
        text(&gone)
    );
}
