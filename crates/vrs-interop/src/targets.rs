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
    Reason, Resident, Sex,
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
    /// 転入前自治体コード: optional; where the person moved in from.
    MovedInFrom,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::MyNumber,
        Column::Atena,
        Column::Municipality,
        Column::Coupon,
        Column::Name,
        Column::NameKana,
        Column::BirthDate,
        Column::Sex,
        Column::MovedInFrom,
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
            Column::MovedInFrom => "転入前自治体コード",
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
            Column::MovedInFrom => "moved_in_from",
        }
    }

    fn from_header(h: &str) -> Option<Column> {
        let h = header_cell(h);
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
                "転出元自治体コード" | "前住所地自治体コード" | "転入元自治体コード" => {
                    Some(Column::MovedInFrom)
                }
                _ => None,
            })
    }
}

impl Columns for Column {
    const ALL: &'static [Self] = &Column::ALL;
    fn from_header(h: &str) -> Option<Self> {
        Column::from_header(h)
    }
    fn optional(self) -> bool {
        self == Column::MovedInFrom
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

    pub(crate) fn encoding_rs(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 => encoding_rs::UTF_8,
            // WHATWG Shift_JIS is Microsoft's CP932 (Windows-31J), as registry systems write it.
            Encoding::Cp932 => encoding_rs::SHIFT_JIS,
        }
    }
}

/// An output encoding by name: `utf-8`/`utf8` or `cp932`/`shift_jis`/`sjis` (not `auto`).
impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<EncodingChoice>() {
            Ok(EncodingChoice::Known(e)) => Ok(e),
            _ => Err(format!("unknown encoding {s:?} (use utf-8 or cp932)")),
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
    /// The column as its `Display` shows it, e.g. `宛名番号 (atena_number)`: one type for every
    /// file kind of this crate.
    #[error("the header row has no column {0}")]
    MissingColumn(String),
    #[error("the header row names column {0} twice")]
    DuplicateColumn(String),
}

impl vrs_domain::UserFacing for ReadError {
    fn code(&self) -> &'static str {
        match self {
            ReadError::Io(_) => "file_unreadable",
            ReadError::Csv { .. } => "file_not_csv",
            ReadError::MissingColumn(_) => "file_missing_column",
            ReadError::DuplicateColumn(_) => "file_duplicate_column",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ReadError::Io(_) => "ファイルを読み取れません。".into(),
            ReadError::Csv { line, .. } => format!(
                "{line}行目をCSVとして読めません（引用符の対応や文字コードを確認してください）。"
            )
            .into(),
            ReadError::MissingColumn(column) => {
                format!("見出し行に列「{column}」がありません。").into()
            }
            ReadError::DuplicateColumn(column) => {
                format!("見出し行に列「{column}」が2回あります。").into()
            }
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

/// One data row: its line number (the header is line 1) and its fields in [`Column::ALL`] order.
#[derive(Clone, Debug)]
pub struct RawRow {
    pub line: u64,
    fields: Vec<String>,
}

/// Why one field of one row was refused; `column` is `None` for the row as a whole (too few
/// fields). Generic over the file's column type (see `crate::doses::DoseFieldError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError<C = Column> {
    pub line: u64,
    pub column: Option<C>,
    pub reason: Reason,
}

impl<C: fmt::Display> fmt::Display for FieldError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, {}: {}", self.line, c, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

impl RawRow {
    pub fn field(&self, column: Column) -> &str {
        self.fields.get(column as usize).map_or("", String::as_str)
    }

