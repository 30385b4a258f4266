-- Revocations outlive their area (SQLite).
--
-- Destroying an area deletes its issuance history, but a certificate the municipality revoked must
-- stay refused by every verifier while the issuer's public keys stay published. A shred therefore
-- moves what the public revocation lists need of each revoked certificate into this deployment
-- table first: the random certificate ID printed on it, its kind, the keys that signed it and when
-- it was revoked. Nothing here names or describes a person.

CREATE TABLE revoked_tombstones (
    municipality_code TEXT NOT NULL,
    certificate_id    TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('domestic', 'overseas')),
    shc_kid           TEXT NOT NULL,
    dsc_kid           TEXT NOT NULL,
    revoked_at        TEXT NOT NULL,
    PRIMARY KEY (municipality_code, certificate_id)
) WITHOUT ROWID;
