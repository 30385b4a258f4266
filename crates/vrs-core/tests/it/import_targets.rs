//! The targets import against both backends, with the shared sample files
//! (`../shared/testdata/targets`; those cases skip with a message where they are absent, except
//! under CI) and generated files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use vrs_store::testkit::code;
use vrs_store::Areas;

use vrs_core::{import_targets, Actor, ImportObserver, ImportReport, Problem, TargetImport};
use vrs_domain::MyNumber;
use vrs_interop::{write_targets, Encoding, EncodingChoice, Synthetic};
use vrs_store::testkit::TestDb;

use crate::support;

use vrs_store::on_both_backends;

on_both_backends!(
    cp932_file_with_era_dates_is_imported,
    every_kind_of_bad_row_is_reported_with_its_line_and_nothing_is_stored,
    partial_import_stores_the_good_rows_and_reports_the_bad,
    reimporting_the_same_file_changes_nothing,
    changed_people_are_updated,
    rows_of_another_municipality_are_refused,
    duplicates_in_the_file_and_conflicts_with_the_area_are_refused,
    headerless_lf_file_with_full_width_digits_is_read_in_column_order,
    generated_file_round_trips_in_both_encodings,
    unreadable_header_is_a_file_error,
    the_municipality_moved_in_from_is_imported_and_updated,
);

/// The sample files made outside the project, or `None` (after a message) where they are absent.
fn samples() -> Option<PathBuf> {
    Some(support::shared_testdata()?.join("targets"))
}

/// 40 generated targets of 西条市 (382060) in CP932, every row valid.
fn generated_382060() -> Vec<u8> {
    let mut bytes = Vec::new();
    write_targets(
        &mut bytes,
        Encoding::Cp932,
        Synthetic::new(code("382060"), 40, 1),
    )
    .unwrap();
    bytes
}

#[derive(Default)]
struct Collect {
    problems: Vec<Problem>,
    progress_calls: u64,
}

impl ImportObserver for Collect {
    fn progress(&mut self, _rows: u64, _bytes: u64) {
        self.progress_calls += 1;
    }
    fn problem(&mut self, p: &Problem) {
        self.problems.push(p.clone());
    }
}

async fn import(
    db: &TestDb,
    bytes: Vec<u8>,
    municipality: &str,
    partial: bool,
) -> (ImportReport, Vec<Problem>) {
    let mut seen = Collect::default();
    let request = TargetImport {
        municipality: code(municipality),
        encoding: EncodingChoice::Auto,
        partial,
        source_name: "test.csv".into(),
    };
    let report = import_targets(
        db.store.as_ref(),
        &Actor::command_line(),
        std::io::Cursor::new(bytes),
        &request,
        &mut seen,
    )
    .await
    .unwrap();
    assert!(seen.progress_calls > 0);
    (report, seen.problems)
}

async fn cp932_file_with_era_dates_is_imported(db: &TestDb) {
    let Some(samples) = samples() else { return };
    let bytes = std::fs::read(samples.join("sample-cp932.csv")).unwrap();
    let (report, problems) = import(db, bytes, "382060", false).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(report.encoding, Encoding::Cp932);
    assert_eq!(report.rows, 40);
    assert_eq!(report.stored.unwrap().added, 40);
    assert_eq!(
        db.store
            .area(code("382060"))
            .count_residents()
            .await
            .unwrap(),
        40
    );
    // Row 1: 938570839347, 宛名 100000, 中村　美咲, 昭和52年8月3日.
    let first = db
        .store
        .area(code("382060"))
        .resident_by_my_number(&MyNumber::parse("938570839347").unwrap())
        .await
        .unwrap();
    assert_eq!(first.atena.as_str(), "100000");
    assert_eq!(first.name.as_str(), "中村　美咲");
    assert_eq!(first.birth_date.to_string(), "1977-08-03");
    // Row 2 has S18.07.15.
    let second = db
        .store
        .area(code("382060"))
        .resident_by_coupon(&vrs_domain::CouponNumber::parse("0000000002").unwrap())
        .await
        .unwrap();
    assert_eq!(second.birth_date.to_string(), "1943-07-15");
    let log = db
        .store
        .audit_log(code("382060").into(), 1, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry.action, "targets.import");
    assert!(
        log[0].entry.detail.contains("added=40"),
        "{}",
        log[0].entry.detail
    );
}

