//! Doses, flags, person search and idempotency keys on PostgreSQL.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use vrs_domain::{AtenaNumber, CouponNumber, DoseRecord, DoseSource, MunicipalityCode, UserId};

use super::accounts::{signed_session_from, ANY_STOPPED};
use super::{append_audit_tx, PostgresStore};
use crate::accounts::SESSION_AND_ACCOUNT_COLUMNS;
use crate::doses::check_undo;
use crate::rows::{DoseRow, DOSE_COLUMNS};
use crate::{
    rows, AccountStore, AuditEntry, CouponHolder, DoseStore, HolderAndDoses, IdempotentAnswer,
    PersonDoses, Registration, SessionAndHolder, StoreError,
};
use crate::{ConflictKind, InArea};

fn dose_row(r: &Row, first: usize) -> DoseRow {
    DoseRow {
        dose_number: i64::from(r.get::<_, i16>(first)),
        administered_on: r.get(first + 1),
        product_code: r.get(first + 2),
        lot_number: r.get(first + 3),
        site_municipality: r.get(first + 4),
        coupon: r.get(first + 5),
        venue: r.get(first + 6),
        doctor: r.get(first + 7),
        recorded_at: r.get(first + 8),
        source: r.get(first + 9),
        received_from: r.get(first + 10),
    }
}

/// Doses sent at once by [`PostgresStore::add_doses_pg`] before their answers are awaited.
const PIPELINE: usize = 512;

