//! The two exports of stored doses: the VRS ledger layout 「予防接種台帳向け出力」, one row per
//! person, and a plain CSV, one row per dose, that the dose file reader reads back.

use std::io::{self, Write};

use chrono::{FixedOffset, Offset, SecondsFormat, Utc};
use vrs_domain::{AtenaNumber, DoseRecord};

use super::csv_out::CsvOut;
use crate::targets::Encoding;

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
/// arrived. [`DoseReader`](super::DoseReader) reads the file back (it takes `product_code` as the
/// product and ignores the columns it does not know). Lines end in CRLF; UTF-8 starts with a BOM.
/// Returns the number of doses written.
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
