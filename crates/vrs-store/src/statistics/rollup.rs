//! The roll-ups: each prefecture's and the nation's sums of the per-municipality statistics, kept
//! by the transaction that replaces a municipality's counts, so that reading a prefecture or the
//! nation costs a few thousand rows whatever the number of municipalities.
//!
//! A replacement withdraws the municipality's stored rows from its prefecture's and the nation's
//! roll-ups, replaces them, and adds the new rows: its cost follows the municipality's own rows
//! (days × dose numbers and the like), never the country's. Each roll-up row counts its
//! contributors (the municipality rows summed into it) and is deleted when none is left, so a
//! roll-up holds exactly the groups that a sum over the municipalities' rows gives. The SQL is the
//! same text on both backends but for the placeholder style (`?` or `$`).

use vrs_domain::MunicipalityCode;

use super::StatScope;

/// The region of the nation's roll-ups (prefectures are `01`–`47`).
pub(crate) const NATION: &str = "00";

/// Each roll-up: its table, the per-municipality table it sums, the key columns and the count.
const ROLLUPS: [(&str, &str, &str, &str); 4] = [
    (
        "stat_rollup_daily",
        "stat_daily",
        "day, dose_number",
        "doses",
    ),
    (
        "stat_rollup_products",
        "stat_products",
        "dose_number, product_code",
        "doses",
    ),
    (
        "stat_rollup_ages",
        "stat_ages",
        "age_band, sex, dose_number",
        "doses",
    ),
    (
        "stat_rollup_coverage",
        "stat_coverage",
        "age_band, sex, doses",
        "people",
    ),
];

/// The regions a municipality's counts are summed into: its prefecture and the nation.
pub(crate) fn regions(m: MunicipalityCode) -> [String; 2] {
    [m.prefecture().to_string(), NATION.to_owned()]
}

/// Statements adding the stored rows of municipality `{p}1` to the roll-ups of region `{p}2`, each
/// count multiplied by `{p}3`: 1 adds them, -1 withdraws them.
pub(crate) fn add(p: char) -> Vec<String> {
    ROLLUPS
        .iter()
        .map(|(rollup, source, keys, count)| {
            format!(
                "INSERT INTO {rollup} (region, {keys}, {count}, contributors) \
                 SELECT CAST({p}2 AS TEXT), {keys}, CAST({p}3 AS BIGINT) * {count}, CAST({p}3 AS BIGINT) \
                 FROM {source} WHERE municipality_code = {p}1 \
                 ON CONFLICT (region, {keys}) DO UPDATE SET \
                 {count} = {rollup}.{count} + excluded.{count}, \
                 contributors = {rollup}.contributors + excluded.contributors"
            )
        })
        .collect()
}

/// Statements deleting the rows of regions `{p}1` and `{p}2` that no municipality contributes to.
pub(crate) fn prune(p: char) -> Vec<String> {
    ROLLUPS
        .iter()
        .map(|(rollup, ..)| {
            format!("DELETE FROM {rollup} WHERE region IN ({p}1, {p}2) AND contributors = 0")
        })
        .collect()
}

/// The statement replacing municipality `{p}1`'s totals (people with at least n doses over every
/// age band and sex) from its coverage rows; run after its per-municipality rows are replaced.
pub(crate) fn totals(p: char) -> String {
    format!(
        "INSERT INTO stat_totals (municipality_code, doses, people) \
         SELECT municipality_code, doses, sum(people) FROM stat_coverage \
         WHERE municipality_code = {p}1 GROUP BY municipality_code, doses"
    )
}

/// Where a scope's sums are read: the per-municipality tables (`stat_…`) for one municipality, the
/// roll-ups (`stat_rollup_…`) for a prefecture or the nation; with the condition on the key column
/// and its parameter (the table names follow the prefix: `{prefix}daily`, `{prefix}products`,
/// `{prefix}ages`, `{prefix}coverage`).
pub(crate) fn source(scope: StatScope, p: char) -> (&'static str, String, Vec<String>) {
    match scope {
        StatScope::Municipality(m) => (
            "stat_",
            format!("municipality_code = {p}1"),
            vec![m.as_str().to_owned()],
        ),
        StatScope::Prefecture(pref) => (
            "stat_rollup_",
            format!("region = {p}1"),
            vec![pref.to_string()],
        ),
        StatScope::Nation => (
            "stat_rollup_",
            format!("region = {p}1"),
            vec![NATION.to_owned()],
        ),
    }
}
