-- The kanji name and birth date's keyed search index: the duplicate scan pairs people sharing it
-- but not the kana one without opening their names. Rows stored before this column are filled the
-- first time their area is scanned.
ALTER TABLE residents ADD COLUMN kanji_birth_index BLOB;
CREATE INDEX residents_kanji_birth ON residents (municipality_code, kanji_birth_index);
