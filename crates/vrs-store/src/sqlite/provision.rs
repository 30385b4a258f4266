//! Provision records (both sides of inquiries between municipalities) on SQLite. Both sides of
//! one inquiry and their audit entries go through the writer in one transaction.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use rusqlite::{named_params, params, Connection, OptionalExtension, Row};
use vrs_domain::MunicipalityCode;

use super::accounts::time;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::provision::{
    check_inquiry, InquiryJob, ProvisionFilter, ProvisionRecord, ProvisionSide,
};
use crate::rows::{ProvidedDoseRow, ProvisionRow, PROVIDED_DOSE_COLUMNS, PROVISION_COLUMNS};
use crate::ConflictKind;
use crate::{rows, AuditEntry, InquiryStore, StoreError};

/// Inserts one side's record and its doses; a record already kept for the side and inquiry ID is a
/// conflict.
fn insert_record(tx: &Connection, r: &ProvisionRecord) -> Result<(), StoreError> {
    let inserted = tx
        .prepare_cached(&format!(
            "INSERT INTO provision_records (municipality_code, {PROVISION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING"
        ))?
        .execute(params![
            r.municipality.as_str(),
            r.side.as_str(),
            r.inquiry_id,
            r.counterpart.as_str(),
            timestamp_text(&r.at),
            r.actor,
            r.terminal,
            r.consent.as_str(),
            r.atena.as_ref().map(|a| a.as_str()),
            r.found
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(ConflictKind::InquiryRecorded {
            inquiry: r.inquiry_id.to_string(),
            side: r.side.as_str(),
            municipality: r.municipality,
        }));
    }
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO provision_doses (municipality_code, side, inquiry_id, {PROVIDED_DOSE_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for d in &r.doses {
        stmt.execute(params![
            r.municipality.as_str(),
            r.side.as_str(),
            r.inquiry_id,
            d.dose_number.get(),
            d.administered_on.to_string(),
            d.product_code,
            d.lot_number,
            d.coupon.as_str(),
            d.site_municipality.as_str()
        ])
        .map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("UNIQUE") => {
                StoreError::Conflict(ConflictKind::DoseTwiceInInquiry {
                    dose: d.dose_number,
                    inquiry: r.inquiry_id.to_string(),
                })
            }
            _ => e.into(),
        })?;
    }
    Ok(())
}

/// The scope's records matching the filter, and the one inquiry ID when given, newest first, each
/// with its doses (one statement, so the records and their doses come from one snapshot).
fn select_records(
    conn: &Connection,
    scope: MunicipalityCode,
    f: &ProvisionFilter,
    inquiry_id: Option<&str>,
) -> Result<Vec<ProvisionRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "WITH r AS (SELECT municipality_code, {PROVISION_COLUMNS} FROM provision_records \
         WHERE municipality_code = :scope AND (:side IS NULL OR side = :side) \
         AND (:from IS NULL OR at >= :from) AND (:to IS NULL OR at < :to) \
         AND (:prefix IS NULL OR substr(inquiry_id, 1, length(:prefix)) = :prefix) \
         AND (:id IS NULL OR inquiry_id = :id) \
         ORDER BY at DESC, inquiry_id, side LIMIT :limit) \
         SELECT r.side, r.inquiry_id, r.counterpart_code, r.at, r.actor, r.terminal, r.consent, \
         r.atena_number, r.found, d.dose_number, d.administered_on, d.product_code, d.lot_number, \
         d.coupon_number, d.site_municipality_code \
         FROM r LEFT JOIN provision_doses d ON d.municipality_code = r.municipality_code \
         AND d.side = r.side AND d.inquiry_id = r.inquiry_id \
         ORDER BY r.at DESC, r.inquiry_id, r.side, d.dose_number"
    ))?;
    let found = stmt.query_map(
        named_params! {
            ":scope": scope.as_str(),
            ":side": f.side.map(ProvisionSide::as_str),
            ":from": f.from.as_ref().map(timestamp_text),
            ":to": f.to.as_ref().map(timestamp_text),
            ":prefix": f.inquiry_prefix,
            ":id": inquiry_id,
            ":limit": f.effective_limit(),
        },
        |r| {
            let record = (
                ProvisionRow {
                    side: r.get(0)?,
                    inquiry_id: r.get(1)?,
                    counterpart: r.get(2)?,
                    at: Utc::now(),
                    actor: r.get(4)?,
                    terminal: r.get(5)?,
                    consent: r.get(6)?,
                    atena: r.get(7)?,
                    found: r.get(8)?,
                },
                r.get::<_, String>(3)?,
            );
            let dose = match r.get::<_, Option<i64>>(9)? {
                None => None,
                Some(n) => Some((
                    ProvidedDoseRow {
                        dose_number: n,
                        administered_on: NaiveDate::default(),
                        product_code: r.get(11)?,
                        lot_number: r.get(12)?,
                        coupon: r.get(13)?,
                        site_municipality: r.get(14)?,
                    },
                    r.get::<_, String>(10)?,
                )),
            };
            Ok((record, dose))
        },
    )?;
    // Timestamps and dates are text in SQLite; they are parsed after the row is read.
    let mut joined = Vec::new();
    for row in found {
        let ((mut record, at), dose) = row?;
        record.at = time(&at)?;
        let dose = dose
            .map(|(mut d, day)| {
                d.administered_on = rows::date(&day)?;
                Ok::<_, StoreError>(d)
            })
            .transpose()?;
        joined.push((record, dose));
    }
    rows::provision_records(scope, joined)
}

