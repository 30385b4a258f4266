//! Backups, restores, the key vault and crypto-shredding on PostgreSQL. A snapshot is one
//! REPEATABLE READ, READ ONLY transaction (consistent while other nodes write); a restore or a shred
//! is one transaction.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use vrs_crypto::backup::BackupKey;
use vrs_domain::MunicipalityCode;

use super::{append_audit_tx, map_db, PostgresStore};
use crate::backup::{
    self as spec, AreaRestore, Cell, Col, RestoreSource, ShredRecord, SnapshotSink,
};
use crate::keyring::Keyring;
use crate::BackupStore;
use crate::ConflictKind;
use crate::{AuditEntry, AuditScope, StoreError};

pub(super) fn read_cell(row: &Row, i: usize, col: Col) -> Result<Cell, tokio_postgres::Error> {
    Ok(match col {
        Col::Text => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
        Col::I16 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Cell::Int(v.into())),
        Col::I32 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Cell::Int(v.into())),
        Col::I64 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
        Col::Bool => row.try_get::<_, Option<bool>>(i)?.map(Cell::Bool),
        Col::Bytes => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes),
        Col::Time => row.try_get::<_, Option<DateTime<Utc>>>(i)?.map(Cell::Time),
        Col::Date => row.try_get::<_, Option<NaiveDate>>(i)?.map(Cell::Date),
    }
    .unwrap_or(Cell::Null))
}

type Param = Box<dyn ToSql + Sync + Send>;

