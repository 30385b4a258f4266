//! Bulk inquiry jobs on SQLite: kept with their audit entry through the writer.

use rusqlite::{named_params, OptionalExtension, Row};
use vrs_domain::MunicipalityCode;

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::provision::InquiryJob;
use crate::{AuditEntry, StoreError};

const COLUMNS: &str =
    "batch, created_by, created_at, row_count, found, not_found, refused, invalid";

/// A job from a row of [`COLUMNS`] (and the results file as column 8 when selected).
fn job(
    scope: MunicipalityCode,
    r: &Row<'_>,
    with_csv: bool,
) -> rusqlite::Result<(InquiryJob, String)> {
    Ok((
        InquiryJob {
            municipality: scope,
            batch: r.get(0)?,
            created_by: r.get(1)?,
            created_at: chrono::Utc::now(),
            rows: r.get(3)?,
            found: r.get(4)?,
            not_found: r.get(5)?,
            refused: r.get(6)?,
            invalid: r.get(7)?,
            results_csv: if with_csv { r.get(8)? } else { String::new() },
        },
        r.get(2)?,
    ))
}

fn timed((mut job, at): (InquiryJob, String)) -> Result<InquiryJob, StoreError> {
    job.created_at = time(&at)?;
    Ok(job)
}

impl SqliteStore {
    pub(crate) async fn save_inquiry_job_sqlite(
        &self,
        job: &InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (job, audit) = (job.clone(), audit.clone());
        self.write(move |tx, _| {
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO inquiry_jobs (municipality_code, {COLUMNS}, results_csv) \
                     VALUES (:m, :batch, :by, :at, :rows, :found, :not_found, :refused, :invalid, :csv) \
                     ON CONFLICT DO NOTHING"
                ))?
                .execute(named_params! {
                    ":m": job.municipality.as_str(),
                    ":batch": job.batch,
                    ":by": job.created_by,
                    ":at": timestamp_text(&job.created_at),
                    ":rows": job.rows,
                    ":found": job.found,
                    ":not_found": job.not_found,
                    ":refused": job.refused,
                    ":invalid": job.invalid,
                    ":csv": job.results_csv,
                })?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!(
                    "bulk inquiry {} is already kept",
                    job.batch
                )));
            }
            append_audit_tx(tx, job.municipality.into(), &audit)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn inquiry_jobs_sqlite(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<InquiryJob>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM inquiry_jobs WHERE municipality_code = ?1 \
                 ORDER BY created_at DESC, batch LIMIT ?2"
            ))?;
            let found = stmt.query_map(rusqlite::params![scope.as_str(), limit], |r| {
                job(scope, r, false)
            })?;
            found.map(|r| timed(r?)).collect()
        })
        .await
    }

    pub(crate) async fn inquiry_job_sqlite(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<InquiryJob, StoreError> {
        let batch = batch.to_owned();
        self.read_point(move |conn, _| {
            let found = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS}, results_csv FROM inquiry_jobs \
                     WHERE municipality_code = ?1 AND batch = ?2"
                ))?
                .query_row(rusqlite::params![scope.as_str(), batch], |r| {
                    job(scope, r, true)
                })
                .optional()?;
            timed(found.ok_or(StoreError::NotFound)?)
        })
        .await
    }
}
