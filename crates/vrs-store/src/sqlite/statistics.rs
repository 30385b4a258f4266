//! Statistics on SQLite: the statistics job's source pages, the replacement of a municipality's
//! counts as a whole with its prefecture's and the nation's roll-ups, and the reads of a scope.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use vrs_domain::{AtenaNumber, MunicipalityCode};

use super::accounts::time;
use super::{load_cipher, SqliteStore};
use crate::audit::timestamp_text;
use crate::statistics::rollup;
use crate::statistics::{
    self as stat, AgeCount, AreaStatistics, CoverageCount, DailyCount, MunicipalityFigures,
    ProductCount, ScopeStatistics, SourceRow, StatPerson, StatScope,
};
use crate::StatisticsStore;
use crate::{rows, StoreError};

/// Adds the stored counts of `scope` to its prefecture's and the nation's roll-ups (`sign` 1), or
/// withdraws them (`sign` -1).
fn roll(tx: &Connection, scope: MunicipalityCode, sign: i64) -> Result<(), StoreError> {
    for region in rollup::regions(scope) {
        for sql in rollup::add('?') {
            tx.execute(&sql, params![scope.as_str(), region, sign])?;
        }
    }
    Ok(())
}

/// Deletes the roll-up rows of `scope`'s regions that no municipality contributes to any more.
fn prune(tx: &Connection, scope: MunicipalityCode) -> Result<(), StoreError> {
    let [prefecture, nation] = rollup::regions(scope);
    for sql in rollup::prune('?') {
        tx.execute(&sql, params![prefecture, nation])?;
    }
    Ok(())
}

/// Withdraws the stored counts of `scope` from the roll-ups, before they are deleted (a shred).
pub(super) fn withdraw(tx: &Connection, scope: MunicipalityCode) -> Result<(), StoreError> {
    roll(tx, scope, -1)?;
    prune(tx, scope)
}

