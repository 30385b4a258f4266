//! Duplicate people on SQLite: the pair search, the area's movers, the review queue and
//! reversible merges ([`crate::merge`]). Every write is one savepoint of the writer with its audit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use vrs_domain::{AtenaNumber, MunicipalityCode};

use super::accounts::time;
use super::backup::{read_cell, write_cell};
use super::{append_audit_tx, load_cipher, SqliteStore};
use crate::audit::timestamp_text;
use crate::backup::{self as spec, Cell, TableSpec};
use crate::merge::{
    self, Candidate, CandidateRow, CandidateStatus, MergeSnapshot, Mover, PersonMerge,
    CANDIDATE_COLUMNS, MERGE_COLUMNS,
};
use crate::sealed::search_indexes;
use crate::ConflictKind;
use crate::DuplicateStore;
use crate::{AuditEntry, AuditScope, StoreError};

/// The rows of one person in `t` (`residents` or `doses`), as stored, in key order.
fn person_rows(
    conn: &Connection,
    t: &TableSpec,
    scope: MunicipalityCode,
    atena: &str,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE municipality_code = ?1 AND atena_number = ?2 ORDER BY {}",
        t.column_list(),
        t.name,
        t.order_by
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut query = stmt.query(params![scope.as_str(), atena])?;
    let mut out = Vec::new();
    while let Some(row) = query.next()? {
        let mut cells = Vec::with_capacity(t.columns.len());
        for (i, (_, col)) in t.columns.iter().enumerate() {
            cells.push(read_cell(row.get_ref(i)?, *col, t.name)?);
        }
        out.push(cells);
    }
    Ok(out)
}

fn insert_rows(conn: &Connection, t: &TableSpec, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(&spec::insert_sql(t, '?'))?;
    for row in rows {
        spec::check_row(t, row)?;
        stmt.execute(params_from_iter(row.iter().map(write_cell)))?;
    }
    Ok(())
}

fn delete_doses(conn: &Connection, scope: MunicipalityCode, atena: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM doses WHERE municipality_code = ?1 AND atena_number = ?2",
        params![scope.as_str(), atena],
    )?;
    Ok(())
}

fn taken(
    conn: &Connection,
    scope: MunicipalityCode,
    column: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM residents WHERE municipality_code = ?1 AND {column} = ?2)"
    );
    Ok(conn.query_row(&sql, params![scope.as_str(), value], |r| r.get(0))?)
}

