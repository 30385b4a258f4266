//! Statistics on PostgreSQL: the statistics job's source pages, the replacement of a
//! municipality's counts as a whole (one array insert per table) with its prefecture's and the
//! nation's roll-ups, and the reads of a scope.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::IsolationLevel;
use vrs_domain::{AtenaNumber, MunicipalityCode};

use super::PostgresStore;
use crate::statistics::rollup;
use crate::statistics::{
    self as stat, AgeCount, AreaStatistics, CoverageCount, DailyCount, MunicipalityFigures,
    ProductCount, ScopeStatistics, SourceRow, StatPerson, StatScope,
};
use crate::StatisticsStore;
use crate::{rows, StoreError};

fn counts(values: impl Iterator<Item = u64>) -> Result<Vec<i64>, StoreError> {
    values.map(stat::stored_count).collect()
}

/// Takes the roll-ups for this transaction: replacements (and shreds) change them one after
/// another, so two of the same prefecture never wait on each other's rows in opposite orders; reads
/// go on meanwhile. Taken before any other statistics row, so that the order is always the same.
pub(super) async fn lock_rollups(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute(
        "LOCK TABLE stat_rollup_daily, stat_rollup_products, stat_rollup_ages, \
         stat_rollup_coverage IN SHARE ROW EXCLUSIVE MODE",
    )
    .await?;
    Ok(())
}

/// Adds the stored counts of `scope` to its prefecture's and the nation's roll-ups (`sign` 1), or
/// withdraws them (`sign` -1).
async fn roll(tx: &Transaction<'_>, scope: MunicipalityCode, sign: i64) -> Result<(), StoreError> {
    for region in rollup::regions(scope) {
        for sql in rollup::add('$') {
            tx.execute(&sql, &[&scope.as_str(), &region, &sign]).await?;
        }
    }
    Ok(())
}

/// Deletes the roll-up rows of `scope`'s regions that no municipality contributes to any more.
async fn prune(tx: &Transaction<'_>, scope: MunicipalityCode) -> Result<(), StoreError> {
    let [prefecture, nation] = rollup::regions(scope);
    for sql in rollup::prune('$') {
        tx.execute(&sql, &[&prefecture, &nation]).await?;
    }
    Ok(())
}

/// Withdraws the stored counts of `scope` from the roll-ups, before they are deleted (a shred).
pub(super) async fn withdraw(
    tx: &Transaction<'_>,
    scope: MunicipalityCode,
) -> Result<(), StoreError> {
    lock_rollups(tx).await?;
    roll(tx, scope, -1).await?;
    prune(tx, scope).await
}