    /// Validates every field; a row of another municipality than `municipality` is refused.
    pub fn parse(&self, municipality: MunicipalityCode) -> Result<Resident, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |column: Column, result: Result<(), Reason>| {
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
            my_number.as_ref().map(|_| ()).map_err(Reason::of),
        );
        let atena = AtenaNumber::parse(self.field(Column::Atena));
        check(
            Column::Atena,
            atena.as_ref().map(|_| ()).map_err(Reason::of),
        );
        let code = MunicipalityCode::parse(self.field(Column::Municipality));
        check(
            Column::Municipality,
            match &code {
                Ok(c) if *c == municipality => Ok(()),
                Ok(c) => Err(Reason::new(
                    "other_municipality",
                    format!("この行は自治体 {c} のものです（取り込み先は {municipality}）。"),
                    format!(
                        "the row is for municipality {c}, but this import is for {municipality}"
                    ),
                )),
                Err(e) => Err(Reason::of(e)),
            },
        );
        let coupon = CouponNumber::parse(self.field(Column::Coupon));
        check(
            Column::Coupon,
            coupon.as_ref().map(|_| ()).map_err(Reason::of),
        );
        let name = PersonName::parse(self.field(Column::Name));
        check(Column::Name, name.as_ref().map(|_| ()).map_err(Reason::of));
        let kana = KanaName::parse(self.field(Column::NameKana));
        check(
            Column::NameKana,
            kana.as_ref().map(|_| ()).map_err(Reason::of),
        );
        let birth = parse_date(self.field(Column::BirthDate));
        check(
            Column::BirthDate,
            birth.as_ref().map(|_| ()).map_err(Reason::of),
        );
        let sex = Sex::parse(self.field(Column::Sex));
        check(Column::Sex, sex.as_ref().map(|_| ()).map_err(Reason::of));
        let moved_in_from = match self.field(Column::MovedInFrom).trim() {
            "" => Ok(None),
            text => match MunicipalityCode::parse(text) {
                Ok(c) if c == municipality => Err(Reason::new(
                    "moved_in_from_own",
                    "転入前自治体に自分の自治体は指定できません。",
                    "a person moves in from another municipality, not from this one",
                )),
                Ok(c) => Ok(Some(c)),
                Err(e) => Err(Reason::of(&e)),
            },
        };
        check(
            Column::MovedInFrom,
            moved_in_from.as_ref().map(|_| ()).map_err(Reason::clone),
        );
        match (
            my_number,
            atena,
            coupon,
            name,
            kana,
            birth,
            sex,
            moved_in_from,
        ) {
            (
                Ok(my_number),
                Ok(atena),
                Ok(coupon),
                Ok(name),
                Ok(name_kana),
                Ok(birth_date),
                Ok(sex),
                Ok(moved_in_from),
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
                moved_in_from,
            }),
            _ => Err(errors),
        }
    }
}

/// Streams the rows of a targets file.
pub struct TargetReader<R: Read> {
    rows: CsvRows<R>,
}

impl<R: Read> TargetReader<R> {
    /// Opens a file: decides the encoding (for `Auto`, from the first 64 KiB) and reads the header
    /// row if there is one.
    pub fn new(reader: R, choice: EncodingChoice) -> Result<Self, ReadError> {
        Ok(Self {
            rows: CsvRows::open::<Column>(reader, choice)?,
        })
    }

    /// The encoding the file is read in.
    pub fn encoding(&self) -> Encoding {
        self.rows.encoding()
    }

    /// Bytes of the file consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.rows.bytes_read()
    }

    /// The next data row; a row with too few fields is a [`FieldError`] naming its line.
    pub fn next_row(&mut self) -> Option<Result<Result<RawRow, FieldError>, ReadError>> {
        Some(self.rows.next_fields()?.map(|row| {
            row.map(|(line, fields)| RawRow { line, fields })
                .map_err(|(line, reason)| FieldError {
                    line,
                    column: None,
                    reason,
                })
        }))
    }
}

/// The columns of one kind of file, for the reading machinery shared by the file kinds.
pub(crate) trait Columns: Copy + PartialEq + fmt::Display + 'static {
    /// Every column, in the order of a file without a header.
    const ALL: &'static [Self];
    /// The column a header cell names, if any.
    fn from_header(h: &str) -> Option<Self>;
    /// Whether a header may leave the column out (its fields then read as empty), and a file
    /// without a header may end its rows before it.
    fn optional(self) -> bool {
        false
    }
}

/// A header cell without the BOM and the spaces spreadsheets leave around it.
pub(crate) fn header_cell(h: &str) -> &str {
    h.trim()
        .trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c == '\u{3000}' || c.is_whitespace())
}

/// A csv reader over the decoded text of a file.
type DecodedCsv<R> = csv::Reader<StripCr<DecodeReaderBytes<BufReader<R>, Vec<u8>>>>;

/// Decides the encoding (for `Auto`, from the first 64 KiB) and builds the csv reader over the
/// decoded text.
fn open_csv<R: Read>(
    reader: R,
    choice: EncodingChoice,
) -> Result<(DecodedCsv<R>, Encoding), ReadError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let encoding = match choice {
        EncodingChoice::Known(e) => e,
        EncodingChoice::Auto => sniff(buffered.fill_buf()?),
    };
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.encoding_rs()))
        .bom_override(true)
        .build(buffered);
    let csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(StripCr::new(decoded));
    Ok((csv, encoding))
}

/// The rows of a file as strings in its column order: the header detected and mapped, blank lines
/// skipped, short rows reported. Both [`TargetReader`] and `crate::doses::DoseReader` read through it.
pub(crate) struct CsvRows<R: Read> {
    csv: DecodedCsv<R>,
    encoding: Encoding,
    /// For each column (in `Columns::ALL` order), the index of its field, if present.
    positions: Vec<Option<usize>>,
    /// How many fields a row must have to hold every column that is not optional.
    needed: usize,
    /// The first row and its line, when it is not a header.
    first: Option<(u64, csv::StringRecord)>,
    record: csv::StringRecord,
}

