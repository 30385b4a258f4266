//! Checking a section as its rows pass, one row at a time: the schema of every line (by
//! [`LinesSource`]), the row counts, the data keys, and every audit chain recomputed from genesis
//! to the head the area's manifest names.

use std::collections::BTreeMap;

use vrs_crypto::chain::GENESIS;
use vrs_store::{AuditRecord, AuditScope, Cell, RestoreSource, TableSpec};

use crate::backup::format::{note_head, rows_in_format, AreaManifest, LinesSource, Whole};

/// Checks a section against its manifest in one pass, holding one row at a time: the schema of
/// every line, the row counts, the data keys, and every audit chain recomputed from genesis to
/// the head the manifest names.
pub fn check_section(
    area: AuditScope,
    format: u32,
    plaintext: Vec<u8>,
    expected: &AreaManifest,
) -> Result<Vec<u8>, String> {
    let mut source = LinesSource::new(area, format, Whole::new(plaintext))?;
    let mut checker = Checker::default();
    let mut cells = Vec::new();
    while let Some(spec) = source.next_table().map_err(|e| e.to_string())? {
        checker.table(spec);
        while source.next_row(&mut cells).map_err(|e| e.to_string())? {
            checker.row(spec, &cells)?;
        }
    }
    checker.finish(area, format, source.carried().len(), expected)?;
    Ok(source.into_lines().into_plaintext())
}

/// What a section's rows add up to as they pass: rows per table, chain heads, and every audit
/// chain recomputed from genesis.
#[derive(Default)]
pub struct Checker {
    rows: BTreeMap<String, u64>,
    heads: BTreeMap<String, (i64, String)>,
    chains: BTreeMap<String, ([u8; 32], i64)>,
}

impl Checker {
    pub fn table(&mut self, spec: &TableSpec) {
        self.rows.insert(spec.name.to_owned(), 0);
    }

    pub fn row(&mut self, spec: &TableSpec, cells: &[Cell]) -> Result<(), String> {
        *self.rows.entry(spec.name.to_owned()).or_insert(0) += 1;
        match spec.name {
            "audit_log" => {
                let record = audit_record(cells).ok_or("an audit entry is malformed")?;
                let code = record.scope.code().to_owned();
                let (previous, last) = self.chains.entry(code.clone()).or_insert((GENESIS, 0));
                if record.seq != *last + 1 {
                    return Err(format!(
                        "audit chain {code}: entry {} is missing",
                        *last + 1
                    ));
                }
                if record.expected_hash(previous) != record.hash {
                    return Err(format!(
                        "audit chain {code}: entry {} does not match its hash",
                        record.seq
                    ));
                }
                *previous = record.hash;
                *last = record.seq;
            }
            "audit_heads" => note_head(&mut self.heads, cells),
            _ => {}
        }
        Ok(())
    }

    /// Compares what passed with the manifest: rows, data keys, chain heads, chains ending there.
    pub fn finish(
        self,
        area: AuditScope,
        format: u32,
        data_keys: usize,
        expected: &AreaManifest,
    ) -> Result<(), String> {
        let rows = rows_in_format(area, format, &self.rows);
        if rows != expected.rows {
            return Err(format!(
                "the rows {rows:?} differ from the manifest's {:?}",
                expected.rows
            ));
        }
        if data_keys as u32 != expected.data_keys || self.heads != expected.chain_heads {
            return Err("the data keys or chain heads differ from the manifest".into());
        }
        for (code, (hash, seq)) in &self.chains {
            match self.heads.get(code) {
                Some((head_seq, head_hash))
                    if head_seq == seq && *head_hash == hex::encode(hash) => {}
                _ => {
                    return Err(format!(
                        "audit chain {code} does not end at the manifest's head"
                    ))
                }
            }
        }
        if self.chains.len() != self.heads.len() {
            return Err("a chain head in the manifest has no entries".into());
        }
        Ok(())
    }
}

fn audit_record(row: &[Cell]) -> Option<AuditRecord> {
    let text = |i: usize| match row.get(i) {
        Some(Cell::Text(t)) => Some(t.clone()),
        _ => None,
    };
    let (Some(Cell::Int(seq)), Some(Cell::Time(at)), Some(Cell::Bytes(hash))) =
        (row.get(1), row.get(2), row.get(10))
    else {
        return None;
    };
    Some(AuditRecord {
        scope: AuditScope::parse(&text(0)?).ok()?,
        seq: *seq,
        entry: vrs_store::AuditEntry {
            at: *at,
            actor: text(3)?,
            role: text(4)?,
            terminal: text(5)?,
            action: text(6)?,
            target: text(7)?,
            outcome: text(8)?,
            detail: text(9)?,
        },
        hash: hash.as_slice().try_into().ok()?,
    })
}