pub(super) async fn insert_dose(
    tx: &impl GenericClient,
    scope: MunicipalityCode,
    record: &DoseRecord,
    recorded_by: &str,
) -> Result<(), StoreError> {
    let dose = &record.dose;
    // One round trip: the person must exist in the area and the dose number be free. The row is
    // selected from the person's own (so on Citus the statement runs whole on the area's shard and
    // reports what it inserted).
    let stmt = tx
        .prepare_cached(
            "INSERT INTO doses (municipality_code, atena_number, dose_number, administered_on, product_code, \
             lot_number, site_municipality_code, coupon_number, venue, doctor, recorded_at, source, recorded_by, \
             received_from) SELECT r.municipality_code, r.atena_number, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14 FROM residents r WHERE r.municipality_code = $1 AND r.atena_number = $2 ON CONFLICT DO NOTHING",
        )
        .await?;
    let inserted = tx
        .execute(
            &stmt,
            &[
                &scope.as_str(),
                &dose.atena.as_str(),
                &i16::from(dose.dose_number),
                &dose.administered_on,
                &dose.product.code,
                &dose.lot_number.as_str(),
                &dose.site_municipality.as_str(),
                &dose.coupon.as_str(),
                &record.venue,
                &record.doctor,
                &record.recorded_at,
                &record.source.as_str(),
                &recorded_by,
                &record.received_from.as_ref().map(|m| m.as_str()),
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(());
    }
    let known = tx
        .query_opt(
            "SELECT 1 FROM residents WHERE municipality_code = $1 AND atena_number = $2",
            &[&scope.as_str(), &dose.atena.as_str()],
        )
        .await?
        .is_some();
    Err(if known {
        rows::dose_conflict(dose.dose_number)
    } else {
        StoreError::NotFound
    })
}

pub(super) async fn insert_answer(
    tx: &impl GenericClient,
    a: &IdempotentAnswer,
) -> Result<bool, StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO idempotency_keys (municipality_code, user_id, idempotency_key, request_hash, status, \
             body, created_at) VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT DO NOTHING",
        )
        .await?;
    let n = tx
        .execute(
            &stmt,
            &[
                &a.site.as_str(),
                &a.user_id.as_str(),
                &a.key,
                &a.request_hash.to_vec(),
                &(a.status as i16),
                &a.body,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Deletes the stored dose if it still states exactly what `before` states; returns the row's
/// recorded_at, source, recorded_by and received_from when it did.
async fn delete_matching(
    tx: &impl GenericClient,
    scope: MunicipalityCode,
    before: &DoseRecord,
) -> Result<Option<Row>, StoreError> {
    let d = &before.dose;
    Ok(tx
        .query_opt(
            "DELETE FROM doses WHERE municipality_code = $1 AND atena_number = $2 AND dose_number = $3 \
             AND administered_on = $4 AND product_code = $5 AND lot_number = $6 \
             AND site_municipality_code = $7 AND coupon_number = $8 AND venue = $9 AND doctor = $10 \
             RETURNING recorded_at, source, recorded_by, received_from",
            &[
                &scope.as_str(),
                &d.atena.as_str(),
                &i16::from(d.dose_number),
                &d.administered_on,
                &d.product.code,
                &d.lot_number.as_str(),
                &d.site_municipality.as_str(),
                &d.coupon.as_str(),
                &before.venue,
                &before.doctor,
            ],
        )
        .await?)
}

async fn changed_meanwhile(
    tx: &impl GenericClient,
    scope: MunicipalityCode,
    before: &DoseRecord,
) -> StoreError {
    let exists = tx
        .query_opt(
            "SELECT 1 FROM doses WHERE municipality_code = $1 AND atena_number = $2 AND dose_number = $3",
            &[
                &scope.as_str(),
                &before.dose.atena.as_str(),
                &i16::from(before.dose.dose_number),
            ],
        )
        .await;
    match exists {
        Ok(Some(_)) => {
            StoreError::Conflict(ConflictKind::DoseChangedMeanwhile(before.dose.dose_number))
        }
        Ok(None) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

/// A person's doses as stored, by dose number, on `client` (a transaction or not).
pub(super) async fn person_doses_tx(
    client: &impl GenericClient,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
) -> Result<Vec<DoseRecord>, StoreError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {DOSE_COLUMNS} FROM doses WHERE municipality_code = $1 AND atena_number = $2 \
             ORDER BY dose_number"
        ))
        .await?;
    let found = client
        .query(&stmt, &[&scope.as_str(), &atena.as_str()])
        .await?;
    found
        .iter()
        .map(|r| dose_row(r, 0).into_record(scope, atena))
        .collect()
}

#[async_trait]
impl DoseStore for PostgresStore {
    async fn add_dose(
        &self,
        registration: InArea<'_, Registration>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (scope, registration) = (registration.code(), registration.get());
        let cipher = match self.keyring.cached(scope) {
            Some(c) => Some(c),
            None => self.cipher(&self.pool.get().await?, scope, false).await?,
        };
        self.registrations
            .add(scope, registration, audit, cipher)
            .await
    }

    async fn add_doses(
        &self,
        records: InArea<'_, [DoseRecord]>,
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (scope, records) = (records.code(), records.get());
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The inserts of a chunk are sent without waiting for each answer (the driver pipelines
        // concurrent queries on one connection); the first failure drops the transaction.
        for chunk in records.chunks(PIPELINE) {
            futures_util::future::try_join_all(
                chunk
                    .iter()
                    .map(|r| insert_dose(&tx, scope, r, recorded_by)),
            )
            .await?;
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT request_hash, status, body FROM idempotency_keys \
                 WHERE municipality_code = $1 AND user_id = $2 AND idempotency_key = $3",
            )
            .await?;
        let found = client
            .query_opt(&stmt, &[&site.as_str(), &user_id.as_str(), &key])
            .await?;
        if found.is_some() {
            // The answer is given again only once it is on the synchronous standby too: a server
            // restarted after a crash can show a commit that never reached the standby, and would
            // be lost with that server in the failover that follows.
            super::confirm_replicated(client).await?;
        }
        found
            .map(|r| {
                Ok(IdempotentAnswer {
                    site,
                    user_id: user_id.clone(),
                    key: key.to_owned(),
                    request_hash: rows::hash32(&r.get::<_, Vec<u8>>(0))?,
                    status: u16::try_from(r.get::<_, i16>(1))
                        .map_err(|_| StoreError::Corrupt("idempotency_keys.status".into()))?,
                    body: r.get(2),
                })
            })
            .transpose()
    }

    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        insert_answer(&client, answer).await
    }

    async fn correct_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        after: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (scope, before, after) = (before.code(), before.get(), after.get());
        if before.dose.atena != after.dose.atena {
            return Err(StoreError::Conflict(ConflictKind::CorrectionMovesPerson));
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(kept) = delete_matching(&tx, scope, before).await? else {
            return Err(changed_meanwhile(&tx, scope, before).await);
        };
        let mut after = after.clone();
        // What is corrected is what the dose states; when, how, by whom and from where it was
        // recorded stay.
        after.recorded_at = kept.get(0);
        let received_from: Option<String> = kept.get(3);
        after.received_from = received_from
            .as_deref()
            .map(rows::municipality)
            .transpose()?;
        let source: String = kept.get(1);
        after.source = DoseSource::parse(&source)
            .ok_or_else(|| StoreError::Corrupt(format!("doses.source {source:?}")))?;
        let recorded_by: String = kept.get(2);
        insert_dose(&tx, scope, &after, &recorded_by).await?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        self.refresh_tx(&tx, scope, &before.dose.atena, audit)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (scope, before) = (before.code(), before.get());
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if delete_matching(&tx, scope, before).await?.is_none() {
            return Err(changed_meanwhile(&tx, scope, before).await);
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        self.refresh_tx(&tx, scope, &before.dose.atena, audit)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn undo_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (scope, before) = (before.code(), before.get());
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let how = tx
            .query_opt(
                "SELECT source, recorded_by, recorded_at FROM doses \
                 WHERE municipality_code = $1 AND atena_number = $2 AND dose_number = $3 FOR UPDATE",
                &[
                    &scope.as_str(),
                    &before.dose.atena.as_str(),
                    &i16::from(before.dose.dose_number),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let (source, stored_by, at): (String, String, DateTime<Utc>) =
            (how.get(0), how.get(1), how.get(2));
        check_undo(&source, &stored_by, at, recorded_by, recorded_since)?;
        if delete_matching(&tx, scope, before).await?.is_none() {
            return Err(changed_meanwhile(&tx, scope, before).await);
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        self.refresh_tx(&tx, scope, &before.dose.atena, audit)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn area_doses(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<PersonDoses>, StoreError> {
        let client = self.pool.get().await?;
        let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
        let people = client
            .query(
                "SELECT r.atena_number, r.moved_out_on, r.deceased_on FROM residents r \
                 WHERE r.municipality_code = $1 AND r.atena_number > $2 AND EXISTS (SELECT 1 FROM doses d \
                 WHERE d.municipality_code = r.municipality_code AND d.atena_number = r.atena_number) \
                 ORDER BY r.atena_number LIMIT $3",
                &[&scope.as_str(), &after, &i64::from(limit)],
            )
            .await?;
        let Some(last) = people.last().map(|r| r.get::<_, String>(0)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(people.len());
        for r in &people {
            let atena: String = r.get(0);
            out.push(PersonDoses {
                atena: AtenaNumber::parse(&atena)
                    .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?,
                moved_out_on: r.get(1),
                deceased_on: r.get(2),
                doses: Vec::new(),
            });
        }
        let doses = client
            .query(
                &format!(
                    "SELECT atena_number, {DOSE_COLUMNS} FROM doses WHERE municipality_code = $1 \
                     AND atena_number > $2 AND atena_number <= $3 ORDER BY atena_number, dose_number"
                ),
                &[&scope.as_str(), &after, &last],
            )
            .await?;
        let index: HashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, p)| (p.atena.as_str().to_owned(), i))
            .collect();
        for r in &doses {
            let atena: String = r.get(0);
            if let Some(person) = index.get(atena.as_str()).and_then(|&i| out.get_mut(i)) {
                let record = dose_row(r, 1).into_record(scope, &person.atena)?;
                person.doses.push(record);
            }
        }
        Ok(out)
    }

    async fn doses_of(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<DoseRecord>, StoreError> {
        let client = self.pool.get().await?;
        person_doses_tx(&client, scope, atena).await
    }

    async fn holder_and_doses(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<HolderAndDoses, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {} FROM residents r {DOSES_OF_HOLDER} \
                 WHERE r.municipality_code = $1 AND r.coupon_number = $2",
                *HOLDER_AND_DOSES_COLUMNS
            )
        });
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&SQL).await?;
        let found = client
            .query(&stmt, &[&scope.as_str(), &coupon.as_str()])
            .await?;
        holder_from_rows(&found, 0, scope, coupon)
    }

    async fn session_and_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
        token_hash: &[u8],
    ) -> Result<SessionAndHolder, StoreError> {
        if self.citus {
            // The session's tables are not distributed with the area's: two reads, each routed
            // whole to where its rows are.
            let signed = self.signed_session(token_hash).await?;
            let holder = self.holder_and_doses(scope, coupon).await;
            return Ok(SessionAndHolder { signed, holder });
        }
        // One round trip: the session's row beside each of the holder's rows (one a dose; one
        // with the holder's columns null when no target of the area holds the coupon), and no
        // row at all when there is no such session.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SESSION_AND_ACCOUNT_COLUMNS}, {ANY_STOPPED}, {} \
                 FROM sessions s JOIN accounts a ON a.user_id = s.user_id \
                 LEFT JOIN residents r ON r.municipality_code = $2 AND r.coupon_number = $3 \
                 {DOSES_OF_HOLDER} WHERE s.token_hash = $1",
                *HOLDER_AND_DOSES_COLUMNS
            )
        });
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&SQL).await?;
        let found = client
            .query(&stmt, &[&token_hash, &scope.as_str(), &coupon.as_str()])
            .await?;
        let first = found.first().ok_or(StoreError::NotFound)?;
        let signed = signed_session_from(&client, first).await?;
        let holder = match first.get::<_, Option<String>>(HOLDER_COLUMN) {
            Some(_) => holder_from_rows(&found, HOLDER_COLUMN, scope, coupon),
            None => Err(StoreError::NotFound),
        };
        Ok(SessionAndHolder { signed, holder })
    }
}