impl<R: Read> CsvRows<R> {
    /// Opens a file of columns `C`; the first row is a header when any cell names a column.
    pub(crate) fn open<C: Columns>(reader: R, choice: EncodingChoice) -> Result<Self, ReadError> {
        let (mut csv, encoding) = open_csv(reader, choice)?;
        let mut first = csv::StringRecord::new();
        let has_first = csv.read_record(&mut first).map_err(csv_error)?;
        let mut rows = Self {
            csv,
            encoding,
            positions: (0..C::ALL.len()).map(Some).collect(),
            needed: C::ALL.iter().filter(|c| !c.optional()).count(),
            first: None,
            record: csv::StringRecord::new(),
        };
        if !has_first {
            return Ok(rows);
        }
        let named: Vec<Option<C>> = first.iter().map(C::from_header).collect();
        if named.iter().all(Option::is_none) {
            rows.first = Some((rows.line_of(&first), first));
            return Ok(rows);
        }
        let mut positions: Vec<Option<usize>> = vec![None; C::ALL.len()];
        for (field, column) in named.iter().enumerate() {
            let Some(column) = column else { continue };
            let Some(slot) = C::ALL.iter().position(|c| c == column) else {
                continue;
            };
            if positions[slot].is_some() {
                return Err(ReadError::DuplicateColumn(column.to_string()));
            }
            positions[slot] = Some(field);
        }
        if let Some(missing) = C::ALL
            .iter()
            .zip(&positions)
            .find(|(c, p)| p.is_none() && !c.optional())
        {
            return Err(ReadError::MissingColumn(missing.0.to_string()));
        }
        rows.needed = C::ALL
            .iter()
            .zip(&positions)
            .filter(|(c, _)| !c.optional())
            .filter_map(|(_, p)| *p)
            .max()
            .map_or(0, |p| p + 1);
        rows.positions = positions;
        Ok(rows)
    }

    /// The line a record just read starts on: the line after it, less the line breaks inside its
    /// quoted fields and its own (see [`StripCr`]). The record's own position is wrong after blank
    /// lines.
    fn line_of(&self, record: &csv::StringRecord) -> u64 {
        let inside: usize = record.iter().map(|f| f.matches('\n').count()).sum();
        self.csv
            .position()
            .line()
            .saturating_sub(inside as u64 + 1)
            .max(1)
    }

    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.csv.position().byte()
    }

    /// The next row's line and fields (one per column, empty when absent), or its line and why it
    /// is short.
    #[allow(clippy::type_complexity)]
    pub(crate) fn next_fields(
        &mut self,
    ) -> Option<Result<Result<(u64, Vec<String>), (u64, Reason)>, ReadError>> {
        let (line, record) = loop {
            let (line, record) = match self.first.take() {
                Some(first) => first,
                None => match self.csv.read_record(&mut self.record) {
                    Ok(true) => (self.line_of(&self.record), std::mem::take(&mut self.record)),
                    Ok(false) => return None,
                    Err(e) => return Some(Err(csv_error(e))),
                },
            };
            // A line of spaces is not a row (the csv reader already skips empty ones).
            if !(record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty())) {
                break (line, record);
            }
        };
        if record.len() < self.needed {
            return Some(Ok(Err((
                line,
                Reason::new(
                    "too_few_columns",
                    format!(
                        "列が足りません（{}列必要、{}列あります）。",
                        self.needed,
                        record.len()
                    ),
                    format!("expected {} columns, found {}", self.needed, record.len()),
                ),
            ))));
        }
        let fields = self
            .positions
            .iter()
            .map(|p| p.and_then(|i| record.get(i)).unwrap_or_default().to_owned())
            .collect();
        Some(Ok(Ok((line, fields))))
    }
}

/// Drops carriage returns, so CRLF files read as LF, and ends the text with a `\n` if the file does
/// not. The csv reader counts a line at its `\n`, which for CRLF it consumes only when the next
/// record starts; and it stamps a record that follows blank lines with the first blank line. So
/// [`CsvRows`] takes a record's line from where the record ends, which this makes always a `\n`.
struct StripCr<R> {
    inner: R,
    /// The last byte handed out, until the final `\n` has been.
    last: Option<u8>,
    done: bool,
}

impl<R> StripCr<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            last: None,
            done: false,
        }
    }
}

impl<R: Read> Read for StripCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(buf)?;
            if n == 0 {
                self.done = true;
                if self.last.is_some_and(|b| b != b'\n') {
                    buf[0] = b'\n';
                    return Ok(1);
                }
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
                self.last = Some(buf[kept - 1]);
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
        let text = "sex,name_kana,name,birth_date,coupon_number,municipality_code,atena_number,my_number\n\
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
}