fn merge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<([String; 5], String, Option<String>)> {
    Ok((
        [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
        r.get(5)?,
        r.get(6)?,
    ))
}

fn read_merge(
    (texts, at, undone): ([String; 5], String, Option<String>),
) -> Result<PersonMerge, StoreError> {
    merge::person_merge(texts, time(&at)?, undone.as_deref().map(time).transpose()?)
}

fn parse_atena(text: &str) -> Result<AtenaNumber, StoreError> {
    AtenaNumber::parse(text).map_err(|_| StoreError::Corrupt(format!("atena_number {text:?}")))
}

// The pairs are joined through the search index, with the join order fixed (`CROSS JOIN`) and the
// index named: without statistics SQLite otherwise walks the area by 宛名番号 for each person
// (`b.atena_number > a.atena_number` on the primary key), which grows with the square of the area
// (13 s at 10,000 people, against 40 ms through the index).
pub(super) const KANA_PAIRS_SQL: &str = "SELECT a.atena_number, b.atena_number FROM residents a \
     CROSS JOIN residents b INDEXED BY residents_search \
     ON b.municipality_code = a.municipality_code AND b.birth_index = a.birth_index \
     AND b.kana_birth_index = a.kana_birth_index \
     AND b.sex = a.sex AND b.atena_number > a.atena_number \
     WHERE a.municipality_code = ?1 ORDER BY 1, 2";

pub(super) const KANJI_PAIRS_SQL: &str = "SELECT a.atena_number, b.atena_number FROM residents a \
     CROSS JOIN residents b INDEXED BY residents_search \
     ON b.municipality_code = a.municipality_code AND b.birth_index = a.birth_index \
     AND b.kanji_birth_index = a.kanji_birth_index \
     AND b.sex = a.sex AND b.kana_birth_index <> a.kana_birth_index \
     AND b.atena_number > a.atena_number \
     WHERE a.municipality_code = ?1 ORDER BY 1, 2";

impl SqliteStore {
    /// Indexes the area's rows stored before a search index existed, if `probe` (a query of
    /// whether there are any, with `$` placeholders) finds some: their names and birth dates are
    /// opened and their indexes written in one savepoint.
    pub(super) async fn fill_search_indexes(
        &self,
        scope: MunicipalityCode,
        probe: &'static str,
    ) -> Result<(), StoreError> {
        let sqlite = |sql: &str| sql.replace('$', "?");
        let unindexed: bool = self
            .read(
                move |conn, _| Ok(conn.query_row(&sqlite(probe), [scope.as_str()], |r| r.get(0))?),
            )
            .await?;
        if !unindexed {
            return Ok(());
        }
        self.write(move |tx, keyring| {
            let Some(cipher) = load_cipher(tx, keyring, scope)? else {
                return Ok(());
            };
            let rows: Vec<(String, [Vec<u8>; 3])> = tx
                .prepare(&sqlite(merge::UNINDEXED_ROWS_SQL))?
                .query_map([scope.as_str()], |r| {
                    Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?]))
                })?
                .collect::<Result<_, _>>()?;
            let mut update = tx.prepare(&sqlite(merge::SET_INDEXES_SQL))?;
            for (atena, [name, kana, birth]) in rows {
                let [birth, kana, kanji] =
                    search_indexes(scope, &atena, [&name, &kana, &birth], &cipher)?;
                update.execute(params![scope.as_str(), atena, birth, kana, kanji])?;
            }
            Ok(())
        })
        .await
    }

    async fn pairs(
        &self,
        scope: MunicipalityCode,
        sql: &'static str,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.fill_search_indexes(scope, merge::UNINDEXED_SQL)
            .await?;
        self.read(move |conn, _| {
            let mut stmt = conn.prepare(sql)?;
            let pairs = stmt
                .query_map([scope.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            pairs
                .iter()
                .map(|(a, b)| Ok((parse_atena(a)?, parse_atena(b)?)))
                .collect()
        })
        .await
    }
}

#[async_trait]
impl DuplicateStore for SqliteStore {
    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.pairs(scope, KANA_PAIRS_SQL).await
    }

    async fn duplicate_pairs_by_kanji_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError> {
        self.pairs(scope, KANJI_PAIRS_SQL).await
    }

    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<Mover>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare_cached(&merge::MOVERS_SQL.replace("$1", "?1"))?;
            let found = stmt
                .query_map([scope.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            found.iter().map(|(a, f)| merge::mover(a, f)).collect()
        })
        .await
    }

    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let (candidates, audit) = (candidates.to_vec(), audit.clone());
        self.write(move |tx, _| {
            let mut stmt = tx.prepare(&format!(
                "INSERT INTO duplicate_candidates (municipality_code, {CANDIDATE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', '', NULL, NULL) ON CONFLICT DO NOTHING"
            ))?;
            let mut added = 0;
            for c in &candidates {
                added += stmt.execute(params![
                    scope.as_str(),
                    c.candidate_id,
                    c.kind.as_str(),
                    c.atena_a.as_str(),
                    c.atena_b.as_ref().map(AtenaNumber::as_str).unwrap_or(""),
                    c.other_municipality
                        .as_ref()
                        .map(MunicipalityCode::as_str)
                        .unwrap_or(""),
                    timestamp_text(&c.found_at),
                ])? as u32;
            }
            append_audit_tx(tx, scope.into(), &merge::with_added(&audit, added))?;
            Ok(added)
        })
        .await
    }

    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<CandidateStatus>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let status = status.map(|s| s.as_str()).unwrap_or("");
        self.read(move |conn, _| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CANDIDATE_COLUMNS} FROM duplicate_candidates WHERE municipality_code = ?1 \
                 AND (?2 = '' OR status = ?2) ORDER BY found_at DESC, kind, atena_a, atena_b, other_municipality"
            ))?;
            let found = stmt
                .query_map(params![scope.as_str(), status], |r| {
                    Ok((
                        [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(6)?, r.get(7)?],
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            found
                .into_iter()
                .map(|([id, kind, a, b, other, status, decided_by], found_at, decided_at, merge_id)| {
                    CandidateRow {
                        id,
                        kind,
                        a,
                        b,
                        other,
                        found_at: time(&found_at)?,
                        status,
                        decided_by,
                        decided_at: decided_at.as_deref().map(time).transpose()?,
                        merge_id,
                    }
                    .into_candidate()
                })
                .collect()
        })
        .await
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
        let (id, by, audit) = (id.to_owned(), by.to_owned(), audit.clone());
        self.write(move |tx, _| {
            let n = tx.execute(
                "UPDATE duplicate_candidates SET status = ?3, decided_by = ?4, decided_at = ?5 \
                 WHERE municipality_code = ?1 AND candidate_id = ?2 AND status = 'open'",
                params![scope.as_str(), id, status.as_str(), by, timestamp_text(&audit.at)],
            )?;
            if n == 0 {
                let now: Option<String> = tx
                    .query_row(
                        "SELECT status FROM duplicate_candidates WHERE municipality_code = ?1 AND candidate_id = ?2",
                        params![scope.as_str(), id],
                        |r| r.get(0),
                    )
                    .optional()?;
                return Err(match now {
                    Some(s) => merge::already_decided(&s),
                    None => StoreError::NotFound,
                });
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
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
        let (kept, merged, audit) = (kept.clone(), merged.clone(), audit.clone());
        let (merge_id, by) = (merge_id.to_owned(), by.to_owned());
        self.write(move |tx, _| {
            let (residents, doses) = (merge::spec("residents")?, merge::spec("doses")?);
            if person_rows(tx, residents, scope, kept.as_str())?.is_empty() {
                return Err(merge::missing(kept.as_str()));
            }
            let merged_resident = person_rows(tx, residents, scope, merged.as_str())?
                .pop()
                .ok_or_else(|| merge::missing(merged.as_str()))?;
            let snapshot = MergeSnapshot {
                merged_resident,
                kept_doses: person_rows(tx, doses, scope, kept.as_str())?,
                merged_doses: person_rows(tx, doses, scope, merged.as_str())?,
            };
            let combined = merge::combine(&kept, &snapshot.kept_doses, &snapshot.merged_doses)?;
            delete_doses(tx, scope, kept.as_str())?;
            delete_doses(tx, scope, merged.as_str())?;
            insert_rows(tx, doses, &combined)?;
            tx.execute(
                "DELETE FROM residents WHERE municipality_code = ?1 AND atena_number = ?2",
                params![scope.as_str(), merged.as_str()],
            )?;
            let after = merge::digest(&person_rows(tx, doses, scope, kept.as_str())?);
            let inserted = tx.execute(
                "INSERT INTO person_merges (municipality_code, merge_id, kept_atena, merged_atena, merged_at, \
                 merged_by, snapshot, after_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                params![
                    scope.as_str(),
                    merge_id,
                    kept.as_str(),
                    merged.as_str(),
                    timestamp_text(&at),
                    by,
                    snapshot.encode(),
                    after.to_vec()
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(ConflictKind::MergeExists(merge_id.to_string())));
            }
            tx.execute(
                "UPDATE duplicate_candidates SET status = 'merged', merge_id = ?2, decided_by = ?5, decided_at = ?6 \
                 WHERE municipality_code = ?1 AND status = 'open' AND kind <> 'unfetched_move' \
                 AND ((atena_a = ?3 AND atena_b = ?4) OR (atena_a = ?4 AND atena_b = ?3))",
                params![scope.as_str(), merge_id, kept.as_str(), merged.as_str(), by, timestamp_text(&at)],
            )?;
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(PersonMerge {
                merge_id,
                kept,
                merged,
                merged_at: at,
                merged_by: by,
                undone_at: None,
                undone_by: String::new(),
            })
        })
        .await
    }

    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError> {
        let (merge_id, by, audit) = (merge_id.to_owned(), by.to_owned(), audit.clone());
        self.write(move |tx, _| {
            let stored = tx
                .query_row(
                    &format!("SELECT {MERGE_COLUMNS}, snapshot, after_digest FROM person_merges \
                     WHERE municipality_code = ?1 AND merge_id = ?2"),
                    params![scope.as_str(), merge_id],
                    |r| Ok((merge_row(r)?, r.get::<_, Vec<u8>>(7)?, r.get::<_, Vec<u8>>(8)?)),
                )
                .optional()?;
            let (row, snapshot, after) = stored.ok_or(StoreError::NotFound)?;
            let mut done = read_merge(row)?;
            if done.undone_at.is_some() {
                return Err(merge::already_undone(&merge_id));
            }
            let (residents, doses) = (merge::spec("residents")?, merge::spec("doses")?);
            let kept = done.kept.as_str().to_owned();
            if person_rows(tx, residents, scope, &kept)?.is_empty() {
                return Err(merge::missing(&kept));
            }
            if merge::digest(&person_rows(tx, doses, scope, &kept)?)[..] != after[..] {
                return Err(merge::doses_changed(&kept));
            }
            let snapshot = MergeSnapshot::decode(&snapshot)?;
            for (column, what) in merge::UNIQUE_COLUMNS {
                let value: Box<dyn rusqlite::ToSql> = match snapshot.resident_text(column)? {
                    Some(t) => Box::new(t.to_owned()),
                    None => Box::new(snapshot.resident_bytes(column)?.map(<[u8]>::to_vec)),
                };
                if taken(tx, scope, column, &*value)? {
                    return Err(merge::taken_meanwhile(done.merged.as_str(), what));
                }
            }
            delete_doses(tx, scope, &kept)?;
            insert_rows(tx, residents, std::slice::from_ref(&snapshot.merged_resident))?;
            insert_rows(tx, doses, &snapshot.kept_doses)?;
            insert_rows(tx, doses, &snapshot.merged_doses)?;
            tx.execute(
                "UPDATE person_merges SET undone_at = ?3, undone_by = ?4 WHERE municipality_code = ?1 AND merge_id = ?2",
                params![scope.as_str(), merge_id, timestamp_text(&audit.at), by],
            )?;
            tx.execute(
                "UPDATE duplicate_candidates SET status = 'open', merge_id = NULL, decided_by = '', decided_at = NULL \
                 WHERE municipality_code = ?1 AND merge_id = ?2",
                params![scope.as_str(), merge_id],
            )?;
            append_audit_tx(tx, AuditScope::Area(scope), &audit)?;
            done.undone_at = Some(audit.at);
            done.undone_by = by;
            Ok(done)
        })
        .await
    }

    async fn person_merges(&self, scope: MunicipalityCode) -> Result<Vec<PersonMerge>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {MERGE_COLUMNS} FROM person_merges WHERE municipality_code = ?1 \
                 ORDER BY merged_at DESC, merge_id"
            ))?;
            let found = stmt
                .query_map([scope.as_str()], merge_row)?
                .collect::<Result<Vec<_>, _>>()?;
            found.into_iter().map(read_merge).collect()
        })
        .await
    }
}
