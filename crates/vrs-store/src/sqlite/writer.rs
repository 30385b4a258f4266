//! The SQLite writer: one thread owns the write connection and commits writes in groups. A commit
//! in WAL mode with `synchronous=FULL` waits for the disk (fsync); committing every waiting write in
//! one transaction pays that wait once for all of them. Each write runs inside its own savepoint,
//! so a write that fails is undone alone and the others of its group still commit; every caller
//! hears its result only after the group's commit is durable.

use std::sync::mpsc;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::keyring::Keyring;
use crate::StoreError;

/// The most writes committed together.
const GROUP: usize = 512;

/// One write waiting for the writer thread.
trait Job: Send {
    /// Runs inside the group's transaction; true when it succeeded (its savepoint is kept).
    fn run(&mut self, conn: &Connection, keyring: &Keyring) -> bool;
    /// Hands the caller its result once the group is committed, or the commit's failure.
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct Typed<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection, keyring: &Keyring) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(conn, keyring);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let result = match (commit, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(StoreError::Other(format!("commit failed: {e}"))),
            (Ok(()), Some(ok)) => ok,
            (Ok(()), None) => Err(StoreError::Other("the write did not run".into())),
        };
        // The caller may have gone (a cancelled request); its write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// The handle the store writes through; the thread ends when the last handle is dropped.
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub(crate) fn start(conn: Connection, keyring: Arc<Keyring>) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("vrs-sqlite-writer".into())
            .spawn(move || run(conn, &keyring, &jobs))
            .map_err(|e| StoreError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue })
    }

    /// Runs `work` in the writer's transaction and returns its result once committed.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Keyring) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Typed {
            work: Some(work),
            result: None,
            reply,
        };
        self.queue
            .send(Box::new(job))
            .map_err(|_| StoreError::Other("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Other("the writer thread has stopped".into()))?
    }
}

fn run(conn: Connection, keyring: &Keyring, jobs: &mpsc::Receiver<Box<dyn Job>>) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(GROUP);
    while let Ok(first) = jobs.recv() {
        group.push(first);
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let commit = commit_group(&conn, keyring, &mut group, jobs);
        for job in group.drain(..) {
            job.finish(commit.clone());
        }
    }
}

/// Runs the group's writes and commits them. Writes that arrive while the group runs join it
/// before the commit (up to [`GROUP`]): the group grows with the load without waiting for it.
fn commit_group(
    conn: &Connection,
    keyring: &Keyring,
    group: &mut Vec<Box<dyn Job>>,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
) -> Result<(), String> {
    // The transaction and savepoint statements are cached statements, prepared once for the
    // connection instead of parsed again for every write.
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
    };
    run("BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    let mut next = 0;
    loop {
        if next == group.len() {
            if group.len() == GROUP {
                break;
            }
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let job = &mut group[next];
        next += 1;
        let step = run("SAVEPOINT job").and_then(|()| {
            // A write that panics fails alone; the thread and the others of the group go on.
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn, keyring)));
            if !ran.unwrap_or(false) {
                run("ROLLBACK TO job")?;
            }
            run("RELEASE job")
        });
        if let Err(e) = step {
            let _ = run("ROLLBACK");
            return Err(e.to_string());
        }
    }
    run("COMMIT").map_err(|e| {
        let _ = run("ROLLBACK");
        e.to_string()
    })
}
