//! Limits on work a stranger can make the server do: a fixed-window rate limit per client address,
//! and the bounded pool that decodes uploaded pictures off the async workers with a deadline.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// At most `per_window` requests per address in each `window`; beyond that, the seconds to wait.
pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// The most addresses remembered before the ones whose window has passed are forgotten.
const REMEMBERED: usize = 10_000;

impl RateLimiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `client` at `now`: `Ok`, or `Err(seconds)` to wait before the next.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut seen) = self.seen.lock() else {
            return Ok(());
        };
        if seen.len() >= REMEMBERED {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Why a job on the bounded pool gave no result.
#[derive(Debug, PartialEq, Eq)]
pub enum PoolRefusal {
    /// Every slot is taken (by jobs still running, perhaps past their deadline).
    Busy,
    /// The job ran past its deadline; it is left to finish on its own thread, holding its slot.
    TooLong,
}

/// Runs CPU-heavy jobs on their own threads, at most `slots` at a time, waiting for each at most a
/// deadline. A job past its deadline is abandoned, not stopped — it keeps its slot until it ends,
/// so abandoned jobs can never pile up beyond `slots` — and since the thread is detached, neither
/// a response nor the server's shutdown ever waits on it.
#[derive(Clone)]
pub struct BoundedPool {
    slots: Arc<Semaphore>,
    deadline: Duration,
}

impl BoundedPool {
    pub fn new(slots: usize, deadline: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            deadline,
        }
    }

    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolRefusal> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolRefusal::Busy)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("vrs-decode".into())
            .spawn(move || {
                let out = job();
                drop(permit);
                let _ = tx.send(out);
            });
        if spawned.is_err() {
            return Err(PoolRefusal::Busy);
        }
        match tokio::time::timeout(self.deadline, rx).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(_)) | Err(_) => Err(PoolRefusal::TooLong),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_address_gets_its_share_per_window_and_then_a_wait() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(a, t0), Ok(()));
        }
        let wait = limiter.check(a, t0 + Duration::from_secs(20)).unwrap_err();
        assert!((39..=40).contains(&wait), "{wait}");
        assert_eq!(limiter.check(b, t0), Ok(()));
        assert_eq!(limiter.check(a, t0 + Duration::from_secs(60)), Ok(()));
    }

    #[tokio::test]
    async fn a_job_past_its_deadline_is_abandoned_and_keeps_its_slot() {
        let pool = BoundedPool::new(1, Duration::from_millis(100));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let slow = pool.run(move || {
            let _ = wait.recv();
            1
        });
        assert_eq!(slow.await, Err(PoolRefusal::TooLong));
        // Its slot is still taken while it runs; then free again.
        assert_eq!(pool.run(|| 2).await, Err(PoolRefusal::Busy));
        release.send(()).unwrap();
        for _ in 0..50 {
            if let Ok(v) = pool.run(|| 3).await {
                assert_eq!(v, 3);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the slot was never given back");
    }
}
