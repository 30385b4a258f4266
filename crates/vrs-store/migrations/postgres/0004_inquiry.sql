-- Inquiries between municipalities and what the national operator governs (PostgreSQL): the
-- municipality a received dose came from, both sides' provision records (append-only, like the audit
-- log), the versioned terms and each municipality's agreements, and the functions the operator can
-- stop. Provision rows are keyed by municipality_code first, so they distribute with the area's other
-- rows (Citus); terms_versions and function_states are deployment-wide (reference tables).

ALTER TABLE doses ADD COLUMN received_from CHAR(6);

CREATE TABLE provision_records (
    municipality_code CHAR(6) NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('inquired', 'provided')),
    inquiry_id        TEXT NOT NULL,
    counterpart_code  CHAR(6) NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    actor             TEXT NOT NULL,
    terminal          TEXT NOT NULL,
    consent           TEXT NOT NULL,
    atena_number      TEXT,
    found             BOOLEAN NOT NULL,
    PRIMARY KEY (municipality_code, side, inquiry_id)
);

CREATE INDEX provision_records_newest ON provision_records (municipality_code, at DESC);

CREATE TABLE provision_doses (
    municipality_code      CHAR(6) NOT NULL,
    side                   TEXT NOT NULL,
    inquiry_id             TEXT NOT NULL,
    dose_number            SMALLINT NOT NULL CHECK (dose_number BETWEEN 1 AND 20),
    administered_on        DATE NOT NULL,
    product_code           TEXT NOT NULL,
    lot_number             TEXT NOT NULL,
    coupon_number          CHAR(10) NOT NULL,
    site_municipality_code CHAR(6) NOT NULL,
    PRIMARY KEY (municipality_code, side, inquiry_id, dose_number),
    FOREIGN KEY (municipality_code, side, inquiry_id)
        REFERENCES provision_records (municipality_code, side, inquiry_id)
);

CREATE FUNCTION provision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'provision records are append-only';
END;
$$;

CREATE TRIGGER provision_records_no_update_or_delete BEFORE UPDATE OR DELETE ON provision_records
    FOR EACH ROW EXECUTE FUNCTION provision_append_only();

CREATE TRIGGER provision_records_no_truncate BEFORE TRUNCATE ON provision_records
    FOR EACH STATEMENT EXECUTE FUNCTION provision_append_only();

CREATE TRIGGER provision_doses_no_update_or_delete BEFORE UPDATE OR DELETE ON provision_doses
    FOR EACH ROW EXECUTE FUNCTION provision_append_only();

CREATE TRIGGER provision_doses_no_truncate BEFORE TRUNCATE ON provision_doses
    FOR EACH STATEMENT EXECUTE FUNCTION provision_append_only();

CREATE TABLE terms_versions (
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, version)
);

CREATE TABLE terms_agreements (
    municipality_code CHAR(6) NOT NULL,
    kind              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    agreed_by         TEXT NOT NULL,
    agreed_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_code, kind, version),
    FOREIGN KEY (kind, version) REFERENCES terms_versions (kind, version)
);

-- A function without a row runs.
CREATE TABLE function_states (
    function   TEXT PRIMARY KEY,
    stopped    BOOLEAN NOT NULL,
    reason     TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);

-- Bulk inquiry jobs (一括照会): the counts and the results file of each, for download. The results
-- name people by the asking municipality's 宛名番号 and never hold a My Number.
CREATE TABLE inquiry_jobs (
    municipality_code TEXT NOT NULL,
    batch             TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    row_count         INTEGER NOT NULL,
    found             INTEGER NOT NULL,
    not_found         INTEGER NOT NULL,
    refused           INTEGER NOT NULL,
    invalid           INTEGER NOT NULL,
    results_csv       TEXT NOT NULL,
    PRIMARY KEY (municipality_code, batch)
);
CREATE INDEX inquiry_jobs_newest ON inquiry_jobs (municipality_code, created_at DESC);
