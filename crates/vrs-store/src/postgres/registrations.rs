//! Group commit of dose registrations on PostgreSQL. Every registration of a municipality extends its
//! audit chain, and the chain's head row is locked until the transaction commits, so registrations
//! one transaction each would queue behind one another's disk waits. Instead one task per process
//! takes every registration waiting (up to [`GROUP`]) into one transaction: it locks each chain head
//! once, writes each registration with as few round trips as it can (a refused one leaves nothing
//! behind: its idempotency answer is removed again), moves the heads, commits once, and then answers
//! each caller. Every acknowledged registration is durable.

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use vrs_domain::MunicipalityCode;

use super::doses::{insert_answer, insert_dose};
use super::{chained, insert_audit, lock_head, save_head};
use crate::{rows, AuditEntry, AuditRecord, AuditScope, Registration, StoreError};

/// The most registrations committed together.
const GROUP: usize = 256;

struct Job {
    scope: MunicipalityCode,
    registration: Registration,
    audit: AuditEntry,
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
    ) -> Result<(), StoreError> {
        rows::check_scope(scope, registration.record.dose.municipality)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            scope,
            registration: registration.clone(),
            audit: audit.clone(),
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
        let mut results: Vec<Option<Result<(), StoreError>>> = Vec::with_capacity(group.len());
        let commit = commit_group(&pool, &group, &mut results).await;
        for (job, result) in group
            .drain(..)
            .zip(results.into_iter().chain(std::iter::repeat_with(|| None)))
        {
            let answer = match (&commit, result) {
                (_, Some(Err(e))) => Err(e),
                (Err(e), _) => Err(StoreError::Other(format!("commit failed: {e}"))),
                (Ok(()), Some(Ok(()))) => Ok(()),
                (Ok(()), None) => Err(StoreError::Other("the registration did not run".into())),
            };
            let _ = job.reply.send(answer);
        }
    }
}

/// The chain heads of the group's municipalities, locked and moved in memory.
type Heads = std::collections::HashMap<String, AuditRecord>;

async fn one(
    tx: &deadpool_postgres::Transaction<'_>,
    job: &Job,
    heads: &mut Heads,
) -> Result<(), StoreError> {
    let r = &job.registration;
    if let Some(answer) = &r.answer {
        if !insert_answer(tx, answer).await? {
            return Err(StoreError::Replayed);
        }
    }
    if let Err(refused) = insert_dose(tx, job.scope, &r.record, &r.recorded_by).await {
        if let Some(a) = &r.answer {
            let undo = tx
                .prepare_cached(
                    "DELETE FROM idempotency_keys WHERE municipality_code = $1 AND user_id = $2 \
                     AND idempotency_key = $3",
                )
                .await?;
            tx.execute(&undo, &[&a.site.as_str(), &a.user_id, &a.key])
                .await?;
        }
        return Err(refused);
    }
    let scope = AuditScope::from(job.scope);
    let head = match heads.get(scope.code()) {
        Some(last) => (last.seq, last.hash),
        None => lock_head(tx, scope).await?,
    };
    let record = chained(scope, head, &job.audit);
    insert_audit(tx, &record).await?;
    heads.insert(scope.code().to_owned(), record);
    Ok(())
}

async fn commit_group(
    pool: &Pool,
    group: &[Job],
    results: &mut Vec<Option<Result<(), StoreError>>>,
) -> Result<(), String> {
    let mut client = pool.get().await.map_err(|e| e.to_string())?;
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    let mut heads = Heads::new();
    for job in group {
        match one(&tx, job, &mut heads).await {
            // A database error aborts the transaction: the whole group fails, and its callers
            // retry with their idempotency keys.
            Err(StoreError::Other(e)) => return Err(e),
            result => results.push(Some(result)),
        }
    }
    for record in heads.values() {
        save_head(&tx, record).await.map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
