//! Doses, flags, person search and idempotency keys on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{named_params, params, Connection, OptionalExtension};
use vrs_domain::{AtenaNumber, CouponNumber, DoseRecord, DoseSource, MunicipalityCode, UserId};

use super::accounts::time;
use super::certificates::refresh_tx;
use super::{append_audit_tx, SqliteStore};
use crate::audit::timestamp_text;
use crate::doses::check_undo;
use crate::rows::{DoseRow, DOSE_COLUMNS};
use crate::{
    rows, AuditEntry, DoseStore, HolderAndDoses, IdempotentAnswer, PersonDoses, Registration,
    SessionAndHolder, StoreError,
};
use crate::{ConflictKind, InArea};

fn dose_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<(DoseRow, String)> {
    Ok((
        DoseRow {
            dose_number: r.get(first)?,
            administered_on: NaiveDate::default(),
            product_code: r.get(first + 2)?,
            lot_number: r.get(first + 3)?,
            site_municipality: r.get(first + 4)?,
            coupon: r.get(first + 5)?,
            venue: r.get(first + 6)?,
            doctor: r.get(first + 7)?,
            recorded_at: Utc::now(),
            source: r.get(first + 9)?,
            received_from: r.get(first + 10)?,
        },
        // The dates are text in SQLite; they are parsed after the row is read.
        format!(
            "{}|{}",
            r.get::<_, String>(first + 1)?,
            r.get::<_, String>(first + 8)?
        ),
    ))
}

fn finish(
    (mut row, dates): (DoseRow, String),
    scope: MunicipalityCode,
    atena: &AtenaNumber,
) -> Result<DoseRecord, StoreError> {
    let (day, at) = dates.split_once('|').unwrap_or_default();
    row.administered_on = rows::date(day)?;
    row.recorded_at = time(at)?;
    row.into_record(scope, atena)
}

fn insert_dose(
    tx: &Connection,
    scope: MunicipalityCode,
    record: &DoseRecord,
    recorded_by: &str,
) -> Result<(), StoreError> {
    let dose = &record.dose;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO doses (municipality_code, atena_number, dose_number, administered_on, product_code, \
         lot_number, site_municipality_code, coupon_number, venue, doctor, recorded_at, source, recorded_by, \
         received_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT DO NOTHING",
    )?;
    let inserted = stmt.execute(params![
        scope.as_str(),
        dose.atena.as_str(),
        dose.dose_number.get(),
        dose.administered_on.to_string(),
        dose.product.code,
        dose.lot_number.as_str(),
        dose.site_municipality.as_str(),
        dose.coupon.as_str(),
        record.venue,
        record.doctor,
        timestamp_text(&record.recorded_at),
        record.source.as_str(),
        recorded_by,
        record.received_from.as_ref().map(|m| m.as_str())
    ]);
    // A person not in the area: the row's foreign key refuses it, by the same lookup of the
    // residents' key a separate check would make (in the writer, whose time every registration
    // of a group waits for).
    let inserted = match inserted {
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            return Err(StoreError::NotFound)
        }
        other => other?,
    };
    if inserted == 0 {
        return Err(rows::dose_conflict(dose.dose_number));
    }
    Ok(())
}

/// Inserts an idempotent answer; false when its key is already taken.
fn insert_answer(tx: &Connection, a: &IdempotentAnswer) -> Result<bool, StoreError> {
    let n = tx.prepare_cached(
        "INSERT INTO idempotency_keys (municipality_code, user_id, idempotency_key, request_hash, status, body, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
            a.site.as_str(),
            a.user_id.as_str(),
            a.key,
            a.request_hash.to_vec(),
            a.status,
            a.body,
            timestamp_text(&Utc::now())
    ])?;
    Ok(n == 1)
}

/// Deletes the stored dose if it still states exactly what `before` states: 1 when deleted.
fn delete_matching(
    tx: &Connection,
    scope: MunicipalityCode,
    before: &DoseRecord,
) -> Result<usize, StoreError> {
    let d = &before.dose;
    Ok(tx.execute(
        "DELETE FROM doses WHERE municipality_code = :scope AND atena_number = :atena AND dose_number = :n \
         AND administered_on = :day AND product_code = :product AND lot_number = :lot \
         AND site_municipality_code = :site AND coupon_number = :coupon AND venue = :venue AND doctor = :doctor",
        named_params! {
            ":scope": scope.as_str(),
            ":atena": d.atena.as_str(),
            ":n": d.dose_number.get(),
            ":day": d.administered_on.to_string(),
            ":product": d.product.code,
            ":lot": d.lot_number.as_str(),
            ":site": d.site_municipality.as_str(),
            ":coupon": d.coupon.as_str(),
            ":venue": before.venue,
            ":doctor": before.doctor,
        },
    )?)
}

