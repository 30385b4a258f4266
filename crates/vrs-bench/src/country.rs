//! The country's shape: how many of N synthetic people live in each of the 1,741 municipalities.
//!
//! The master list holds 1,747 municipalities (市町村 and Tokyo's 特別区); six of them are the
//! villages of the Northern Territories (016951–017001), which have codes and no residents, so the
//! country is the other 1,741. The master list has no populations, so the weights are:
//!
//! - the 20 designated cities (政令指定都市) pinned at their 2020 census populations, rounded to
//!   thousands (横浜市 3,777 k … 静岡市 693 k, [`DESIGNATED`]);
//! - Tokyo's 23 special wards sharing their 2020 census total (9,733 k);
//! - the rest of the 2020 census total (126,146 k) shared by the other cities, towns and villages
//!   with relative means of 1 : 0.13 : 0.04 (about 100 k a city, 13 k a town, 4 k a village — an
//!   assumption of this model, close to the census's split between 市 and 町村);
//! - within each class, a log-normal spread (σ = 0.9) drawn from the municipality's code, so the
//!   shape is the same in every run and does not depend on the people's seed. Its tail is heavier
//!   than the census's: 16 areas of a million or more at the census's size, against 11.
//!
//! [`apportion`] scales the weights to N by largest remainders, at least one person an area.

use vrs_domain::{master_list, MunicipalityCode, MunicipalityKind};

use crate::mix;

/// The designated cities and their 2020 census populations, thousands.
pub const DESIGNATED: [(&str, u32); 20] = [
    ("横浜市", 3_777),
    ("大阪市", 2_752),
    ("名古屋市", 2_332),
    ("札幌市", 1_973),
    ("福岡市", 1_612),
    ("川崎市", 1_538),
    ("神戸市", 1_525),
    ("京都市", 1_464),
    ("さいたま市", 1_324),
    ("広島市", 1_201),
    ("仙台市", 1_097),
    ("千葉市", 975),
    ("北九州市", 939),
    ("堺市", 826),
    ("浜松市", 791),
    ("新潟市", 789),
    ("熊本市", 739),
    ("相模原市", 725),
    ("岡山市", 725),
    ("静岡市", 693),
];

/// 2020 census totals, thousands: Japan, and Tokyo's special wards.
const JAPAN: f64 = 126_146.0;
const SPECIAL_WARDS: f64 = 9_733.0;
/// Relative mean sizes of a city, a town and a village outside the pinned groups.
const CITY: f64 = 1.0;
const TOWN: f64 = 0.13;
const VILLAGE: f64 = 0.04;
const SIGMA: f64 = 0.9;

/// The villages of the Northern Territories: codes without residents.
fn unpopulated(code: &str) -> bool {
    ("016951"..="017001").contains(&code)
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Designated(f64),
    SpecialWard,
    City,
    Town,
    Village,
}

fn class_of(name: &str, code: &str) -> Class {
    if let Some((_, k)) = DESIGNATED.iter().find(|(n, _)| *n == name) {
        return Class::Designated(f64::from(*k));
    }
    if code.starts_with("13") && name.ends_with('区') {
        return Class::SpecialWard;
    }
    if name.ends_with('村') {
        Class::Village
    } else if name.ends_with('町') {
        Class::Town
    } else {
        Class::City
    }
}

