//! Reads sent to the blocking pool wait for a reader without holding a thread: under a burst of
//! requests the pool grows by at most one thread per reader, not one per waiting read (each
//! thread would keep its stack and its share of the allocator's memory after the burst).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vrs_crypto::MasterKey;

use super::{SqliteStore, READERS};

/// The runtime's own threads (workers and blocking pool) carry this name.
const NAME: &str = "vrs-read-slots";

fn threads_named(name: &str) -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn a_burst_of_reads_grows_the_pool_by_the_readers_only() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(NAME)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("vrs.db");
    runtime.block_on(async {
        let master = MasterKey::generate().expect("a key");
        let store = SqliteStore::open(&path, master, true)
            .await
            .expect("the store");
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reads: Vec<_> = (0..64)
            .map(|_| {
                let (store, running, peak) = (store.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    store
                        .read(move |conn, _| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        // While the reads queue (64 of 20 ms on 4 readers: about 320 ms), count the threads.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let during = threads_named(NAME);
        for read in reads {
            read.await.expect("the task").expect("the read");
        }
        // Two workers, the pool's threads for the reads (a read's slot is free a moment before
        // its thread is idle again, so the next read may start one more), one that opened the
        // store. One thread per waiting read would be 64 more.
        assert!(
            during <= 2 + 2 * READERS + 1,
            "{during} threads of the runtime while 64 reads waited for {READERS} readers"
        );
        assert_eq!(
            peak.load(Ordering::SeqCst),
            READERS,
            "every reader was used"
        );
    });
}
