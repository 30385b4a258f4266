//! How a measure is taken: an operation run in a loop for a number of seconds after a short
//! warm-up, and the report of each measure's best round.

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::Failure;

/// Operations between two looks at the clock.
const BATCH: u64 = 8;

/// Calls `op` for `seconds` after a warm-up of a tenth of that; operations per second.
fn rate<T>(seconds: f64, mut op: impl FnMut() -> Result<T, Failure>) -> Result<f64, Failure> {
    let warm = Instant::now();
    while warm.elapsed().as_secs_f64() < seconds / 10.0 {
        black_box(op()?);
    }
    let span = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..BATCH {
            black_box(op()?);
        }
        n += BATCH;
        let elapsed = start.elapsed();
        if elapsed >= span {
            return Ok(n as f64 / elapsed.as_secs_f64());
        }
    }
}

/// The measures in the order taken, each with its best round.
pub(super) struct Report {
    pub(super) only: String,
    pub(super) rates: Vec<(String, f64)>,
}

impl Report {
    /// Measures `op` for `seconds` unless `--only` leaves it out.
    pub(super) fn add<T>(
        &mut self,
        name: &str,
        seconds: f64,
        op: impl FnMut() -> Result<T, Failure>,
    ) -> Result<(), Failure> {
        if !name.starts_with(self.only.as_str()) {
            return Ok(());
        }
        let ops = rate(seconds, op)?;
        match self.rates.iter_mut().find(|(n, _)| n == name) {
            Some((_, best)) => *best = best.max(ops),
            None => self.rates.push((name.to_owned(), ops)),
        }
        Ok(())
    }

    /// One line a measure: its best round.
    pub(super) fn print(&self) {
        for (name, ops) in &self.rates {
            println!("{name:<28} {ops:>12.0}");
        }
    }
}
