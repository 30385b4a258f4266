//! Group commit of dose registrations on PostgreSQL. Every registration of a municipality extends its
//! audit chain, and the chain's head row is locked until the transaction commits, so registrations
//! one transaction each would queue behind one another's disk waits. Instead one task per process
//! takes every registration waiting (up to [`GROUP`]) into one transaction: it writes them in three
//! pipelined waves (a refused registration leaves nothing behind: its idempotency answer is removed
//! again), locks each chain head once and moves it in memory, commits once, and then answers each
//! caller. Every acknowledged registration is durable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::Pool;
use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};
use vrs_crypto::FieldCipher;
use vrs_domain::MunicipalityCode;

use super::certificates::refresh_person_tx;
use super::doses::{insert_answer, insert_dose};
use super::{chained, insert_audit, lock_head, save_head};
use crate::certificates::person_index;
use crate::{AuditEntry, AuditRecord, AuditScope, Registration, StoreError};

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
    pub(crate) fn start(pool: Pool) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, jobs));
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

async fn run(pool: Pool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut group = Vec::with_capacity(GROUP);
    while jobs.recv_many(&mut group, GROUP).await > 0 {
        let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(group.len());
        let commit = match pool.get().await {
            Ok(mut client) => {
                let ran = tokio::time::timeout(
                    COMMIT_TIMEOUT,
                    commit_group(&mut client, &group, &mut results),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(format!(
                        "no commit within {} s",
                        COMMIT_TIMEOUT.as_secs()
                    )))
                });
                if matches!(ran, Err(StoreError::Unavailable(_))) {
                    // The connection may be broken, on a server that is no longer the primary, or
                    // still waiting for a commit: it is closed rather than used again.
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

/// Runs the group in one transaction, in three waves of pipelined statements (tokio-postgres sends
/// the statements of a wave without waiting for each answer; the server runs them in order):
/// idempotency answers, then doses, then audit entries of the registrations that stood; then one
/// query finds which of those people hold outstanding certificates (usually none), and only theirs
/// are brought up to date, in the same transaction. Fills in each job's result; a database error
/// fails the whole group (its callers retry with their keys).
async fn commit_group(
    client: &mut deadpool_postgres::Object,
    group: &[Job],
    results: &mut Vec<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    // Each job's scope was checked when it was queued.
    let mut outcome: Vec<Result<(), StoreError>> = group.iter().map(|_| Ok(())).collect();
    // Wave 1: the idempotency answers; a key already used refuses its registration.
    let answers = join_all(group.iter().zip(&outcome).map(|(job, ok)| {
        let tx = &tx;
        async move {
            match (&job.registration.answer, ok) {
                (Some(a), Ok(())) => insert_answer(tx, a).await.map(Some),
                _ => Ok(None),
            }
        }
    }))
    .await;
    for (i, inserted) in answers.into_iter().enumerate() {
        if inserted? == Some(false) {
            outcome[i] = Err(StoreError::Replayed);
        }
    }
    // Wave 2: the doses; a refused one gives its answer back.
    let doses = join_all(group.iter().zip(&outcome).map(|(job, ok)| {
        let tx = &tx;
        async move {
            let r = &job.registration;
            match ok {
                Ok(()) => Some(insert_dose(tx, job.scope, &r.record, &r.recorded_by).await),
                Err(_) => None,
            }
        }
    }))
    .await;
    for (i, result) in doses.into_iter().enumerate() {
        match result {
            Some(Err(e @ (StoreError::Other(_) | StoreError::Unavailable(_)))) => return Err(e),
            Some(Err(refused)) => {
                if let Some(a) = &group[i].registration.answer {
                    let undo = tx
                        .prepare_cached(
                            "DELETE FROM idempotency_keys WHERE municipality_code = $1 AND user_id = $2 \
                             AND idempotency_key = $3",
                        )
                        .await?;
                    tx.execute(&undo, &[&a.site.as_str(), &a.user_id.as_str(), &a.key])
                        .await?;
                }
                outcome[i] = Err(refused);
            }
            Some(Ok(())) | None => {}
        }
    }
    // Wave 3: the audit entries, chained in memory from each head locked once.
    let mut heads: HashMap<String, AuditRecord> = HashMap::new();
    let mut records = Vec::new();
    for (job, ok) in group.iter().zip(&outcome) {
        if ok.is_err() {
            continue;
        }
        let scope = AuditScope::from(job.scope);
        let head = match heads.get(scope.code()) {
            Some(last) => (last.seq, last.hash),
            None => lock_head(&tx, scope).await?,
        };
        let record = chained(scope, head, &job.audit);
        heads.insert(scope.code().to_owned(), record.clone());
        records.push(record);
    }
    for written in join_all(records.iter().map(|r| insert_audit(&tx, r))).await {
        written?;
    }
    for record in heads.values() {
        save_head(&tx, record).await?;
    }
    refresh_certificates(&tx, group, &outcome).await?;
    tx.commit().await?;
    super::confirm_standby(&*client).await?;
    results.extend(outcome);
    Ok(())
}

/// The certificates of the people given a dose in this group, marked superseded where they no
/// longer state every dose (after the doses and their audit entries, so the change's entry
/// follows the registration's in the chain).
async fn refresh_certificates(
    tx: &impl deadpool_postgres::GenericClient,
    group: &[Job],
    outcome: &[Result<(), StoreError>],
) -> Result<(), StoreError> {
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
        return Ok(());
    }
    let areas: Vec<&str> = people.iter().map(|(j, _, _)| j.scope.as_str()).collect();
    let indexes: Vec<&[u8]> = people.iter().map(|(_, _, i)| i.as_slice()).collect();
    let stmt = tx
        .prepare_cached(
            "SELECT DISTINCT person_index FROM certificate_issues \
             WHERE municipality_code = ANY($1) AND person_index = ANY($2) AND status <> 'revoked'",
        )
        .await?;
    let found: HashSet<Vec<u8>> = tx
        .query(&stmt, &[&areas, &indexes])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (job, cipher, index) in &people {
        if found.contains(index) {
            let atena = &job.registration.record.dose.atena;
            refresh_person_tx(tx, cipher, job.scope, atena, &job.audit).await?;
        }
    }
    Ok(())
}
