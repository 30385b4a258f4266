//! Dose files (接種記録): the bulk CSV produced by OCR of 予診票, read in two phases like the targets
//! file ([`DoseReader`] yields [`RawDoseRow`]s, [`RawDoseRow::parse`] makes a [`DoseLine`] or the list
//! of its [`DoseFieldError`]s), and the two exports of stored doses: the VRS ledger layout
//! 「予防接種台帳向け出力」 ([`write_ledger`], one row per person) and a plain CSV ([`write_dose_csv`],
//! one row per dose) that [`DoseReader`] reads back. Encodings, header detection and line numbers
//! are those of [`crate::targets`]. No format here carries a My Number. The formats are documented
//! in `docs/csv-formats.md`.

use std::fmt;
use std::io::{self, Read, Write};

use chrono::{FixedOffset, NaiveDate, Offset, SecondsFormat, Utc};
use vrs_domain::{
    normalize_digits, parse_date, AtenaNumber, CouponNumber, DoseNumber, DoseNumberError,
    DoseRecord, LabelError, LotNumber, MunicipalityCode, OcrLine, Reason, UserFacing,
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
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static VaccineProduct,
    /// Not checked against the maker's lot format here: the data-quality rules do that.
    pub lot_number: LotNumber,
    /// Where it was given (接種地); may differ from the importing municipality.
    pub site: MunicipalityCode,
    /// Empty when not given.
    pub venue: String,
    /// Empty when not given.
    pub doctor: String,
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
            e => Reason::new(
                e.code(),
                format!(
                    "日付ではありません: {}（{}）",
                    shown(date_text, true),
                    e.message_ja()
                ),
                format!("not a date: {} ({e})", shown(date_text, false)),
            ),
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
                dose_number,
                administered_on,
                product,
                lot_number,
                site,
                venue,
                doctor,
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

/// A field's text for a reason, unless it could be a My Number (12 digits), which reasons never
/// repeat.
fn shown(text: &str, ja: bool) -> String {
    let digits = normalize_digits(text);
    let chars = text.chars().count();
    if digits.len() >= 12 && digits.bytes().filter(u8::is_ascii_digit).count() >= 12 {
        if ja {
            format!("（{chars}文字、表示しません）")
        } else {
            format!("({chars} characters, not shown)")
        }
    } else {
        text.trim().to_owned()
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
        DoseNumberError::OutOfRange => Reason::new(
            e.code(),
            format!("{}（{}）", e.message_ja(), shown(text, true)),
            format!("{e}, not {}", shown(text, false)),
        ),
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
            Reason::new(
                "product_unknown",
                format!("登録されていないワクチンです: {}", shown(text, true)),
                format!("unknown product: {}", shown(text, false)),
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

/// One person's row of the ledger export: the 宛名番号 and the stored doses.
#[derive(Clone, Copy, Debug)]
pub struct LedgerPerson<'a> {
    pub atena: &'a AtenaNumber,
    pub doses: &'a [DoseRecord],
}

/// The highest dose number among `doses` (at least 1): the `max_dose` that leaves no dose out of
/// [`write_ledger`].
pub fn max_dose_number<'a>(doses: impl IntoIterator<Item = &'a DoseRecord>) -> u8 {
    doses
        .into_iter()
        .map(|d| d.dose.dose_number.get())
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The fields of one dose in the ledger layout, after 個別宛名番号.
const LEDGER_FIELDS: [&str; 8] = [
    "接種履歴登録日時",
    "接種日",
    "券番号",
    "接種自治体コード",
    "接種会場名",
    "接種医師名",
    "ワクチンメーカー",
    "ワクチンロット番号",
];

/// Writes the VRS ledger layout 「予防接種台帳向け出力」: a header row, then one row per person —
/// 個別宛名番号 and, for each dose number 1..=`max_dose` (0 counts as 1), the eight fields of
/// [`LEDGER_FIELDS`]; a dose number without a record is eight empty fields. The header needs the
/// width before the rows, so the caller gives it (see [`max_dose_number`]); a person with a dose
/// above it is refused (`InvalidInput`) rather than written without it. Lines end in CRLF; UTF-8
/// starts with a BOM. Returns the number of people written.
pub fn write_ledger<'a, W: Write>(
    out: W,
    encoding: Encoding,
    max_dose: u8,
    people: impl IntoIterator<Item = LedgerPerson<'a>>,
) -> io::Result<u64> {
    let mut writer = LedgerWriter::start(out, encoding, max_dose)?;
    for person in people {
        writer.person(person)?;
    }
    writer.finish()
}

/// [`write_ledger`] one person at a time, for exports that read their people page by page.
pub struct LedgerWriter<W: Write> {
    out: CsvOut<W>,
    header: Vec<String>,
    max_dose: u8,
    rows: u64,
    fields: Vec<String>,
}

impl<W: Write> LedgerWriter<W> {
    /// Writes the BOM (UTF-8) and the header row for `max_dose` doses (0 counts as 1).
    pub fn start(out: W, encoding: Encoding, max_dose: u8) -> io::Result<Self> {
        let max_dose = max_dose.max(1);
        let mut header = vec!["個別宛名番号".to_owned()];
        for n in 1..=max_dose {
            header.extend(LEDGER_FIELDS.iter().map(|f| format!("{n}回目{f}")));
        }
        let mut out = CsvOut::start(out, encoding)?;
        out.row("", &header, |_| String::new())?;
        Ok(Self {
            out,
            fields: Vec::with_capacity(header.len()),
            header,
            max_dose,
            rows: 0,
        })
    }

    /// Writes one person's row.
    pub fn person(&mut self, person: LedgerPerson<'_>) -> io::Result<()> {
        let max_dose = self.max_dose;
        if let Some(d) = person.doses.iter().find(|d| d.dose.dose_number > max_dose) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "atena number {}: dose {} does not fit an export of {max_dose} doses",
                    person.atena, d.dose.dose_number
                ),
            ));
        }
        let fields = &mut self.fields;
        fields.clear();
        fields.push(person.atena.to_string());
        for n in 1..=max_dose {
            match person.doses.iter().find(|d| d.dose.dose_number == n) {
                Some(d) => fields.extend([
                    d.recorded_at
                        .with_timezone(&japan())
                        .format("%Y%m%d%H%M%S")
                        .to_string(),
                    d.dose.administered_on.format("%Y%m%d").to_string(),
                    d.dose.coupon.to_string(),
                    d.dose.site_municipality.to_string(),
                    d.venue.clone(),
                    d.doctor.clone(),
                    d.dose.product.manufacturer.ledger_name().to_owned(),
                    d.dose.lot_number.to_string(),
                ]),
                None => fields.resize(fields.len() + LEDGER_FIELDS.len(), String::new()),
            }
        }
        let header = &self.header;
        self.out
            .row(person.atena.as_str(), fields, |i| header[i].clone())?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes; returns the number of people written.
    pub fn finish(self) -> io::Result<u64> {
        self.out.finish()?;
        Ok(self.rows)
    }
}

