//! Dose files from the command line: checking a file reports as CSV and names a bad date; importing
//! and exporting doses.

use super::*;

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
    let targets = d.with_targets(5, 3);
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
