//! Dose files (接種記録): the bulk CSV produced by OCR of 予診票, read in two phases like the targets
//! file ([`DoseReader`] yields [`RawDoseRow`]s, [`RawDoseRow::parse`] makes a [`DoseLine`] or the list
//! of its [`DoseFieldError`]s), and the two exports of stored doses: the VRS ledger layout
//! 「予防接種台帳向け出力」 ([`write_ledger`], one row per person) and a plain CSV ([`write_dose_csv`],
//! one row per dose) that [`DoseReader`] reads back. Encodings, header detection and line numbers
//! are those of [`crate::targets`]. No format here carries a My Number. The formats are documented
//! in `docs/csv-formats.md`.

mod csv_out;
mod export;

pub(crate) use csv_out::CsvOut;
pub use export::{
    max_dose_number, write_dose_csv, write_ledger, DoseCsvWriter, LedgerPerson, LedgerWriter,
    DOSE_CSV_HEADER,
};

use std::fmt;
use std::io::Read;

use vrs_domain::{
    normalize_digits, parse_date, CouponNumber, DoseNumber, DoseNumberError, DoseRecord,
    DoseStatement, LabelError, LotNumber, MunicipalityCode, OcrLine, Reason, UserFacing,
    VaccineProduct,
};

use crate::targets::{
    header_cell, Columns, CsvRows, Encoding, EncodingChoice, FieldError, ReadError,
};

/// The columns of a dose file, in the order of a file without a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DoseColumn {
    Coupon,
    DoseNumber,
    AdministeredOn,
    Product,
    LotNumber,
    Site,
    Venue,
    Doctor,
}

impl DoseColumn {
    pub const ALL: [DoseColumn; 8] = [
        DoseColumn::Coupon,
        DoseColumn::DoseNumber,
        DoseColumn::AdministeredOn,
        DoseColumn::Product,
        DoseColumn::LotNumber,
        DoseColumn::Site,
        DoseColumn::Venue,
        DoseColumn::Doctor,
    ];

    /// The Japanese header name.
    pub fn ja(self) -> &'static str {
        match self {
            DoseColumn::Coupon => "接種券番号",
            DoseColumn::DoseNumber => "接種回",
            DoseColumn::AdministeredOn => "接種日",
            DoseColumn::Product => "ワクチン",
            DoseColumn::LotNumber => "ロット番号",
            DoseColumn::Site => "接種自治体コード",
            DoseColumn::Venue => "接種会場名",
            DoseColumn::Doctor => "接種医師名",
        }
    }

    /// The English header name.
    pub fn en(self) -> &'static str {
        match self {
            DoseColumn::Coupon => "coupon_number",
            DoseColumn::DoseNumber => "dose_number",
            DoseColumn::AdministeredOn => "administered_on",
            DoseColumn::Product => "product",
            DoseColumn::LotNumber => "lot_number",
            DoseColumn::Site => "site_municipality_code",
            DoseColumn::Venue => "venue",
            DoseColumn::Doctor => "doctor",
        }
    }

    /// Venue and doctor may be empty, and absent from a file.
    pub fn is_optional(self) -> bool {
        matches!(self, DoseColumn::Venue | DoseColumn::Doctor)
    }

    /// The column a header cell names: the Japanese or English name (any case), or an alias
    /// (`product_code` as [`write_dose_csv`] writes it, 券番号, 接種年月日, ワクチン名).
    pub fn from_header(h: &str) -> Option<DoseColumn> {
        let h = header_cell(h);
        let lower = h.to_ascii_lowercase();
        DoseColumn::ALL
            .into_iter()
            .find(|c| c.ja() == h || c.en() == lower)
            .or(match (h, lower.as_str()) {
                (_, "product_code") | ("ワクチン名", _) => Some(DoseColumn::Product),
                ("券番号", _) => Some(DoseColumn::Coupon),
                ("接種年月日", _) => Some(DoseColumn::AdministeredOn),
                _ => None,
            })
    }
}

impl Columns for DoseColumn {
    const ALL: &'static [Self] = &DoseColumn::ALL;
    fn from_header(h: &str) -> Option<Self> {
        DoseColumn::from_header(h)
    }
    fn optional(self) -> bool {
        self.is_optional()
    }
}

