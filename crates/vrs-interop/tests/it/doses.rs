//! Dose files: reading the bulk dose CSV and writing the ledger and CSV exports.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use vrs_domain::{
    AtenaNumber, CouponNumber, Dose, DoseNumber, DoseRecord, DoseSource, LotNumber,
    MunicipalityCode, VaccineProduct,
};
use vrs_interop::{
    max_dose_number, write_dose_csv, write_ledger, DoseColumn, DoseFieldError, DoseLine,
    DoseReader, Encoding, EncodingChoice, LedgerPerson, ReadError,
};

fn code(s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s).unwrap()
}

fn saijo() -> MunicipalityCode {
    code("382060")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Every row of a file: parsed lines, or the errors of a row (row-level errors included).
fn read(bytes: &[u8]) -> Vec<Result<DoseLine, Vec<DoseFieldError>>> {
    let mut reader = DoseReader::new(bytes, EncodingChoice::Auto).unwrap();
    let mut out = Vec::new();
    while let Some(row) = reader.next_row() {
        out.push(match row.unwrap() {
            Ok(raw) => raw.parse(saijo()),
            Err(e) => Err(vec![e]),
        });
    }
    out
}

fn read_ok(text: &str) -> Vec<DoseLine> {
    read(text.as_bytes())
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

const ROW: &str = "0000000001,1,2021-05-27,comirnaty,FA4597,382060,西条市総合体育館,山田　太郎";

#[test]
fn a_file_without_header_is_read_in_column_order() {
    let lines = read_ok(&format!(
        "{ROW}\n0000000002,2,2021-06-17,spikevax,3001234,131016\n"
    ));
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    assert_eq!(first.line, 1);
    assert_eq!(first.coupon.as_str(), "0000000001");
    assert_eq!(first.statement.dose_number, 1);
    assert_eq!(first.statement.administered_on, day(2021, 5, 27));
    assert_eq!(first.statement.product.code, "comirnaty");
    assert_eq!(first.statement.lot_number.as_str(), "FA4597");
    assert_eq!(first.statement.site, saijo());
    assert_eq!(first.statement.venue, "西条市総合体育館");
    assert_eq!(first.statement.doctor, "山田　太郎");
    // Venue and doctor may be left off the end of a row.
    let second = &lines[1];
    assert_eq!((second.line, second.statement.dose_number.get()), (2, 2));
    assert_eq!(second.statement.site, code("131016"));
    assert_eq!(
        (
            second.statement.venue.as_str(),
            second.statement.doctor.as_str()
        ),
        ("", "")
    );
}

#[test]
fn japanese_and_english_headers_in_any_order_with_extra_columns_ignored() {
    let ja = "ロット番号,接種日,備考,接種自治体コード,接種回,ワクチン,接種券番号,接種医師名\n\
              FA4597,2021-05-27,x,382060,1,コミナティ筋注,0000000001,山田\n";
    let lines = read_ok(ja);
    assert_eq!(lines[0].line, 2);
    assert_eq!(lines[0].statement.product.code, "comirnaty");
    assert_eq!(lines[0].coupon.as_str(), "0000000001");
    assert_eq!(lines[0].statement.doctor, "山田");
    assert_eq!(
        lines[0].statement.venue, "",
        "an absent optional column reads as empty"
    );

    let en = "Site_Municipality_Code,lot_number,product,administered_on,dose_number,coupon_number,venue\n\
              131016,ab-12,Spikevax,20210617,3,0000000009,会場\n";
    let lines = read_ok(en);
    assert_eq!(lines[0].statement.site, code("131016"));
    assert_eq!(lines[0].statement.lot_number.as_str(), "AB-12");
    assert_eq!(lines[0].statement.product.code, "spikevax");
    assert_eq!(lines[0].statement.dose_number, 3);
    assert_eq!(lines[0].statement.venue, "会場");
}

#[test]
fn a_header_must_name_each_required_column_once() {
    let missing = DoseReader::new(
        "接種券番号,接種回,接種日,ワクチン,接種自治体コード\n".as_bytes(),
        EncodingChoice::Auto,
    );
    assert!(matches!(
        missing,
        Err(ReadError::MissingColumn(c)) if c == "ロット番号 (lot_number)"
    ));
    let twice = DoseReader::new(
        "接種券番号,coupon_number,接種回,接種日,ワクチン,ロット番号,接種自治体コード\n".as_bytes(),
        EncodingChoice::Auto,
    );
    let err = twice.err().unwrap();
    assert!(matches!(&err, ReadError::DuplicateColumn(c) if c == "接種券番号 (coupon_number)"));
    assert_eq!(
        err.to_string(),
        "the header row names column 接種券番号 (coupon_number) twice"
    );
}

#[test]
fn a_cp932_file_is_sniffed_and_read() {
    let text = format!("接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード,接種会場名,接種医師名\r\n{ROW}\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    let mut reader = DoseReader::new(&bytes[..], EncodingChoice::Auto).unwrap();
    assert_eq!(reader.encoding(), Encoding::Cp932);
    let line = reader
        .next_row()
        .unwrap()
        .unwrap()
        .unwrap()
        .parse(saijo())
        .unwrap();
    assert_eq!(line.line, 2);
    assert_eq!(line.statement.venue, "西条市総合体育館");
    assert_eq!(line.statement.doctor, "山田　太郎");
    assert!(reader.next_row().is_none());
    assert!(reader.bytes_read() > 0);
}

#[test]
fn a_utf8_bom_file_without_header_reads_its_first_field() {
    let lines = read_ok(&format!("\u{feff}{ROW}\n"));
    assert_eq!(lines[0].coupon.as_str(), "0000000001");
}

#[test]
fn full_width_digits_and_japanese_era_dates_are_accepted() {
    let lines = read_ok(
        "０００００００００１,２,令和3年6月17日,comirnaty,ＦＡ４５９７,３８２０６０\n\
         0000000001,１０,R03.05.27,comirnaty,FA4597,382060\n",
    );
    assert_eq!(lines[0].coupon.as_str(), "0000000001");
    assert_eq!(lines[0].statement.dose_number, 2);
    assert_eq!(lines[0].statement.administered_on, day(2021, 6, 17));
    assert_eq!(lines[0].statement.lot_number.as_str(), "FA4597");
    assert_eq!(lines[0].statement.site, saijo());
    assert_eq!(lines[1].statement.dose_number, 10);
    assert_eq!(lines[1].statement.administered_on, day(2021, 5, 27));
}

#[test]
fn an_ocr_line_in_the_coupon_column_gives_its_coupon_when_it_is_ours() {
    let ours = read_ok("133820601234567890,3,2022-01-10,comirnaty,FA4597,131016\n");
    assert_eq!(ours[0].coupon.as_str(), "1234567890");
    // Full-width OCR digits too.
    let ours =
        read_ok("１３３８２０６０１２３４５６７８９０,3,2022-01-10,comirnaty,FA4597,131016\n");
    assert_eq!(ours[0].coupon.as_str(), "1234567890");

    let theirs = read("131310161234567890,3,2022-01-10,comirnaty,FA4597,131016\n".as_bytes());
    let errors = theirs[0].as_ref().unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, Some(DoseColumn::Coupon));
    assert_eq!(
        errors[0].reason.en,
        "OCR line is for municipality 131016, not 382060"
    );
    assert_eq!(
        errors[0].reason.ja,
        "OCR行は自治体 131016 の接種券です（382060 のものではありません）。"
    );
    let bad_check = read("131310171234567890,3,2022-01-10,comirnaty,FA4597,131016\n".as_bytes());
    let errors = bad_check[0].as_ref().unwrap_err();
    assert_eq!(errors[0].column, Some(DoseColumn::Coupon));
    assert!(
        errors[0].reason.en.contains("check digit"),
        "{}",
        errors[0].reason
    );
}

#[test]
fn every_bad_field_of_a_row_is_reported_with_its_line_and_column() {
    let long_venue = "会".repeat(31);
    let long_doctor = "医".repeat(21);
    let text = format!("{ROW}\n12345,11,2021-13-01,XYZ,FA_1,382061,{long_venue},{long_doctor}\n");
    let rows = read(text.as_bytes());
    assert!(rows[0].is_ok());
    let errors = rows[1].as_ref().unwrap_err();
    let by_column: Vec<(u64, Option<DoseColumn>)> =
        errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        by_column,
        DoseColumn::ALL.map(|c| (2, Some(c))).to_vec(),
        "{errors:#?}"
    );
    let reason = |c: DoseColumn| {
        errors
            .iter()
            .find(|e| e.column == Some(c))
            .map(|e| e.reason.en.clone())
            .unwrap()
    };
    // Every reason is also said in Japanese, without English words.
    for e in errors {
        assert!(
            !e.reason.ja.contains("the ") && !e.reason.ja.is_ascii(),
            "{:?}",
            e.reason
        );
    }
    assert!(reason(DoseColumn::Coupon).contains("10 digits"));
    assert_eq!(
        reason(DoseColumn::DoseNumber),
        "the dose number must be 1 to 10, not 11"
    );
    assert!(reason(DoseColumn::AdministeredOn).starts_with("not a date: 2021-13-01"));
    assert_eq!(reason(DoseColumn::Product), "unknown product: XYZ");
    assert!(reason(DoseColumn::LotNumber).contains("'_'"));
    assert!(reason(DoseColumn::Site).contains("check digit"));
    assert!(reason(DoseColumn::Venue).contains("30"));
    assert!(reason(DoseColumn::Doctor).contains("20"));
    let date = errors
        .iter()
        .find(|e| e.column == Some(DoseColumn::AdministeredOn))
        .unwrap();
    assert_eq!(
        date.to_string(),
        "line 2, 接種日 (administered_on): not a date: 2021-13-01 (there is no such day in the calendar)"
    );
}

#[test]
fn empty_required_fields_are_each_reported() {
    let rows = read(b",,,,,\n");
    let errors = rows[0].as_ref().unwrap_err();
    let columns: Vec<_> = errors.iter().filter_map(|e| e.column).collect();
    assert_eq!(columns, DoseColumn::ALL[..6].to_vec());
    assert!(errors.iter().all(|e| e.line == 1));
}

#[test]
fn a_reason_never_repeats_what_may_be_a_my_number() {
    let rows = read(b"123456789018,123456789018,123456789018,123456789018,FA4597,382060\n");
    for e in rows[0].as_ref().unwrap_err() {
        assert!(
            !e.reason.en.contains("123456789018") && !e.reason.ja.contains("123456789018"),
            "{e}"
        );
    }
}

#[test]
fn short_rows_blank_lines_and_crlf_keep_line_numbers_right() {
    let header = "接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード";
    let text = format!("{header}\r\n{ROW}\r\n\r\n0000000001,1\r\n{ROW}\r\n\r\n");
    let rows = read(text.as_bytes());
    assert_eq!(rows.len(), 3, "blank lines are not rows");
    assert_eq!(rows[0].as_ref().unwrap().line, 2);
    let short = rows[1].as_ref().unwrap_err();
    assert_eq!(short.len(), 1);
    assert_eq!((short[0].line, short[0].column), (4, None));
    assert_eq!(short[0].reason.en, "expected 6 columns, found 2");
    assert_eq!(short[0].to_string(), "line 4: expected 6 columns, found 2");
    assert_eq!(rows[2].as_ref().unwrap().line, 5);
}

// --- exports ---

fn record(atena: &str, n: u8, venue: &str) -> DoseRecord {
    DoseRecord {
        dose: Dose {
            municipality: saijo(),
            atena: AtenaNumber::parse(atena).unwrap(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: day(2021, 5, 27) + chrono::Days::new(u64::from(n) * 21),
            product: VaccineProduct::by_code(if n == 3 { "spikevax" } else { "comirnaty" })
                .unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: code("131016"),
            coupon: CouponNumber::parse("0000000042").unwrap(),
        },
        venue: venue.to_owned(),
        doctor: "山田　太郎".to_owned(),
        // 2021-05-27 15:30:05 UTC is 2021-05-28 00:30:05 in Japan.
        recorded_at: Utc.with_ymd_and_hms(2021, 5, 27, 15, 30, 5).unwrap(),
        source: DoseSource::Tablet,
        received_from: None,
    }
}

const LEDGER_HEADER_2: &str = "個別宛名番号,\
1回目接種履歴登録日時,1回目接種日,1回目券番号,1回目接種自治体コード,1回目接種会場名,1回目接種医師名,1回目ワクチンメーカー,1回目ワクチンロット番号,\
2回目接種履歴登録日時,2回目接種日,2回目券番号,2回目接種自治体コード,2回目接種会場名,2回目接種医師名,2回目ワクチンメーカー,2回目ワクチンロット番号";

fn ledger(encoding: Encoding, max_dose: u8, people: &[(AtenaNumber, Vec<DoseRecord>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let rows = write_ledger(
        &mut out,
        encoding,
        max_dose,
        people
            .iter()
            .map(|(atena, doses)| LedgerPerson { atena, doses }),
    )
    .unwrap();
    assert_eq!(rows, people.len() as u64);
    out
}

#[test]
fn the_ledger_has_the_vrs_header_and_one_row_per_person() {
    let people = vec![
        (
            AtenaNumber::parse("000123").unwrap(),
            vec![record("000123", 2, "会場, 2"), record("000123", 1, "西条")],
        ),
        (AtenaNumber::parse("456").unwrap(), vec![]),
    ];
    let doses: Vec<&DoseRecord> = people.iter().flat_map(|p| &p.1).collect();
    assert_eq!(max_dose_number(doses.iter().copied()), 2);
    let bytes = ledger(Encoding::Utf8, 2, &people);
    let text = std::str::from_utf8(&bytes).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("UTF-8 starts with a BOM");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], LEDGER_HEADER_2);
    assert_eq!(
        lines[1],
        "000123,\
         20210528003005,20210617,0000000042,131016,西条,山田　太郎,ファイザー,FA4597,\
         20210528003005,20210708,0000000042,131016,\"会場, 2\",山田　太郎,ファイザー,FA4597"
    );
    assert_eq!(lines[2], format!("456{}", ",".repeat(16)));
}

#[test]
fn the_ledger_leaves_missing_doses_empty_and_is_at_least_one_dose_wide() {
    let people = vec![(AtenaNumber::parse("7").unwrap(), vec![record("7", 3, "")])];
    let bytes = ledger(Encoding::Utf8, 3, &people);
    let text = String::from_utf8(bytes).unwrap();
    let row = text.split("\r\n").nth(1).unwrap();
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(fields.len(), 1 + 3 * 8);
    assert!(fields[1..17].iter().all(|f| f.is_empty()));
    assert_eq!(fields[17..19], ["20210528003005", "20210729"]);
    assert_eq!(fields[23], "武田/モデルナ");

    let empty: Vec<(AtenaNumber, Vec<DoseRecord>)> = vec![];
    let text = String::from_utf8(ledger(Encoding::Utf8, 0, &empty)).unwrap();
    assert_eq!(text.matches('回').count(), 8, "{text}");
    assert_eq!(max_dose_number([]), 1);
}

#[test]
fn a_dose_beyond_the_ledger_width_is_refused_not_dropped() {
    let atena = AtenaNumber::parse("7").unwrap();
    let doses = [record("7", 3, "")];
    let err = write_ledger(
        Vec::new(),
        Encoding::Utf8,
        2,
        [LedgerPerson {
            atena: &atena,
            doses: &doses,
        }],
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("atena number 7"));
}

#[test]
fn a_cp932_ledger_decodes_back_to_the_same_text() {
    let people = vec![(
        AtenaNumber::parse("000123").unwrap(),
        vec![record("000123", 1, "西条"), record("000123", 2, "髙橋医院")],
    )];
    let utf8 = ledger(Encoding::Utf8, 2, &people);
    let cp932 = ledger(Encoding::Cp932, 2, &people);
    assert!(!cp932.starts_with(&[0xEF, 0xBB, 0xBF]));
    let (decoded, _, malformed) = encoding_rs::SHIFT_JIS.decode(&cp932);
    assert!(!malformed);
    assert_eq!(decoded.as_bytes(), &utf8[3..]);
}

#[test]
fn a_character_cp932_lacks_is_an_error_naming_the_person_and_field() {
    let people = [(
        AtenaNumber::parse("000123").unwrap(),
        vec![
            record("000123", 1, "西条"),
            record("000123", 2, "𠮷野家会場"),
        ],
    )];
    let atena = &people[0].0;
    let err = write_ledger(
        Vec::new(),
        Encoding::Cp932,
        2,
        [LedgerPerson {
            atena,
            doses: &people[0].1,
        }],
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(message.contains("atena number 000123"), "{message}");
    assert!(message.contains("2回目接種会場名"), "{message}");
    assert!(message.contains("𠮷"), "{message}");

    let err = write_dose_csv(Vec::new(), Encoding::Cp932, &people[0].1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("atena number 000123, venue"),
        "{err}"
    );
}

#[test]
fn the_dose_csv_has_its_english_header() {
    let mut out = Vec::new();
    let n = write_dose_csv(&mut out, Encoding::Utf8, &[record("9", 1, "")]).unwrap();
    assert_eq!(n, 1);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "\u{feff}atena_number,dose_number,administered_on,product_code,product_name,manufacturer,\
         lot_number,coupon_number,site_municipality_code,venue,doctor,recorded_at,source\r\n\
         9,1,2021-06-17,comirnaty,Comirnaty,Pfizer/BioNTech,FA4597,0000000042,131016,,山田　太郎,\
         2021-05-27T15:30:05Z,tablet\r\n"
    );
}

const VENUES: [&str; 6] = [
    "",
    "西条市総合体育館",
    "会場, \"A\"",
    "ｶﾅ会場",
    "髙橋医院",
    "Hall 1",
];
const SITES: [&str; 2] = ["382060", "131016"];

prop_compose! {
    fn dose_record()(
        atena in "[0-9]{1,15}",
        dose_number in DoseNumber::RANGE,
        days in 0u64..2000,
        product in 0..VaccineProduct::catalogue().len(),
        lot in "[A-Z0-9][A-Z0-9-]{0,19}",
        coupon in "[0-9]{10}",
        site in 0..SITES.len(),
        venue in 0..VENUES.len(),
        doctor in "[ア-ン]{0,20}",
        recorded in 1_600_000_000i64..1_800_000_000,
        source in 0..DoseSource::ALL.len(),
    ) -> DoseRecord {
        DoseRecord {
            dose: Dose {
                municipality: saijo(),
                atena: AtenaNumber::parse(&atena).unwrap(),
                dose_number: DoseNumber::new(dose_number).unwrap(),
                administered_on: day(2021, 2, 17) + chrono::Days::new(days),
                product: &VaccineProduct::catalogue()[product],
                lot_number: LotNumber::parse(&lot).unwrap(),
                site_municipality: code(SITES[site]),
                coupon: CouponNumber::parse(&coupon).unwrap(),
            },
            venue: VENUES[venue].to_owned(),
            doctor,
            recorded_at: DateTime::from_timestamp(recorded, 0).unwrap(),
            source: DoseSource::ALL[source],
            received_from: None,
        }
    }
}

proptest! {
    #[test]
    fn a_dose_csv_reads_back_to_the_same_doses(
        records in proptest::collection::vec(dose_record(), 0..8),
        cp932 in any::<bool>(),
    ) {
        let encoding = if cp932 { Encoding::Cp932 } else { Encoding::Utf8 };
        let mut out = Vec::new();
        let n = write_dose_csv(&mut out, encoding, &records).unwrap();
        prop_assert_eq!(n, records.len() as u64);
        // (An all-ASCII CP932 file is also valid UTF-8, so the encoding is given, not sniffed.)
        let mut reader = DoseReader::new(&out[..], EncodingChoice::Known(encoding)).unwrap();
        let mut back = Vec::new();
        while let Some(row) = reader.next_row() {
            back.push(row.unwrap().unwrap().parse(saijo()).unwrap());
        }
        prop_assert_eq!(back.len(), records.len());
        for (i, (line, r)) in back.iter().zip(&records).enumerate() {
            prop_assert_eq!(line.line, i as u64 + 2);
            prop_assert_eq!(line.coupon, r.dose.coupon);
            prop_assert_eq!(line.statement.dose_number, r.dose.dose_number);
            prop_assert_eq!(line.statement.administered_on, r.dose.administered_on);
            prop_assert_eq!(line.statement.product, r.dose.product);
            prop_assert_eq!(&line.statement.lot_number, &r.dose.lot_number);
            prop_assert_eq!(line.statement.site, r.dose.site_municipality);
            prop_assert_eq!(&line.statement.venue, &r.venue);
            prop_assert_eq!(&line.statement.doctor, &r.doctor);
        }
    }
}

/// Regression: text typed at a site went out as typed, so a venue starting with `=` ran as a
/// formula in Excel on an LG-WAN PC. Every CSV the system writes (ledger, dose CSV, and the other
/// writers sharing it) turns a cell starting with `=`, `+`, `-`, `@` or a tab into text with a
/// leading `'`; other cells are unchanged.
#[test]
fn cells_a_spreadsheet_would_run_are_written_as_text() {
    let people: Vec<(AtenaNumber, Vec<DoseRecord>)> = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1+1",
        "-2+3",
        "@SUM(A1:A9)",
        "\tcmd",
        "西条市総合体育館",
    ]
    .iter()
    .enumerate()
    .map(|(i, venue)| {
        let atena = (i + 1).to_string();
        (
            AtenaNumber::parse(&atena).unwrap(),
            vec![record(&atena, 1, venue)],
        )
    })
    .collect();
    for bytes in [ledger(Encoding::Utf8, 1, &people), {
        let mut out = Vec::new();
        let doses: Vec<DoseRecord> = people.iter().flat_map(|p| p.1.clone()).collect();
        write_dose_csv(&mut out, Encoding::Utf8, &doses).unwrap();
        out
    }] {
        let text = String::from_utf8(bytes).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let venue_column = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "venue" || h == "1回目接種会場名")
            .unwrap();
        let venues: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[venue_column].to_owned())
            .collect();
        assert_eq!(
            venues,
            [
                "'=HYPERLINK(\"http://x\",\"y\")",
                "'+1+1",
                "'-2+3",
                "'@SUM(A1:A9)",
                "'\tcmd",
                "西条市総合体育館"
            ],
            "{text}"
        );
    }
}
