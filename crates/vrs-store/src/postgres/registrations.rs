//! Group commit of dose registrations on PostgreSQL. Every registration of a municipality extends its
//! audit chain, and the chain's head row is locked until the transaction commits, so registrations
//! one transaction each would queue behind one another's disk waits. Instead one task per process
//! takes every registration waiting (up to [`GROUP`]) into one transaction of four round trips to
//! the database ([`commit_group`]; a refused registration leaves nothing behind), locks each chain
//! head once and moves it in memory, commits once, and then answers each caller. Every acknowledged
//! registration is durable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use vrs_crypto::FieldCipher;
use vrs_domain::{DoseRecord, MunicipalityCode};

use super::certificates::refresh_person_tx;
use super::doses::{insert_answer, insert_dose};
use super::{chained, insert_audit, insert_audits, lock_head, save_head};
use crate::certificates::person_index;
use crate::{
    rows, AuditEntry, AuditRecord, AuditScope, IdempotentAnswer, Registration, StoreError,
};

/// The most registrations committed together.
const GROUP: usize = 256;
/// How long a group may take from its first statement to its commit's answer. A commit that waits
/// longer (on a primary cut off from its synchronous standby during a failover) is given up: its
/// callers are told the database is unavailable and retry with their keys, which find the first
/// registration if it was stored after all. The wait is not cancelled on the server (a cancelled
/// wait for a synchronous standby reports the commit as done though no standby has it); the
/// connection is closed instead.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

struct Job {
    scope: MunicipalityCode,
    registration: Registration,
    audit: AuditEntry,
    /// The area's cipher, which keys the person's certificate index (none: the area has no key,
    /// so no certificate either).
    cipher: Option<Arc<FieldCipher>>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle registrations are queued through; the task ends with the last handle.
#[derive(Clone)]
pub(crate) struct Registrations {
    queue: mpsc::UnboundedSender<Job>,
}

impl Registrations {
    /// `batched`: each of the group's kinds of rows goes in in one statement (not on Citus, where
    /// a statement of one area's row runs whole on the area's shard).
    pub(crate) fn start(pool: Pool, batched: bool) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, batched, jobs));
        Self { queue }
    }

    pub(crate) async fn add(
        &self,
        scope: MunicipalityCode,
        registration: &Registration,
        audit: &AuditEntry,
        cipher: Option<Arc<FieldCipher>>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            scope,
            registration: registration.clone(),
            audit: audit.clone(),
            cipher,
            reply,
        };
        let stopped = || StoreError::Other("the registration writer has stopped".into());
        self.queue.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: Pool, batched: bool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut group = Vec::with_capacity(GROUP);
    while jobs.recv_many(&mut group, GROUP).await > 0 {
        let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(group.len());
        let commit = match pool.get().await {
            Ok(client) => {
                let ran = tokio::time::timeout(
                    COMMIT_TIMEOUT,
                    commit_group(&client, batched, &group, &mut results),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(format!(
                        "no commit within {} s",
                        COMMIT_TIMEOUT.as_secs()
                    )))
                });
                if ran.is_err() {
                    // The transaction may still be open, the connection broken, on a server that
                    // is no longer the primary, or still waiting for a commit: it is closed (which
                    // rolls back what is open) rather than used again.
                    drop(deadpool_postgres::Object::take(client));
                }
                ran
            }
            Err(e) => Err(e.into()),
        };
        for (job, result) in group.drain(..).zip(
            results
                .drain(..)
                .map(Some)
                .chain(std::iter::repeat_with(|| None)),
        ) {
            let answer = match (&commit, result) {
                (_, Some(Err(e))) => Err(e),
                (Err(StoreError::Unavailable(e)), _) => Err(StoreError::Unavailable(e.clone())),
                (Err(e), _) => Err(StoreError::Other(format!("commit failed: {e}"))),
                (Ok(()), Some(Ok(()))) => Ok(()),
                (Ok(()), None) => Err(StoreError::Other("the registration did not run".into())),
            };
            let _ = job.reply.send(answer);
        }
    }
}