/// Replaces the counts of `scope` in the writer's transaction unless newer ones are stored, and
/// keeps the roll-ups: the old counts withdrawn, the new ones added.
fn replace(
    tx: &Connection,
    scope: MunicipalityCode,
    stats: &AreaStatistics,
) -> Result<bool, StoreError> {
    let code = scope.as_str();
    let stored: Option<i64> = tx
        .query_row(
            "SELECT source_seq FROM stat_state WHERE municipality_code = ?1",
            [code],
            |r| r.get(0),
        )
        .optional()?;
    if stored.is_some_and(|seq| seq >= stats.source_seq) {
        return Ok(false);
    }
    roll(tx, scope, -1)?;
    for table in stat::TABLES {
        tx.execute(
            &format!("DELETE FROM {table} WHERE municipality_code = ?1"),
            [code],
        )?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO stat_daily (municipality_code, day, dose_number, doses) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for c in &stats.daily {
        insert.execute(params![
            code,
            c.day.to_string(),
            c.dose_number,
            stat::stored_count(c.doses)?
        ])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO stat_products (municipality_code, dose_number, product_code, doses) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for c in &stats.by_product {
        insert.execute(params![
            code,
            c.dose_number,
            c.product_code,
            stat::stored_count(c.doses)?
        ])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO stat_ages (municipality_code, age_band, sex, dose_number, doses) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for c in &stats.by_age {
        insert.execute(params![
            code,
            c.age_band.code(),
            c.sex.code(),
            c.dose_number,
            stat::stored_count(c.doses)?
        ])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO stat_coverage (municipality_code, age_band, sex, doses, people) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for c in &stats.coverage {
        insert.execute(params![
            code,
            c.age_band.code(),
            c.sex.code(),
            c.doses,
            stat::stored_count(c.people)?
        ])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO stat_open \
         (municipality_code, day, sex, age_group, dose_number, product_group, doses) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for c in &stats.open {
        insert.execute(params![
            code,
            c.day.to_string(),
            c.sex.code(),
            c.age_group.code(),
            c.dose_number,
            c.product_group,
            stat::stored_count(c.doses)?
        ])?;
    }
    tx.execute(&rollup::totals('?'), [code])?;
    roll(tx, scope, 1)?;
    prune(tx, scope)?;
    let computed_at = stats.computed_at.unwrap_or_else(Utc::now);
    tx.execute(
        "INSERT INTO stat_state (municipality_code, source_seq, computed_at, doses) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (municipality_code) DO UPDATE SET source_seq = excluded.source_seq, \
         computed_at = excluded.computed_at, doses = excluded.doses",
        params![
            code,
            stats.source_seq,
            timestamp_text(&computed_at),
            stat::dose_total(stats)?
        ],
    )?;
    Ok(true)
}

#[async_trait]
impl StatisticsStore for SqliteStore {
    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<StatPerson>, StoreError> {
        let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
        self.read(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Ok(Vec::new());
            };
            let tx = conn.unchecked_transaction()?;
            let people = tx
                .prepare(
                    "SELECT atena_number, birth_date_enc, sex, moved_out_on, deceased_on FROM residents \
                     WHERE municipality_code = ?1 AND atena_number > ?2 ORDER BY atena_number LIMIT ?3",
                )?
                .query_map(params![scope.as_str(), after, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let Some(last) = people.last().map(|p| p.0.clone()) else {
                return Ok(Vec::new());
            };
            let doses = tx
                .prepare(
                    "SELECT atena_number, dose_number, administered_on, product_code FROM doses \
                     WHERE municipality_code = ?1 AND atena_number > ?2 AND atena_number <= ?3 \
                     ORDER BY atena_number, dose_number",
                )?
                .query_map(params![scope.as_str(), after, last], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let people = people
                .into_iter()
                .map(|(atena, birth_date_enc, sex, moved, deceased)| {
                    Ok(SourceRow {
                        atena,
                        birth_date_enc,
                        sex,
                        moved_out_on: rows::opt_date(moved.as_deref())?,
                        deceased_on: rows::opt_date(deceased.as_deref())?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let doses = doses
                .into_iter()
                .map(|(atena, n, day, product)| Ok((atena, n, rows::date(&day)?, product)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            stat::people(scope, &cipher, people, doses)
        })
        .await
    }

    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &AreaStatistics,
    ) -> Result<bool, StoreError> {
        let stats = stats.clone();
        self.write(move |tx, _| replace(tx, scope, &stats)).await
    }

    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(
                "SELECT municipality_code, source_seq, computed_at FROM stat_state \
                 ORDER BY municipality_code",
            )?;
            let found = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            found
                .into_iter()
                .map(|(code, seq, at)| Ok((rows::municipality(&code)?, seq, time(&at)?)))
                .collect()
        })
        .await
    }

    async fn statistics_still_current(&self, scope: MunicipalityCode) -> Result<bool, StoreError> {
        self.write(move |tx, _| {
            let updated = tx
                .prepare_cached(&stat::still_current_sql('?'))?
                .execute([scope.as_str()])?;
            Ok(updated == 1)
        })
        .await
    }

    async fn statistics_stale(&self) -> Result<Vec<MunicipalityCode>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(stat::STALE)?;
            let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
            codes.map(|c| rows::municipality(&c?)).collect()
        })
        .await
    }

    async fn scope_statistics(&self, scope: StatScope) -> Result<ScopeStatistics, StoreError> {
        let (t, filter, args) = rollup::source(scope, '?');
        let (state_filter, state_args) = stat::scope_filter(scope, '?');
        self.read(move |conn, _| {
            // One snapshot for all five reads, so a replacement between them cannot mix two
            // computations of a municipality.
            let tx = conn.unchecked_transaction()?;
            let daily = tx
                .prepare(&format!(
                    "SELECT day, dose_number, sum(doses) FROM {t}daily \
                     WHERE {filter} GROUP BY day, dose_number"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<Vec<(String, i64, i64)>, _>>()?;
            let by_product = tx
                .prepare(&format!(
                    "SELECT dose_number, product_code, sum(doses) FROM {t}products \
                     WHERE {filter} GROUP BY dose_number, product_code"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<Vec<(i64, String, i64)>, _>>()?;
            let by_age = tx
                .prepare(&format!(
                    "SELECT age_band, sex, dose_number, sum(doses) FROM {t}ages \
                     WHERE {filter} GROUP BY age_band, sex, dose_number"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<Vec<(String, i64, i64, i64)>, _>>()?;
            let coverage = tx
                .prepare(&format!(
                    "SELECT age_band, sex, doses, sum(people) FROM {t}coverage \
                     WHERE {filter} GROUP BY age_band, sex, doses"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<Vec<(String, i64, i64, i64)>, _>>()?;
            let oldest: Option<String> = tx.query_row(
                &format!("SELECT min(computed_at) FROM stat_state WHERE {state_filter}"),
                params_from_iter(&state_args),
                |r| r.get(0),
            )?;
            Ok(stat::sorted(ScopeStatistics {
                daily: daily
                    .into_iter()
                    .map(|(day, n, doses)| {
                        Ok(DailyCount {
                            day: rows::date(&day)?,
                            dose_number: stat::dose_number(n, "stat_daily.dose_number")?,
                            doses: stat::count(doses, "stat_daily.doses")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                by_product: by_product
                    .into_iter()
                    .map(|(n, product_code, doses)| {
                        Ok(ProductCount {
                            dose_number: stat::dose_number(n, "stat_products.dose_number")?,
                            product_code,
                            doses: stat::count(doses, "stat_products.doses")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                by_age: by_age
                    .into_iter()
                    .map(|(band, sex, n, doses)| {
                        Ok(AgeCount {
                            age_band: stat::age_band(&band, "stat_ages.age_band")?,
                            sex: stat::sex(sex, "stat_ages.sex")?,
                            dose_number: stat::dose_number(n, "stat_ages.dose_number")?,
                            doses: stat::count(doses, "stat_ages.doses")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                coverage: coverage
                    .into_iter()
                    .map(|(band, sex, k, people)| {
                        Ok(CoverageCount {
                            age_band: stat::age_band(&band, "stat_coverage.age_band")?,
                            sex: stat::sex(sex, "stat_coverage.sex")?,
                            doses: stat::dose_number(k, "stat_coverage.doses")?,
                            people: stat::count(people, "stat_coverage.people")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                oldest: oldest.as_deref().map(time).transpose()?,
            }))
        })
        .await
    }

    async fn municipality_figures(
        &self,
        scope: StatScope,
    ) -> Result<Vec<MunicipalityFigures>, StoreError> {
        let (filter, args) = stat::scope_filter(scope, '?');
        self.read(move |conn, _| {
            let tx = conn.unchecked_transaction()?;
            let states = tx
                .prepare(&format!(
                    "SELECT municipality_code, computed_at, doses FROM stat_state \
                     WHERE {filter} ORDER BY municipality_code"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let totals = tx
                .prepare(&format!(
                    "SELECT municipality_code, doses, people FROM stat_totals WHERE {filter}"
                ))?
                .query_map(params_from_iter(&args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let states = states
                .into_iter()
                .map(|(code, at, doses)| Ok((code, time(&at)?, doses)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            stat::figures(states, totals)
        })
        .await
    }
}
