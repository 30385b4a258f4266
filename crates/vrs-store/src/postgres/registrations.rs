//! Group commit of dose registrations on PostgreSQL. Every registration of a municipality extends its
//! audit chain, and the chain's head row is locked until the transaction commits, so registrations
//! one transaction each would queue behind one another's disk waits. Instead one task per process
//! takes every registration waiting (up to [`GROUP`]), runs each in its own savepoint inside one
//! transaction, commits once, and then answers each caller: a failed registration is rolled back to
//! its savepoint alone, and every acknowledged one is durable.

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use vrs_domain::MunicipalityCode;

use super::append_audit_tx;
use super::doses::{insert_answer, insert_dose};
use crate::{rows, AuditEntry, Registration, StoreError};

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

async fn one(tx: &deadpool_postgres::Transaction<'_>, job: &Job) -> Result<(), StoreError> {
    let r = &job.registration;
    if let Some(answer) = &r.answer {
        if !insert_answer(tx, answer).await? {
            return Err(StoreError::Replayed);
        }
    }
    insert_dose(tx, job.scope, &r.record, &r.recorded_by).await?;
    append_audit_tx(tx, job.scope.into(), &job.audit).await?;
    Ok(())
}

async fn commit_group(
    pool: &Pool,
    group: &[Job],
    results: &mut Vec<Option<Result<(), StoreError>>>,
) -> Result<(), String> {
    let mut client = pool.get().await.map_err(|e| e.to_string())?;
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    for job in group {
        tx.batch_execute("SAVEPOINT job")
            .await
            .map_err(|e| e.to_string())?;
        let result = one(&tx, job).await;
        let undo = if result.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        tx.batch_execute(undo).await.map_err(|e| e.to_string())?;
        results.push(Some(result));
    }
    tx.commit().await.map_err(|e| e.to_string())
}
