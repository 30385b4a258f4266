//! The snapshot a merge keeps to undo itself, and the renumbering of the combined doses. Rows
//! travel as the cells of the backup table specs, so both backends write and read one format.

use chrono::{DateTime, NaiveDate};
use vrs_domain::{AtenaNumber, DoseNumber};

use crate::backup::{Cell, TableSpec, AREA_TABLES};
use crate::ConflictKind;
use crate::StoreError;

/// What a merge keeps to undo itself: rows as stored, in the cells of the backup specs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSnapshot {
    pub merged_resident: Vec<Cell>,
    pub kept_doses: Vec<Vec<Cell>>,
    pub merged_doses: Vec<Vec<Cell>>,
}

const MAGIC: &[u8; 5] = b"VRSM1";

/// The backup spec of an area table (`residents`, `doses`).
pub(crate) fn spec(name: &str) -> Result<&'static TableSpec, StoreError> {
    AREA_TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::Other(format!("no table spec for {name}")))
}

fn column(spec: &TableSpec, name: &str) -> Result<usize, StoreError> {
    spec.columns
        .iter()
        .position(|(c, _)| *c == name)
        .ok_or_else(|| StoreError::Other(format!("{} has no column {name}", spec.name)))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn encode_rows(out: &mut Vec<u8>, rows: &[Vec<Cell>]) {
    out.extend_from_slice(&(rows.len() as u32).to_be_bytes());
    for row in rows {
        out.extend_from_slice(&(row.len() as u32).to_be_bytes());
        for cell in row {
            match cell {
                Cell::Null => out.push(0),
                Cell::Int(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_be_bytes());
                }
                Cell::Text(t) => {
                    out.push(2);
                    put_bytes(out, t.as_bytes());
                }
                Cell::Bytes(b) => {
                    out.push(3);
                    put_bytes(out, b);
                }
                Cell::Bool(b) => out.extend_from_slice(&[4, u8::from(*b)]),
                Cell::Time(t) => {
                    out.push(5);
                    out.extend_from_slice(&t.timestamp_micros().to_be_bytes());
                }
                Cell::Date(d) => {
                    out.push(6);
                    put_bytes(out, d.to_string().as_bytes());
                }
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StoreError> {
        if self.0.len() < n {
            return Err(StoreError::Corrupt(
                "person_merges.snapshot is truncated".into(),
            ));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<usize, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn i64(&mut self) -> Result<i64, StoreError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = self.u32()?;
        Ok(self.take(n)?.to_vec())
    }

    fn rows(&mut self) -> Result<Vec<Vec<Cell>>, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("person_merges.snapshot: {what}"));
        let n = self.u32()?;
        let mut rows = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let cells = self.u32()?;
            let mut row = Vec::with_capacity(cells.min(64));
            for _ in 0..cells {
                let tag = self.take(1)?[0];
                row.push(match tag {
                    0 => Cell::Null,
                    1 => Cell::Int(self.i64()?),
                    2 => Cell::Text(String::from_utf8(self.bytes()?).map_err(|_| corrupt("text"))?),
                    3 => Cell::Bytes(self.bytes()?),
                    4 => Cell::Bool(self.take(1)?[0] != 0),
                    5 => Cell::Time(
                        DateTime::from_timestamp_micros(self.i64()?)
                            .ok_or_else(|| corrupt("time"))?,
                    ),
                    6 => Cell::Date(
                        String::from_utf8(self.bytes()?)
                            .ok()
                            .and_then(|t| t.parse::<NaiveDate>().ok())
                            .ok_or_else(|| corrupt("date"))?,
                    ),
                    _ => return Err(corrupt("unknown cell type")),
                });
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

impl MergeSnapshot {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        encode_rows(&mut out, std::slice::from_ref(&self.merged_resident));
        encode_rows(&mut out, &self.kept_doses);
        encode_rows(&mut out, &self.merged_doses);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(StoreError::Corrupt(
                "person_merges.snapshot has an unknown format".into(),
            ));
        }
        let mut resident = r.rows()?.pop().ok_or_else(|| {
            StoreError::Corrupt("person_merges.snapshot holds no resident row".into())
        })?;
        // A merge kept before a column was added to residents lacks it: NULL, as the column's
        // default.
        let residents = spec("residents")?;
        if (residents.columns_in_format(1)..residents.columns.len()).contains(&resident.len()) {
            resident.resize(residents.columns.len(), Cell::Null);
        }
        let snapshot = Self {
            merged_resident: resident,
            kept_doses: r.rows()?,
            merged_doses: r.rows()?,
        };
        if !r.0.is_empty() {
            return Err(StoreError::Corrupt(
                "person_merges.snapshot has trailing bytes".into(),
            ));
        }
        crate::backup::check_row(spec("residents")?, &snapshot.merged_resident)?;
        for row in snapshot.kept_doses.iter().chain(&snapshot.merged_doses) {
            crate::backup::check_row(spec("doses")?, row)?;
        }
        Ok(snapshot)
    }

    /// A cell of the merged person's row by column name, as text.
    pub(crate) fn resident_text(&self, name: &str) -> Result<Option<&str>, StoreError> {
        Ok(
            match self.merged_resident.get(column(spec("residents")?, name)?) {
                Some(Cell::Text(t)) => Some(t.as_str()),
                _ => None,
            },
        )
    }

    /// A cell of the merged person's row by column name, as bytes.
    pub(crate) fn resident_bytes(&self, name: &str) -> Result<Option<&[u8]>, StoreError> {
        Ok(
            match self.merged_resident.get(column(spec("residents")?, name)?) {
                Some(Cell::Bytes(b)) => Some(b.as_slice()),
                _ => None,
            },
        )
    }
}

/// The SHA-256 of dose rows (in dose-number order), to tell whether they changed.
pub(crate) fn digest(rows: &[Vec<Cell>]) -> [u8; 32] {
    let mut out = Vec::new();
    encode_rows(&mut out, rows);
    vrs_crypto::sha256(&out)
}

/// The kept person's doses after a merge: both people's rows, moved to `kept` and renumbered 1..n
/// by administered date then original number, every other cell as stored. Refused (a conflict
/// saying why) when they would exceed the dose-number limit or two fall on the same day.
pub(crate) fn combine(
    kept: &AtenaNumber,
    kept_doses: &[Vec<Cell>],
    merged_doses: &[Vec<Cell>],
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let doses = spec("doses")?;
    let (atena, number, day) = (
        column(doses, "atena_number")?,
        column(doses, "dose_number")?,
        column(doses, "administered_on")?,
    );
    let max = usize::from(*DoseNumber::RANGE.end());
    let total = kept_doses.len() + merged_doses.len();
    if total > max {
        return Err(StoreError::Conflict(ConflictKind::TooManyDoses {
            total,
            max,
        }));
    }
    let key = |row: &Vec<Cell>| -> Result<(NaiveDate, i64), StoreError> {
        match (row.get(day), row.get(number)) {
            (Some(Cell::Date(d)), Some(Cell::Int(n))) => Ok((*d, *n)),
            _ => Err(StoreError::Corrupt(
                "a dose row without date or number".into(),
            )),
        }
    };
    let mut all = Vec::with_capacity(total);
    for (side, rows) in [kept_doses, merged_doses].into_iter().enumerate() {
        for row in rows {
            let (d, n) = key(row)?;
            all.push(((d, n, side), row.clone()));
        }
    }
    all.sort_by_key(|(k, _)| *k);
    if let Some(w) = all.windows(2).find(|w| w[0].0 .0 == w[1].0 .0) {
        return Err(StoreError::Conflict(ConflictKind::SameDayDoses(
            w[0].0 .0.to_string(),
        )));
    }
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut row))| {
            row[atena] = Cell::Text(kept.as_str().to_owned());
            row[number] = Cell::Int(i as i64 + 1);
            row
        })
        .collect())
}
