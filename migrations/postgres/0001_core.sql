-- Protocol core schema (PostgreSQL). Times are Unix seconds; booleans are 0/1 integers so the same
-- queries read both engines through sqlx's Any driver.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE scopes (
    name          TEXT PRIMARY KEY NOT NULL,
    description   TEXT NOT NULL,
    category      TEXT,
    requires_user BIGINT NOT NULL,
    includes      TEXT NOT NULL,
    built_in      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE clients (
    id                     TEXT PRIMARY KEY NOT NULL,
    name                   TEXT NOT NULL,
    client_type            TEXT NOT NULL,
    grant_types            TEXT NOT NULL,
    allowed_scopes         TEXT NOT NULL,
    redirect_uris          TEXT NOT NULL,
    auth_method            TEXT NOT NULL,
    access_token_lifetime  BIGINT NOT NULL,
    refresh_token_lifetime BIGINT NOT NULL,
    lifetime_policy        TEXT,
    status                 TEXT NOT NULL,
    permissions            TEXT NOT NULL,
    secret_hash            BYTEA,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY NOT NULL,
    alg                TEXT NOT NULL,
    public_jwk         TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    retired_at         BIGINT,
    publish_until      BIGINT
);

CREATE TABLE tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    grant_type TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX tokens_client ON tokens (client_id, issued_at);
CREATE INDEX tokens_expiry ON tokens (expires_at);

CREATE TABLE changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