pub(super) fn write_cell(cell: &Cell, col: Col, column: &str) -> Result<Param, StoreError> {
    let out_of_range = || StoreError::Corrupt(format!("{column} is out of range"));
    Ok(match (cell, col) {
        (Cell::Null, Col::Text) => Box::new(None::<String>),
        (Cell::Null, Col::I16) => Box::new(None::<i16>),
        (Cell::Null, Col::I32) => Box::new(None::<i32>),
        (Cell::Null, Col::I64) => Box::new(None::<i64>),
        (Cell::Null, Col::Bool) => Box::new(None::<bool>),
        (Cell::Null, Col::Bytes) => Box::new(None::<Vec<u8>>),
        (Cell::Null, Col::Time) => Box::new(None::<DateTime<Utc>>),
        (Cell::Null, Col::Date) => Box::new(None::<NaiveDate>),
        (Cell::Int(v), Col::I16) => Box::new(i16::try_from(*v).map_err(|_| out_of_range())?),
        (Cell::Int(v), Col::I32) => Box::new(i32::try_from(*v).map_err(|_| out_of_range())?),
        (Cell::Int(v), _) => Box::new(*v),
        (Cell::Text(t), _) => Box::new(t.clone()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
        (Cell::Bool(b), _) => Box::new(*b),
        (Cell::Time(t), _) => Box::new(*t),
        (Cell::Date(d), _) => Box::new(*d),
    })
}

async fn vault_key(
    client: &impl GenericClient,
    keyring: &Keyring,
    area: &str,
) -> Result<Option<BackupKey>, StoreError> {
    let row = client
        .query_opt(
            "SELECT wrapped_key FROM backup_keys WHERE area = $1",
            &[&area],
        )
        .await?;
    row.map(|r| keyring.open_backup_key(area, &r.get::<_, Vec<u8>>(0)))
        .transpose()
}

async fn query_area(
    client: &impl GenericClient,
    t: &spec::TableSpec,
    sql: &str,
    code: &str,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    if spec::binds_code(t) {
        client.query(sql, &[&code]).await
    } else {
        client.query(sql, &[]).await
    }
}

/// Hands one area to `sink`: its carried data keys, then each table's count and rows, row by row
/// from the server (no table is held in memory).
async fn read_area(
    tx: &deadpool_postgres::Transaction<'_>,
    keyring: &Keyring,
    area: AuditScope,
    key: &BackupKey,
    sink: &mut dyn SnapshotSink,
) -> Result<(), StoreError> {
    let code = area.code();
    let mut keys = Vec::new();
    if matches!(area, AuditScope::Area(_)) {
        let stored = tx
            .query(
                "SELECT key_version, wrapped_key FROM municipality_keys WHERE municipality_code = $1 \
                 ORDER BY key_version",
                &[&code],
            )
            .await?;
        for r in stored {
            let version = u32::try_from(r.get::<_, i32>(0))
                .map_err(|_| StoreError::Corrupt(format!("key version of {code}")))?;
            keys.push(keyring.carry(code, version, &r.get::<_, Vec<u8>>(1), key)?);
        }
    }
    sink.area(area, keys)?;
    let mut cells = Vec::new();
    for t in spec::tables_of(area) {
        let params: Vec<&(dyn ToSql + Sync)> = if spec::binds_code(t) {
            vec![&code]
        } else {
            Vec::new()
        };
        let n: i64 = tx
            .query_one(&spec::count_sql(t, "$1"), &params)
            .await?
            .get(0);
        sink.table(t, u64::try_from(n).unwrap_or(0))?;
        let stream = tx.query_raw(&spec::select_sql(t, "$1"), params).await?;
        tokio::pin!(stream);
        while let Some(row) = stream.try_next().await? {
            cells.clear();
            for (i, (_, col)) in t.columns.iter().enumerate() {
                cells.push(read_cell(&row, i, *col)?);
            }
            sink.row(&cells)?;
        }
    }
    Ok(())
}

async fn ensure_empty(client: &impl GenericClient, area: AuditScope) -> Result<(), StoreError> {
    let code = area.code();
    for t in spec::tables_of(area) {
        let rows = query_area(client, t, &spec::count_sql(t, "$1"), code).await?;
        let n: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
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

async fn write_area(
    tx: &deadpool_postgres::Transaction<'_>,
    keyring: &Keyring,
    area: &mut AreaRestore,
) -> Result<(), StoreError> {
    let code = area.area.code();
    let now = Utc::now();
    let keys = area.source.keys()?;
    tx.execute(
        "INSERT INTO backup_keys (area, wrapped_key, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (area) DO NOTHING",
        &[&code, &keyring.wrap_backup_key(code, &area.key)?, &now],
    )
    .await?;
    for t in spec::tables_of(area.area) {
        spec::expect_table(t, area.source.next_table()?)?;
        let terms = !t.owned_by_area()
            || (t.name == "terms_agreements" && area.area != AuditScope::National);
        if terms {
            write_terms(tx, t, code, area.source.as_mut()).await?;
        } else {
            copy_rows(tx, t, area.source.as_mut()).await?;
        }
        if t.name == "municipalities" {
            for carried in &keys {
                let version = i32::try_from(carried.version).map_err(|_| {
                    StoreError::Corrupt("a data key version is out of range".into())
                })?;
                tx.execute(
                    "INSERT INTO municipality_keys (municipality_code, key_version, wrapped_key, created_at) \
                     VALUES ($1, $2, $3, $4)",
                    &[&code, &version, &keyring.adopt(code, carried, &area.key)?, &now],
                )
                .await?;
            }
        }
        if t.name == "account_applications" {
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('account_applications', 'id'), \
                 COALESCE((SELECT max(id) FROM account_applications), 1))",
                &[],
            )
            .await?;
        }
    }
    spec::expect_end(area.area, area.source.next_table()?)
}

/// Writes the terms versions an area carries (added unless held here, where the text must be the
/// same) or the area's agreements (each must refer to a version held here), row by row: a few rows.
async fn write_terms(
    tx: &deadpool_postgres::Transaction<'_>,
    t: &spec::TableSpec,
    area: &str,
    source: &mut dyn RestoreSource,
) -> Result<(), StoreError> {
    let insert = tx.prepare(&spec::insert_sql(t, '$')).await?;
    let held = tx
        .prepare("SELECT title, body FROM terms_versions WHERE kind = $1 AND version = $2")
        .await?;
    let mut cells = Vec::new();
    while source.next_row(&mut cells)? {
        spec::check_row(t, &cells)?;
        if t.owned_by_area() {
            let (Some(Cell::Text(kind)), Some(Cell::Int(version))) = (cells.get(1), cells.get(2))
            else {
                return Err(spec::terms_missing(area, &cells));
            };
            let version = i32::try_from(*version).unwrap_or(-1);
            if tx.query_opt(&held, &[kind, &version]).await?.is_none() {
                return Err(spec::terms_missing(area, &cells));
            }
        } else {
            let terms = spec::CarriedTerms::of(&cells)?;
            let version = i32::try_from(terms.version).unwrap_or(-1);
            if let Some(row) = tx.query_opt(&held, &[&terms.kind, &version]).await? {
                let (title, body): (String, String) = (row.get(0), row.get(1));
                if title != terms.title || body != terms.body {
                    return Err(terms.differs(area));
                }
                continue;
            }
        }
        let params = cells
            .iter()
            .zip(t.columns)
            .map(|(cell, (name, col))| write_cell(cell, *col, name))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        tx.execute(&insert, &refs).await?;
    }
    Ok(())
}

/// Writes a table's rows with one binary COPY; the column types are the table's own, as PostgreSQL
/// describes them for the equivalent INSERT.
async fn copy_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    t: &spec::TableSpec,
    source: &mut dyn RestoreSource,
) -> Result<(), StoreError> {
    let types = tx
        .prepare(&spec::insert_sql(t, '$'))
        .await?
        .params()
        .to_vec();
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            t.name,
            t.column_list()
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    tokio::pin!(writer);
    let mut cells = Vec::new();
    while source.next_row(&mut cells)? {
        spec::check_row(t, &cells)?;
        let params = cells
            .iter()
            .zip(t.columns)
            .map(|(cell, (name, col))| write_cell(cell, *col, name))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        writer.as_mut().write(&refs).await.map_err(map_db)?;
    }
    writer.finish().await.map_err(map_db)?;
    Ok(())
}