/// Bulk inquiry jobs: kept with their audit entry in one transaction.
const JOB_COLUMNS: &str =
    "batch, created_by, created_at, row_count, found, not_found, refused, invalid";

/// A job from a row of [`JOB_COLUMNS`] (and the results file as column 8 when selected).
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

#[async_trait]
impl InquiryStore for SqliteStore {
    async fn save_inquiry_job(
        &self,
        job: &InquiryJob,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (job, audit) = (job.clone(), audit.clone());
        self.write(move |tx, _| {
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO inquiry_jobs (municipality_code, {JOB_COLUMNS}, results_csv) \
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
                return Err(StoreError::Conflict(ConflictKind::BulkInquiryKept(job.batch.clone())));
            }
            append_audit_tx(tx, job.municipality.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn inquiry_jobs(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<InquiryJob>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM inquiry_jobs WHERE municipality_code = ?1 \
                 ORDER BY created_at DESC, batch LIMIT ?2"
            ))?;
            let found = stmt.query_map(rusqlite::params![scope.as_str(), limit], |r| {
                job(scope, r, false)
            })?;
            found.map(|r| timed(r?)).collect()
        })
        .await
    }

    async fn inquiry_job(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<InquiryJob, StoreError> {
        let batch = batch.to_owned();
        self.read_point(move |conn, _| {
            let found = conn
                .prepare_cached(&format!(
                    "SELECT {JOB_COLUMNS}, results_csv FROM inquiry_jobs \
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

    async fn record_inquiry(
        &self,
        inquired: &ProvisionRecord,
        inquired_audit: &AuditEntry,
        provided: Option<(&ProvisionRecord, &AuditEntry)>,
    ) -> Result<(), StoreError> {
        check_inquiry(inquired, provided.map(|(p, _)| p))?;
        let (inquired, inquired_audit) = (inquired.clone(), inquired_audit.clone());
        let provided = provided.map(|(p, a)| (p.clone(), a.clone()));
        self.write(move |tx, _| {
            insert_record(tx, &inquired)?;
            append_audit_tx(tx, inquired.municipality.into(), &inquired_audit)?;
            if let Some((p, audit)) = &provided {
                insert_record(tx, p)?;
                append_audit_tx(tx, p.municipality.into(), audit)?;
            }
            Ok(())
        })
        .await
    }

    async fn provision_records(
        &self,
        scope: MunicipalityCode,
        filter: &ProvisionFilter,
    ) -> Result<Vec<ProvisionRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn, _| select_records(conn, scope, &filter, None))
            .await
    }

    async fn provision_record(
        &self,
        scope: MunicipalityCode,
        inquiry_id: &str,
        side: ProvisionSide,
    ) -> Result<ProvisionRecord, StoreError> {
        let inquiry_id = inquiry_id.to_owned();
        self.read_point(move |conn, _| {
            let filter = ProvisionFilter {
                side: Some(side),
                limit: 1,
                ..ProvisionFilter::default()
            };
            select_records(conn, scope, &filter, Some(&inquiry_id))?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)
        })
        .await
    }
}
