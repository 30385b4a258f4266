-- Foundation schema (SQLite). Every municipality-owned table's key starts with municipality_code.
-- Personal fields (*_enc) hold AES-256-GCM ciphertext sealed with the municipality's data key;
-- my_number_index is the keyed blind index used to find a person by My Number.
-- residents is a rowid table: its rows (four sealed fields) are too wide for WITHOUT ROWID to pay.

CREATE TABLE deployment (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_check  BLOB NOT NULL,
    created_at        TEXT NOT NULL
);

CREATE TABLE municipalities (
    municipality_code TEXT PRIMARY KEY,
    activated_at      TEXT NOT NULL
);

CREATE TABLE municipality_keys (
    municipality_code TEXT NOT NULL REFERENCES municipalities (municipality_code),
    key_version       INTEGER NOT NULL,
    wrapped_key       BLOB NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (municipality_code, key_version)
);

-- No foreign key to municipalities: the store opens the area (and its key) before writing any
-- row, and a per-row key check would dominate bulk imports on PostgreSQL.
CREATE TABLE residents (
    municipality_code TEXT NOT NULL,
    atena_number      TEXT NOT NULL,
    my_number_index   BLOB NOT NULL,
    my_number_enc     BLOB NOT NULL,
    coupon_number     TEXT NOT NULL,
    name_enc          BLOB NOT NULL,
    name_kana_enc     BLOB NOT NULL,
    birth_date_enc    BLOB NOT NULL,
    sex               INTEGER NOT NULL CHECK (sex IN (1, 2)),
    moved_out_on      TEXT,
    deceased_on       TEXT,
    content_mac       BLOB NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (municipality_code, atena_number),
    UNIQUE (municipality_code, my_number_index),
    UNIQUE (municipality_code, coupon_number)
);

CREATE TABLE doses (
    municipality_code      TEXT NOT NULL,
    atena_number           TEXT NOT NULL,
    dose_number            INTEGER NOT NULL CHECK (dose_number BETWEEN 1 AND 20),
    administered_on        TEXT NOT NULL,
    product_code           TEXT NOT NULL,
    lot_number             TEXT NOT NULL,
    site_municipality_code TEXT NOT NULL,
    coupon_number          TEXT NOT NULL,
    recorded_at            TEXT NOT NULL,
    PRIMARY KEY (municipality_code, atena_number, dose_number),
    FOREIGN KEY (municipality_code, atena_number) REFERENCES residents (municipality_code, atena_number)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    municipality_code TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    at                TEXT NOT NULL,
    actor             TEXT NOT NULL,
    role              TEXT NOT NULL,
    terminal          TEXT NOT NULL,
    action            TEXT NOT NULL,
    target            TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    detail            TEXT NOT NULL,
    hash              BLOB NOT NULL,
    PRIMARY KEY (municipality_code, seq)
) WITHOUT ROWID;

-- One row per municipality holding the newest entry of its chain.
CREATE TABLE audit_heads (
    municipality_code TEXT PRIMARY KEY,
    seq               INTEGER NOT NULL,
    hash              BLOB NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
