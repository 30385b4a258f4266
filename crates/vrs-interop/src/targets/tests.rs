//! Tests of reading the targets CSV: line numbers, the encoding, the header and short rows.

use super::*;

fn lines(text: &str) -> Vec<u64> {
    let mut r = TargetReader::new(text.as_bytes(), EncodingChoice::Auto).unwrap();
    let mut out = Vec::new();
    while let Some(row) = r.next_row() {
        out.push(match row.unwrap() {
            Ok(raw) => raw.line,
            Err(e) => e.line,
        });
    }
    out
}

#[test]
fn line_numbers_count_the_header_and_quoted_newlines() {
    let row = "123456789018,1,382060,0000000001,a,ア,2000-01-01,1";
    assert_eq!(lines(&format!("{row}\n{row}\n")), [1, 2]);
    let header = "個人番号,宛名番号,自治体コード,接種券番号,氏名,氏名カナ,生年月日,性別";
    assert_eq!(lines(&format!("{header}\r\n{row}\r\n{row}\r\n")), [2, 3]);
    let quoted = "123456789018,1,382060,0000000001,\"a\nb\",ア,2000-01-01,1";
    assert_eq!(lines(&format!("{header}\n{quoted}\n{row}\n")), [2, 4]);
    // The file may end without a line break.
    assert_eq!(lines(&format!("{row}\n{row}")), [1, 2]);
}

#[test]
fn line_numbers_count_blank_lines_before_a_row() {
    let row = "123456789018,1,382060,0000000001,a,ア,2000-01-01,1";
    assert_eq!(lines(&format!("\n{row}\n\n\n{row}\n\n")), [2, 5]);
    assert_eq!(lines(&format!("{row}\r\n\r\n \r\n{row}\r\n")), [1, 4]);
}

#[test]
fn encoding_is_sniffed() {
    assert_eq!(sniff("氏名".as_bytes()), Encoding::Utf8);
    assert_eq!(sniff(&[0xEF, 0xBB, 0xBF, b'a']), Encoding::Utf8);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("氏名");
    assert_eq!(sniff(&sjis), Encoding::Cp932);
    // A character cut at the end of the sample is still UTF-8.
    assert_eq!(sniff(&"氏名".as_bytes()[..4]), Encoding::Utf8);
}

#[test]
fn header_in_any_order_and_missing_columns() {
    let text =
        "sex,name_kana,name,birth_date,coupon_number,municipality_code,atena_number,my_number\n\
                    1,ア,a,2000-01-01,0000000001,382060,7,123456789018\n";
    let mut r = TargetReader::new(text.as_bytes(), EncodingChoice::Auto).unwrap();
    let row = r.next_row().unwrap().unwrap().unwrap();
    assert_eq!(row.field(Column::Atena), "7");
    assert_eq!(row.field(Column::Sex), "1");
    let missing = TargetReader::new("個人番号,氏名\n".as_bytes(), EncodingChoice::Auto);
    assert!(matches!(
        missing,
        Err(ReadError::MissingColumn(c)) if c == Column::Atena.to_string()
    ));
    let twice = TargetReader::new("氏名,name\n".as_bytes(), EncodingChoice::Auto);
    assert!(matches!(
        twice,
        Err(ReadError::DuplicateColumn(c)) if c == "氏名 (name)"
    ));
}

#[test]
fn the_municipality_moved_in_from_is_an_optional_column() {
    let saijo = MunicipalityCode::parse("382060").unwrap();
    let row = "123456789018,1001,382060,0000000001,西条　花子,サイジョウ　ハナコ,1950-04-01,2";
    let parse = |text: String| {
        let mut r = TargetReader::new(text.as_bytes(), EncodingChoice::Auto).unwrap();
        r.next_row().unwrap().unwrap().unwrap().parse(saijo)
    };
    // Without the column (as before), with it empty, with it set; headerless with a ninth field.
    let header = "個人番号,宛名番号,自治体コード,接種券番号,氏名,氏名カナ,生年月日,性別";
    assert_eq!(
        parse(format!("{header}\n{row}\n")).unwrap().moved_in_from,
        None
    );
    let with = format!("{header},転入前自治体コード\n");
    assert_eq!(
        parse(format!("{with}{row},\n")).unwrap().moved_in_from,
        None
    );
    let chiyoda = MunicipalityCode::parse("131016").unwrap();
    assert_eq!(
        parse(format!("{with}{row},131016\n"))
            .unwrap()
            .moved_in_from,
        Some(chiyoda)
    );
    assert_eq!(
        parse(format!("{row},131016\n")).unwrap().moved_in_from,
        Some(chiyoda)
    );
    // A code that is not one, or the importing municipality itself, is named.
    for (value, says) in [
        ("131017", "check digit"),
        ("382060", "another municipality"),
    ] {
        let errors = parse(format!("{with}{row},{value}\n")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].column, Some(Column::MovedInFrom));
        assert!(errors[0].reason.en.contains(says), "{}", errors[0].reason);
        assert!(errors[0].to_string().contains("転入前自治体コード"));
    }
}

#[test]
fn short_rows_name_their_line() {
    let mut r = TargetReader::new("1,2,3\n".as_bytes(), EncodingChoice::Auto).unwrap();
    let err = r.next_row().unwrap().unwrap().unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.reason.en.contains("expected 8 columns"));
}