/// A standard normal draw from the code (Box–Muller over two hashes).
fn normal(code: u64) -> f64 {
    let unit = |x: u64| ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (u, v) = (unit(mix(code)), unit(mix(code ^ 0x5EED)));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Every populated municipality with its weight (thousands of people in the census-sized country).
pub fn weights() -> Vec<(MunicipalityCode, f64)> {
    let areas: Vec<_> = master_list()
        .iter()
        .filter(|m| m.kind == MunicipalityKind::Municipality && !unpopulated(m.code.as_str()))
        .map(|m| {
            let code: u64 = m.code.as_str().parse().unwrap_or(0);
            let spread = (SIGMA * normal(code) - SIGMA * SIGMA / 2.0).exp();
            (m.code, class_of(m.name, m.code.as_str()), spread)
        })
        .collect();
    let sum = |c: Class| -> f64 {
        areas
            .iter()
            .filter(|a| a.1 == c)
            .map(|a| a.2 * relative(c))
            .sum()
    };
    let pinned: f64 = DESIGNATED.iter().map(|(_, k)| f64::from(*k)).sum();
    let rest = JAPAN - pinned - SPECIAL_WARDS;
    let others = sum(Class::City) + sum(Class::Town) + sum(Class::Village);
    let wards = sum(Class::SpecialWard);
    areas
        .into_iter()
        .map(|(code, class, spread)| {
            let w = match class {
                Class::Designated(k) => k,
                Class::SpecialWard => SPECIAL_WARDS * spread / wards,
                c => rest * spread * relative(c) / others,
            };
            (code, w)
        })
        .collect()
}

fn relative(c: Class) -> f64 {
    match c {
        Class::Town => TOWN,
        Class::Village => VILLAGE,
        _ => CITY,
    }
}

/// `n` people over the populated municipalities in proportion to [`weights`] (largest remainders),
/// each at least one person; the counts add up to `n` (at least one a municipality, so `n` is
/// raised to the number of municipalities if below it).
pub fn apportion(n: u64) -> Vec<(MunicipalityCode, u64)> {
    let w = weights();
    let n = n.max(w.len() as u64);
    let total: f64 = w.iter().map(|(_, x)| x).sum();
    let spare = n - w.len() as u64;
    let mut counts: Vec<(MunicipalityCode, u64, f64)> = w
        .iter()
        .map(|&(code, x)| {
            let exact = spare as f64 * x / total;
            (code, 1 + exact.floor() as u64, exact.fract())
        })
        .collect();
    let given: u64 = counts.iter().map(|c| c.1).sum();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].2.total_cmp(&counts[a].2).then(a.cmp(&b)));
    for &i in order.iter().cycle().take(n.saturating_sub(given) as usize) {
        counts[i].1 += 1;
    }
    counts.into_iter().map(|(code, k, _)| (code, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> MunicipalityCode {
        master_list()
            .iter()
            .find(|m| m.name == name && m.kind == MunicipalityKind::Municipality)
            .map(|m| m.code)
            .unwrap()
    }

    #[test]
    fn the_country_is_1741_valid_municipalities_adding_up_to_n() {
        for n in [1_741, 100_000, 10_000_000] {
            let counts = apportion(n);
            assert_eq!(counts.len(), 1_741);
            assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), n);
            assert!(counts.iter().all(|c| c.1 >= 1));
            let codes: std::collections::BTreeSet<_> = counts.iter().map(|c| c.0).collect();
            assert_eq!(codes.len(), 1_741, "a municipality twice");
            for (code, _) in &counts {
                assert!(MunicipalityCode::has_valid_check_digit(code.as_str()));
                assert_eq!(code.info().kind, MunicipalityKind::Municipality);
                assert!(!unpopulated(code.as_str()));
            }
        }
    }

    #[test]
    fn the_same_n_gives_the_same_country() {
        assert_eq!(apportion(2_500_000), apportion(2_500_000));
    }

    #[test]
    fn the_shape_is_skewed_like_the_census() {
        let counts = apportion(126_146_000);
        let of = |name| counts.iter().find(|c| c.0 == named(name)).unwrap().1;
        // Pinned cities keep their census size (within rounding).
        assert!((of("横浜市") as i64 - 3_777_000).abs() < 1_000);
        assert!((of("静岡市") as i64 - 693_000).abs() < 1_000);
        // Every designated city found by name.
        for (name, _) in DESIGNATED {
            named(name);
        }
        // A few areas of millions, hundreds of a few thousand. The census has 11 of a million or
        // more (all designated cities); the log-normal tail of the other cities adds a few (16 in
        // all at the census's size).
        let millions = counts.iter().filter(|c| c.1 >= 1_000_000).count();
        let small = counts.iter().filter(|c| c.1 < 10_000).count();
        assert!(
            (11..=20).contains(&millions),
            "{millions} areas of a million"
        );
        assert!(small >= 300, "{small} areas under 10,000");
        let largest_town = counts
            .iter()
            .filter(|c| c.0.info().name.ends_with('村'))
            .map(|c| c.1)
            .max()
            .unwrap();
        assert!(largest_town < of("静岡市"));
    }
}
