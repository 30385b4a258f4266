//! Bulk inquiry jobs on PostgreSQL: kept with their audit entry in one transaction.

use tokio_postgres::Row;
use vrs_domain::MunicipalityCode;

use super::{chained, insert_audit, lock_head, save_head, PostgresStore};
use crate::provision::InquiryJob;
use crate::{AuditEntry, AuditScope, StoreError};

const COLUMNS: &str =
    "batch, created_by, created_at, row_count, found, not_found, refused, invalid";

fn count(r: &Row, i: usize) -> u32 {
    u32::try_from(r.get::<_, i32>(i)).unwrap_or(0)
}

fn job(scope: MunicipalityCode, r: &Row, with_csv: bool) -> InquiryJob {
    InquiryJob {
        municipality: scope,
        batch: r.get(0),
        created_by: r.get(1),
        created_at: r.get(2),
        rows: count(r, 3),
        found: count(r, 4),
        not_found: count(r, 5),
        refused: count(r, 6),
        invalid: count(r, 7),
        results_csv: if with_csv { r.get(8) } else { String::new() },
    }
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl PostgresStore {
    pub(crate) async fn save_inquiry_job_pg(
        &self,
        job: &InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let scope = AuditScope::from(job.municipality);
        let head = lock_head(&tx, scope).await?;
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO inquiry_jobs (municipality_code, {COLUMNS}, results_csv) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
                ),
                &[
                    &job.municipality.as_str(),
                    &job.batch,
                    &job.created_by,
                    &job.created_at,
                    &int(job.rows),
                    &int(job.found),
                    &int(job.not_found),
                    &int(job.refused),
                    &int(job.invalid),
                    &job.results_csv,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "bulk inquiry {} is already kept",
                job.batch
            )));
        }
        let written = chained(scope, head, audit);
        insert_audit(&tx, &written).await?;
        save_head(&tx, &written).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn inquiry_jobs_pg(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<InquiryJob>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM inquiry_jobs WHERE municipality_code = $1 \
                     ORDER BY created_at DESC, batch COLLATE \"C\" LIMIT $2"
                ),
                &[&scope.as_str(), &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| job(scope, r, false)).collect())
    }

    pub(crate) async fn inquiry_job_pg(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<InquiryJob, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS}, results_csv FROM inquiry_jobs \
                     WHERE municipality_code = $1 AND batch = $2"
                ),
                &[&scope.as_str(), &batch],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(job(scope, &row, true))
    }
}
