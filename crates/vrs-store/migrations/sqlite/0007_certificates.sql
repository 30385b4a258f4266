-- Certificates (SQLite): the issuers' signing keys and each municipality's issuance history.
--
-- signing_keys holds the deployment's certificate keys: per issuer (a municipality code, or
-- 'national' when one national issuer signs for all) and purpose ('shc' = SMART Health Card key,
-- 'dsc' = EU DCC / ICAO VDS-NC document signer, 'csca' = the deployment's country signing CA). The
-- private key (PKCS#8) is sealed by the master key, like the key vault; the public part (a JWK for
-- 'shc', the X.509 certificate for 'dsc' and 'csca') is published. A rotated key is retired, never
-- deleted, so certificates it signed still verify. At most one key per issuer and purpose is active.
--
-- certificate_issues is the issuance history (docs/certificates.md): only the name, birth date, nationality
-- and passport number (sealed with the area's data key) with the certificate's ID, time, channel and
-- kind. It names no 宛名番号 and no My Number.

CREATE TABLE signing_keys (
    issuer         TEXT NOT NULL,
    purpose        TEXT NOT NULL CHECK (purpose IN ('shc', 'dsc', 'csca')),
    kid            TEXT NOT NULL,
    public_part    BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    retired_at     TEXT,
    PRIMARY KEY (issuer, purpose, kid)
) WITHOUT ROWID;

CREATE UNIQUE INDEX signing_keys_active ON signing_keys (issuer, purpose) WHERE retired_at IS NULL;

CREATE TABLE certificate_issues (
    municipality_code   TEXT NOT NULL,
    certificate_id      TEXT NOT NULL,
    issued_at           TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('counter', 'app', 'kiosk')),
    kind                TEXT NOT NULL CHECK (kind IN ('domestic', 'overseas')),
    name_enc            BLOB NOT NULL,
    birth_date_enc      BLOB NOT NULL,
    nationality_enc     BLOB,
    passport_number_enc BLOB,
    PRIMARY KEY (municipality_code, certificate_id)
) WITHOUT ROWID;

CREATE INDEX certificate_issues_newest ON certificate_issues (municipality_code, issued_at DESC);