impl fmt::Display for DoseColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ja(), self.en())
    }
}

/// Why one field of one dose row was refused: `line 3, 接種日 (administered_on): …`.
pub type DoseFieldError = FieldError<DoseColumn>;

/// One data row of a dose file: its line (the header is line 1) and its fields in
/// [`DoseColumn::ALL`] order (empty for an optional column the file does not have).
#[derive(Clone, Debug)]
pub struct RawDoseRow {
    pub line: u64,
    fields: Vec<String>,
}

/// A valid row of a dose file. Whose dose it is follows from the coupon, which the caller looks up
/// in the importing municipality's targets.
#[derive(Clone, Debug, PartialEq)]
pub struct DoseLine {
    pub line: u64,
    pub coupon: CouponNumber,
    /// The dose the row states; its site may differ from the importing municipality.
    pub statement: DoseStatement,
}

impl RawDoseRow {
    pub fn field(&self, column: DoseColumn) -> &str {
        self.fields.get(column as usize).map_or("", String::as_str)
    }

    /// Validates every field and reports every problem of the row. `home` is the importing
    /// municipality: an 18-digit OCR line in the coupon column must be one of its coupons.
    pub fn parse(&self, home: MunicipalityCode) -> Result<DoseLine, Vec<DoseFieldError>> {
        let mut errors = Vec::new();
        let mut check = |column: DoseColumn, result: Result<(), Reason>| {
            if let Err(reason) = result {
                errors.push(DoseFieldError {
                    line: self.line,
                    column: Some(column),
                    reason,
                });
            }
        };
        let coupon = parse_coupon(self.field(DoseColumn::Coupon), home);
        check(DoseColumn::Coupon, ok(&coupon));
        let dose_number = parse_dose_number(self.field(DoseColumn::DoseNumber));
        check(DoseColumn::DoseNumber, ok(&dose_number));
        let date_text = self.field(DoseColumn::AdministeredOn);
        let administered_on = parse_date(date_text).map_err(|e| match e {
            vrs_domain::DateError::Empty => Reason::of(&e),
            e => {
                let (ja, en) = shown(date_text);
                Reason::new(
                    e.code(),
                    format!("日付ではありません: {ja}（{}）", e.message_ja()),
                    format!("not a date: {en} ({e})"),
                )
            }
        });
        check(DoseColumn::AdministeredOn, ok(&administered_on));
        let product = parse_product(self.field(DoseColumn::Product));
        check(DoseColumn::Product, ok(&product));
        let lot_number =
            LotNumber::parse(self.field(DoseColumn::LotNumber)).map_err(|e| Reason::of(&e));
        check(DoseColumn::LotNumber, ok(&lot_number));
        let site =
            MunicipalityCode::parse(self.field(DoseColumn::Site)).map_err(|e| Reason::of(&e));
        check(DoseColumn::Site, ok(&site));
        let venue = DoseRecord::venue(self.field(DoseColumn::Venue))
            .map_err(|e| labelled(&e, "接種会場名", "the venue is"));
        check(DoseColumn::Venue, ok(&venue));
        let doctor = DoseRecord::doctor(self.field(DoseColumn::Doctor))
            .map_err(|e| labelled(&e, "接種医師名", "the doctor's name is"));
        check(DoseColumn::Doctor, ok(&doctor));
        match (
            coupon,
            dose_number,
            administered_on,
            product,
            lot_number,
            site,
            venue,
            doctor,
        ) {
            (
                Ok(coupon),
                Ok(dose_number),
                Ok(administered_on),
                Ok(product),
                Ok(lot_number),
                Ok(site),
                Ok(venue),
                Ok(doctor),
            ) if errors.is_empty() => Ok(DoseLine {
                line: self.line,
                coupon,
                statement: DoseStatement {
                    dose_number,
                    administered_on,
                    product,
                    lot_number,
                    site,
                    venue,
                    doctor,
                },
            }),
            _ => Err(errors),
        }
    }
}