/// The header of [`write_dose_csv`].
pub const DOSE_CSV_HEADER: [&str; 13] = [
    "atena_number",
    "dose_number",
    "administered_on",
    "product_code",
    "product_name",
    "manufacturer",
    "lot_number",
    "coupon_number",
    "site_municipality_code",
    "venue",
    "doctor",
    "recorded_at",
    "source",
];

/// Writes stored doses one per row under [`DOSE_CSV_HEADER`]: dates in ISO form, the product's code
/// and English name, the maker's English name, `recorded_at` in RFC 3339 UTC, and how the dose
/// arrived. [`DoseReader`] reads the file back (it takes `product_code` as the product and ignores
/// the columns it does not know). Lines end in CRLF; UTF-8 starts with a BOM. Returns the number
/// of doses written.
pub fn write_dose_csv<'a, W: Write>(
    out: W,
    encoding: Encoding,
    rows: impl IntoIterator<Item = &'a DoseRecord>,
) -> io::Result<u64> {
    let mut writer = DoseCsvWriter::start(out, encoding)?;
    for r in rows {
        writer.dose(r)?;
    }
    writer.finish()
}

/// [`write_dose_csv`] one dose at a time, for exports that read their doses page by page.
pub struct DoseCsvWriter<W: Write> {
    out: CsvOut<W>,
    rows: u64,
}

