//! The targets CSV (接種対象者) exported by resident-registry systems: UTF-8 (with or without BOM) or
//! CP932, CRLF or LF, quoted fields, with a Japanese or English header row or none. Reading is two
//! phases: [`TargetReader`] yields [`RawRow`]s (strings and their line), and [`RawRow::parse`] turns one
//! into a [`Resident`] or the list of its [`FieldError`]s. Memory stays flat: the file is streamed.
//! The format is documented in `docs/csv-formats.md`.

mod csv_rows;

pub(crate) use csv_rows::{header_cell, Columns, CsvRows};

use std::fmt;
use std::io::Read;
use std::str::FromStr;

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

#[cfg(test)]
mod tests;
