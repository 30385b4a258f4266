//! Bulk import on SQLite: a connection of its own holding the write lock (`BEGIN IMMEDIATE`) for the
//! whole import, rows staged in a temporary table, then the shared set-based SQL of [`crate::import`].
//! Other writers wait (up to the busy timeout) while an import runs.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{params, Connection};
use vrs_crypto::FieldCipher;
use vrs_domain::MunicipalityCode;

use super::append_audit_tx;
use crate::audit::timestamp_text;
use crate::import::{ImportSummary, Rejection, ResidentImport, SealedBatch, Sealer};
use crate::{import, AuditEntry, StoreError};

pub(super) const STAGING: &str = "CREATE TEMP TABLE import_staging (
    line INTEGER NOT NULL, atena_number TEXT NOT NULL, my_number_index BLOB NOT NULL, my_number_enc BLOB NOT NULL,
    coupon_number TEXT NOT NULL, name_enc BLOB NOT NULL, name_kana_enc BLOB NOT NULL, birth_date_enc BLOB NOT NULL,
    sex INTEGER NOT NULL, content_mac BLOB NOT NULL, kana_birth_index BLOB NOT NULL, moved_in_from TEXT,
    birth_index BLOB NOT NULL, kanji_birth_index BLOB NOT NULL)";

pub(crate) struct SqliteImport {
    pub(super) conn: Option<Connection>,
    pub(super) scope: MunicipalityCode,
    pub(super) cipher: Arc<FieldCipher>,
}

impl SqliteImport {
    async fn with_conn<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Connection, &FieldCipher, MunicipalityCode) -> Result<T, StoreError>
            + Send
            + 'static,
    ) -> Result<T, StoreError> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Other("the import has ended".into()))?;
        let cipher = self.cipher.clone();
        let scope = self.scope;
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let out = f(&conn, &cipher, scope);
            (conn, out)
        })
        .await?;
        self.conn = Some(conn);
        out
    }
}

fn lines(conn: &Connection, sql: &str, scope: MunicipalityCode) -> Result<Vec<u64>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let found = stmt.query_map([scope.as_str()], |r| r.get::<_, i64>(0))?;
    found.map(|l| Ok(l? as u64)).collect()
}

/// Rows repeating an earlier line's `column`. Indexing the column as unique proves in one sort that
/// no value repeats (the usual case); only when that fails are the repeats looked up.
fn duplicates(conn: &Connection, column: &str) -> Result<Vec<(u64, u64)>, StoreError> {
    let unique =
        format!("CREATE UNIQUE INDEX temp.import_staging_{column} ON import_staging ({column})");
    match conn.execute_batch(&unique) {
        Ok(()) => Ok(Vec::new()),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            conn.execute_batch(&format!(
                "CREATE INDEX temp.import_staging_{column} ON import_staging ({column})"
            ))?;
            pairs(conn, &import::duplicates_sql(column))
        }
        Err(e) => Err(e.into()),
    }
}

fn pairs(conn: &Connection, sql: &str) -> Result<Vec<(u64, u64)>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let found = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    found
        .map(|p| p.map(|(a, b)| (a as u64, b as u64)).map_err(Into::into))
        .collect()
}

#[async_trait]
impl ResidentImport for SqliteImport {
    fn sealer(&self) -> Sealer {
        Sealer {
            cipher: self.cipher.clone(),
        }
    }

    async fn stage(&mut self, batch: SealedBatch) -> Result<(), StoreError> {
        self.with_conn(move |conn, _, _| {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO import_staging (line, atena_number, my_number_index, my_number_enc, coupon_number, \
                 name_enc, name_kana_enc, birth_date_enc, sex, content_mac, kana_birth_index, moved_in_from, \
                 birth_index, kanji_birth_index) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for (line, s) in batch.rows {
                stmt.execute(params![
                    line as i64,
                    s.atena,
                    s.my_number_index,
                    s.my_number_enc,
                    s.coupon,
                    s.name_enc,
                    s.name_kana_enc,
                    s.birth_date_enc,
                    s.sex,
                    s.content_mac,
                    s.kana_birth_index,
                    s.moved_in_from,
                    s.birth_index,
                    s.kanji_birth_index
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn check(&mut self) -> Result<Vec<(u64, Rejection)>, StoreError> {
        self.with_conn(move |conn, _, scope| {
            let started = std::time::Instant::now();
            let found = import::collect(
                [
                    (duplicates(conn, "atena_number")?, import::duplicate_atena),
                    (
                        duplicates(conn, "my_number_index")?,
                        import::duplicate_my_number,
                    ),
                    (duplicates(conn, "coupon_number")?, import::duplicate_coupon),
                ],
                if conn.query_row(import::AREA_HAS_PEOPLE, [scope.as_str()], |r| {
                    r.get::<_, bool>(0)
                })? {
                    [
                        (
                            lines(conn, &import::taken_sql("my_number_index"), scope)?,
                            Rejection::MyNumberTaken,
                        ),
                        (
                            lines(conn, &import::taken_sql("coupon_number"), scope)?,
                            Rejection::CouponTaken,
                        ),
                    ]
                } else {
                    [
                        (Vec::new(), Rejection::MyNumberTaken),
                        (Vec::new(), Rejection::CouponTaken),
                    ]
                },
            );
            tracing::debug!(elapsed = ?started.elapsed(), "import: checked");
            Ok(found)
        })
        .await
    }

    async fn commit(
        mut self: Box<Self>,
        refused: &[u64],
        audit: AuditEntry,
    ) -> Result<ImportSummary, StoreError> {
        let refused = refused.to_vec();
        self.with_conn(move |conn, _, scope| {
            let mut rejected = 0;
            {
                let mut delete = conn.prepare("DELETE FROM import_staging WHERE line = ?1")?;
                for line in &refused {
                    rejected += delete.execute([*line as i64])? as u64;
                }
            }
            let unchanged = conn.execute(import::DROP_UNCHANGED, [scope.as_str()])? as u64;
            let now = timestamp_text(&Utc::now());
            // SQLite numbers `$n` parameters by first appearance, so bind them by name.
            let bound = rusqlite::named_params! {"$1": scope.as_str(), "$2": now};
            let updated = conn.execute(&import::update_sql("$2"), bound)? as u64;
            let added = conn.execute(&import::insert_sql("$2"), bound)? as u64;
            let summary = ImportSummary {
                added,
                updated,
                unchanged,
                rejected,
            };
            append_audit_tx(
                conn,
                scope.into(),
                &audit.with_detail(import::detail(&summary)),
            )?;
            conn.execute_batch("COMMIT")?;
            Ok(summary)
        })
        .await
    }
}

impl Drop for SqliteImport {
    fn drop(&mut self) {
        if let Some(conn) = &self.conn {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}