impl<W: Write> DoseCsvWriter<W> {
    /// Writes the BOM (UTF-8) and the header row.
    pub fn start(out: W, encoding: Encoding) -> io::Result<Self> {
        let mut out = CsvOut::start(out, encoding)?;
        let header: Vec<String> = DOSE_CSV_HEADER.iter().map(|h| (*h).to_owned()).collect();
        out.row("", &header, |_| String::new())?;
        Ok(Self { out, rows: 0 })
    }

    /// Writes one dose's row.
    pub fn dose(&mut self, r: &DoseRecord) -> io::Result<()> {
        let d = &r.dose;
        let fields = [
            d.atena.to_string(),
            d.dose_number.to_string(),
            d.administered_on.format("%Y-%m-%d").to_string(),
            d.product.code.to_owned(),
            d.product.name.to_owned(),
            d.product.manufacturer.name_en().to_owned(),
            d.lot_number.to_string(),
            d.coupon.to_string(),
            d.site_municipality.to_string(),
            r.venue.clone(),
            r.doctor.clone(),
            r.recorded_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            r.source.as_str().to_owned(),
        ];
        self.out
            .row(d.atena.as_str(), &fields, |i| DOSE_CSV_HEADER[i].to_owned())?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes; returns the number of doses written.
    pub fn finish(self) -> io::Result<u64> {
        self.out.finish()?;
        Ok(self.rows)
    }
}

/// Japan Standard Time (UTC+9, no daylight saving).
fn japan() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// CSV output in an encoding: fields quoted when they must be, CRLF, a BOM for UTF-8, and a
/// character CP932 lacks refused with the row and field it is in.
/// A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return — text typed at a site, such as a venue or a doctor's name) is written with a
/// leading `'`, so Excel on an LG-WAN PC shows it as text and runs nothing. Other cells are
/// written as they are.
pub(crate) fn neutralise(field: &str) -> Option<String> {
    field
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
        .then(|| format!("'{field}"))
}

/// Writes CSV rows in UTF-8 (with a BOM) or CP932, every cell through [`neutralise`].
pub(crate) struct CsvOut<W: Write> {
    out: W,
    encoding: Encoding,
    line: String,
}

impl<W: Write> CsvOut<W> {
    pub(crate) fn start(mut out: W, encoding: Encoding) -> io::Result<Self> {
        if encoding == Encoding::Utf8 {
            // Excel opens UTF-8 CSV as such only with a BOM.
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(Self {
            out,
            encoding,
            line: String::with_capacity(256),
        })
    }

    /// Writes one row; `atena` and `column(i)` name a field that cannot be encoded.
    pub(crate) fn row(
        &mut self,
        atena: &str,
        fields: &[String],
        column: impl Fn(usize) -> String,
    ) -> io::Result<()> {
        self.line.clear();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            let neutral;
            let field = match neutralise(field) {
                Some(text) => {
                    neutral = text;
                    &neutral
                }
                None => field,
            };
            if field.contains([',', '"', '\r', '\n']) {
                self.line.push('"');
                self.line.push_str(&field.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(field);
            }
        }
        self.line.push_str("\r\n");
        match self.encoding {
            Encoding::Utf8 => self.out.write_all(self.line.as_bytes()),
            Encoding::Cp932 => {
                let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&self.line);
                if !unmappable {
                    return self.out.write_all(&bytes);
                }
                for (i, field) in fields.iter().enumerate() {
                    if let Some(ch) = field.chars().find(|c| !cp932_has(*c)) {
                        let whose = if atena.is_empty() {
                            "the header".to_owned()
                        } else {
                            format!("atena number {atena}")
                        };
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{whose}, {}: the character {ch:?} (U+{:04X}) cannot be written in CP932",
                                column(i),
                                u32::from(ch)
                            ),
                        ));
                    }
                }
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a character cannot be written in CP932",
                ))
            }
        }
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn cp932_has(c: char) -> bool {
    let mut buf = [0u8; 4];
    !encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2
}
