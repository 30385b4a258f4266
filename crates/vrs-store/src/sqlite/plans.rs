//! The query plans of the searches that must not grow with the area. SQLite plans without
//! statistics, and for `ORDER BY … LIMIT` it has more than once chosen to walk a whole area by its
//! primary key (the searches by birth date, the duplicate scan's pairs) where the search index
//! answers from a few entries: each plan here must search an index by its leading columns and
//! scan no table.

use rusqlite::Connection;

use super::merge::{KANA_PAIRS_SQL, KANJI_PAIRS_SQL};
use super::residents::{BORN_ON_SQL, KANA_BIRTH_SQL};
use super::{migrate_sqlite, RESIDENT_COLUMNS};

fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    // The plan is made without the parameters' values.
    let mut rows = stmt.raw_query();
    let mut steps = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        steps.push(row.get::<_, String>(3).unwrap());
    }
    steps
}

fn migrated() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate_sqlite(&mut conn).unwrap();
    conn
}

/// Every step of the plan that reads `residents` searches `index` by (at least) `key`, and no
/// step scans a table.
fn assert_searches(conn: &Connection, name: &str, sql: &str, index: &str, key: &str) {
    let steps = plan(conn, sql);
    let reads: Vec<&String> = steps.iter().filter(|s| s.contains("residents")).collect();
    assert!(
        !reads.is_empty(),
        "{name}: no step reads residents: {steps:?}"
    );
    for step in &steps {
        assert!(!step.starts_with("SCAN "), "{name} scans: {steps:?}");
    }
    for step in reads {
        assert!(
            step.starts_with("SEARCH ") && step.contains(index) && step.contains(key),
            "{name}: {step:?} is not a search of {index} by {key} (plan: {steps:?})"
        );
    }
}

#[test]
fn searches_by_birth_date_use_the_search_index_by_its_full_key() {
    let conn = migrated();
    assert_searches(
        &conn,
        "kana + birth date",
        KANA_BIRTH_SQL,
        "residents_search",
        "municipality_code=? AND birth_index=? AND kana_birth_index=?",
    );
    assert_searches(
        &conn,
        "birth date",
        BORN_ON_SQL,
        "residents_search",
        "municipality_code=? AND birth_index=?",
    );
}

#[test]
fn the_duplicate_scans_pairs_are_joined_through_the_search_index() {
    let conn = migrated();
    for (name, sql, key) in [
        (
            "kana pairs",
            KANA_PAIRS_SQL,
            "municipality_code=? AND birth_index=? AND kana_birth_index=?",
        ),
        (
            "kanji pairs",
            KANJI_PAIRS_SQL,
            "municipality_code=? AND birth_index=?",
        ),
    ] {
        let steps = plan(&conn, sql);
        // The outer side walks the area once (by its primary key: that is the area itself); the
        // inner side must be a search of the index, never a walk of the area per person.
        let inner: Vec<&String> = steps
            .iter()
            .filter(|s| s.contains(" b ") || s.starts_with("SEARCH b"))
            .collect();
        assert_eq!(inner.len(), 1, "{name}: {steps:?}");
        assert!(
            inner[0].contains("residents_search") && inner[0].contains(key),
            "{name}: the inner side {:?} is not a search of residents_search by {key}",
            inner[0]
        );
    }
}

#[test]
fn a_person_is_found_by_a_unique_key() {
    let conn = migrated();
    for column in ["atena_number", "my_number_index", "coupon_number"] {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE municipality_code = ?1 AND {column} = ?2"
        );
        let steps = plan(&conn, &sql);
        assert_eq!(steps.len(), 1, "{column}: {steps:?}");
        assert!(
            steps[0].starts_with("SEARCH residents USING INDEX")
                && steps[0].contains(&format!("municipality_code=? AND {column}=?")),
            "{column}: {steps:?}"
        );
    }
}
