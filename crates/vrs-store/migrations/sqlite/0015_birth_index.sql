-- The birth date's own keyed search index: staff find a person by part of a name (kana or kanji)
-- within one birth date, so only the few people born that day are opened. Rows stored before this
-- column are filled the first time their area is searched this way.
ALTER TABLE residents ADD COLUMN birth_index BLOB;
CREATE INDEX residents_birth ON residents (municipality_code, birth_index);
