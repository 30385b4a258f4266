//! Duplicate people on PostgreSQL: the pair search, the area's movers, the review queue
//! and reversible merges ([`crate::merge`]), each write one transaction with its audit. A merge
//! locks both people's rows and an unmerge its merge row, so two staff cannot interleave them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use vrs_domain::{AtenaNumber, MunicipalityCode};

use super::backup::{read_cell, write_cell};
use super::{append_audit_tx, map_db, PostgresStore};
use crate::backup::{self as spec, Cell, TableSpec};
use crate::merge::{
    self, Candidate, CandidateRow, CandidateStatus, MergeSnapshot, Mover, PersonMerge,
    CANDIDATE_COLUMNS, MERGE_COLUMNS,
};
use crate::sealed::search_indexes;
use crate::ConflictKind;
use crate::DuplicateStore;
use crate::{AuditEntry, StoreError};

async fn person_rows(
    client: &impl GenericClient,
    t: &TableSpec,
    scope: MunicipalityCode,
    atena: &str,
    lock: bool,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE municipality_code = $1 AND atena_number = $2 ORDER BY {}{}",
        t.column_list(),
        t.name,
        t.order_by,
        if lock { " FOR UPDATE" } else { "" }
    );
    let found = client.query(&sql, &[&scope.as_str(), &atena]).await?;
    let mut out = Vec::with_capacity(found.len());
    for row in &found {
        let mut cells = Vec::with_capacity(t.columns.len());
        for (i, (_, col)) in t.columns.iter().enumerate() {
            cells.push(read_cell(row, i, *col)?);
        }
        out.push(cells);
    }
    Ok(out)
}

async fn insert_rows(
    client: &impl GenericClient,
    t: &TableSpec,
    rows: &[Vec<Cell>],
) -> Result<(), StoreError> {
    let stmt = client.prepare(&spec::insert_sql(t, '$')).await?;
    for row in rows {
        spec::check_row(t, row)?;
        let params = row
            .iter()
            .zip(t.columns)
            .map(|(cell, (name, col))| write_cell(cell, *col, name))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        client.execute(&stmt, &refs).await.map_err(map_db)?;
    }
    Ok(())
}

async fn delete_doses(
    client: &impl GenericClient,
    scope: MunicipalityCode,
    atena: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM doses WHERE municipality_code = $1 AND atena_number = $2",
            &[&scope.as_str(), &atena],
        )
        .await?;
    Ok(())
}

fn read_merge(r: &Row) -> Result<PersonMerge, StoreError> {
    let texts = [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)];
    merge::person_merge(texts, r.get(5), r.get(6))
}

fn parse_atena(text: &str) -> Result<AtenaNumber, StoreError> {
    AtenaNumber::parse(text).map_err(|_| StoreError::Corrupt(format!("atena_number {text:?}")))
}

/// Stores many rows' search indexes of the area (`$1`): `$2` their 宛名番号, `$3` the birth date's,
/// `$4` the kana and `$5` the kanji indexes, in the same order.
const SET_INDEXES_BATCH_SQL: &str = "UPDATE residents r SET birth_index = u.birth, \
     kana_birth_index = u.kana, kanji_birth_index = u.kanji \
     FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::bytea[]) AS u(atena, birth, kana, kanji) \
     WHERE r.municipality_code = $1 AND r.atena_number = u.atena";

impl PostgresStore {
    /// Indexes the area's rows stored before a search index existed, if `probe` (a query of
    /// whether there are any) finds some: their names and birth dates are opened, and the indexes
    /// written a few thousand rows a statement, in one transaction.
    pub(super) async fn fill_search_indexes(
        &self,
        scope: MunicipalityCode,
        probe: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let unindexed: bool = client.query_one(probe, &[&scope.as_str()]).await?.get(0);
        if !unindexed {
            return Ok(());
        }
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(());
        };
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                &format!("{} FOR UPDATE", merge::UNINDEXED_ROWS_SQL),
                &[&scope.as_str()],
            )
            .await?;
        let update = tx.prepare(SET_INDEXES_BATCH_SQL).await?;
        for chunk in rows.chunks(4_096) {
            let mut atenas = Vec::with_capacity(chunk.len());
            let mut indexes: [Vec<Vec<u8>>; 3] = Default::default();
            for r in chunk {
                let atena: String = r.get(0);
                let sealed: [Vec<u8>; 3] = [r.get(1), r.get(2), r.get(3)];
                let [name, kana, birth] = &sealed;
                let found = search_indexes(scope, &atena, [name, kana, birth], &cipher)?;
                atenas.push(atena);
                for (column, index) in indexes.iter_mut().zip(found) {
                    column.push(index.to_vec());
                }
            }
            let [birth, kana, kanji] = &indexes;
            tx.execute(&update, &[&scope.as_str(), &atenas, birth, kana, kanji])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pairs(
        &self,
        scope: MunicipalityCode,
        sql: &str,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.fill_search_indexes(scope, merge::UNINDEXED_SQL)
            .await?;
        let client = self.pool.get().await?;
        let found = client.query(sql, &[&scope.as_str()]).await?;
        found
            .iter()
            .map(|r| Ok((parse_atena(r.get(0))?, parse_atena(r.get(1))?)))
            .collect()
    }
}

