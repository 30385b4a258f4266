-- Dose registration (PostgreSQL): what the ledger layout carries beside the dose (venue, doctor), how
-- and by whom it was recorded, a search index for staff, and idempotency keys of site tablets.

ALTER TABLE doses ADD COLUMN venue TEXT NOT NULL DEFAULT '';
ALTER TABLE doses ADD COLUMN doctor TEXT NOT NULL DEFAULT '';
ALTER TABLE doses ADD COLUMN source TEXT NOT NULL DEFAULT 'staff';
ALTER TABLE doses ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';

-- Keyed hash (per municipality) of the kana name without spaces and the birth date, so staff can
-- find a person by kana name and birth date without the database holding either in the clear.
ALTER TABLE residents ADD COLUMN kana_birth_index BYTEA;
CREATE INDEX residents_kana_birth ON residents (municipality_code, kana_birth_index);

-- The first answer given to a request carrying an Idempotency-Key, per account. The key belongs to
-- the account's own municipality (the vaccination site), whichever area the dose went to.
CREATE TABLE idempotency_keys (
    municipality_code CHAR(6) NOT NULL,
    user_id           TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL,
    request_hash      BYTEA NOT NULL,
    status            SMALLINT NOT NULL,
    body              TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_code, user_id, idempotency_key)
);
