-- Accounts, applications for accounts, and sessions (PostgreSQL). Accounts are issued by the national
-- operator on a municipality's application; nobody registers themselves. Sessions live here, not in
-- a server's memory, so any number of `vrs serve` nodes share them.

CREATE TABLE accounts (
    user_id              TEXT PRIMARY KEY,
    role                 TEXT NOT NULL,
    municipality_code    CHAR(6),
    prefecture_code      SMALLINT,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TIMESTAMPTZ,
    disabled             BOOLEAN NOT NULL DEFAULT false,
    issued_by            TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE account_applications (
    id                BIGSERIAL PRIMARY KEY,
    municipality_code CHAR(6) NOT NULL,
    applicant         TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    role              TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    applied_at        TIMESTAMPTZ NOT NULL,
    decided_by        TEXT,
    decided_at        TIMESTAMPTZ,
    issued_user_id    TEXT
);

CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES accounts (user_id),
    terminal     TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
