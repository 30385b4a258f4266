-- Machine clients (OAuth 2.0 client credentials with private_key_jwt), their bearer tokens, and the
-- assertion IDs already used (SQLite). A client is an account of the accounts table with a
-- registered public key set and the scopes it may ask for.

CREATE TABLE oauth_clients (
    user_id     TEXT PRIMARY KEY REFERENCES accounts (user_id),
    jwks        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Only the SHA-256 of a token is kept.
CREATE TABLE oauth_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES oauth_clients (user_id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX oauth_tokens_by_user ON oauth_tokens (user_id);

-- A `jti` is kept until its assertion has expired, so no assertion is accepted twice.
CREATE TABLE oauth_assertions (
    user_id     TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, jti)
);
