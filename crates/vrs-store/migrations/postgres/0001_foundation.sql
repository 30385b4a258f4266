-- Foundation schema (PostgreSQL). Every municipality-owned table's key starts with municipality_code,
-- so the schema can be distributed by that column (Citus) without change.
-- Personal fields (*_enc) hold AES-256-GCM ciphertext sealed with the municipality's data key;
-- my_number_index is the keyed blind index used to find a person by My Number.

CREATE TABLE deployment (
    id                SMALLINT PRIMARY KEY CHECK (id = 1),
    master_key_check  BYTEA NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE municipalities (
    municipality_code CHAR(6) PRIMARY KEY,
    activated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE municipality_keys (
    municipality_code CHAR(6) NOT NULL REFERENCES municipalities (municipality_code),
    key_version       INTEGER NOT NULL,
    wrapped_key       BYTEA NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_code, key_version)
);

-- No foreign key to municipalities: the store opens the area (and its key) before writing any
-- row, and a per-row key check would dominate bulk imports on PostgreSQL.
CREATE TABLE residents (
    municipality_code CHAR(6) NOT NULL,
    atena_number      TEXT NOT NULL,
    my_number_index   BYTEA NOT NULL,
    my_number_enc     BYTEA NOT NULL,
    coupon_number     CHAR(10) NOT NULL,
    name_enc          BYTEA NOT NULL,
    name_kana_enc     BYTEA NOT NULL,
    birth_date_enc    BYTEA NOT NULL,
    sex               SMALLINT NOT NULL CHECK (sex IN (1, 2)),
    moved_out_on      DATE,
    deceased_on       DATE,
    content_mac       BYTEA NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_code, atena_number),
    UNIQUE (municipality_code, my_number_index),
    UNIQUE (municipality_code, coupon_number)
);

CREATE TABLE doses (
    municipality_code      CHAR(6) NOT NULL,
    atena_number           TEXT NOT NULL,
    dose_number            SMALLINT NOT NULL CHECK (dose_number BETWEEN 1 AND 20),
    administered_on        DATE NOT NULL,
    product_code           TEXT NOT NULL,
    lot_number             TEXT NOT NULL,
    site_municipality_code CHAR(6) NOT NULL,
    coupon_number          CHAR(10) NOT NULL,
    recorded_at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_code, atena_number, dose_number),
    FOREIGN KEY (municipality_code, atena_number) REFERENCES residents (municipality_code, atena_number)
);

CREATE TABLE audit_log (
    municipality_code CHAR(6) NOT NULL,
    seq               BIGINT NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    actor             TEXT NOT NULL,
    role              TEXT NOT NULL,
    terminal          TEXT NOT NULL,
    action            TEXT NOT NULL,
    target            TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    detail            TEXT NOT NULL,
    hash              BYTEA NOT NULL,
    PRIMARY KEY (municipality_code, seq)
);

-- One row per municipality holding the newest entry of its chain; appends lock it, so concurrent
-- nodes append one after another.
CREATE TABLE audit_heads (
    municipality_code CHAR(6) PRIMARY KEY,
    seq               BIGINT NOT NULL,
    hash              BYTEA NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