/// Where the holder's columns start in a [`DoseStore::session_and_holder`] row: after the session
/// and account's 17 and whether any function is stopped.
const HOLDER_COLUMN: usize = 18;

/// A holder's 宛名番号 and flags, then a dose's columns (null when the holder has none).
static HOLDER_AND_DOSES_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let doses: Vec<String> = DOSE_COLUMNS
        .split(',')
        .map(|c| format!("d.{}", c.trim()))
        .collect();
    format!(
        "r.atena_number, r.moved_out_on, r.deceased_on, {}",
        doses.join(", ")
    )
});

/// The doses of the holder `r`: a LATERAL subquery the planner cannot flatten (it is ordered), so
/// the doses are read by both columns of their key whatever it estimates: a plain join, planned
/// while the table is small, reads all of the area's doses for each registration instead.
const DOSES_OF_HOLDER: &str = "LEFT JOIN LATERAL (SELECT * FROM doses \
     WHERE municipality_code = r.municipality_code AND atena_number = r.atena_number \
     ORDER BY dose_number) d ON true";

/// The holder of `coupon` and their doses from rows of [`HOLDER_AND_DOSES_COLUMNS`] starting at
/// column `first`; `NotFound` when there are none.
fn holder_from_rows(
    found: &[Row],
    first: usize,
    scope: MunicipalityCode,
    coupon: &CouponNumber,
) -> Result<HolderAndDoses, StoreError> {
    let row = found.first().ok_or(StoreError::NotFound)?;
    let atena: String = row.get(first);
    let holder = CouponHolder {
        municipality: scope,
        atena: AtenaNumber::parse(&atena)
            .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?,
        coupon: *coupon,
        moved_out_on: row.get(first + 1),
        deceased_on: row.get(first + 2),
    };
    // A holder without doses is one row with the dose's columns null.
    let mut doses = found
        .iter()
        .filter(|r| r.get::<_, Option<i16>>(first + 3).is_some())
        .map(|r| dose_row(r, first + 3).into_record(scope, &holder.atena))
        .collect::<Result<Vec<_>, _>>()?;
    doses.sort_unstable_by_key(|d| d.dose.dose_number);
    Ok((holder, doses))
}