fn changed_meanwhile(tx: &Connection, scope: MunicipalityCode, before: &DoseRecord) -> StoreError {
    let exists = tx
        .query_row(
            "SELECT 1 FROM doses WHERE municipality_code = ?1 AND atena_number = ?2 AND dose_number = ?3",
            params![scope.as_str(), before.dose.atena.as_str(), before.dose.dose_number.get()],
            |_| Ok(()),
        )
        .optional();
    match exists {
        Ok(Some(())) => {
            StoreError::Conflict(ConflictKind::DoseChangedMeanwhile(before.dose.dose_number))
        }
        Ok(None) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

/// A person's doses as stored, by dose number, in the caller's transaction.
pub(super) fn person_doses_tx(
    conn: &Connection,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
) -> Result<Vec<DoseRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DOSE_COLUMNS} FROM doses WHERE municipality_code = ?1 AND atena_number = ?2 \
         ORDER BY dose_number"
    ))?;
    let found = stmt
        .query_map(params![scope.as_str(), atena.as_str()], |r| dose_row(r, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    found
        .into_iter()
        .map(|row| finish(row, scope, atena))
        .collect()
}

#[async_trait]
impl DoseStore for SqliteStore {
    async fn add_dose(
        &self,
        registration: InArea<'_, Registration>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = registration.code();
        let registration = registration.clone();
        let audit = audit.clone();
        self.write(move |tx, keyring| {
            if let Some(answer) = &registration.answer {
                if !insert_answer(tx, answer)? {
                    return Err(StoreError::Replayed);
                }
            }
            insert_dose(tx, scope, &registration.record, &registration.recorded_by)?;
            append_audit_tx(tx, scope.into(), &audit)?;
            let atena = &registration.record.dose.atena;
            refresh_tx(tx, keyring, scope, atena, &audit)?;
            Ok(())
        })
        .await
    }

    async fn add_doses(
        &self,
        records: InArea<'_, [DoseRecord]>,
        recorded_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = records.code();
        let records = records.to_vec();
        let recorded_by = recorded_by.to_owned();
        let audit = audit.clone();
        self.write(move |tx, _| {
            for r in &records {
                insert_dose(tx, scope, r, &recorded_by)?;
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn stored_answer(
        &self,
        site: MunicipalityCode,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let (user_id, key) = (user_id.to_owned(), key.to_owned());
        // A reader sees every answer committed before its read began; a retry racing its first
        // attempt finds the key taken on insert and reads again after that commit.
        self.read_point(move |tx, _| {
            let found: Option<(Vec<u8>, u16, String)> = tx
                .prepare_cached(
                    "SELECT request_hash, status, body FROM idempotency_keys \
                     WHERE municipality_code = ?1 AND user_id = ?2 AND idempotency_key = ?3",
                )?
                .query_row(params![site.as_str(), user_id.as_str(), key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            found
                .map(|(hash, status, body)| {
                    Ok(IdempotentAnswer {
                        site,
                        user_id: user_id.clone(),
                        key: key.clone(),
                        request_hash: rows::hash32(&hash)?,
                        status,
                        body,
                    })
                })
                .transpose()
        })
        .await
    }

    async fn remember_answer(&self, answer: &IdempotentAnswer) -> Result<bool, StoreError> {
        let answer = answer.clone();
        self.write(move |tx, _| insert_answer(tx, &answer)).await
    }

    async fn correct_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        after: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = before.code();
        if before.dose.atena != after.dose.atena {
            return Err(StoreError::Conflict(ConflictKind::CorrectionMovesPerson));
        }
        let (before, mut after, audit) = (before.clone(), after.clone(), audit.clone());
        self.write(move |tx, keyring| {
            let kept: Option<(String, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT recorded_at, source, recorded_by, received_from FROM doses \
                     WHERE municipality_code = ?1 AND atena_number = ?2 AND dose_number = ?3",
                    params![
                        scope.as_str(),
                        before.dose.atena.as_str(),
                        before.dose.dose_number.get()
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            if delete_matching(tx, scope, &before)? == 0 {
                return Err(changed_meanwhile(tx, scope, &before));
            }
            let (recorded_at, source, recorded_by, received_from) =
                kept.ok_or(StoreError::NotFound)?;
            // What is corrected is what the dose states; when, how, by whom and from where it was
            // recorded stay.
            after.recorded_at = time(&recorded_at)?;
            after.received_from = received_from
                .as_deref()
                .map(rows::municipality)
                .transpose()?;
            after.source = DoseSource::parse(&source)
                .ok_or_else(|| StoreError::Corrupt(format!("doses.source {source:?}")))?;
            insert_dose(tx, scope, &after, &recorded_by)?;
            append_audit_tx(tx, scope.into(), &audit)?;
            refresh_tx(tx, keyring, scope, &before.dose.atena, &audit)?;
            Ok(())
        })
        .await
    }

    async fn delete_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = before.code();
        let (before, audit) = (before.clone(), audit.clone());
        self.write(move |tx, keyring| {
            if delete_matching(tx, scope, &before)? == 0 {
                return Err(changed_meanwhile(tx, scope, &before));
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            refresh_tx(tx, keyring, scope, &before.dose.atena, &audit)?;
            Ok(())
        })
        .await
    }

    async fn undo_dose(
        &self,
        before: InArea<'_, DoseRecord>,
        recorded_by: &str,
        recorded_since: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let scope = before.code();
        let (before, audit, by) = (before.clone(), audit.clone(), recorded_by.to_owned());
        self.write(move |tx, keyring| {
            let how: Option<(String, String, String)> = tx
                .query_row(
                    "SELECT source, recorded_by, recorded_at FROM doses \
                     WHERE municipality_code = ?1 AND atena_number = ?2 AND dose_number = ?3",
                    params![
                        scope.as_str(),
                        before.dose.atena.as_str(),
                        before.dose.dose_number.get()
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (source, stored_by, at) = how.ok_or(StoreError::NotFound)?;
            check_undo(&source, &stored_by, time(&at)?, &by, recorded_since)?;
            if delete_matching(tx, scope, &before)? == 0 {
                return Err(changed_meanwhile(tx, scope, &before));
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            refresh_tx(tx, keyring, scope, &before.dose.atena, &audit)?;
            Ok(())
        })
        .await
    }

    async fn area_doses(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<PersonDoses>, StoreError> {
        let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
        self.read(move |conn, _| {
            let mut people_stmt = conn.prepare(
                "SELECT r.atena_number, r.moved_out_on, r.deceased_on FROM residents r \
                 WHERE r.municipality_code = ?1 AND r.atena_number > ?2 AND EXISTS (SELECT 1 FROM doses d \
                 WHERE d.municipality_code = r.municipality_code AND d.atena_number = r.atena_number) \
                 ORDER BY r.atena_number LIMIT ?3",
            )?;
            let people = people_stmt
                .query_map(params![scope.as_str(), after, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let Some(last) = people.last().map(|p| p.0.clone()) else {
                return Ok(Vec::new());
            };
            let mut dose_stmt = conn.prepare(&format!(
                "SELECT atena_number, {DOSE_COLUMNS} FROM doses WHERE municipality_code = ?1 \
                 AND atena_number > ?2 AND atena_number <= ?3 ORDER BY atena_number, dose_number"
            ))?;
            let found = dose_stmt
                .query_map(params![scope.as_str(), after, last], |r| {
                    Ok((r.get::<_, String>(0)?, dose_row(r, 1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(people.len());
            for (atena, moved, deceased) in people {
                let atena = AtenaNumber::parse(&atena)
                    .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?;
                out.push(PersonDoses {
                    atena,
                    moved_out_on: rows::opt_date(moved.as_deref())?,
                    deceased_on: rows::opt_date(deceased.as_deref())?,
                    doses: Vec::new(),
                });
            }
            let index: HashMap<String, usize> =
                out.iter().enumerate().map(|(i, p)| (p.atena.as_str().to_owned(), i)).collect();
            for (atena, row) in found {
                if let Some(person) = index.get(atena.as_str()).and_then(|&i| out.get_mut(i)) {
                    let record = finish(row, scope, &person.atena)?;
                    person.doses.push(record);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn doses_of(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Vec<DoseRecord>, StoreError> {
        let atena = atena.clone();
        self.read_point(move |conn, _| person_doses_tx(conn, scope, &atena))
            .await
    }

    async fn holder_and_doses(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<HolderAndDoses, StoreError> {
        let coupon = *coupon;
        self.read_point(move |conn, _| {
            super::read_transaction(conn, |conn| holder_and_doses_in(conn, scope, coupon))
        })
        .await
    }

    async fn session_and_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
        token_hash: &[u8],
    ) -> Result<SessionAndHolder, StoreError> {
        let (coupon, token_hash) = (*coupon, token_hash.to_vec());
        // One read transaction: a reader re-reads its pages whenever the database changed since
        // its last transaction began, so two would pay for that twice under constant writes.
        self.read_point(move |conn, _| {
            super::read_transaction(conn, |conn| {
                let signed = super::accounts::signed_session_in(conn, &token_hash)?;
                let holder = holder_and_doses_in(conn, scope, coupon);
                Ok(SessionAndHolder { signed, holder })
            })
        })
        .await
    }
}

fn holder_and_doses_in(
    conn: &Connection,
    scope: MunicipalityCode,
    coupon: CouponNumber,
) -> Result<HolderAndDoses, StoreError> {
    let holder = super::residents::holder_tx(conn, scope, coupon)?;
    let doses = person_doses_tx(conn, scope, &holder.atena)?;
    Ok((holder, doses))
}
