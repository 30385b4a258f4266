//! Limits on work a stranger can make the server do: a fixed-window rate limit per client address,
//! the sign-in guard, and the bounded pool that decodes uploaded pictures off the async workers
//! with a deadline.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// At most `per_window` requests per key (a client address, an account) in each `window`; beyond
/// that, the seconds to wait.
pub struct RateLimiter<K = IpAddr> {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

/// The most addresses remembered before the ones whose window has passed are forgotten.
const REMEMBERED: usize = 10_000;

impl<K: std::hash::Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The seconds `client` must wait before its next request counts, without counting one.
    pub fn wait(&self, client: K, now: Instant) -> Option<u64> {
        let seen = self.seen.lock().ok()?;
        let (start, count) = *seen.get(&client)?;
        let elapsed = now.duration_since(start);
        (elapsed < self.window && count >= self.per_window)
            .then(|| self.window.saturating_sub(elapsed).as_secs().max(1))
    }

    /// Counts a request from `client` at `now`: `Ok`, or `Err(seconds)` to wait before the next.
    pub fn check(&self, client: K, now: Instant) -> Result<(), u64> {
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

/// How sign-in attempts are limited beyond what the accounts themselves count. Failed sign-ins per
/// client address: at most [`LoginGuard::FAILURES_PER_ADDRESS`] in 15 minutes, then 429 until the
/// window ends. A user ID that no account has gets the very back-off an account gets (in memory,
/// per node), so that neither the answers nor their timing tell which user IDs exist.
pub struct LoginGuard {
    failures: RateLimiter<IpAddr>,
    unknown: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginGuard {
    pub const FAILURES_PER_ADDRESS: u32 = 50;

    pub fn new() -> Self {
        Self {
            failures: RateLimiter::new(Self::FAILURES_PER_ADDRESS, Duration::from_secs(15 * 60)),
            unknown: Mutex::new(HashMap::new()),
        }
    }

    /// The key an unknown user ID is remembered by: at most 64 characters of it.
    fn key(user_id: &str) -> String {
        user_id.chars().take(64).collect()
    }

    /// The seconds to wait before `client` may try `user_id` (an unknown one's back-off, or the
    /// address's failures), or `None` to go on.
    pub fn wait(&self, client: IpAddr, user_id: &str, now: Instant) -> Option<u64> {
        let unknown = self.unknown.lock().ok().and_then(|map| {
            map.get(&Self::key(user_id))
                .and_then(|(_, until)| *until)
                .filter(|until| *until > now)
                .map(|until| until.duration_since(now).as_secs().max(1))
        });
        unknown.or_else(|| self.failures.wait(client, now))
    }

    /// Counts a failed sign-in from `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let _ = self.failures.check(client, now);
    }

    /// Counts a failure for a user ID no account has; the wait that now starts, if any.
    pub fn unknown_failed(
        &self,
        user_id: &str,
        policy: &vrs_core::accounts::LoginPolicy,
        now: Instant,
    ) -> Option<Duration> {
        let mut map = self.unknown.lock().ok()?;
        if map.len() >= REMEMBERED {
            map.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        let entry = map.entry(Self::key(user_id)).or_insert((0, None));
        entry.0 = entry.0.saturating_add(1);
        let wait = vrs_core::accounts::backoff(policy, entry.0).and_then(|w| w.to_std().ok())?;
        entry.1 = Some(now + wait);
        Some(wait)
    }
}

/// What one site account's coupon reads look like in the current hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub reads: u32,
    /// Reads that found no usable coupon.
    pub unknown: u32,
    /// Reads refused by the rate limit.
    pub limited: u32,
}

impl ReadStats {
    /// Unusual: the account hit the rate limit, or at least 20 reads of which half or more found
    /// no usable coupon — the signs of a tablet walking coupon numbers.
    pub fn unusual(&self) -> bool {
        self.limited > 0 || (self.reads >= 20 && self.unknown * 2 >= self.reads)
    }
}

/// Coupon reads per site account: at most [`CouponWatch::PER_MINUTE`] a minute (a busy site reads
/// one every few seconds), and this hour's counts, for the operator's page of unusual readers.
/// Kept in memory by each node.
pub struct CouponWatch {
    limiter: RateLimiter<String>,
    hour: Mutex<(Instant, HashMap<String, ReadStats>)>,
}

impl Default for CouponWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl CouponWatch {
    pub const PER_MINUTE: u32 = 60;

    pub fn new() -> Self {
        Self {
            limiter: RateLimiter::new(Self::PER_MINUTE, Duration::from_secs(60)),
            hour: Mutex::new((Instant::now(), HashMap::new())),
        }
    }

    fn with_stats(&self, account: &str, now: Instant, change: impl FnOnce(&mut ReadStats)) {
        if let Ok(mut hour) = self.hour.lock() {
            if now.duration_since(hour.0) >= Duration::from_secs(3600) {
                *hour = (now, HashMap::new());
            }
            change(hour.1.entry(account.to_owned()).or_default());
        }
    }

    /// Counts a read by `account`: `Ok`, or `Err(seconds)` to wait (counted as limited).
    pub fn admit(&self, account: &str, now: Instant) -> Result<(), u64> {
        let admitted = self.limiter.check(account.to_owned(), now);
        self.with_stats(account, now, |s| match admitted {
            Ok(()) => s.reads += 1,
            Err(_) => s.limited += 1,
        });
        admitted
    }

    /// Records that a read by `account` found no usable coupon.
    pub fn unknown(&self, account: &str, now: Instant) {
        self.with_stats(account, now, |s| s.unknown += 1);
    }

    /// This hour's unusual readers, most reads first.
    pub fn unusual(&self) -> Vec<(String, ReadStats)> {
        let Ok(hour) = self.hour.lock() else {
            return Vec::new();
        };
        let mut found: Vec<(String, ReadStats)> = hour
            .1
            .iter()
            .filter(|(_, s)| s.unusual())
            .map(|(a, s)| (a.clone(), *s))
            .collect();
        found.sort_by(|a, b| b.1.reads.cmp(&a.1.reads).then(a.0.cmp(&b.0)));
        found
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