#[async_trait]
impl DuplicateStore for PostgresStore {
    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.pairs(scope, merge::KANA_PAIRS_SQL).await
    }

    async fn duplicate_pairs_by_kanji_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.pairs(scope, merge::KANJI_PAIRS_SQL).await
    }

    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<Mover>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(merge::MOVERS_SQL, &[&scope.as_str()]).await?;
        rows.iter()
            .map(|r| merge::mover(r.get(0), r.get(1)))
            .collect()
    }

    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO duplicate_candidates (municipality_code, {CANDIDATE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', '', NULL, NULL) ON CONFLICT DO NOTHING"
            ))
            .await?;
        let mut added = 0;
        for c in candidates {
            let b = c.atena_b.as_ref().map(AtenaNumber::as_str).unwrap_or("");
            let other = c
                .other_municipality
                .as_ref()
                .map(MunicipalityCode::as_str)
                .unwrap_or("");
            let params: [&(dyn ToSql + Sync); 7] = [
                &scope.as_str(),
                &c.candidate_id,
                &c.kind.as_str(),
                &c.atena_a.as_str(),
                &b,
                &other,
                &c.found_at,
            ];
            added += tx.execute(&stmt, &params).await? as u32;
        }
        append_audit_tx(&tx, scope.into(), &merge::with_added(audit, added)).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<CandidateStatus>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let client = self.pool.get().await?;
        let status = status.map(|s| s.as_str()).unwrap_or("");
        let found = client
            .query(
                &format!(
                    "SELECT {CANDIDATE_COLUMNS} FROM duplicate_candidates WHERE municipality_code = $1 \
                     AND ($2 = '' OR status = $2) \
                     ORDER BY found_at DESC, kind, atena_a, atena_b, other_municipality"
                ),
                &[&scope.as_str(), &status],
            )
            .await?;
        found
            .iter()
            .map(|r| {
                CandidateRow {
                    id: r.get(0),
                    kind: r.get(1),
                    a: r.get(2),
                    b: r.get(3),
                    other: r.get(4),
                    found_at: r.get(5),
                    status: r.get(6),
                    decided_by: r.get(7),
                    decided_at: r.get(8),
                    merge_id: r.get(9),
                }
                .into_candidate()
            })
            .collect()
    }

    async fn decide_candidate(
        &self,
        scope: MunicipalityCode,
        id: &str,
        status: CandidateStatus,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        merge::check_decision(status)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE duplicate_candidates SET status = $3, decided_by = $4, decided_at = $5 \
                 WHERE municipality_code = $1 AND candidate_id = $2 AND status = 'open'",
                &[&scope.as_str(), &id, &status.as_str(), &by, &audit.at],
            )
            .await?;
        if n == 0 {
            let now = tx
                .query_opt(
                    "SELECT status FROM duplicate_candidates WHERE municipality_code = $1 \
                     AND candidate_id = $2",
                    &[&scope.as_str(), &id],
                )
                .await?;
            return Err(match now {
                Some(r) => merge::already_decided(r.get(0)),
                None => StoreError::NotFound,
            });
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn merge_people(
        &self,
        scope: MunicipalityCode,
        kept: &AtenaNumber,
        merged: &AtenaNumber,
        merge_id: &str,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError> {
        merge::check_pair(kept, merged)?;
        let at = merge::micros(at);
        let (residents, doses) = (merge::spec("residents")?, merge::spec("doses")?);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Both people's rows are locked in 宛名番号 order, so crossing merges wait, not deadlock.
        let (first, second) = if kept <= merged {
            (kept, merged)
        } else {
            (merged, kept)
        };
        let mut locked = Vec::with_capacity(2);
        for atena in [first, second] {
            locked.push(person_rows(&tx, residents, scope, atena.as_str(), true).await?);
        }
        if locked.iter().any(Vec::is_empty) {
            let gone = if locked[0].is_empty() { first } else { second };
            return Err(merge::missing(gone.as_str()));
        }
        let merged_resident = if first == merged {
            locked.swap_remove(0)
        } else {
            locked.swap_remove(1)
        }
        .pop()
        .ok_or_else(|| merge::missing(merged.as_str()))?;
        let snapshot = MergeSnapshot {
            merged_resident,
            kept_doses: person_rows(&tx, doses, scope, kept.as_str(), false).await?,
            merged_doses: person_rows(&tx, doses, scope, merged.as_str(), false).await?,
        };
        let combined = merge::combine(kept, &snapshot.kept_doses, &snapshot.merged_doses)?;
        delete_doses(&tx, scope, kept.as_str()).await?;
        delete_doses(&tx, scope, merged.as_str()).await?;
        insert_rows(&tx, doses, &combined).await?;
        tx.execute(
            "DELETE FROM residents WHERE municipality_code = $1 AND atena_number = $2",
            &[&scope.as_str(), &merged.as_str()],
        )
        .await?;
        let after = merge::digest(&person_rows(&tx, doses, scope, kept.as_str(), false).await?);
        let inserted = tx
            .execute(
                "INSERT INTO person_merges (municipality_code, merge_id, kept_atena, merged_atena, \
                 merged_at, merged_by, snapshot, after_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING",
                &[
                    &scope.as_str(),
                    &merge_id,
                    &kept.as_str(),
                    &merged.as_str(),
                    &at,
                    &by,
                    &snapshot.encode(),
                    &after.to_vec(),
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(ConflictKind::MergeExists(
                merge_id.to_string(),
            )));
        }
        tx.execute(
            "UPDATE duplicate_candidates SET status = 'merged', merge_id = $2, decided_by = $5, \
             decided_at = $6 WHERE municipality_code = $1 AND status = 'open' \
             AND kind <> 'unfetched_move' \
             AND ((atena_a = $3 AND atena_b = $4) OR (atena_a = $4 AND atena_b = $3))",
            &[
                &scope.as_str(),
                &merge_id,
                &kept.as_str(),
                &merged.as_str(),
                &by,
                &at,
            ],
        )
        .await?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(PersonMerge {
            merge_id: merge_id.to_owned(),
            kept: kept.clone(),
            merged: merged.clone(),
            merged_at: at,
            merged_by: by.to_owned(),
            undone_at: None,
            undone_by: String::new(),
        })
    }

    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError> {
        let (residents, doses) = (merge::spec("residents")?, merge::spec("doses")?);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {MERGE_COLUMNS}, snapshot, after_digest FROM person_merges \
                     WHERE municipality_code = $1 AND merge_id = $2 FOR UPDATE"
                ),
                &[&scope.as_str(), &merge_id],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut done = read_merge(&row)?;
        if done.undone_at.is_some() {
            return Err(merge::already_undone(merge_id));
        }
        let kept = done.kept.as_str().to_owned();
        if person_rows(&tx, residents, scope, &kept, true)
            .await?
            .is_empty()
        {
            return Err(merge::missing(&kept));
        }
        let after: Vec<u8> = row.get(8);
        if merge::digest(&person_rows(&tx, doses, scope, &kept, false).await?)[..] != after[..] {
            return Err(merge::doses_changed(&kept));
        }
        let snapshot = MergeSnapshot::decode(&row.get::<_, Vec<u8>>(7))?;
        for (column, what) in merge::UNIQUE_COLUMNS {
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM residents WHERE municipality_code = $1 AND {column} = $2)"
            );
            let taken: bool = match snapshot.resident_text(column)? {
                Some(t) => tx.query_one(&sql, &[&scope.as_str(), &t]).await?,
                None => {
                    let b = snapshot.resident_bytes(column)?.map(<[u8]>::to_vec);
                    tx.query_one(&sql, &[&scope.as_str(), &b]).await?
                }
            }
            .get(0);
            if taken {
                return Err(merge::taken_meanwhile(done.merged.as_str(), what));
            }
        }
        delete_doses(&tx, scope, &kept).await?;
        insert_rows(
            &tx,
            residents,
            std::slice::from_ref(&snapshot.merged_resident),
        )
        .await?;
        insert_rows(&tx, doses, &snapshot.kept_doses).await?;
        insert_rows(&tx, doses, &snapshot.merged_doses).await?;
        tx.execute(
            "UPDATE person_merges SET undone_at = $3, undone_by = $4 \
             WHERE municipality_code = $1 AND merge_id = $2",
            &[&scope.as_str(), &merge_id, &audit.at, &by],
        )
        .await?;
        tx.execute(
            "UPDATE duplicate_candidates SET status = 'open', merge_id = NULL, decided_by = '', \
             decided_at = NULL WHERE municipality_code = $1 AND merge_id = $2",
            &[&scope.as_str(), &merge_id],
        )
        .await?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        done.undone_at = Some(audit.at);
        done.undone_by = by.to_owned();
        Ok(done)
    }

    async fn person_merges(&self, scope: MunicipalityCode) -> Result<Vec<PersonMerge>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!(
                    "SELECT {MERGE_COLUMNS} FROM person_merges WHERE municipality_code = $1 \
                     ORDER BY merged_at DESC, merge_id"
                ),
                &[&scope.as_str()],
            )
            .await?;
        found.iter().map(read_merge).collect()
    }
}
