//! Backups, restores, the key vault and crypto-shredding on SQLite. A snapshot is one read
//! transaction on a reader (WAL keeps it consistent while the writer goes on); a restore or a shred
//! is one write.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use vrs_crypto::backup::BackupKey;
use vrs_domain::MunicipalityCode;

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::backup::{self as spec, AreaRestore, CarriedKey, Cell, Col, ShredRecord, SnapshotSink};
use crate::keyring::Keyring;
use crate::BackupStore;
use crate::ConflictKind;
use crate::{rows, AuditEntry, AuditScope, StoreError};

pub(super) fn read_cell(value: ValueRef<'_>, col: Col, table: &str) -> Result<Cell, StoreError> {
    let bad = || StoreError::Corrupt(format!("a value of {table} has an unexpected type"));
    Ok(match (value, col) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Text(t), Col::Text | Col::Time | Col::Date) => {
            let text = std::str::from_utf8(t).map_err(|_| bad())?;
            match col {
                Col::Time => Cell::Time(time(text)?),
                Col::Date => Cell::Date(rows::date(text)?),
                _ => Cell::Text(text.to_owned()),
            }
        }
        (ValueRef::Integer(i), Col::I16 | Col::I32 | Col::I64) => Cell::Int(i),
        (ValueRef::Integer(i), Col::Bool) => Cell::Bool(i != 0),
        (ValueRef::Blob(b), Col::Bytes) => Cell::Bytes(b.to_vec()),
        _ => return Err(bad()),
    })
}

pub(super) fn write_cell(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bytes(b) => Value::Blob(b.clone()),
        Cell::Bool(b) => Value::Integer(i64::from(*b)),
        Cell::Time(t) => Value::Text(timestamp_text(t)),
        Cell::Date(d) => Value::Text(d.to_string()),
    }
}

fn vault_key(
    conn: &Connection,
    keyring: &Keyring,
    area: &str,
) -> Result<Option<BackupKey>, StoreError> {
    let wrapped: Option<Vec<u8>> = conn
        .query_row(
            "SELECT wrapped_key FROM backup_keys WHERE area = ?1",
            [area],
            |r| r.get(0),
        )
        .optional()?;
    wrapped
        .map(|w| keyring.open_backup_key(area, &w))
        .transpose()
}