async fn shred_record(
    client: &impl GenericClient,
    code: MunicipalityCode,
) -> Result<Option<ShredRecord>, StoreError> {
    let row = client
        .query_opt(
            "SELECT consented_by, consent_reference, consented_at, shredded_by, shredded_at, deleted \
             FROM area_shreds WHERE municipality_code = $1",
            &[&code.as_str()],
        )
        .await?;
    Ok(row.map(|r| ShredRecord {
        municipality: code,
        consented_by: r.get(0),
        consent_reference: r.get(1),
        consented_at: r.get(2),
        shredded_by: r.get(3),
        shredded_at: r.get(4),
        deleted: r.get(5),
    }))
}

#[async_trait]
impl BackupStore for PostgresStore {
    async fn backup_key(
        &self,
        area: AuditScope,
        create: bool,
    ) -> Result<Option<BackupKey>, StoreError> {
        let code = area.code();
        let client = self.pool.get().await?;
        if let Some(key) = vault_key(&client, &self.keyring, code).await? {
            return Ok(Some(key));
        }
        if !create {
            return Ok(None);
        }
        let (_, wrapped) = self.keyring.new_backup_key(code)?;
        client
            .execute(
                "INSERT INTO backup_keys (area, wrapped_key, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (area) DO NOTHING",
                &[&code, &wrapped, &Utc::now()],
            )
            .await?;
        // Another node may have stored its key first: the vault's entry is the one.
        vault_key(&client, &self.keyring, code).await
    }

    fn pseudonym(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.keyring.pseudonym(purpose, data)
    }

    fn open_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<BackupKey, StoreError> {
        self.keyring.open_backup_key(area.code(), wrapped)
    }