/// Runs the group in one transaction in four round trips to the database (tokio-postgres sends the
/// statements given together without waiting for each answer; the server runs them in order):
///
/// 1. `BEGIN`;
/// 2. the idempotency answers, the doses (one statement each for the whole group, `batched`;
///    one per registration on Citus), and the chain heads locked (and, only when a dose was
///    refused, whether its person is in the area);
/// 3. what a registration that did not stand left undone (a replayed key's dose, a refused dose's
///    answer), the audit entries of those that stood chained in memory from each head (one
///    statement, `batched`), the heads
///    moved, and which of those people hold outstanding certificates (usually none; theirs are
///    then brought up to date in the same transaction);
/// 4. `COMMIT` and the standby check.
///
/// Fills in each job's result. A database error fails the whole group (its callers retry with
/// their keys) and leaves the transaction open: the caller closes the connection, which rolls it
/// back.
async fn commit_group(
    c: &deadpool_postgres::Object,
    batched: bool,
    group: &[Job],
    results: &mut Vec<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    c.batch_execute("BEGIN").await?;
    // Each job's scope was checked when it was queued.
    let mut scopes: Vec<AuditScope> = Vec::new();
    for job in group {
        let scope = AuditScope::from(job.scope);
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    // Sent in this order (`join!` first polls its futures in turn), so the heads are locked after
    // the rows, as the store's other writes do: no two writers wait on each other in turn.
    let locks = join_all(scopes.iter().map(|&scope| lock_head(c, scope)));
    let (answers, doses, heads) = if batched {
        let (answers, doses, heads) =
            tokio::join!(insert_answers(c, group), insert_doses(c, group), locks);
        (answers?, doses?, heads)
    } else {
        // On Citus a statement of one area's row runs whole on the area's shard.
        let (answers, doses, heads) = tokio::join!(
            join_all(group.iter().map(|job| async move {
                match &job.registration.answer {
                    Some(a) => insert_answer(c, a).await.map(Some),
                    None => Ok(None),
                }
            })),
            join_all(group.iter().map(|job| {
                let r = &job.registration;
                insert_dose(c, job.scope, &r.record, &r.recorded_by)
            })),
            locks,
        );
        let answers = answers.into_iter().collect::<Result<Vec<_>, _>>()?;
        let doses = doses
            .into_iter()
            .map(|dose| match dose {
                Err(e @ (StoreError::Other(_) | StoreError::Unavailable(_))) => Err(e),
                dose => Ok(dose),
            })
            .collect::<Result<Vec<_>, _>>()?;
        (answers, doses, heads)
    };
    let mut locked: HashMap<&str, (i64, [u8; 32])> = HashMap::new();
    for (scope, head) in scopes.iter().zip(heads) {
        locked.insert(scope.code(), head?);
    }
    // A key already used refuses its registration (its first answer is given again); a refused
    // dose refuses its own. Either way what the other statement wrote is taken back.
    let mut outcome: Vec<Result<(), StoreError>> = Vec::with_capacity(group.len());
    let mut undone = Vec::new();
    for ((job, answer), dose) in group.iter().zip(answers).zip(doses) {
        outcome.push(match (answer, dose) {
            (Some(false), stored) => {
                if stored.is_ok() {
                    undone.push(Undo::Dose(job));
                }
                Err(StoreError::Replayed)
            }
            (Some(true), Err(refused)) => {
                undone.push(Undo::Answer(job));
                Err(refused)
            }
            (None, Err(refused)) => Err(refused),
            (_, Ok(())) => Ok(()),
        });
    }
    let mut records = Vec::new();
    for (job, ok) in group.iter().zip(&outcome) {
        if ok.is_ok() {
            let scope = AuditScope::from(job.scope);
            let head = locked.get_mut(scope.code()).ok_or_else(|| {
                StoreError::Other(format!("the head of {} was not locked", scope.code()))
            })?;
            let record = chained(scope, *head, &job.audit);
            *head = (record.seq, record.hash);
            records.push(record);
        }
    }
    let moved: Vec<&AuditRecord> = scopes
        .iter()
        .filter_map(|scope| records.iter().rev().find(|r| r.scope == *scope))
        .collect();
    let (undo, written, saved, holders) = tokio::join!(
        join_all(undone.iter().map(|u| u.run(c))),
        async {
            if batched {
                insert_audits(c, &records).await
            } else {
                join_all(records.iter().map(|r| insert_audit(c, r)))
                    .await
                    .into_iter()
                    .collect()
            }
        },
        join_all(moved.iter().map(|r| save_head(c, r))),
        certificate_holders(c, group, &outcome),
    );
    written?;
    for done in undo.into_iter().chain(saved) {
        done?;
    }
    refresh_certificates(c, &holders?).await?;
    let (committed, standby) = tokio::join!(c.batch_execute("COMMIT"), super::confirm_standby(c));
    committed?;
    standby?;
    results.extend(outcome);
    Ok(())
}

/// What a registration that did not stand takes back of what it wrote in its group.
enum Undo<'a> {
    /// The dose of a replayed key (the key's first registration stands).
    Dose(&'a Job),
    /// The idempotency answer of a refused dose.
    Answer(&'a Job),
}

impl Undo<'_> {
    async fn run(&self, c: &deadpool_postgres::Client) -> Result<(), StoreError> {
        match self {
            Undo::Dose(job) => {
                let dose = &job.registration.record.dose;
                let stmt = c
                    .prepare_cached(
                        "DELETE FROM doses WHERE municipality_code = $1 AND atena_number = $2 \
                         AND dose_number = $3",
                    )
                    .await?;
                c.execute(
                    &stmt,
                    &[
                        &job.scope.as_str(),
                        &dose.atena.as_str(),
                        &i16::from(dose.dose_number),
                    ],
                )
                .await?;
            }
            Undo::Answer(job) => {
                let Some(a) = &job.registration.answer else {
                    return Ok(());
                };
                let stmt = c
                    .prepare_cached(
                        "DELETE FROM idempotency_keys WHERE municipality_code = $1 AND user_id = $2 \
                         AND idempotency_key = $3",
                    )
                    .await?;
                c.execute(&stmt, &[&a.site.as_str(), &a.user_id.as_str(), &a.key])
                    .await?;
            }
        }
        Ok(())
    }
}

/// Those given a dose in this group who hold outstanding certificates (one query; usually none).
async fn certificate_holders<'a>(
    c: &deadpool_postgres::Client,
    group: &'a [Job],
    outcome: &[Result<(), StoreError>],
) -> Result<Vec<(&'a Job, &'a FieldCipher)>, StoreError> {
    let people: Vec<(&Job, &FieldCipher, Vec<u8>)> = group
        .iter()
        .zip(outcome)
        .filter(|(_, ok)| ok.is_ok())
        .filter_map(|(job, _)| {
            let cipher = job.cipher.as_deref()?;
            let index = person_index(&job.registration.record.dose.atena, cipher);
            Some((job, cipher, index.to_vec()))
        })
        .collect();
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let areas: Vec<&str> = people.iter().map(|(j, _, _)| j.scope.as_str()).collect();
    let indexes: Vec<&[u8]> = people.iter().map(|(_, _, i)| i.as_slice()).collect();
    let stmt = c
        .prepare_cached(
            "SELECT DISTINCT person_index FROM certificate_issues \
             WHERE municipality_code = ANY($1) AND person_index = ANY($2) AND status <> 'revoked'",
        )
        .await?;
    let found: HashSet<Vec<u8>> = c
        .query(&stmt, &[&areas, &indexes])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(people
        .into_iter()
        .filter(|(_, _, index)| found.contains(index))
        .map(|(job, cipher, _)| (job, cipher))
        .collect())
}

