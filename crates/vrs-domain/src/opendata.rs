//! What the public open data is made of, without IO: the coarse groups it publishes by, and the
//! rule that makes every published figure safe to difference.
//!
//! Open data leaves the system for anyone, every day. Two things keep a small count from being
//! recovered from it:
//!
//! - **Small cells**: a count of 1 to 9 is never published; it stands as `<10`, as in every view
//!   that leaves a municipality ([`crate::statistics`]).
//! - **Rounding to ten**: every published count of 10 or more, and every total, is rounded to the
//!   nearest multiple of [`ROUND_TO`] (half up). A sum or difference of multiples of ten is a
//!   multiple of ten, so no arithmetic on the published figures — one file against another, a
//!   total against its cells, or today's release against yesterday's — can give a count of 1 to 9.
//!   A late registration of three doses moves a published figure by 0 or by 10, never by 3.
//!
//! The groups are coarser than the staff's tables so that daily cells stay large: age in four
//! groups by the programme's schedules, and the vaccine by its maker.

use crate::statistics::{AgeBand, Cell, SUPPRESS_BELOW};
use crate::vaccine::{Manufacturer, VaccineProduct};

/// Every published count is a multiple of this.
pub const ROUND_TO: u64 = 10;

/// A count as published: 0, `<10` for 1–9, or the count rounded to the nearest ten (half up).
pub fn publish_count(n: u64) -> Cell {
    if n > 0 && n < SUPPRESS_BELOW {
        Cell::Small
    } else {
        Cell::Shown(round(n))
    }
}

/// A cell of a suppressed table as published: its mark, or its count rounded to ten. A shown count
/// of 1–9 (which a suppressed table never has) is published as `<10`.
pub fn publish_cell(cell: Cell) -> Cell {
    match cell {
        Cell::Shown(n) => publish_count(n),
        withheld => withheld,
    }
}

/// `n` rounded to the nearest multiple of [`ROUND_TO`], half up.
pub fn round(n: u64) -> u64 {
    n.saturating_add(ROUND_TO / 2) / ROUND_TO * ROUND_TO
}

/// The age groups of the open data (age on the day of the dose): the programme's schedules for
/// infants (6 months–4), children (5–11), everyone from 12, and the elderly (65 and over) whom the
/// campaign reached first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpenAgeGroup {
    A0to4,
    A5to11,
    A12to64,
    A65Plus,
}

impl OpenAgeGroup {
    pub const ALL: [OpenAgeGroup; 4] = [
        OpenAgeGroup::A0to4,
        OpenAgeGroup::A5to11,
        OpenAgeGroup::A12to64,
        OpenAgeGroup::A65Plus,
    ];

    pub fn of(band: AgeBand) -> OpenAgeGroup {
        match band {
            AgeBand::A0to4 => OpenAgeGroup::A0to4,
            AgeBand::A5to11 => OpenAgeGroup::A5to11,
            b if b.is_elderly() => OpenAgeGroup::A65Plus,
            _ => OpenAgeGroup::A12to64,
        }
    }

    /// The stable code stored and published (`0-4`, `5-11`, `12-64`, `65+`).
    pub fn code(self) -> &'static str {
        match self {
            OpenAgeGroup::A0to4 => "0-4",
            OpenAgeGroup::A5to11 => "5-11",
            OpenAgeGroup::A12to64 => "12-64",
            OpenAgeGroup::A65Plus => "65+",
        }
    }

    pub fn parse(code: &str) -> Option<OpenAgeGroup> {
        Self::ALL.into_iter().find(|g| g.code() == code)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            OpenAgeGroup::A0to4 => "0-4歳",
            OpenAgeGroup::A5to11 => "5-11歳",
            OpenAgeGroup::A12to64 => "12-64歳",
            OpenAgeGroup::A65Plus => "65歳以上",
        }
    }
}

/// The product group of the open data: the vaccine's maker (`pfizer`, `moderna`, …), or `other`
/// for a product code outside the catalogue.
pub fn product_group(product_code: &str) -> &'static str {
    VaccineProduct::by_code(product_code).map_or("other", |p| maker_code(p.manufacturer))
}

/// A maker's code in the open data.
pub fn maker_code(m: Manufacturer) -> &'static str {
    match m {
        Manufacturer::Pfizer => "pfizer",
        Manufacturer::Moderna => "moderna",
        Manufacturer::AstraZeneca => "astrazeneca",
        Manufacturer::Novavax => "novavax",
        Manufacturer::Janssen => "janssen",
        Manufacturer::DaiichiSankyo => "daiichisankyo",
        Manufacturer::MeijiSeika => "meijiseika",
    }
}

/// Every product group code, in the order tables list them.
pub fn product_groups() -> impl Iterator<Item = &'static str> {
    Manufacturer::ALL
        .into_iter()
        .map(maker_code)
        .chain(std::iter::once("other"))
}

/// The maker's name for a product group (Japanese, English); the code itself when unknown.
pub fn product_group_names(group: &str) -> (&str, &str) {
    match Manufacturer::ALL
        .into_iter()
        .find(|m| maker_code(*m) == group)
    {
        Some(m) => (m.ledger_name(), m.name_en()),
        None => ("その他", "Other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_counts_are_zero_small_or_multiples_of_ten() {
        assert_eq!(publish_count(0), Cell::Shown(0));
        for n in 1..10 {
            assert_eq!(publish_count(n), Cell::Small);
        }
        assert_eq!(publish_count(10), Cell::Shown(10));
        assert_eq!(publish_count(14), Cell::Shown(10));
        assert_eq!(publish_count(15), Cell::Shown(20));
        assert_eq!(publish_count(1_234_567), Cell::Shown(1_234_570));
        assert_eq!(publish_cell(Cell::Hidden), Cell::Hidden);
        assert_eq!(publish_cell(Cell::Small), Cell::Small);
        assert_eq!(publish_cell(Cell::Shown(3)), Cell::Small);
        // Whatever two counts are published, their difference is never 1–9.
        for a in 0..300u64 {
            for b in 0..300u64 {
                if let (Some(x), Some(y)) = (publish_count(a).value(), publish_count(b).value()) {
                    assert!(!(1..10).contains(&x.abs_diff(y)), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn groups_cover_every_band_and_every_maker() {
        assert_eq!(OpenAgeGroup::of(AgeBand::A0to4), OpenAgeGroup::A0to4);
        assert_eq!(OpenAgeGroup::of(AgeBand::A5to11), OpenAgeGroup::A5to11);
        assert_eq!(OpenAgeGroup::of(AgeBand::A12to19), OpenAgeGroup::A12to64);
        assert_eq!(OpenAgeGroup::of(AgeBand::A60to64), OpenAgeGroup::A12to64);
        assert_eq!(OpenAgeGroup::of(AgeBand::A65to69), OpenAgeGroup::A65Plus);
        assert_eq!(OpenAgeGroup::of(AgeBand::A100Plus), OpenAgeGroup::A65Plus);
        for g in OpenAgeGroup::ALL {
            assert_eq!(OpenAgeGroup::parse(g.code()), Some(g));
        }
        assert_eq!(product_group("comirnaty"), "pfizer");
        assert_eq!(product_group("no-such-product"), "other");
        assert_eq!(product_groups().count(), Manufacturer::ALL.len() + 1);
        assert_eq!(product_group_names("moderna").1, "Moderna");
        assert_eq!(product_group_names("other").0, "その他");
    }
}
