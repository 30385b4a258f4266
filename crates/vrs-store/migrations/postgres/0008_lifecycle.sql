-- Certificate lifecycle and identity hygiene (PostgreSQL).
--
-- certificate_issues learns what a certificate's later life needs, still without naming the person:
-- person_index is a keyed hash (the area's search key) of the 宛名番号, so a change to a person's
-- doses finds that person's outstanding certificates; stated_doses and stated_digest say which doses
-- it stated (how many, and a keyed hash of their content), so a correction can tell "a later dose
-- was added" (superseded) from "what it states is no longer true" (revoked); shc_kid and dsc_kid are
-- the keys that signed it, so the revocation lists are published per key. Revocation is final.

ALTER TABLE certificate_issues ADD COLUMN person_index BYTEA;
ALTER TABLE certificate_issues ADD COLUMN stated_doses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificate_issues ADD COLUMN stated_digest BYTEA;
ALTER TABLE certificate_issues ADD COLUMN shc_kid TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_issues ADD COLUMN dsc_kid TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_issues ADD COLUMN status TEXT NOT NULL DEFAULT 'valid'
    CHECK (status IN ('valid', 'superseded', 'revoked'));
ALTER TABLE certificate_issues ADD COLUMN status_at TIMESTAMPTZ;
ALTER TABLE certificate_issues ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_issues ADD COLUMN replaces TEXT;

CREATE INDEX certificate_issues_person ON certificate_issues (municipality_code, person_index);
CREATE INDEX certificate_issues_revoked ON certificate_issues (status, shc_kid, dsc_kid);

-- The review queue of likely duplicate people, found by a scan of the area (or across a move).
CREATE TABLE duplicate_candidates (
    municipality_code  CHAR(6) NOT NULL,
    candidate_id       TEXT NOT NULL,
    kind               TEXT NOT NULL
        CHECK (kind IN ('kana_birth_sex', 'kanji_birth_sex', 'unfetched_move')),
    atena_a            TEXT NOT NULL,
    atena_b            TEXT NOT NULL DEFAULT '',
    other_municipality TEXT NOT NULL DEFAULT '',
    found_at           TIMESTAMPTZ NOT NULL,
    status             TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'dismissed', 'merged')),
    decided_by         TEXT NOT NULL DEFAULT '',
    decided_at         TIMESTAMPTZ,
    merge_id           TEXT,
    PRIMARY KEY (municipality_code, candidate_id)
);

-- A merge of two people of one area, with what unmerge needs to put both back exactly: the
-- merged-away person's row and both people's dose rows as they were (personal fields stay sealed).
CREATE TABLE person_merges (
    municipality_code CHAR(6) NOT NULL,
    merge_id          TEXT NOT NULL,
    kept_atena        TEXT NOT NULL,
    merged_atena      TEXT NOT NULL,
    merged_at         TIMESTAMPTZ NOT NULL,
    merged_by         TEXT NOT NULL,
    snapshot          BYTEA NOT NULL,
    after_digest      BYTEA NOT NULL,
    undone_at         TIMESTAMPTZ,
    undone_by         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (municipality_code, merge_id)
);
