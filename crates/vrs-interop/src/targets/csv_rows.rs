//! The reading shared by the CSV files of residents and doses: the encoding decided, the text
//! decoded, the header row found and mapped to the file's columns, and the rows streamed with
//! their line numbers.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use vrs_domain::Reason;

use super::{sniff, Encoding, EncodingChoice, ReadError};

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
/// skipped, short rows reported. Both [`TargetReader`](super::TargetReader) and
/// `crate::doses::DoseReader` read through it.
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
