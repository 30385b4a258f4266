//! Shared parts of the benchmark drivers: loading synthetic areas through the store's bulk paths
//! ([`load`]), the country's shape over the master list ([`country`]) and signing in to a running
//! server ([`web`]).

pub mod country;
pub mod load;
pub mod web;

pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A 64-bit mix (SplitMix64's finaliser): the same input gives the same output on every machine,
/// which keeps the country's shape and the lookup samples reproducible without a random source.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `p` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
