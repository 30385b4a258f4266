//! Dose files: a file is stored all or nothing and importing it twice changes nothing; exports hold
//! no My Number and read back.

use super::*;
use vrs_store::Areas;

pub(super) async fn import(
    db: &TestDb,
    text: String,
    partial: bool,
) -> (vrs_core::doses::import::DoseImportReport, Vec<Problem>) {
    let request = DoseImport {
        municipality: code("382060"),
        encoding: EncodingChoice::Auto,
        partial,
        source_name: "doses.csv".into(),
        today: today(),
    };
    let mut seen = Collect::default();
    let report = import_doses(
        &*db.store,
        &staff(),
        std::io::Cursor::new(text.into_bytes()),
        &request,
        &mut seen,
    )
    .await
    .unwrap();
    (report, seen.0)
}

pub(super) async fn a_dose_file_is_all_or_nothing_and_importing_it_twice_changes_nothing(
    db: &TestDb,
) {
    let people = people(db).await;
    let s = &*db.store;
    let saijo = code("382060");
    let header =
        "接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード,接種会場名,接種医師名\n";
    let good = format!(
        "{header}{c0},1,令和3年6月1日,comirnaty,FA4597,382060,西条会場,\n{c0},2,2021-06-22,comirnaty,FC3661,131016,,\n{c1},1,20210701,spikevax,3004217,382060,,\n",
        c0 = people[0].coupon.as_str(),
        c1 = people[1].coupon.as_str(),
    );
    let bad = format!(
        "{good}9999999999,1,2021-06-01,comirnaty,FA4597,382060,,\n{c2},1,2030-01-01,comirnaty,FA4597,382060,,\n{c2},x,2021-06-01,comirnaty,FA4597,382060,,\n",
        c2 = people[2].coupon.as_str(),
    );
    let (report, problems) = import(db, bad.clone(), false).await;
    assert_eq!(
        (report.rows, report.rejected_rows, report.added),
        (6, 3, None)
    );
    let lines: Vec<(u64, Option<&str>)> = problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        lines,
        vec![(5, Some("接種券番号")), (6, None), (7, Some("接種回"))],
        "{problems:?}"
    );
    assert!(
        problems[1].reason.en.contains("future_date"),
        "{}",
        problems[1].reason
    );
    for p in &people {
        assert!(s.area(saijo).doses_of(&p.atena).await.unwrap().is_empty());
    }
    let (report, problems) = import(db, good.clone(), false).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((report.added, report.unchanged), (Some(3), 0));
    let stored = s.area(saijo).doses_of(&people[0].atena).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].venue, "西条会場");
    assert_eq!(stored[1].dose.site_municipality, code("131016"));
    let (report, _) = import(db, good, false).await;
    assert_eq!((report.added, report.unchanged), (Some(0), 3));
    // Partial: the good rows of a bad file are stored, the bad ones reported.
    let (report, problems) = import(db, bad, true).await;
    assert_eq!(
        (report.added, report.unchanged, report.rejected_rows),
        (Some(0), 3, 3)
    );
    assert_eq!(problems.len(), 3);
    let log = s.audit_log(saijo.into(), 1, 1000).await.unwrap();
    let imports: Vec<&str> = log
        .iter()
        .filter(|r| r.entry.action == "doses.import")
        .map(|r| r.entry.detail.as_str())
        .collect();
    assert_eq!(
        imports.len(),
        3,
        "a refused import stores no audit of a write: {imports:?}"
    );
    assert!(
        imports[0].starts_with("rows=3 added=3 unchanged=0 rejected=0"),
        "{imports:?}"
    );
}

pub(super) async fn exports_hold_no_my_number_and_read_back(db: &TestDb) {
    let people = people(db).await;
    let s = &*db.store;
    let saijo = code("382060");
    for (i, p) in people.iter().enumerate().take(3) {
        for n in 1..=(i as u8 + 1) {
            let day = d(2021, 6, 1) + chrono::Days::new(u64::from(n) * 40);
            vrs_core::doses::add_dose(
                s,
                &staff(),
                saijo,
                &p.atena,
                &input(n, day, "382060"),
                today(),
            )
            .await
            .unwrap();
        }
    }
    let export = |format, encoding| {
        let store = db.store.clone();
        async move {
            let request = DoseExport {
                municipality: saijo,
                format,
                encoding,
            };
            let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let writer = SharedVec(out.clone());
            let rows = export_doses(store, &staff(), &request, writer)
                .await
                .unwrap();
            let bytes = out.lock().unwrap().clone();
            (rows, bytes)
        }
    };
    let (rows, csv) = export(ExportFormat::Csv, Encoding::Utf8).await;
    assert_eq!(rows, 6);
    let (people_rows, ledger) = export(ExportFormat::Ledger, Encoding::Cp932).await;
    assert_eq!(people_rows, 3);
    let (ledger_text, _, bad) = encoding_rs::SHIFT_JIS.decode(&ledger);
    assert!(!bad);
    let header = ledger_text.lines().next().unwrap();
    assert!(
        header.starts_with("個別宛名番号,1回目接種履歴登録日時,1回目接種日,1回目券番号"),
        "{header}"
    );
    assert!(
        header.ends_with("3回目ワクチンメーカー,3回目ワクチンロット番号"),
        "{header}"
    );
    assert_eq!(ledger_text.lines().count(), 4);
    let csv_text = String::from_utf8(csv.clone()).unwrap();
    for p in &people {
        assert!(!csv_text.contains(p.my_number.expose()));
        assert!(!ledger_text.contains(p.my_number.expose()));
        assert!(!csv_text.contains(p.name.as_str()));
    }
    // The csv export reads back as the same doses.
    let mut reader = DoseReader::new(std::io::Cursor::new(csv), EncodingChoice::Auto).unwrap();
    let mut back = Vec::new();
    while let Some(row) = reader.next_row() {
        back.push(row.unwrap().unwrap().parse(saijo).unwrap());
    }
    assert_eq!(back.len(), 6);
    let stored = s.area(saijo).doses_of(&people[2].atena).await.unwrap();
    let again: Vec<_> = back
        .iter()
        .filter(|l| l.coupon == people[2].coupon)
        .collect();
    assert_eq!(again.len(), stored.len());
    for (line, record) in again.iter().zip(&stored) {
        assert_eq!(
            (
                line.statement.dose_number,
                line.statement.administered_on,
                line.statement.product.code,
                &line.statement.lot_number,
                line.statement.site,
                &line.statement.venue
            ),
            (
                record.dose.dose_number,
                record.dose.administered_on,
                record.dose.product.code,
                &record.dose.lot_number,
                record.dose.site_municipality,
                &record.venue
            )
        );
    }
    let log = s.audit_log(saijo.into(), 1, 1000).await.unwrap();
    let exports: Vec<&str> = log
        .iter()
        .filter(|r| r.entry.action == "doses.export")
        .map(|r| r.entry.detail.as_str())
        .collect();
    assert_eq!(
        exports,
        [
            "format=csv encoding=utf-8 rows=6",
            "format=vrs-ledger encoding=cp932 rows=3"
        ]
    );
}

struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
