-- Backups and crypto-shredding (SQLite).
-- backup_keys is the key vault: one backup key per area (a municipality, or 000000 for the
-- deployment's own tables), wrapped by the master key. It is never written into a backup, so
-- destroying an entry leaves every backup of that area unreadable.
-- area_shreds records a municipality's consent to the destruction of its area and, once done, the
-- destruction itself; it outlives the area. While a shred is under way (shredded_at set in the same
-- transaction) the append-only triggers let that area's rows go, and only that area's.

CREATE TABLE backup_keys (
    area        TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE area_shreds (
    municipality_code TEXT PRIMARY KEY,
    consented_by      TEXT NOT NULL,
    consent_reference TEXT NOT NULL,
    consented_at      TEXT NOT NULL,
    shredded_by       TEXT,
    shredded_at       TEXT,
    deleted           TEXT NOT NULL DEFAULT ''
);

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM area_shreds
                 WHERE municipality_code = OLD.municipality_code AND shredded_at IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

DROP TRIGGER provision_records_no_delete;
CREATE TRIGGER provision_records_no_delete BEFORE DELETE ON provision_records
WHEN NOT EXISTS (SELECT 1 FROM area_shreds
                 WHERE municipality_code = OLD.municipality_code AND shredded_at IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;

DROP TRIGGER provision_doses_no_delete;
CREATE TRIGGER provision_doses_no_delete BEFORE DELETE ON provision_doses
WHEN NOT EXISTS (SELECT 1 FROM area_shreds
                 WHERE municipality_code = OLD.municipality_code AND shredded_at IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'provision records are append-only');
END;
