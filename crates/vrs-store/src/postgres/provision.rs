//! Provision records (both sides of inquiries between municipalities) on PostgreSQL. Both sides of
//! one inquiry and their audit entries are written in one transaction; the chain heads it extends
//! are locked in code order, so two inquiries crossing between the same two municipalities queue
//! instead of deadlocking.

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;
use vrs_domain::MunicipalityCode;

use super::{chained, insert_audit, lock_head, save_head, PostgresStore};
use crate::provision::{
    check_inquiry, InquiryJob, ProvisionFilter, ProvisionRecord, ProvisionSide,
};
use crate::rows::{ProvidedDoseRow, ProvisionRow, PROVIDED_DOSE_COLUMNS, PROVISION_COLUMNS};
use crate::ConflictKind;
use crate::{rows, AuditEntry, AuditRecord, AuditScope, InquiryStore, StoreError};

/// Inserts one side's record and its doses; a record already kept for the side and inquiry ID is a
/// conflict.
async fn insert_record(tx: &impl GenericClient, r: &ProvisionRecord) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO provision_records (municipality_code, {PROVISION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        ))
        .await?;
    let inserted = tx
        .execute(
            &stmt,
            &[
                &r.municipality.as_str(),
                &r.side.as_str(),
                &r.inquiry_id,
                &r.counterpart.as_str(),
                &r.at,
                &r.actor,
                &r.terminal,
                &r.consent.as_str(),
                &r.atena.as_ref().map(|a| a.as_str()),
                &r.found,
            ],
        )
        .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(ConflictKind::InquiryRecorded {
            inquiry: r.inquiry_id.to_string(),
            side: r.side.as_str(),
            municipality: r.municipality,
        }));
    }
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO provision_doses (municipality_code, side, inquiry_id, {PROVIDED_DOSE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .await?;
    for d in &r.doses {
        tx.execute(
            &stmt,
            &[
                &r.municipality.as_str(),
                &r.side.as_str(),
                &r.inquiry_id,
                &i16::from(d.dose_number),
                &d.administered_on,
                &d.product_code,
                &d.lot_number,
                &d.coupon.as_str(),
                &d.site_municipality.as_str(),
            ],
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                StoreError::Conflict(ConflictKind::DoseTwiceInInquiry {
                    dose: d.dose_number,
                    inquiry: r.inquiry_id.to_string(),
                })
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

fn joined_row(r: &Row) -> (ProvisionRow, Option<ProvidedDoseRow>) {
    let record = ProvisionRow {
        side: r.get(0),
        inquiry_id: r.get(1),
        counterpart: r.get(2),
        at: r.get(3),
        actor: r.get(4),
        terminal: r.get(5),
        consent: r.get(6),
        atena: r.get(7),
        found: r.get(8),
    };
    let dose = r.get::<_, Option<i16>>(9).map(|n| ProvidedDoseRow {
        dose_number: i64::from(n),
        administered_on: r.get(10),
        product_code: r.get(11),
        lot_number: r.get(12),
        coupon: r.get(13),
        site_municipality: r.get(14),
    });
    (record, dose)
}

impl PostgresStore {
    /// The scope's records matching the filter, and the one inquiry ID when given, newest first,
    /// each with its doses (one statement, so the records and their doses come from one snapshot).
    async fn select_records(
        &self,
        scope: MunicipalityCode,
        f: &ProvisionFilter,
        inquiry_id: Option<&str>,
    ) -> Result<Vec<ProvisionRecord>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH r AS (SELECT municipality_code, {PROVISION_COLUMNS} FROM provision_records \
                 WHERE municipality_code = $1 AND ($2::text IS NULL OR side = $2) \
                 AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4) \
                 AND ($5::text IS NULL OR starts_with(inquiry_id, $5)) \
                 AND ($6::text IS NULL OR inquiry_id = $6) \
                 ORDER BY at DESC, inquiry_id COLLATE \"C\", side LIMIT $7) \
                 SELECT r.side, r.inquiry_id, r.counterpart_code, r.at, r.actor, r.terminal, r.consent, \
                 r.atena_number, r.found, d.dose_number, d.administered_on, d.product_code, d.lot_number, \
                 d.coupon_number, d.site_municipality_code \
                 FROM r LEFT JOIN provision_doses d ON d.municipality_code = r.municipality_code \
                 AND d.side = r.side AND d.inquiry_id = r.inquiry_id \
                 ORDER BY r.at DESC, r.inquiry_id COLLATE \"C\", r.side, d.dose_number"
            ))
            .await?;
        let found = client
            .query(
                &stmt,
                &[
                    &scope.as_str(),
                    &f.side.map(ProvisionSide::as_str),
                    &f.from,
                    &f.to,
                    &f.inquiry_prefix,
                    &inquiry_id,
                    &i64::from(f.effective_limit()),
                ],
            )
            .await?;
        rows::provision_records(scope, found.iter().map(joined_row).collect())
    }
}

/// Bulk inquiry jobs: kept with their audit entry in one transaction.
const JOB_COLUMNS: &str =
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

#[async_trait]
impl InquiryStore for PostgresStore {
    async fn save_inquiry_job(
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
                    "INSERT INTO inquiry_jobs (municipality_code, {JOB_COLUMNS}, results_csv) \
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
            return Err(StoreError::Conflict(ConflictKind::BulkInquiryKept(
                job.batch.clone(),
            )));
        }
        let written = chained(scope, head, audit);
        insert_audit(&tx, &written).await?;
        save_head(&tx, &written).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn inquiry_jobs(
        &self,
        scope: MunicipalityCode,
        limit: u32,
    ) -> Result<Vec<InquiryJob>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM inquiry_jobs WHERE municipality_code = $1 \
                     ORDER BY created_at DESC, batch COLLATE \"C\" LIMIT $2"
                ),
                &[&scope.as_str(), &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| job(scope, r, false)).collect())
    }

    async fn inquiry_job(
        &self,
        scope: MunicipalityCode,
        batch: &str,
    ) -> Result<InquiryJob, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {JOB_COLUMNS}, results_csv FROM inquiry_jobs \
                     WHERE municipality_code = $1 AND batch = $2"
                ),
                &[&scope.as_str(), &batch],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(job(scope, &row, true))
    }

    async fn record_inquiry(
        &self,
        inquired: &ProvisionRecord,
        inquired_audit: &AuditEntry,
        provided: Option<(&ProvisionRecord, &AuditEntry)>,
    ) -> Result<(), StoreError> {
        check_inquiry(inquired, provided.map(|(p, _)| p))?;
        let mut entries = vec![(inquired, inquired_audit)];
        entries.extend(provided);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Every head this inquiry extends, locked in code order (a BTreeMap iterates sorted).
        let mut heads: BTreeMap<AuditScope, (i64, [u8; 32])> = entries
            .iter()
            .map(|(r, _)| (AuditScope::from(r.municipality), (0, [0; 32])))
            .collect();
        for (scope, head) in heads.iter_mut() {
            *head = lock_head(&tx, *scope).await?;
        }
        let mut last: BTreeMap<AuditScope, AuditRecord> = BTreeMap::new();
        for (record, audit) in entries {
            insert_record(&tx, record).await?;
            let scope = AuditScope::from(record.municipality);
            let head = heads
                .get_mut(&scope)
                .ok_or_else(|| StoreError::Other(format!("the head of {scope} was not locked")))?;
            let written = chained(scope, *head, audit);
            insert_audit(&tx, &written).await?;
            *head = (written.seq, written.hash);
            last.insert(scope, written);
        }
        for record in last.values() {
            save_head(&tx, record).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn provision_records(
        &self,
        scope: MunicipalityCode,
        filter: &ProvisionFilter,
    ) -> Result<Vec<ProvisionRecord>, StoreError> {
        self.select_records(scope, filter, None).await
    }

    async fn provision_record(
        &self,
        scope: MunicipalityCode,
        inquiry_id: &str,
        side: ProvisionSide,
    ) -> Result<ProvisionRecord, StoreError> {
        let filter = ProvisionFilter {
            side: Some(side),
            limit: 1,
            ..ProvisionFilter::default()
        };
        self.select_records(scope, &filter, Some(inquiry_id))
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)
    }
}