/// The certificates of `holders`, marked superseded where they no longer state every dose (after
/// the doses, their audit entries and the moved heads, so the change's entry follows the
/// registration's in the chain).
async fn refresh_certificates(
    c: &deadpool_postgres::Client,
    holders: &[(&Job, &FieldCipher)],
) -> Result<(), StoreError> {
    for (job, cipher) in holders {
        let atena = &job.registration.record.dose.atena;
        refresh_person_tx(c, cipher, job.scope, atena, &job.audit).await?;
    }
    Ok(())
}

/// The group's idempotency answers in one statement: for each job, whether its key was free
/// (`None`: the job has no key). A key given twice in the group is the first's, as it would be
/// had they come one after another (the statement inserts in the group's order).
async fn insert_answers(
    c: &deadpool_postgres::Client,
    group: &[Job],
) -> Result<Vec<Option<bool>>, StoreError> {
    let answers: Vec<&IdempotentAnswer> = group
        .iter()
        .filter_map(|job| job.registration.answer.as_ref())
        .collect();
    let mut free: HashSet<(String, String, String)> = HashSet::new();
    if !answers.is_empty() {
        let stmt = c
            .prepare_cached(
                "INSERT INTO idempotency_keys (municipality_code, user_id, idempotency_key, request_hash, \
                 status, body, created_at) \
                 SELECT *, now() FROM unnest($1::bpchar[], $2::text[], $3::text[], $4::bytea[], $5::int2[], \
                 $6::text[]) ON CONFLICT DO NOTHING RETURNING municipality_code, user_id, idempotency_key",
            )
            .await?;
        let sites: Vec<&str> = answers.iter().map(|a| a.site.as_str()).collect();
        let users: Vec<&str> = answers.iter().map(|a| a.user_id.as_str()).collect();
        let keys: Vec<&str> = answers.iter().map(|a| a.key.as_str()).collect();
        let hashes: Vec<&[u8]> = answers.iter().map(|a| a.request_hash.as_slice()).collect();
        let statuses: Vec<i16> = answers.iter().map(|a| a.status as i16).collect();
        let bodies: Vec<&str> = answers.iter().map(|a| a.body.as_str()).collect();
        let params: [&(dyn ToSql + Sync); 6] = [&sites, &users, &keys, &hashes, &statuses, &bodies];
        free = c
            .query(&stmt, &params)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    }
    Ok(group
        .iter()
        .map(|job| {
            let a = job.registration.answer.as_ref()?;
            let key = (a.site.to_string(), a.user_id.to_string(), a.key.clone());
            Some(free.remove(&key))
        })
        .collect())
}

