//! The bulk inquiry file (一括照会): one row per person who moved in, with the person's My Number,
//! the code of the municipality they moved from and, optionally, whether they consented. UTF-8 or
//! CP932, with or without a header row, read through the same machinery as the other files. Errors
//! name the line and column and never repeat a My Number.
//!
//! Also [`CsvWriter`], the CSV output every download of the system shares (BOM for UTF-8, CRLF, a
//! character CP932 lacks refused with the field it is in).

use std::fmt;
use std::io::{self, Read, Write};

use vrs_domain::{MunicipalityCode, MyNumber, Reason};

use crate::doses::CsvOut;
use crate::targets::{header_cell, Columns, CsvRows, FieldError};
use crate::{Encoding, EncodingChoice, ReadError};

/// The columns of a bulk inquiry file, in the order of a file without a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InquiryColumn {
    MyNumber,
    FormerMunicipality,
    Consent,
}

impl InquiryColumn {
    pub const ALL: [InquiryColumn; 3] = [
        InquiryColumn::MyNumber,
        InquiryColumn::FormerMunicipality,
        InquiryColumn::Consent,
    ];

    pub fn ja(self) -> &'static str {
        match self {
            InquiryColumn::MyNumber => "個人番号",
            InquiryColumn::FormerMunicipality => "転出元自治体コード",
            InquiryColumn::Consent => "本人同意",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            InquiryColumn::MyNumber => "my_number",
            InquiryColumn::FormerMunicipality => "former_municipality_code",
            InquiryColumn::Consent => "consent",
        }
    }

    /// The column a header cell names: the Japanese or English name (any case), or an alias
    /// (マイナンバー, 照会先自治体コード).
    pub fn from_header(h: &str) -> Option<InquiryColumn> {
        let h = header_cell(h);
        let lower = h.to_ascii_lowercase();
        InquiryColumn::ALL
            .into_iter()
            .find(|c| c.ja() == h || c.en() == lower)
            .or(match h {
                "マイナンバー" => Some(InquiryColumn::MyNumber),
                "照会先自治体コード" => Some(InquiryColumn::FormerMunicipality),
                _ => None,
            })
    }
}

impl Columns for InquiryColumn {
    const ALL: &'static [Self] = &InquiryColumn::ALL;
    fn from_header(h: &str) -> Option<Self> {
        InquiryColumn::from_header(h)
    }
    fn optional(self) -> bool {
        self == InquiryColumn::Consent
    }
}

impl fmt::Display for InquiryColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ja(), self.en())
    }
}

/// Why one field of one row of a bulk inquiry file was refused.
pub type InquiryFieldError = FieldError<InquiryColumn>;

/// A valid row: whom to ask about, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InquiryLine {
    pub line: u64,
    pub my_number: MyNumber,
    pub former: MunicipalityCode,
    /// Whether the file asserts that the person consented.
    pub consent: bool,
}

/// Reads a consent field: 1/有/あり/同意/yes/true/○ assert consent; empty and 0/無/なし/no/false
/// do not.
fn consent(text: &str) -> Result<bool, Reason> {
    match text.trim().to_lowercase().as_str() {
        "1" | "有" | "あり" | "同意" | "同意あり" | "yes" | "y" | "true" | "○" => {
            Ok(true)
        }
        "" | "0" | "無" | "なし" | "同意なし" | "no" | "n" | "false" | "×" => Ok(false),
        _ => Err(Reason::new(
            "consent_unknown",
            "同意ありは 1、なしは 0 または空欄で指定してください。",
            "write 1 (consented) or 0 / leave it empty (not asserted)",
        )),
    }
}

/// Streams the rows of a bulk inquiry file, each parsed or refused with every problem it has.
pub struct InquiryReader<R: Read> {
    rows: CsvRows<R>,
}

impl<R: Read> InquiryReader<R> {
    /// Opens a file: the encoding (for `Auto`, from the first 64 KiB) and the header row if any.
    pub fn new(reader: R, choice: EncodingChoice) -> Result<Self, ReadError> {
        Ok(Self {
            rows: CsvRows::open::<InquiryColumn>(reader, choice)?,
        })
    }

    pub fn encoding(&self) -> Encoding {
        self.rows.encoding()
    }

    /// The next row, parsed, or the problems of its fields.
    pub fn next_line(
        &mut self,
    ) -> Option<Result<Result<InquiryLine, Vec<InquiryFieldError>>, ReadError>> {
        Some(self.rows.next_fields()?.map(|row| match row {
            Err((line, reason)) => Err(vec![InquiryFieldError {
                line,
                column: None,
                reason,
            }]),
            Ok((line, fields)) => parse(line, &fields),
        }))
    }
}

