-- The three keyed search indexes of a resident (birth date; kana name + birth date; kanji name +
-- birth date) are kept in one B-tree led by the birth date, instead of one each. Every name lookup
-- also knows the birth date, so each is a prefix of this one: a lookup by birth date reads its
-- prefix, kana + birth date one more column, and kanji + birth date filters the few entries of
-- that day. Each index on an HMAC is a B-tree written at a random place for every row stored, so
-- two fewer of them is most of what a bulk import of a new area costs beyond the data itself.
-- Rows stored before the birth date index have none until their area is next searched by birth
-- date or scanned for duplicates; the kana lookup also reads those rows' entries.
CREATE INDEX residents_search ON residents (municipality_code, birth_index, kana_birth_index, kanji_birth_index);
DROP INDEX residents_kana_birth;
DROP INDEX residents_birth;
DROP INDEX residents_kanji_birth;
