-- The kanji name and birth date's keyed search index: the duplicate scan pairs people sharing it
-- but not the kana one without opening their names. Rows stored before this column are filled the
-- first time their area is scanned.
ALTER TABLE residents ADD COLUMN kanji_birth_index BYTEA;
CREATE INDEX residents_kanji_birth ON residents (municipality_code, kanji_birth_index);
-- A Citus deployment distributed before these indexes has a staging table of imports without
-- them; it is empty between imports, and every import fills them.
ALTER TABLE IF EXISTS import_stage ADD COLUMN IF NOT EXISTS birth_index BYTEA;
ALTER TABLE IF EXISTS import_stage ADD COLUMN IF NOT EXISTS kanji_birth_index BYTEA;