fn parse(line: u64, fields: &[String]) -> Result<InquiryLine, Vec<InquiryFieldError>> {
    let field = |c: InquiryColumn| fields.get(c as usize).map_or("", String::as_str);
    let mut errors = Vec::new();
    let mut fail = |column: InquiryColumn, reason: Reason| {
        errors.push(InquiryFieldError {
            line,
            column: Some(column),
            reason,
        });
    };
    // The error of MyNumber::parse names the rule broken, never the digits given.
    let my_number = MyNumber::parse(field(InquiryColumn::MyNumber))
        .map_err(|e| fail(InquiryColumn::MyNumber, Reason::of(&e)))
        .ok();
    let former = MunicipalityCode::parse(field(InquiryColumn::FormerMunicipality))
        .map_err(|e| fail(InquiryColumn::FormerMunicipality, Reason::of(&e)))
        .ok();
    let consent = consent(field(InquiryColumn::Consent))
        .map_err(|e| fail(InquiryColumn::Consent, e))
        .ok();
    match (my_number, former, consent) {
        (Some(my_number), Some(former), Some(consent)) if errors.is_empty() => Ok(InquiryLine {
            line,
            my_number,
            former,
            consent,
        }),
        _ => Err(errors),
    }
}

/// A CSV download: a header row, then rows, in UTF-8 (with a BOM, for Excel) or CP932, CRLF.
pub struct CsvWriter<W: Write> {
    out: CsvOut<W>,
    header: Vec<String>,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    pub fn start(out: W, encoding: Encoding, header: &[&str]) -> io::Result<Self> {
        let mut out = CsvOut::start(out, encoding)?;
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        out.row("", &header, |_| String::new())?;
        Ok(Self {
            out,
            header,
            rows: 0,
        })
    }

    /// Writes one row; `key` names the row in an error about a character CP932 lacks.
    pub fn row(&mut self, key: &str, fields: &[String]) -> io::Result<()> {
        let header = &self.header;
        self.out
            .row(key, fields, |i| header.get(i).cloned().unwrap_or_default())?;
        self.rows += 1;
        Ok(())
    }

    /// The output written so far (a caller writing in parts takes the finished bytes from it).
    pub fn get_mut(&mut self) -> &mut W {
        self.out.get_mut()
    }

    /// Flushes; returns the number of rows written (without the header).
    pub fn finish(self) -> io::Result<u64> {
        self.out.finish()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Vec<Result<InquiryLine, Vec<InquiryFieldError>>> {
        let mut r = InquiryReader::new(text, EncodingChoice::Auto).unwrap();
        std::iter::from_fn(|| r.next_line().map(Result::unwrap)).collect()
    }

    #[test]
    fn reads_rows_with_and_without_header_and_names_bad_fields() {
        let rows = read(
            "個人番号,転出元自治体コード,本人同意\n123456789018,011002,1\n123456789019,011003,\n"
                .as_bytes(),
        );
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.line, 2);
        assert_eq!(first.former.as_str(), "011002");
        assert!(first.consent);
        let errors = rows[1].as_ref().unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("line 3, 個人番号"), "{shown:?}");
        assert!(!shown[0].contains("123456789019"), "{shown:?}");
        assert!(
            shown[1].starts_with("line 3, 転出元自治体コード"),
            "{shown:?}"
        );

        let rows = read(b"123456789018,011002\n");
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.line, 1);
        assert!(!row.consent);
    }

    #[test]
    fn reads_cp932_and_refuses_an_unknown_consent_word() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS
            .encode("マイナンバー,照会先自治体コード,本人同意\r\n123456789018,011002,たぶん\r\n");
        let rows = read(&bytes);
        let errors = rows[0].as_ref().unwrap_err();
        assert_eq!(errors[0].column, Some(InquiryColumn::Consent));
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn csv_writer_writes_bom_crlf_and_refuses_what_cp932_lacks() {
        let mut out = Vec::new();
        let mut w = CsvWriter::start(&mut out, Encoding::Utf8, &["a", "b"]).unwrap();
        w.row("k", &["1".into(), "x,y".into()]).unwrap();
        assert_eq!(w.finish().unwrap(), 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}a,b\r\n1,\"x,y\"\r\n"
        );

        let mut w = CsvWriter::start(Vec::new(), Encoding::Cp932, &["名前"]).unwrap();
        let e = w.row("k1", &["😀".into()]).unwrap_err();
        assert!(e.to_string().contains("名前"), "{e}");
    }
}