fn expected_error_lines(samples: &Path) -> Vec<u64> {
    std::fs::read_to_string(samples.join("sample-with-errors-utf8.expected-errors.tsv"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\t').next()?.parse().ok())
        .collect()
}

async fn every_kind_of_bad_row_is_reported_with_its_line_and_nothing_is_stored(db: &TestDb) {
    let Some(samples) = samples() else { return };
    let bytes = std::fs::read(samples.join("sample-with-errors-utf8.csv")).unwrap();
    let (report, problems) = import(db, bytes, "131016", false).await;
    assert!(report.stored.is_none());
    assert_eq!(report.rejected_rows, 8);
    let mut lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines, expected_error_lines(&samples));
    let column_of = |line: u64| {
        problems
            .iter()
            .find(|p| p.line == line)
            .unwrap()
            .column
            .clone()
            .unwrap()
    };
    assert_eq!(column_of(32), "個人番号");
    assert_eq!(column_of(33), "自治体コード");
    assert_eq!(column_of(34), "接種券番号");
    assert_eq!(column_of(35), "生年月日");
    assert_eq!(column_of(36), "氏名");
    assert_eq!(column_of(37), "接種券番号");
    assert_eq!(column_of(38), "性別");
    assert_eq!(column_of(39), "生年月日");
    let dup = problems.iter().find(|p| p.line == 37).unwrap();
    assert!(dup.reason.en.contains("line 2"), "{}", dup.reason);
    // No report repeats a My Number of the file.
    let file = std::fs::read_to_string(samples.join("sample-with-errors-utf8.csv")).unwrap();
    for p in &problems {
        for number in file.lines().skip(1).filter_map(|l| l.split(',').next()) {
            assert!(
                !p.reason.en.contains(number) && !p.reason.ja.contains(number),
                "line {} reveals a My Number",
                p.line
            );
        }
    }
    assert_eq!(
        db.store
            .area(code("131016"))
            .count_residents()
            .await
            .unwrap(),
        0
    );
    assert!(db
        .store
        .audit_log(code("131016").into(), 1, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn partial_import_stores_the_good_rows_and_reports_the_bad(db: &TestDb) {
    let Some(samples) = samples() else { return };
    let bytes = std::fs::read(samples.join("sample-with-errors-utf8.csv")).unwrap();
    let (report, problems) = import(db, bytes, "131016", true).await;
    let stored = report.stored.unwrap();
    assert_eq!((stored.added, report.rejected_rows), (30, 8));
    assert_eq!(problems.iter().map(|p| p.line).max(), Some(39));
    assert_eq!(
        db.store
            .area(code("131016"))
            .count_residents()
            .await
            .unwrap(),
        30
    );
}

async fn reimporting_the_same_file_changes_nothing(db: &TestDb) {
    let bytes = generated_382060();
    import(db, bytes.clone(), "382060", false).await;
    let before = db.snapshot("residents").await;
    let (report, problems) = import(db, bytes, "382060", false).await;
    assert!(problems.is_empty());
    let s = report.stored.unwrap();
    assert_eq!((s.added, s.updated, s.unchanged), (0, 0, 40));
    // Every resident row is byte-for-byte the same (not even re-encrypted or re-stamped).
    assert_eq!(db.snapshot("residents").await, before);
}

async fn changed_people_are_updated(db: &TestDb) {
    let Some(samples) = samples() else { return };
    let text = String::from_utf8(
        encoding_rs::SHIFT_JIS
            .decode(&std::fs::read(samples.join("sample-cp932.csv")).unwrap())
            .0
            .into_owned()
            .into_bytes(),
    )
    .unwrap();
    import(db, text.clone().into_bytes(), "382060", false).await;
    let changed =
        text.replacen("中村　美咲", "中村　美紀", 1)
            .replacen(",0000000002,", ",0000009002,", 1);
    let (report, _) = import(db, changed.into_bytes(), "382060", false).await;
    let s = report.stored.unwrap();
    assert_eq!((s.added, s.updated, s.unchanged), (0, 2, 38));
    let first = db
        .store
        .area(code("382060"))
        .resident_by_my_number(&MyNumber::parse("938570839347").unwrap())
        .await
        .unwrap();
    assert_eq!(first.name.as_str(), "中村　美紀");
}

async fn rows_of_another_municipality_are_refused(db: &TestDb) {
    let bytes = generated_382060();
    let (report, problems) = import(db, bytes, "131016", false).await;
    assert!(report.stored.is_none());
    assert_eq!(report.rejected_rows, 40);
    assert!(problems
        .iter()
        .all(|p| p.column.as_deref() == Some("自治体コード")));
    assert!(
        problems[0].reason.en.contains("382060"),
        "{}",
        problems[0].reason
    );
}

async fn duplicates_in_the_file_and_conflicts_with_the_area_are_refused(db: &TestDb) {
    let people: Vec<_> = Synthetic::new(code("382060"), 6, 7).collect();
    let mut first = Vec::new();
    write_targets(&mut first, Encoding::Utf8, people[..3].to_vec()).unwrap();
    import(db, first, "382060", false).await;
    // Line 2: a new person carrying person 0's My Number. Line 3: a new person. Line 4: another new
    // person given line 3's 宛名番号.
    let mut thief = people[3].clone();
    thief.my_number = people[0].my_number.clone();
    let mut twin = people[5].clone();
    twin.atena = people[4].atena.clone();
    let mut second = Vec::new();
    write_targets(
        &mut second,
        Encoding::Utf8,
        vec![thief, people[4].clone(), twin],
    )
    .unwrap();
    let (report, problems) = import(db, second, "382060", true).await;
    assert_eq!(report.rejected_rows, 2);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].line, 2);
    assert_eq!(problems[0].column.as_deref(), Some("個人番号"));
    assert!(
        problems[0].reason.en.contains("another person"),
        "{}",
        problems[0].reason
    );
    assert_eq!(problems[1].line, 4);
    assert_eq!(problems[1].column.as_deref(), Some("宛名番号"));
    assert!(
        problems[1].reason.en.contains("line 3"),
        "{}",
        problems[1].reason
    );
    assert_eq!(
        db.store
            .area(code("382060"))
            .count_residents()
            .await
            .unwrap(),
        4
    );
}

async fn headerless_lf_file_with_full_width_digits_is_read_in_column_order(db: &TestDb) {
    let file = "\u{ff11}\u{ff12}\u{ff13}\u{ff14}56789018,７７,382060,0000000077,\"西条, 一郎\",サイジョウ　イチロウ,R3.5.27,男\n";
    let (report, problems) = import(db, file.as_bytes().to_vec(), "382060", false).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(report.stored.unwrap().added, 1);
    let p = db
        .store
        .area(code("382060"))
        .resident_by_my_number(&MyNumber::parse("123456789018").unwrap())
        .await
        .unwrap();
    assert_eq!(p.atena.as_str(), "77");
    assert_eq!(p.name.as_str(), "西条, 一郎");
    assert_eq!(p.birth_date.to_string(), "2021-05-27");
}

async fn generated_file_round_trips_in_both_encodings(db: &TestDb) {
    for (encoding, municipality) in [(Encoding::Utf8, "382060"), (Encoding::Cp932, "131016")] {
        let people: Vec<_> = Synthetic::new(code(municipality), 500, 3).collect();
        let mut bytes = Vec::new();
        write_targets(&mut bytes, encoding, people.clone()).unwrap();
        let (report, problems) = import(db, bytes, municipality, false).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(report.encoding, encoding);
        assert_eq!(report.stored.unwrap().added, 500);
        for p in people.iter().step_by(50) {
            assert_eq!(
                &db.store
                    .area(code(municipality))
                    .resident(&p.atena)
                    .await
                    .unwrap(),
                p
            );
        }
    }
}

async fn unreadable_header_is_a_file_error(db: &TestDb) {
    let request = TargetImport {
        municipality: code("382060"),
        encoding: EncodingChoice::Auto,
        partial: false,
        source_name: "bad.csv".into(),
    };
    let file = "個人番号,宛名番号,自治体コード,接種券番号,氏名,生年月日,性別\n"
        .as_bytes()
        .to_vec();
    let err = import_targets(
        db.store.as_ref(),
        &Actor::command_line(),
        std::io::Cursor::new(file),
        &request,
        &mut Collect::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("氏名カナ"), "{err}");
    assert_eq!(
        db.store
            .area(code("382060"))
            .count_residents()
            .await
            .unwrap(),
        0
    );
}

/// The registry's 転入前自治体コード is stored with the person (the duplicate scan asks that area
/// about them); a later file that changes or clears it updates the person; a bad code is named.
async fn the_municipality_moved_in_from_is_imported_and_updated(db: &TestDb) {
    let mut people: Vec<_> = Synthetic::new(code("382060"), 3, 11).collect();
    people[0].moved_in_from = Some(code("131016"));
    people[2].moved_in_from = Some(code("011002"));
    let mut csv = Vec::new();
    write_targets(&mut csv, Encoding::Utf8, people.clone()).unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[0].ends_with(",転入前自治体コード") && lines[2].ends_with(','));
    let file = |lines: &[String]| (lines.join("\r\n") + "\r\n").into_bytes();
    let (report, problems) = import(db, file(&lines), "382060", false).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(report.stored.unwrap().added, 3);
    let read = |i: usize| {
        let atena = people[i].atena.clone();
        async move {
            db.store
                .area(code("382060"))
                .resident(&atena)
                .await
                .unwrap()
                .moved_in_from
        }
    };
    assert_eq!(read(0).await, Some(code("131016")));
    assert_eq!(read(1).await, None);
    assert_eq!(read(2).await, Some(code("011002")));
    // Changed in a later file: the person is updated; the unchanged people stay unchanged.
    lines[1] = lines[1].replace(",131016", ",132012");
    let (report, _) = import(db, file(&lines), "382060", false).await;
    let stored = report.stored.unwrap();
    assert_eq!((stored.added, stored.updated, stored.unchanged), (0, 1, 2));
    assert_eq!(read(0).await, Some(code("132012")));
    // A code that is not one, or this municipality's own, is named with its line; nothing stored.
    lines[1] = lines[1].replace(",132012", ",382060");
    lines[2].push_str("131017");
    let (report, problems) = import(db, file(&lines), "382060", false).await;
    assert!(report.stored.is_none());
    let named: Vec<(u64, Option<&str>)> = problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        named,
        vec![
            (2, Some("転入前自治体コード")),
            (3, Some("転入前自治体コード"))
        ]
    );
    assert_eq!(read(0).await, Some(code("132012")));
}