fn ok<T>(result: &Result<T, Reason>) -> Result<(), Reason> {
    result.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// A venue's or doctor's refusal, naming the field.
fn labelled(e: &LabelError, ja: &str, en: &str) -> Reason {
    Reason::new(
        e.code(),
        format!("{ja}は{}", e.message_ja()),
        format!("{en} {e}"),
    )
}

/// A field's text for a reason, in Japanese and in English (the same text in both), unless it
/// could be a My Number (12 digits), which reasons never repeat: then only its length is said.
fn shown(text: &str) -> (String, String) {
    let digits = normalize_digits(text);
    let chars = text.chars().count();
    if digits.len() >= 12 && digits.bytes().filter(u8::is_ascii_digit).count() >= 12 {
        (
            format!("（{chars}文字、表示しません）"),
            format!("({chars} characters, not shown)"),
        )
    } else {
        let text = text.trim().to_owned();
        (text.clone(), text)
    }
}

/// Ten digits, or the 18-digit OCR line of one of `home`'s coupons.
fn parse_coupon(text: &str, home: MunicipalityCode) -> Result<CouponNumber, Reason> {
    let digits = normalize_digits(text);
    if digits.chars().count() == 18 {
        let ocr = OcrLine::parse(&digits).map_err(|e| Reason::of(&e))?;
        if ocr.municipality != home {
            return Err(Reason::new(
                "ocr_line_other_municipality",
                format!(
                    "OCR行は自治体 {} の接種券です（{home} のものではありません）。",
                    ocr.municipality
                ),
                format!(
                    "OCR line is for municipality {}, not {home}",
                    ocr.municipality
                ),
            ));
        }
        return Ok(ocr.coupon);
    }
    CouponNumber::parse(&digits).map_err(|e| match e {
        vrs_domain::CouponNumberError::Empty => Reason::of(&e),
        vrs_domain::CouponNumberError::NotTenDigits => {
            let chars = digits.chars().count();
            Reason::new(
                e.code(),
                format!("接種券番号は10桁、またはOCR行の18桁です（{chars}文字あります）。"),
                format!(
                    "a coupon number must be 10 digits or an 18-digit OCR line (got {chars} characters)"
                ),
            )
        }
    })
}

fn parse_dose_number(text: &str) -> Result<DoseNumber, Reason> {
    DoseNumber::parse(text).map_err(|e| match e {
        DoseNumberError::Empty => Reason::of(&e),
        DoseNumberError::OutOfRange => {
            let (ja, en) = shown(text);
            Reason::new(
                e.code(),
                format!("{}（{ja}）", e.message_ja()),
                format!("{e}, not {en}"),
            )
        }
    })
}

/// A catalogue product by its code (any case), or exactly its English or Japanese name.
fn parse_product(text: &str) -> Result<&'static VaccineProduct, Reason> {
    let text = text.trim_matches(char::is_whitespace);
    if text.is_empty() {
        return Err(Reason::new(
            "product_empty",
            "ワクチンが入力されていません。",
            "the product is empty",
        ));
    }
    let lower = text.to_ascii_lowercase();
    VaccineProduct::catalogue()
        .iter()
        .find(|p| p.code == lower || p.name == text || p.name_ja == text)
        .ok_or_else(|| {
            let (ja, en) = shown(text);
            Reason::new(
                "product_unknown",
                format!("登録されていないワクチンです: {ja}"),
                format!("unknown product: {en}"),
            )
        })
}

/// Streams the rows of a dose file.
pub struct DoseReader<R: Read> {
    rows: CsvRows<R>,
}

impl<R: Read> DoseReader<R> {
    /// Opens a file: decides the encoding (for `Auto`, from the first 64 KiB) and reads the header
    /// row if there is one. A header must name every column but venue and doctor; columns it
    /// names that a dose file does not have are ignored.
    pub fn new(reader: R, choice: EncodingChoice) -> Result<Self, ReadError> {
        Ok(Self {
            rows: CsvRows::open::<DoseColumn>(reader, choice)?,
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

    /// The next data row; a row with too few fields is a [`DoseFieldError`] naming its line.
    pub fn next_row(&mut self) -> Option<Result<Result<RawDoseRow, DoseFieldError>, ReadError>> {
        Some(self.rows.next_fields()?.map(|row| {
            row.map(|(line, fields)| RawDoseRow { line, fields })
                .map_err(|(line, reason)| DoseFieldError {
                    line,
                    column: None,
                    reason,
                })
        }))
    }
}
