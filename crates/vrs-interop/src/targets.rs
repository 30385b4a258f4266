//! The targets CSV (接種対象者) exported by resident-registry systems: UTF-8 (with or without BOM) or
//! CP932, CRLF or LF, quoted fields, with a Japanese or English header row or none. Reading is two
//! phases: [`TargetReader`] yields [`RawRow`]s (strings and their line), and [`RawRow::parse`] turns one
//! into a [`Resident`] or the list of its [`FieldError`]s. Memory stays flat: the file is streamed.
//! The format is documented in `docs/csv-formats.md`.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;

use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use vrs_domain::{
    parse_date, AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, PersonName,
    Resident, Sex,
};

/// The columns of a targets file, in the order of a file without a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    MyNumber,
    Atena,
    Municipality,
    Coupon,
    Name,
    NameKana,
    BirthDate,
    Sex,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::MyNumber,
        Column::Atena,
        Column::Municipality,
        Column::Coupon,
        Column::Name,
        Column::NameKana,
        Column::BirthDate,
        Column::Sex,
    ];

    /// The Japanese header name.
    pub fn ja(self) -> &'static str {
        match self {
            Column::MyNumber => "個人番号",
            Column::Atena => "宛名番号",
            Column::Municipality => "自治体コード",
            Column::Coupon => "接種券番号",
            Column::Name => "氏名",
            Column::NameKana => "氏名カナ",
            Column::BirthDate => "生年月日",
            Column::Sex => "性別",
        }
    }

    /// The English header name.
    pub fn en(self) -> &'static str {
        match self {
            Column::MyNumber => "my_number",
            Column::Atena => "atena_number",
            Column::Municipality => "municipality_code",
            Column::Coupon => "coupon_number",
            Column::Name => "name",
            Column::NameKana => "name_kana",
            Column::BirthDate => "birth_date",
            Column::Sex => "sex",
        }
    }

    fn from_header(h: &str) -> Option<Column> {
        let h = h
            .trim()
            .trim_start_matches('\u{feff}')
            .trim_matches('\u{3000}');
        let lower = h.to_ascii_lowercase();
        Column::ALL
            .into_iter()
            .find(|c| c.ja() == h || c.en() == lower)
            .or(match h {
                "マイナンバー" => Some(Column::MyNumber),
                "個別宛名番号" => Some(Column::Atena),
                "市区町村コード" | "団体コード" => Some(Column::Municipality),
                "券番号" => Some(Column::Coupon),
                "カナ氏名" | "フリガナ" | "氏名（カナ）" => Some(Column::NameKana),
                _ => None,
            })
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ja(), self.en())
    }
}

/// The character encoding of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Cp932,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Cp932 => "cp932",
        }
    }

    fn encoding_rs(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 => encoding_rs::UTF_8,
            // WHATWG Shift_JIS is Microsoft's CP932 (Windows-31J), as registry systems write it.
            Encoding::Cp932 => encoding_rs::SHIFT_JIS,
        }
    }
}

/// `--encoding` as given on the command line or in a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingChoice {
    Known(Encoding),
    Auto,
}

impl FromStr for EncodingChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Self::Known(Encoding::Utf8)),
            "cp932" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => {
                Ok(Self::Known(Encoding::Cp932))
            }
            "auto" => Ok(Self::Auto),
            _ => Err(format!("unknown encoding {s:?} (use utf-8, cp932 or auto)")),
        }
    }
}

/// Decides UTF-8 or CP932 from the first bytes: a BOM or valid UTF-8 means UTF-8.
pub fn sniff(prefix: &[u8]) -> Encoding {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Encoding::Utf8;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => Encoding::Utf8,
        // A character cut at the end of the sample is not evidence against UTF-8.
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        Err(_) => Encoding::Cp932,
    }
}

/// A problem with the file as a whole (not with one row).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error("the header row has no column {0}")]
    MissingColumn(Column),
    #[error("the header row names column {0} twice")]
    DuplicateColumn(Column),
}

/// One data row: its line number (the header is line 1) and its fields in [`Column::ALL`] order.
#[derive(Clone, Debug)]
pub struct RawRow {
    pub line: u64,
    fields: [String; 8],
}

/// Why one field of one row was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub line: u64,
    pub column: Option<Column>,
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "line {}, {}: {}", self.line, c, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

impl RawRow {
    pub fn field(&self, column: Column) -> &str {
        &self.fields[column as usize]
    }

