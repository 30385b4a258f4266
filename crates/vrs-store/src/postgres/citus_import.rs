//! The SQL of a bulk import on Citus: the set-based steps of [`crate::import`] over
//! [`super::citus::STAGE`], the distributed staging table, instead of a temporary table. Every
//! statement names the area (`$1`) and the import's batch (`$2`) on each table it reads, so Citus
//! routes it whole to the one worker that holds the area's shard of both tables.

use tokio_postgres::types::Type;

/// The columns an import stages for each row, after the area and batch on Citus.
macro_rules! staged_columns {
    () => {
        "line, atena_number, my_number_index, my_number_enc, coupon_number, name_enc, \
         name_kana_enc, birth_date_enc, sex, content_mac, kana_birth_index, moved_in_from, \
         birth_index, kanji_birth_index"
    };
}
pub(crate) use staged_columns;

/// The columns copied into the staging table: the area and the import's batch, then the staged
/// columns of a plain import, in the order of [`COPY_TYPES`].
pub(crate) const COPY: &str = concat!(
    "COPY import_stage (municipality_code, batch, ",
    staged_columns!(),
    ") FROM STDIN BINARY"
);

/// The types of [`COPY`]'s columns; a plain import copies all but the first two.
pub(crate) const COPY_TYPES: [Type; 16] = [
    Type::BPCHAR,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
    Type::BPCHAR,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::INT2,
    Type::BYTEA,
    Type::BYTEA,
    Type::BPCHAR,
    Type::BYTEA,
    Type::BYTEA,
];

/// A number no other import under way holds: the coordinator's ID of the import's transaction.
pub(crate) const BATCH: &str = "SELECT txid_current()";

/// Rows that repeat a key of an earlier line: `(line, first_line)`.
pub(crate) fn duplicates_sql(column: &str) -> String {
    format!(
        "SELECT s.line, d.first_line FROM import_stage s \
         JOIN (SELECT {column} AS k, MIN(line) AS first_line FROM import_stage \
               WHERE municipality_code = $1 AND batch = $2 GROUP BY {column} HAVING COUNT(*) > 1) d \
         ON s.{column} = d.k AND s.line <> d.first_line \
         WHERE s.municipality_code = $1 AND s.batch = $2"
    )
}

/// Rows whose key belongs to another person already in the area: `(line)`.
pub(crate) fn taken_sql(column: &str) -> String {
    format!(
        "SELECT s.line FROM import_stage s JOIN residents r \
         ON r.municipality_code = s.municipality_code AND r.{column} = s.{column} \
         AND r.atena_number <> s.atena_number \
         WHERE s.municipality_code = $1 AND s.batch = $2 AND r.municipality_code = $1"
    )
}

/// Removes the refused lines (`$3`) from the batch.
pub(crate) const DROP_REFUSED: &str =
    "DELETE FROM import_stage WHERE municipality_code = $1 AND batch = $2 AND line = ANY($3)";

/// Removes staged rows identical to what the area holds; the number removed is the unchanged count.
pub(crate) const DROP_UNCHANGED: &str =
    "DELETE FROM import_stage s WHERE s.municipality_code = $1 AND s.batch = $2 \
     AND EXISTS (SELECT 1 FROM residents r WHERE r.municipality_code = $1 \
     AND r.municipality_code = s.municipality_code AND r.atena_number = s.atena_number \
     AND r.content_mac = s.content_mac)";

/// Updates the people whose staged row changed, keeping the flags staff set (as
/// [`crate::import::update_sql`]).
pub(crate) const UPDATE: &str =
    "UPDATE residents SET my_number_index = s.my_number_index, my_number_enc = s.my_number_enc, \
     coupon_number = s.coupon_number, name_enc = s.name_enc, name_kana_enc = s.name_kana_enc, \
     birth_date_enc = s.birth_date_enc, sex = s.sex, content_mac = s.content_mac, \
     moved_in_from = s.moved_in_from, kana_birth_index = s.kana_birth_index, \
     birth_index = s.birth_index, kanji_birth_index = s.kanji_birth_index, updated_at = now() \
     FROM import_stage s WHERE residents.municipality_code = $1 AND s.municipality_code = $1 \
     AND s.municipality_code = residents.municipality_code AND s.batch = $2 \
     AND residents.atena_number = s.atena_number";

/// Adds the staged people the area does not hold yet (as [`crate::import::insert_sql`]).
pub(crate) const INSERT: &str =
    "INSERT INTO residents (municipality_code, atena_number, my_number_index, my_number_enc, \
     coupon_number, name_enc, name_kana_enc, birth_date_enc, sex, content_mac, moved_in_from, \
     kana_birth_index, birth_index, kanji_birth_index, updated_at) \
     SELECT s.municipality_code, s.atena_number, s.my_number_index, s.my_number_enc, s.coupon_number, \
     s.name_enc, s.name_kana_enc, s.birth_date_enc, s.sex, s.content_mac, s.moved_in_from, \
     s.kana_birth_index, s.birth_index, s.kanji_birth_index, now() \
     FROM import_stage s WHERE s.municipality_code = $1 AND s.batch = $2 \
     AND NOT EXISTS (SELECT 1 FROM residents r WHERE r.municipality_code = $1 \
     AND r.municipality_code = s.municipality_code AND r.atena_number = s.atena_number)";

/// Empties the batch once merged, in the import's transaction.
pub(crate) const CLEAR: &str =
    "DELETE FROM import_stage WHERE municipality_code = $1 AND batch = $2";
