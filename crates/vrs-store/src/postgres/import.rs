//! Bulk import on PostgreSQL: one pooled connection in a transaction for the whole import, rows
//! sealed on the blocking pool and sent with binary `COPY` into a temporary table, then the shared
//! set-based SQL of [`crate::import`]. On Citus the rows go to the distributed staging table
//! instead, under a batch number of their own ([`super::citus_import`]).

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::Object;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use vrs_crypto::FieldCipher;
use vrs_domain::MunicipalityCode;

use super::citus_import::{self, staged_columns};
use super::{append_audit_tx, PostgresStore};
use crate::import::{self, ImportSummary, Rejection, ResidentImport, SealedBatch, Sealer};
use crate::sealed::SealedResident;
use crate::{AuditEntry, StoreError};

const STAGING: &str = "CREATE TEMP TABLE import_staging (
    line BIGINT NOT NULL, atena_number TEXT NOT NULL, my_number_index BYTEA NOT NULL, my_number_enc BYTEA NOT NULL,
    coupon_number CHAR(10) NOT NULL, name_enc BYTEA NOT NULL, name_kana_enc BYTEA NOT NULL, birth_date_enc BYTEA NOT NULL,
    sex SMALLINT NOT NULL, content_mac BYTEA NOT NULL, kana_birth_index BYTEA NOT NULL, moved_in_from CHAR(6), \
    birth_index BYTEA NOT NULL, kanji_birth_index BYTEA NOT NULL) \
    ON COMMIT DROP";

const COPY: &str = concat!(
    "COPY import_staging (",
    staged_columns!(),
    ") FROM STDIN BINARY"
);

pub(crate) struct PostgresImport {
    client: Option<Object>,
    scope: MunicipalityCode,
    cipher: Arc<FieldCipher>,
    /// On Citus, the batch number of the rows in the distributed staging table.
    batch: Option<i64>,
}

impl PostgresStore {
    pub(crate) async fn begin_import_postgres(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError> {
        let client = self.pool.get().await?;
        let cipher = self
            .cipher(&client, scope, true)
            .await?
            .ok_or_else(|| StoreError::Other("no data key".into()))?;
        // The import's sorts and index builds run in memory (bounded), not in temporary files.
        client
            .batch_execute(
                "BEGIN; SET LOCAL work_mem = '128MB'; SET LOCAL maintenance_work_mem = '256MB';",
            )
            .await?;
        let batch = if self.citus {
            Some(client.query_one(citus_import::BATCH, &[]).await?.get(0))
        } else {
            client.batch_execute(STAGING).await?;
            None
        };
        Ok(Box::new(PostgresImport {
            client: Some(client),
            scope,
            cipher,
            batch,
        }))
    }
}

impl PostgresImport {
    fn client(&mut self) -> Result<&mut Object, StoreError> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Other("the import has ended".into()))
    }
}

async fn lines(
    client: &Object,
    sql: &str,
    scope: MunicipalityCode,
    batch: Option<i64>,
) -> Result<Vec<u64>, StoreError> {
    let rows = match batch {
        None => client.query(sql, &[&scope.as_str()]).await?,
        Some(b) => client.query(sql, &[&scope.as_str(), &b]).await?,
    };
    Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
}

