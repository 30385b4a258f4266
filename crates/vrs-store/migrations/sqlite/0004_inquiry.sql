-- Inquiries between municipalities and what the national operator governs (SQLite): the municipality
-- a received dose came from, both sides' provision records (append-only, like the audit log), the
-- versioned terms and each municipality's agreements, and the functions the operator can stop.
-- Provision rows are keyed by municipality_code first, like every other row of an area.

ALTER TABLE doses ADD COLUMN received_from TEXT;

CREATE TABLE provision_records (
    municipality_code TEXT NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('inquired', 'provided')),
    inquiry_id        TEXT NOT NULL,
    counterpart_code  TEXT NOT NULL,
    at                TEXT NOT NULL,
    actor             TEXT NOT NULL,
    terminal          TEXT NOT NULL,
    consent           TEXT NOT NULL,
    atena_number      TEXT,
    found             INTEGER NOT NULL,
    PRIMARY KEY (municipality_code, side, inquiry_id)
) WITHOUT ROWID;

CREATE INDEX provision_records_newest ON provision_records (municipality_code, at DESC);

CREATE TABLE provision_doses (
    municipality_code      TEXT NOT NULL,
    side                   TEXT NOT NULL,
    inquiry_id             TEXT NOT NULL,
    dose_number            INTEGER NOT NULL CHECK (dose_number BETWEEN 1 AND 20),
    administered_on        TEXT NOT NULL,
    product_code           TEXT NOT NULL,
    lot_number             TEXT NOT NULL,
    coupon_number          TEXT NOT NULL,
    site_municipality_code TEXT NOT NULL,
    PRIMARY KEY (municipality_code, side, inquiry_id, dose_number),
    FOREIGN KEY (municipality_code, side, inquiry_id)
        REFERENCES provision_records (municipality_code, side, inquiry_id)
) WITHOUT ROWID;

CREATE TRIGGER provision_records_no_update BEFORE UPDATE ON provision_records
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;

CREATE TRIGGER provision_records_no_delete BEFORE DELETE ON provision_records
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;

CREATE TRIGGER provision_doses_no_update BEFORE UPDATE ON provision_doses
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;

CREATE TRIGGER provision_doses_no_delete BEFORE DELETE ON provision_doses
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;

-- Deployment-wide rows (a reference table on Citus): the operator publishes, nobody owns them.
CREATE TABLE terms_versions (
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
) WITHOUT ROWID;

CREATE TABLE terms_agreements (
    municipality_code TEXT NOT NULL,
    kind              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    agreed_by         TEXT NOT NULL,
    agreed_at         TEXT NOT NULL,
    PRIMARY KEY (municipality_code, kind, version),
    FOREIGN KEY (kind, version) REFERENCES terms_versions (kind, version)
) WITHOUT ROWID;

-- A function without a row runs.
CREATE TABLE function_states (
    function   TEXT PRIMARY KEY,
    stopped    INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
) WITHOUT ROWID;

-- Bulk inquiry jobs (一括照会): the counts and the results file of each, for download. The results
-- name people by the asking municipality's 宛名番号 and never hold a My Number.
CREATE TABLE inquiry_jobs (
    municipality_code TEXT NOT NULL,
    batch             TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    row_count         INTEGER NOT NULL,
    found             INTEGER NOT NULL,
    not_found         INTEGER NOT NULL,
    refused           INTEGER NOT NULL,
    invalid           INTEGER NOT NULL,
    results_csv       TEXT NOT NULL,
    PRIMARY KEY (municipality_code, batch)
);
CREATE INDEX inquiry_jobs_newest ON inquiry_jobs (municipality_code, created_at DESC);