    async fn vault_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT area, wrapped_key FROM backup_keys ORDER BY area",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn put_vault_entry(&self, area: AuditScope, wrapped: &[u8]) -> Result<(), StoreError> {
        let code = area.code();
        self.keyring.open_backup_key(code, wrapped)?;
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO backup_keys (area, wrapped_key, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (area) DO NOTHING",
                &[&code, &wrapped, &Utc::now()],
            )
            .await?;
        Ok(())
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
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        for (area, key) in &keys {
            read_area(&tx, &self.keyring, *area, key, sink.as_mut()).await?;
        }
        tx.commit().await?;
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }

    async fn restore_areas(&self, mut areas: Vec<AreaRestore>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let scopes: Vec<AuditScope> = areas.iter().map(|a| a.area).collect();
        for area in scopes {
            ensure_empty(&tx, area).await?;
        }
        for area in &mut areas {
            write_area(&tx, &self.keyring, area).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn consent_to_shred(
        &self,
        scope: MunicipalityCode,
        reference: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if let Some(done) = shred_record(&tx, scope).await? {
            if done.shredded_at.is_some() {
                return Err(StoreError::Conflict(ConflictKind::AreaDestroyed(scope)));
            }
        }
        tx.execute(
            "INSERT INTO area_shreds (municipality_code, consented_by, consent_reference, consented_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality_code) DO UPDATE SET \
             consented_by = excluded.consented_by, consent_reference = excluded.consent_reference, \
             consented_at = excluded.consented_at",
            &[&scope.as_str(), &audit.actor, &reference, &audit.at],
        )
        .await?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn shred_area(
        &self,
        scope: MunicipalityCode,
        audit: &AuditEntry,
    ) -> Result<ShredRecord, StoreError> {
        let code = scope.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if self.citus {
            // The shred deletes sessions (distributed) and then writes accounts (a reference table
            // they name): Citus allows that in one transaction only over one connection per node.
            tx.batch_execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
                .await?;
        }
        tx.execute(
            "SELECT 1 FROM area_shreds WHERE municipality_code = $1 FOR UPDATE",
            &[&code],
        )
        .await?;
        let consent = shred_record(&tx, scope)
            .await?
            .ok_or(StoreError::NotFound)?;
        if consent.shredded_at.is_some() {
            return Err(StoreError::Conflict(ConflictKind::AreaDestroyed(scope)));
        }
        tx.execute(
            "UPDATE area_shreds SET shredded_by = $2, shredded_at = $3 WHERE municipality_code = $1",
            &[&code, &audit.actor, &audit.at],
        )
        .await?;
        // Lock the area's chain head so no append slips in while the area goes.
        let head = tx
            .query_opt(
                "SELECT seq, hash FROM audit_heads WHERE municipality_code = $1 FOR UPDATE",
                &[&code],
            )
            .await?
            .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)))
            .filter(|(seq, _)| *seq > 0);
        let mut counts: Vec<(&str, u64)> = Vec::new();
        let sessions = tx
            .execute(
                "DELETE FROM sessions WHERE user_id IN \
                 (SELECT user_id FROM accounts WHERE municipality_code = $1)",
                &[&code],
            )
            .await?;
        counts.push(("sessions", sessions));
        // The area's statistics leave the prefecture's and the nation's sums with it.
        super::statistics::withdraw(&tx, scope).await?;
        for table in spec::AREA_EXTRA_TABLES {
            let sql = format!("DELETE FROM {table} WHERE municipality_code = $1");
            counts.push((table, tx.execute(&sql, &[&code]).await?));
        }
        let keys = tx
            .execute(
                "DELETE FROM municipality_keys WHERE municipality_code = $1",
                &[&code],
            )
            .await?;
        counts.push(("municipality_keys", keys));
        let vault = tx
            .execute("DELETE FROM backup_keys WHERE area = $1", &[&code])
            .await?;
        counts.push(("backup_keys", vault));
        // The area's certificate signing keys stop signing and lose their private part; the public
        // part stays published so certificates already issued still verify.
        let signers = tx
            .execute(
                "UPDATE signing_keys SET private_sealed = '\\x'::bytea, \
                 retired_at = COALESCE(retired_at, $2) WHERE issuer = $1",
                &[&code, &audit.at],
            )
            .await?;
        counts.push(("signing_keys", signers));
        let kept = tx.execute(spec::TOMBSTONE_REVOKED, &[&code]).await?;
        counts.push(("revoked_tombstones", kept));
        for t in spec::AREA_TABLES.iter().rev().filter(|t| t.owned_by_area()) {
            let sql = format!("DELETE FROM {} WHERE municipality_code = $1", t.name);
            counts.push((t.name, tx.execute(&sql, &[&code]).await?));
        }
        let deleted = spec::deleted_summary(&counts);
        tx.execute(
            "UPDATE area_shreds SET deleted = $2 WHERE municipality_code = $1",
            &[&code, &deleted],
        )
        .await?;
        let detail = spec::shred_detail(&audit.detail, &consent.consent_reference, &deleted, head);
        append_audit_tx(
            &tx,
            AuditScope::National,
            &audit.clone().with_detail(detail),
        )
        .await?;
        let record = shred_record(&tx, scope)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        self.keyring.forget(scope);
        Ok(record)
    }

    async fn shred_record(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Option<ShredRecord>, StoreError> {
        let client = self.pool.get().await?;
        shred_record(&client, scope).await
    }
}