    /// Validates every field; a row of another municipality than `municipality` is refused.
    pub fn parse(&self, municipality: MunicipalityCode) -> Result<Resident, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |column: Column, result: Result<(), String>| {
            if let Err(reason) = result {
                errors.push(FieldError {
                    line: self.line,
                    column: Some(column),
                    reason,
                });
            }
        };
        let my_number = MyNumber::parse(self.field(Column::MyNumber));
        check(
            Column::MyNumber,
            my_number.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let atena = AtenaNumber::parse(self.field(Column::Atena));
        check(
            Column::Atena,
            atena.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let code = MunicipalityCode::parse(self.field(Column::Municipality));
        check(
            Column::Municipality,
            match &code {
                Ok(c) if *c == municipality => Ok(()),
                Ok(c) => Err(format!(
                    "the row is for municipality {c}, but this import is for {municipality}"
                )),
                Err(e) => Err(e.to_string()),
            },
        );
        let coupon = CouponNumber::parse(self.field(Column::Coupon));
        check(
            Column::Coupon,
            coupon.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let name = PersonName::parse(self.field(Column::Name));
        check(
            Column::Name,
            name.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let kana = KanaName::parse(self.field(Column::NameKana));
        check(
            Column::NameKana,
            kana.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let birth = parse_date(self.field(Column::BirthDate));
        check(
            Column::BirthDate,
            birth.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let sex = Sex::parse(self.field(Column::Sex));
        check(
            Column::Sex,
            sex.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        match (my_number, atena, coupon, name, kana, birth, sex) {
            (
                Ok(my_number),
                Ok(atena),
                Ok(coupon),
                Ok(name),
                Ok(name_kana),
                Ok(birth_date),
                Ok(sex),
            ) if errors.is_empty() => Ok(Resident {
                municipality,
                atena,
                my_number,
                coupon,
                name,
                name_kana,
                birth_date,
                sex,
                moved_out_on: None,
                deceased_on: None,
            }),
            _ => Err(errors),
        }
    }
}

/// Streams the rows of a targets file.
pub struct TargetReader<R: Read> {
    csv: csv::Reader<StripCr<DecodeReaderBytes<BufReader<R>, Vec<u8>>>>,
    encoding: Encoding,
    columns: [usize; 8],
    first: Option<csv::StringRecord>,
    record: csv::StringRecord,
}

impl<R: Read> TargetReader<R> {
    /// Opens a file: decides the encoding (for `Auto`, from the first 64 KiB) and reads the header
    /// row if there is one.
    pub fn new(reader: R, choice: EncodingChoice) -> Result<Self, ReadError> {
        let mut buffered = BufReader::with_capacity(64 * 1024, reader);
        let encoding = match choice {
            EncodingChoice::Known(e) => e,
            EncodingChoice::Auto => sniff(buffered.fill_buf()?),
        };
        let decoded = DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding.encoding_rs()))
            .bom_override(true)
            .build(buffered);
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(StripCr(decoded));
        let mut first = csv::StringRecord::new();
        let has_first = csv.read_record(&mut first).map_err(csv_error)?;
        let mut reader = Self {
            csv,
            encoding,
            columns: [0, 1, 2, 3, 4, 5, 6, 7],
            first: None,
            record: csv::StringRecord::new(),
        };
        if has_first {
            let named: Vec<Option<Column>> = first.iter().map(Column::from_header).collect();
            if named.iter().any(Option::is_some) {
                let mut columns = [usize::MAX; 8];
                for (i, c) in named.iter().enumerate() {
                    if let Some(c) = c {
                        if columns[*c as usize] != usize::MAX {
                            return Err(ReadError::DuplicateColumn(*c));
                        }
                        columns[*c as usize] = i;
                    }
                }
                if let Some(missing) = Column::ALL
                    .into_iter()
                    .find(|c| columns[*c as usize] == usize::MAX)
                {
                    return Err(ReadError::MissingColumn(missing));
                }
                reader.columns = columns;
            } else {
                reader.first = Some(first);
            }
        }
        Ok(reader)
    }

    /// The encoding the file is read in.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Bytes of the file consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.csv.position().byte()
    }

    /// The next data row; a row with too few fields is a [`FieldError`] naming its line.
    pub fn next_row(&mut self) -> Option<Result<Result<RawRow, FieldError>, ReadError>> {
        let record = match self.first.take() {
            Some(r) => r,
            None => match self.csv.read_record(&mut self.record) {
                Ok(true) => std::mem::take(&mut self.record),
                Ok(false) => return None,
                Err(e) => return Some(Err(csv_error(e))),
            },
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            // A blank line (often the last one) is not a row.
            return self.next_row();
        }
        let needed = self.columns.iter().copied().max().unwrap_or(7) + 1;
        if record.len() < needed {
            return Some(Ok(Err(FieldError {
                line,
                column: None,
                reason: format!("expected {needed} columns, found {}", record.len()),
            })));
        }
        let fields = self
            .columns
            .map(|i| record.get(i).unwrap_or_default().to_owned());
        Some(Ok(Ok(RawRow { line, fields })))
    }
}

/// Drops carriage returns, so CRLF files read as LF. The csv reader counts a line at its `\n`, which
/// for CRLF it consumes only when the next record starts; without the `\r` every record's line is
/// stamped correctly.
struct StripCr<R>(R);

impl<R: Read> Read for StripCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != b'\r' {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

fn csv_error(e: csv::Error) -> ReadError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        csv::ErrorKind::Utf8 { err, .. } => ReadError::Csv {
            line,
            reason: format!("not valid text in the chosen encoding ({err})"),
        },
        other => ReadError::Csv {
            line,
            reason: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
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
        let text = "sex,name_kana,name,birth_date,coupon_number,municipality_code,atena_number,my_number\n\
                    1,ア,a,2000-01-01,0000000001,382060,7,123456789018\n";
        let mut r = TargetReader::new(text.as_bytes(), EncodingChoice::Auto).unwrap();
        let row = r.next_row().unwrap().unwrap().unwrap();
        assert_eq!(row.field(Column::Atena), "7");
        assert_eq!(row.field(Column::Sex), "1");
        let missing = TargetReader::new("個人番号,氏名\n".as_bytes(), EncodingChoice::Auto);
        assert!(matches!(
            missing,
            Err(ReadError::MissingColumn(Column::Atena))
        ));
        let twice = TargetReader::new("氏名,name\n".as_bytes(), EncodingChoice::Auto);
        assert!(matches!(
            twice,
            Err(ReadError::DuplicateColumn(Column::Name))
        ));
    }

    #[test]
    fn short_rows_name_their_line() {
        let mut r = TargetReader::new("1,2,3\n".as_bytes(), EncodingChoice::Auto).unwrap();
        let err = r.next_row().unwrap().unwrap().unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("expected 8 columns"));
    }
}