#[async_trait]
impl StatisticsStore for PostgresStore {
    async fn statistics_source(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<StatPerson>, StoreError> {
        let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let people = tx
            .query(
                "SELECT atena_number, birth_date_enc, sex, moved_out_on, deceased_on FROM residents \
                 WHERE municipality_code = $1 AND atena_number > $2 ORDER BY atena_number LIMIT $3",
                &[&scope.as_str(), &after, &i64::from(limit)],
            )
            .await?;
        let Some(last) = people.last().map(|r| r.get::<_, String>(0)) else {
            return Ok(Vec::new());
        };
        let doses = tx
            .query(
                "SELECT atena_number, dose_number, administered_on, product_code FROM doses \
                 WHERE municipality_code = $1 AND atena_number > $2 AND atena_number <= $3 \
                 ORDER BY atena_number, dose_number",
                &[&scope.as_str(), &after, &last],
            )
            .await?;
        tx.commit().await?;
        let people = people
            .iter()
            .map(|r| SourceRow {
                atena: r.get(0),
                birth_date_enc: r.get(1),
                sex: i64::from(r.get::<_, i16>(2)),
                moved_out_on: r.get(3),
                deceased_on: r.get(4),
            })
            .collect();
        let doses = doses
            .iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    i64::from(r.get::<_, i16>(1)),
                    r.get::<_, NaiveDate>(2),
                    r.get::<_, String>(3),
                )
            })
            .collect();
        stat::people(scope, &cipher, people, doses)
    }

    async fn replace_statistics(
        &self,
        scope: MunicipalityCode,
        stats: &AreaStatistics,
    ) -> Result<bool, StoreError> {
        let code = scope.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_rollups(&tx).await?;
        // The state row is created (as "older than anything") and locked, so concurrent
        // replacements of one municipality run one after another.
        tx.execute(
            "INSERT INTO stat_state (municipality_code, source_seq, computed_at) \
             VALUES ($1, $2, now()) ON CONFLICT DO NOTHING",
            &[&code, &i64::MIN],
        )
        .await?;
        let stored: i64 = tx
            .query_one(
                "SELECT source_seq FROM stat_state WHERE municipality_code = $1 FOR UPDATE",
                &[&code],
            )
            .await?
            .get(0);
        if stored != i64::MIN && stored >= stats.source_seq {
            tx.rollback().await?;
            return Ok(false);
        }
        roll(&tx, scope, -1).await?;
        for table in stat::TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE municipality_code = $1"),
                &[&code],
            )
            .await?;
        }
        let d = &stats.daily;
        tx.execute(
            "INSERT INTO stat_daily (municipality_code, day, dose_number, doses) \
             SELECT $1::text, * FROM unnest($2::date[], $3::smallint[], $4::bigint[])",
            &[
                &code,
                &d.iter().map(|c| c.day).collect::<Vec<_>>(),
                &d.iter()
                    .map(|c| i16::from(c.dose_number))
                    .collect::<Vec<_>>(),
                &counts(d.iter().map(|c| c.doses))?,
            ],
        )
        .await?;
        let p = &stats.by_product;
        tx.execute(
            "INSERT INTO stat_products (municipality_code, dose_number, product_code, doses) \
             SELECT $1::text, * FROM unnest($2::smallint[], $3::text[], $4::bigint[])",
            &[
                &code,
                &p.iter()
                    .map(|c| i16::from(c.dose_number))
                    .collect::<Vec<_>>(),
                &p.iter()
                    .map(|c| c.product_code.as_str())
                    .collect::<Vec<_>>(),
                &counts(p.iter().map(|c| c.doses))?,
            ],
        )
        .await?;
        let a = &stats.by_age;
        tx.execute(
            "INSERT INTO stat_ages (municipality_code, age_band, sex, dose_number, doses) \
             SELECT $1::text, * FROM unnest($2::text[], $3::smallint[], $4::smallint[], $5::bigint[])",
            &[
                &code,
                &a.iter().map(|c| c.age_band.code()).collect::<Vec<_>>(),
                &a.iter().map(|c| i16::from(c.sex.code())).collect::<Vec<_>>(),
                &a.iter().map(|c| i16::from(c.dose_number)).collect::<Vec<_>>(),
                &counts(a.iter().map(|c| c.doses))?,
            ],
        )
        .await?;
        let c = &stats.coverage;
        tx.execute(
            "INSERT INTO stat_coverage (municipality_code, age_band, sex, doses, people) \
             SELECT $1::text, * FROM unnest($2::text[], $3::smallint[], $4::smallint[], $5::bigint[])",
            &[
                &code,
                &c.iter().map(|c| c.age_band.code()).collect::<Vec<_>>(),
                &c.iter().map(|c| i16::from(c.sex.code())).collect::<Vec<_>>(),
                &c.iter().map(|c| i16::from(c.doses)).collect::<Vec<_>>(),
                &counts(c.iter().map(|c| c.people))?,
            ],
        )
        .await?;
        let o = &stats.open;
        tx.execute(
            "INSERT INTO stat_open \
             (municipality_code, day, sex, age_group, dose_number, product_group, doses) \
             SELECT $1::text, * FROM \
             unnest($2::date[], $3::smallint[], $4::text[], $5::smallint[], $6::text[], $7::bigint[])",
            &[
                &code,
                &o.iter().map(|c| c.day).collect::<Vec<_>>(),
                &o.iter().map(|c| i16::from(c.sex.code())).collect::<Vec<_>>(),
                &o.iter().map(|c| c.age_group.code()).collect::<Vec<_>>(),
                &o.iter()
                    .map(|c| i16::from(c.dose_number))
                    .collect::<Vec<_>>(),
                &o.iter()
                    .map(|c| c.product_group.as_str())
                    .collect::<Vec<_>>(),
                &counts(o.iter().map(|c| c.doses))?,
            ],
        )
        .await?;
        tx.execute(&rollup::totals('$'), &[&code]).await?;
        roll(&tx, scope, 1).await?;
        prune(&tx, scope).await?;
        let computed_at = stats.computed_at.unwrap_or_else(Utc::now);
        tx.execute(
            "UPDATE stat_state SET source_seq = $2, computed_at = $3, doses = $4 \
             WHERE municipality_code = $1",
            &[
                &code,
                &stats.source_seq,
                &computed_at,
                &stat::dose_total(stats)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn statistics_computed(
        &self,
    ) -> Result<Vec<(MunicipalityCode, i64, DateTime<Utc>)>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT municipality_code, source_seq, computed_at FROM stat_state \
                 ORDER BY municipality_code",
                &[],
            )
            .await?;
        found
            .iter()
            .map(|r| Ok((rows::municipality(r.get(0))?, r.get(1), r.get(2))))
            .collect()
    }

    async fn statistics_still_current(&self, scope: MunicipalityCode) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let updated = client
            .execute(&stat::still_current_sql('$'), &[&scope.as_str()])
            .await?;
        Ok(updated == 1)
    }

    async fn statistics_stale(&self) -> Result<Vec<MunicipalityCode>, StoreError> {
        let client = self.pool.get().await?;
        let found = client.query(stat::STALE, &[]).await?;
        found.iter().map(|r| rows::municipality(r.get(0))).collect()
    }

    async fn scope_statistics(&self, scope: StatScope) -> Result<ScopeStatistics, StoreError> {
        let (t, filter, args) = rollup::source(scope, '$');
        let (state_filter, state_args) = stat::scope_filter(scope, '$');
        let mut client = self.pool.get().await?;
        // One snapshot for all five reads, so a replacement between them cannot mix two
        // computations of a municipality.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let range: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let state_range: Vec<&(dyn ToSql + Sync)> = state_args.iter().map(|a| a as _).collect();
        let daily = tx
            .query(
                &format!(
                    "SELECT day, dose_number, sum(doses)::bigint FROM {t}daily \
                 WHERE {filter} GROUP BY day, dose_number"
                ),
                &range,
            )
            .await?;
        let by_product = tx
            .query(
                &format!(
                    "SELECT dose_number, product_code, sum(doses)::bigint FROM {t}products \
                 WHERE {filter} GROUP BY dose_number, product_code"
                ),
                &range,
            )
            .await?;
        let by_age = tx
            .query(
                &format!(
                    "SELECT age_band, sex, dose_number, sum(doses)::bigint FROM {t}ages \
                 WHERE {filter} GROUP BY age_band, sex, dose_number"
                ),
                &range,
            )
            .await?;
        let coverage = tx
            .query(
                &format!(
                    "SELECT age_band, sex, doses, sum(people)::bigint FROM {t}coverage \
                 WHERE {filter} GROUP BY age_band, sex, doses"
                ),
                &range,
            )
            .await?;
        let oldest: Option<DateTime<Utc>> = tx
            .query_one(
                &format!("SELECT min(computed_at) FROM stat_state WHERE {state_filter}"),
                &state_range,
            )
            .await?
            .get(0);
        tx.commit().await?;
        let small = |r: &tokio_postgres::Row, i: usize| i64::from(r.get::<_, i16>(i));
        Ok(stat::sorted(ScopeStatistics {
            daily: daily
                .iter()
                .map(|r| {
                    Ok(DailyCount {
                        day: r.get(0),
                        dose_number: stat::dose_number(small(r, 1), "stat_daily.dose_number")?,
                        doses: stat::count(r.get(2), "stat_daily.doses")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            by_product: by_product
                .iter()
                .map(|r| {
                    Ok(ProductCount {
                        dose_number: stat::dose_number(small(r, 0), "stat_products.dose_number")?,
                        product_code: r.get(1),
                        doses: stat::count(r.get(2), "stat_products.doses")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            by_age: by_age
                .iter()
                .map(|r| {
                    Ok(AgeCount {
                        age_band: stat::age_band(r.get(0), "stat_ages.age_band")?,
                        sex: stat::sex(small(r, 1), "stat_ages.sex")?,
                        dose_number: stat::dose_number(small(r, 2), "stat_ages.dose_number")?,
                        doses: stat::count(r.get(3), "stat_ages.doses")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            coverage: coverage
                .iter()
                .map(|r| {
                    Ok(CoverageCount {
                        age_band: stat::age_band(r.get(0), "stat_coverage.age_band")?,
                        sex: stat::sex(small(r, 1), "stat_coverage.sex")?,
                        doses: stat::dose_number(small(r, 2), "stat_coverage.doses")?,
                        people: stat::count(r.get(3), "stat_coverage.people")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            oldest,
        }))
    }

    async fn municipality_figures(
        &self,
        scope: StatScope,
    ) -> Result<Vec<MunicipalityFigures>, StoreError> {
        let (filter, args) = stat::scope_filter(scope, '$');
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let range: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let states = tx
            .query(
                &format!(
                    "SELECT municipality_code, computed_at, doses FROM stat_state \
                 WHERE {filter} ORDER BY municipality_code"
                ),
                &range,
            )
            .await?;
        let totals = tx
            .query(
                &format!("SELECT municipality_code, doses, people FROM stat_totals WHERE {filter}"),
                &range,
            )
            .await?;
        tx.commit().await?;
        stat::figures(
            states
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect(),
            totals
                .iter()
                .map(|r| (r.get(0), i64::from(r.get::<_, i16>(1)), r.get(2)))
                .collect(),
        )
    }
}