/// The group's doses in one statement, each only if its person is in its area and its dose number
/// is free: for each job, whether it was stored or why not. Of two jobs for one person's same dose
/// number the first is sent and the second refused, as had they come one after another.
async fn insert_doses(
    c: &deadpool_postgres::Client,
    group: &[Job],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let keys: Vec<(&str, &str, i16)> = group
        .iter()
        .map(|job| {
            let dose = &job.registration.record.dose;
            let number = i16::from(dose.dose_number);
            (job.scope.as_str(), dose.atena.as_str(), number)
        })
        .collect();
    let mut first_of: HashMap<(&str, &str, i16), usize> = HashMap::new();
    let sent: Vec<&Job> = (0..group.len())
        .filter(|&i| *first_of.entry(keys[i]).or_insert(i) == i)
        .map(|i| &group[i])
        .collect();
    // The row is selected from the person's own, so a person not in the area stores nothing; the
    // rows go in in the group's order.
    let stmt = c
        .prepare_cached(
            "INSERT INTO doses (municipality_code, atena_number, dose_number, administered_on, product_code, \
             lot_number, site_municipality_code, coupon_number, venue, doctor, recorded_at, source, recorded_by, \
             received_from) \
             SELECT r.municipality_code, r.atena_number, u.n, u.d, u.p, u.l, u.s, u.c, u.v, u.doc, u.at, u.src, \
             u.by, u.rf FROM unnest($1::bpchar[], $2::text[], $3::int2[], $4::date[], $5::text[], $6::text[], \
             $7::bpchar[], $8::bpchar[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[], \
             $14::bpchar[]) WITH ORDINALITY AS u(m, a, n, d, p, l, s, c, v, doc, at, src, by, rf, ord) \
             JOIN residents r ON r.municipality_code = u.m AND r.atena_number = u.a ORDER BY u.ord \
             ON CONFLICT DO NOTHING RETURNING municipality_code, atena_number, dose_number",
        )
        .await?;
    let records: Vec<&DoseRecord> = sent.iter().map(|job| &job.registration.record).collect();
    let column =
        |f: fn(&DoseRecord) -> &str| -> Vec<&str> { records.iter().map(|r| f(r)).collect() };
    let areas: Vec<&str> = sent.iter().map(|job| job.scope.as_str()).collect();
    let numbers: Vec<i16> = records
        .iter()
        .map(|r| i16::from(r.dose.dose_number))
        .collect();
    let days: Vec<NaiveDate> = records.iter().map(|r| r.dose.administered_on).collect();
    let at: Vec<DateTime<Utc>> = records.iter().map(|r| r.recorded_at).collect();
    let by: Vec<&str> = sent
        .iter()
        .map(|job| job.registration.recorded_by.as_str())
        .collect();
    let from: Vec<Option<&str>> = records
        .iter()
        .map(|r| r.received_from.as_ref().map(|m| m.as_str()))
        .collect();
    let (atenas, products, lots) = (
        column(|r| r.dose.atena.as_str()),
        column(|r| r.dose.product.code),
        column(|r| r.dose.lot_number.as_str()),
    );
    let (sites, coupons, venues, doctors, sources) = (
        column(|r| r.dose.site_municipality.as_str()),
        column(|r| r.dose.coupon.as_str()),
        column(|r| &r.venue),
        column(|r| &r.doctor),
        column(|r| r.source.as_str()),
    );
    let params: [&(dyn ToSql + Sync); 14] = [
        &areas, &atenas, &numbers, &days, &products, &lots, &sites, &coupons, &venues, &doctors,
        &at, &sources, &by, &from,
    ];
    let stored: HashSet<(String, String, i16)> = c
        .query(&stmt, &params)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // Whether each job's key came back, looked up once.
    let in_stored: Vec<bool> = keys
        .iter()
        .map(|&(m, a, n)| stored.contains(&(m.to_owned(), a.to_owned(), n)))
        .collect();
    // A dose not stored is refused because its number is taken or its person is not in the area:
    // which, one more query says (rare: the rules were checked before the registration was queued).
    let refused: Vec<(&str, &str, i16)> = keys
        .iter()
        .zip(&in_stored)
        .filter(|(_, &came_back)| !came_back)
        .map(|(&k, _)| k)
        .collect();
    let known: HashSet<(String, String)> = if refused.is_empty() {
        HashSet::new()
    } else {
        let areas: Vec<&str> = refused.iter().map(|k| k.0).collect();
        let atenas: Vec<&str> = refused.iter().map(|k| k.1).collect();
        let stmt = c
            .prepare_cached(
                "SELECT r.municipality_code, r.atena_number FROM unnest($1::bpchar[], $2::text[]) AS u(m, a) \
                 JOIN residents r ON r.municipality_code = u.m AND r.atena_number = u.a",
            )
            .await?;
        c.query(&stmt, &[&areas, &atenas])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    Ok(keys
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let taken = || {
                Err(rows::dose_conflict(
                    group[i].registration.record.dose.dose_number,
                ))
            };
            if in_stored[i] {
                return if first_of[&k] == i { Ok(()) } else { taken() };
            }
            if known.contains(&(k.0.to_owned(), k.1.to_owned())) {
                taken()
            } else {
                Err(StoreError::NotFound)
            }
        })
        .collect())
}
