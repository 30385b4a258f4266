-- Backups and crypto-shredding (PostgreSQL); see the SQLite file for the meaning of the tables.

CREATE TABLE backup_keys (
    area        CHAR(6) PRIMARY KEY,
    wrapped_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE area_shreds (
    municipality_code CHAR(6) PRIMARY KEY,
    consented_by      TEXT NOT NULL,
    consent_reference TEXT NOT NULL,
    consented_at      TIMESTAMPTZ NOT NULL,
    shredded_by       TEXT,
    shredded_at       TIMESTAMPTZ,
    deleted           TEXT NOT NULL DEFAULT ''
);

-- Deleting is allowed only for the rows of an area whose shred is under way; updating never.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM area_shreds
                WHERE municipality_code = OLD.municipality_code AND shredded_at IS NOT NULL) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE OR REPLACE FUNCTION provision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM area_shreds
                WHERE municipality_code = OLD.municipality_code AND shredded_at IS NOT NULL) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'provision records are append-only';
END;
$$;