/// Rows repeating an earlier line's `column`. On the staging table (not Citus's distributed one)
/// a unique index on the column proves in one sort that no value repeats, the usual case; only when
/// that fails (the index undone to its savepoint) are the repeats looked up, after the staging
/// table is analysed for the query's plan unless `analysed` says it already was.
async fn duplicates(
    client: &Object,
    column: &str,
    scope: MunicipalityCode,
    batch: Option<i64>,
    analysed: &mut bool,
) -> Result<Vec<(u64, u64)>, StoreError> {
    if batch.is_none() {
        let unique = format!(
            "SAVEPOINT import_unique; CREATE UNIQUE INDEX ON import_staging ({column}); \
             RELEASE SAVEPOINT import_unique;"
        );
        match client.batch_execute(&unique).await {
            Ok(()) => return Ok(Vec::new()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                client
                    .batch_execute("ROLLBACK TO SAVEPOINT import_unique;")
                    .await?;
                if !*analysed {
                    client.batch_execute("ANALYZE import_staging;").await?;
                    *analysed = true;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let sql = match batch {
        None => import::duplicates_sql(column),
        Some(_) => citus_import::duplicates_sql(column),
    };
    pairs(client, &sql, scope, batch).await
}

async fn pairs(
    client: &Object,
    sql: &str,
    scope: MunicipalityCode,
    batch: Option<i64>,
) -> Result<Vec<(u64, u64)>, StoreError> {
    let rows = match batch {
        None => client.query(sql, &[]).await?,
        Some(b) => client.query(sql, &[&scope.as_str(), &b]).await?,
    };
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
        .collect())
}

#[async_trait]
impl ResidentImport for PostgresImport {
    fn sealer(&self) -> Sealer {
        Sealer {
            cipher: self.cipher.clone(),
        }
    }

    async fn stage(&mut self, batch: SealedBatch) -> Result<(), StoreError> {
        let sealed: Vec<(i64, _)> = batch.rows.into_iter().map(|(l, s)| (l as i64, s)).collect();
        if let Some(batch) = self.batch {
            let scope = self.scope;
            let area = Some((scope.as_str(), batch));
            return copy_staged(self.client()?, citus_import::COPY, area, &sealed).await;
        }
        copy_staged(self.client()?, COPY, None, &sealed).await
    }

    async fn check(&mut self) -> Result<Vec<(u64, Rejection)>, StoreError> {
        let scope = self.scope;
        let batch = self.batch;
        let client = self.client()?;
        let started = std::time::Instant::now();
        let has_people: bool = client
            .query_one(import::AREA_HAS_PEOPLE, &[&scope.as_str()])
            .await?
            .get(0);
        // The planner needs the staging table's size for the joins with the area's people (and for
        // looking up repeats, should there be any).
        let mut analysed = false;
        if batch.is_none() && has_people {
            client.batch_execute("ANALYZE import_staging;").await?;
            analysed = true;
            tracing::debug!(elapsed = ?started.elapsed(), "import: staging analysed");
        }
        let taken_sql = |column| match batch {
            None => import::taken_sql(column),
            Some(_) => citus_import::taken_sql(column),
        };
        let taken = if has_people {
            [
                (
                    lines(client, &taken_sql("my_number_index"), scope, batch).await?,
                    Rejection::MyNumberTaken,
                ),
                (
                    lines(client, &taken_sql("coupon_number"), scope, batch).await?,
                    Rejection::CouponTaken,
                ),
            ]
        } else {
            [
                (Vec::new(), Rejection::MyNumberTaken),
                (Vec::new(), Rejection::CouponTaken),
            ]
        };
        let found = import::collect(
            [
                (
                    duplicates(client, "atena_number", scope, batch, &mut analysed).await?,
                    import::duplicate_atena,
                ),
                (
                    duplicates(client, "my_number_index", scope, batch, &mut analysed).await?,
                    import::duplicate_my_number,
                ),
                (
                    duplicates(client, "coupon_number", scope, batch, &mut analysed).await?,
                    import::duplicate_coupon,
                ),
            ],
            taken,
        );
        tracing::debug!(elapsed = ?started.elapsed(), "import: checked");
        Ok(found)
    }

    async fn commit(
        mut self: Box<Self>,
        refused: &[u64],
        audit: AuditEntry,
    ) -> Result<ImportSummary, StoreError> {
        let scope = self.scope;
        let client = self
            .client
            .take()
            .ok_or_else(|| StoreError::Other("the import has ended".into()))?;
        let result = match self.batch {
            None => commit(&client, scope, refused, audit).await,
            Some(batch) => commit_citus(&client, scope, batch, refused, audit).await,
        };
        if result.is_err() {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        result
    }
}

async fn commit(
    client: &Object,
    scope: MunicipalityCode,
    refused: &[u64],
    audit: AuditEntry,
) -> Result<ImportSummary, StoreError> {
    let refused: Vec<i64> = refused.iter().map(|l| *l as i64).collect();
    let rejected = client
        .execute(
            "DELETE FROM import_staging WHERE line = ANY($1)",
            &[&refused],
        )
        .await?;
    let code = scope.as_str();
    let started = std::time::Instant::now();
    let unchanged = client.execute(import::DROP_UNCHANGED, &[&code]).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "import: unchanged rows dropped");
    let updated = client
        .execute(&import::update_sql("now()"), &[&code])
        .await?;
    let added = client
        .execute(&import::insert_sql("now()"), &[&code])
        .await?;
    tracing::debug!(elapsed = ?started.elapsed(), "import: merged");
    let summary = ImportSummary {
        added,
        updated,
        unchanged,
        rejected,
    };
    append_audit_tx(
        client,
        scope.into(),
        &audit.with_detail(import::detail(&summary)),
    )
    .await?;
    client.batch_execute("COMMIT").await?;
    Ok(summary)
}

/// Copies sealed rows into the staging table with `copy`: the import's own temporary table, or
/// (with `area`, the area's code and the import's batch) Citus's distributed staging table.
async fn copy_staged(
    client: &Object,
    copy: &str,
    area: Option<(&str, i64)>,
    sealed: &[(i64, SealedResident)],
) -> Result<(), StoreError> {
    // The distributed table has the area and the batch before the staged columns.
    let skip = if area.is_some() { 0 } else { 2 };
    let (code, batch) = area.unwrap_or(("", 0));
    let sink = client.copy_in(copy).await?;
    let writer = BinaryCopyInWriter::new(sink, &citus_import::COPY_TYPES[skip..]);
    tokio::pin!(writer);
    for (line, s) in sealed {
        let sex = i16::from(s.sex);
        let row: [&(dyn ToSql + Sync); 16] = [
            &code,
            &batch,
            line,
            &s.atena,
            &s.my_number_index,
            &s.my_number_enc,
            &s.coupon,
            &s.name_enc,
            &s.name_kana_enc,
            &s.birth_date_enc,
            &sex,
            &s.content_mac,
            &s.kana_birth_index,
            &s.moved_in_from,
            &s.birth_index,
            &s.kanji_birth_index,
        ];
        writer.as_mut().write(&row[skip..]).await?;
    }
    writer.finish().await?;
    Ok(())
}

async fn commit_citus(
    client: &Object,
    scope: MunicipalityCode,
    batch: i64,
    refused: &[u64],
    audit: AuditEntry,
) -> Result<ImportSummary, StoreError> {
    let refused: Vec<i64> = refused.iter().map(|l| *l as i64).collect();
    let code = scope.as_str();
    let rejected = client
        .execute(citus_import::DROP_REFUSED, &[&code, &batch, &refused])
        .await?;
    let unchanged = client
        .execute(citus_import::DROP_UNCHANGED, &[&code, &batch])
        .await?;
    let updated = client
        .execute(citus_import::UPDATE, &[&code, &batch])
        .await?;
    let added = client
        .execute(citus_import::INSERT, &[&code, &batch])
        .await?;
    client
        .execute(citus_import::CLEAR, &[&code, &batch])
        .await?;
    let summary = ImportSummary {
        added,
        updated,
        unchanged,
        rejected,
    };
    append_audit_tx(
        client,
        scope.into(),
        &audit.with_detail(import::detail(&summary)),
    )
    .await?;
    client.batch_execute("COMMIT").await?;
    Ok(summary)
}

impl Drop for PostgresImport {
    fn drop(&mut self) {
        // An import dropped before `finish` (an error, a cancelled request) must not hand its open
        // transaction back to the pool.
        if let Some(client) = self.client.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = client.batch_execute("ROLLBACK").await;
                });
            } else {
                let _ = Object::take(client);
            }
        }
    }
}