/// Hands one area to `sink`: its carried data keys, then each table's count and rows.
fn read_area(
    conn: &Connection,
    keyring: &Keyring,
    area: AuditScope,
    key: &BackupKey,
    sink: &mut dyn SnapshotSink,
) -> Result<(), StoreError> {
    let code = area.code();
    let mut keys = Vec::new();
    if matches!(area, AuditScope::Area(_)) {
        let mut stmt = conn.prepare(
            "SELECT key_version, wrapped_key FROM municipality_keys WHERE municipality_code = ?1 \
             ORDER BY key_version",
        )?;
        let stored = stmt
            .query_map([code], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (version, wrapped) in stored {
            keys.push(keyring.carry(code, version, &wrapped, key)?);
        }
    }
    sink.area(area, keys)?;
    let mut cells = Vec::new();
    for t in spec::tables_of(area) {
        let count_sql = spec::count_sql(t, "?1");
        let n: i64 = if spec::binds_code(t) {
            conn.query_row(&count_sql, [code], |r| r.get(0))?
        } else {
            conn.query_row(&count_sql, [], |r| r.get(0))?
        };
        sink.table(t, u64::try_from(n).unwrap_or(0))?;
        let mut stmt = conn.prepare(&spec::select_sql(t, "?1"))?;
        let mut query = if spec::binds_code(t) {
            stmt.query([code])?
        } else {
            stmt.query([])?
        };
        while let Some(row) = query.next()? {
            cells.clear();
            for (i, (_, col)) in t.columns.iter().enumerate() {
                cells.push(read_cell(row.get_ref(i)?, *col, t.name)?);
            }
            sink.row(&cells)?;
        }
    }
    Ok(())
}

/// Refuses a restore into an area that already holds rows.
fn ensure_empty(conn: &Connection, area: AuditScope) -> Result<(), StoreError> {
    let code = area.code();
    for t in spec::tables_of(area) {
        let sql = spec::count_sql(t, "?1");
        let n: i64 = if spec::binds_code(t) {
            conn.query_row(&sql, [code], |r| r.get(0))?
        } else {
            conn.query_row(&sql, [], |r| r.get(0))?
        };
        if n > 0 {
            return Err(StoreError::Conflict(ConflictKind::AreaNotEmpty {
                area: code.to_string(),
                rows: n,
                table: t.name,
            }));
        }
    }
    Ok(())
}

fn write_area(
    conn: &Connection,
    keyring: &Keyring,
    area: &mut AreaRestore,
) -> Result<(), StoreError> {
    let code = area.area.code();
    let now = timestamp_text(&Utc::now());
    let keys = area.source.keys()?;
    conn.execute(
        "INSERT OR IGNORE INTO backup_keys (area, wrapped_key, created_at) VALUES (?1, ?2, ?3)",
        params![code, keyring.wrap_backup_key(code, &area.key)?, now],
    )?;
    let mut cells = Vec::new();
    for t in spec::tables_of(area.area) {
        spec::expect_table(t, area.source.next_table()?)?;
        let mut stmt = conn.prepare(&spec::insert_sql(t, '?'))?;
        while area.source.next_row(&mut cells)? {
            spec::check_row(t, &cells)?;
            if !t.owned_by_area() && held_terms(conn, code, &cells)? {
                continue;
            }
            if t.name == "terms_agreements" && area.area != AuditScope::National {
                ensure_terms(conn, code, &cells)?;
            }
            stmt.execute(params_from_iter(cells.iter().map(write_cell)))?;
        }
        if t.name == "municipalities" {
            for carried in &keys {
                insert_key(conn, keyring, code, carried, &area.key, &now)?;
            }
        }
    }
    spec::expect_end(area.area, area.source.next_table()?)
}

/// Whether this deployment already holds a terms version the area carries (then it is not added);
/// where it does, the text must be the same.
fn held_terms(conn: &Connection, area: &str, row: &[Cell]) -> Result<bool, StoreError> {
    let terms = spec::CarriedTerms::of(row)?;
    let held: Option<(String, String)> = conn
        .query_row(
            "SELECT title, body FROM terms_versions WHERE kind = ?1 AND version = ?2",
            params![terms.kind, terms.version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match held {
        Some((title, body)) if title == terms.title && body == terms.body => Ok(true),
        Some(_) => Err(terms.differs(area)),
        None => Ok(false),
    }
}

/// Refuses an agreement whose terms version this deployment does not hold, naming it.
fn ensure_terms(conn: &Connection, area: &str, row: &[Cell]) -> Result<(), StoreError> {
    let (Some(Cell::Text(kind)), Some(Cell::Int(version))) = (row.get(1), row.get(2)) else {
        return Err(spec::terms_missing(area, row));
    };
    let held: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM terms_versions WHERE kind = ?1 AND version = ?2",
            params![kind, version],
            |r| r.get(0),
        )
        .optional()?;
    held.map(|_| ())
        .ok_or_else(|| spec::terms_missing(area, row))
}

fn insert_key(
    conn: &Connection,
    keyring: &Keyring,
    code: &str,
    carried: &CarriedKey,
    key: &BackupKey,
    now: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO municipality_keys (municipality_code, key_version, wrapped_key, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            code,
            carried.version,
            keyring.adopt(code, carried, key)?,
            now
        ],
    )?;
    Ok(())
}

fn shred_record(
    conn: &Connection,
    code: MunicipalityCode,
) -> Result<Option<ShredRecord>, StoreError> {
    let found = conn
        .query_row(
            "SELECT consented_by, consent_reference, consented_at, shredded_by, shredded_at, deleted \
             FROM area_shreds WHERE municipality_code = ?1",
            [code.as_str()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    found
        .map(|(by, reference, at, shredded_by, shredded_at, deleted)| {
            Ok(ShredRecord {
                municipality: code,
                consented_by: by,
                consent_reference: reference,
                consented_at: time(&at)?,
                shredded_by,
                shredded_at: shredded_at.as_deref().map(time).transpose()?,
                deleted,
            })
        })
        .transpose()
}

#[async_trait]
impl BackupStore for SqliteStore {
    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError> {
        let code = area.code().to_owned();
        let found = {
            let code = code.clone();
            self.read(move |conn, keyring| vault_key(conn, keyring, &code))
                .await?
        };
        if found.is_some() || !create {
            return Ok(found);
        }
        self.write(move |tx, keyring| {
            if let Some(key) = vault_key(tx, keyring, &code)? {
                return Ok(Some(key));
            }
            let (key, wrapped) = keyring.new_backup_key(&code)?;
            tx.execute(
                "INSERT INTO backup_keys (area, wrapped_key, created_at) VALUES (?1, ?2, ?3)",
                params![code, wrapped, timestamp_text(&Utc::now())],
            )?;
            Ok(Some(key))
        })
        .await
    }

    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.inner.keyring.pseudonym(purpose, data)
    }

    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError> {
        self.inner.keyring.open_backup_key(area.code(), wrapped)
    }

    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.read(|conn, _| {
            let mut stmt =
                conn.prepare("SELECT area, wrapped_key FROM backup_keys ORDER BY area")?;
            let found = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(found)
        })
        .await
    }

    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError> {
        let (code, wrapped) = (area.code().to_owned(), wrapped.to_vec());
        self.write(move |tx, keyring| {
            keyring.open_backup_key(&code, &wrapped)?;
            tx.execute(
                "INSERT OR IGNORE INTO backup_keys (area, wrapped_key, created_at) VALUES (?1, ?2, ?3)",
                params![code, wrapped, timestamp_text(&Utc::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn snapshot(
        &self,
        areas: &[AuditScope],
        mut sink: Box<dyn SnapshotSink>,
    ) -> Result<Vec<BackupKey>, StoreError> {
        let mut keys = Vec::with_capacity(areas.len());
        for area in areas {
            let key = self
                .backup_key(*area, true)
                .await?
                .ok_or(StoreError::NotFound)?;
            keys.push((*area, key));
        }
        self.read(move |conn, keyring| {
            let tx = conn.unchecked_transaction()?;
            for (area, key) in &keys {
                read_area(&tx, keyring, *area, key, sink.as_mut())?;
            }
            tx.finish()?;
            Ok(keys.into_iter().map(|(_, key)| key).collect())
        })
        .await
    }

    async fn restore_areas(&self, mut areas: Vec<AreaRestore>) -> Result<(), StoreError> {
        self.write(move |tx, keyring| {
            for area in &areas {
                ensure_empty(tx, area.area)?;
            }
            for area in &mut areas {
                write_area(tx, keyring, area)?;
            }
            Ok(())
        })
        .await
    }

    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (reference, audit) = (reference.to_owned(), audit.clone());
        self.write(move |tx, _| {
            if let Some(done) = shred_record(tx, scope)? {
                if done.shredded_at.is_some() {
                    return Err(StoreError::Conflict(ConflictKind::AreaDestroyed(scope)));
                }
            }
            tx.execute(
                "INSERT INTO area_shreds (municipality_code, consented_by, consent_reference, consented_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (municipality_code) DO UPDATE SET \
                 consented_by = excluded.consented_by, consent_reference = excluded.consent_reference, \
                 consented_at = excluded.consented_at",
                params![scope.as_str(), audit.actor, reference, timestamp_text(&audit.at)],
            )?;
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError> {
        let audit = audit.clone();
        let record = self
            .write(move |tx, _| {
                let consent = shred_record(tx, scope)?.ok_or(StoreError::NotFound)?;
                if consent.shredded_at.is_some() {
                    return Err(StoreError::Conflict(ConflictKind::AreaDestroyed(scope)));
                }
                let code = scope.as_str();
                tx.execute(
                    "UPDATE area_shreds SET shredded_by = ?2, shredded_at = ?3 WHERE municipality_code = ?1",
                    params![code, audit.actor, timestamp_text(&audit.at)],
                )?;
                let head: Option<(i64, Vec<u8>)> = tx
                    .query_row(
                        "SELECT seq, hash FROM audit_heads WHERE municipality_code = ?1",
                        [code],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let mut counts: Vec<(&str, u64)> = Vec::new();
                let sessions = tx.execute(
                    "DELETE FROM sessions WHERE user_id IN \
                     (SELECT user_id FROM accounts WHERE municipality_code = ?1)",
                    [code],
                )?;
                counts.push(("sessions", sessions as u64));
                // The area's statistics leave the prefecture's and the nation's sums with it.
                super::statistics::withdraw(tx, scope)?;
                for table in spec::AREA_EXTRA_TABLES {
                    let n = tx.execute(&format!("DELETE FROM {table} WHERE municipality_code = ?1"), [code])?;
                    counts.push((table, n as u64));
                }
                let keys = tx.execute("DELETE FROM municipality_keys WHERE municipality_code = ?1", [code])?;
                counts.push(("municipality_keys", keys as u64));
                let vault = tx.execute("DELETE FROM backup_keys WHERE area = ?1", [code])?;
                counts.push(("backup_keys", vault as u64));
                // The area's certificate signing keys stop signing and lose their private part; the
                // public part stays published so certificates already issued still verify.
                let signers = tx.execute(
                    "UPDATE signing_keys SET private_sealed = x'', \
                     retired_at = COALESCE(retired_at, ?2) WHERE issuer = ?1",
                    params![code, timestamp_text(&audit.at)],
                )?;
                counts.push(("signing_keys", signers as u64));
                let kept = tx.execute(&spec::TOMBSTONE_REVOKED.replace("$1", "?1"), [code])?;
                counts.push(("revoked_tombstones", kept as u64));
                for t in spec::AREA_TABLES.iter().rev().filter(|t| t.owned_by_area()) {
                    let n = tx.execute(&format!("DELETE FROM {} WHERE municipality_code = ?1", t.name), [code])?;
                    counts.push((t.name, n as u64));
                }
                let deleted = spec::deleted_summary(&counts);
                tx.execute(
                    "UPDATE area_shreds SET deleted = ?2 WHERE municipality_code = ?1",
                    params![code, deleted],
                )?;
                let detail = spec::shred_detail(&audit.detail, &consent.consent_reference, &deleted, head);
                append_audit_tx(tx, AuditScope::National, &audit.clone().with_detail(detail))?;
                shred_record(tx, scope)?.ok_or(StoreError::NotFound)
            })
            .await?;
        self.inner.keyring.forget(scope);
        Ok(record)
    }

    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError> {
        self.read(move |conn, _| shred_record(conn, scope)).await
    }
}
