-- End users, their sessions, authorization codes, refresh tokens and consents (postgres).
-- Codes and refresh tokens are stored only as keyed hashes; passwords only as argon2id PHC
-- strings.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT,
    name          TEXT,
    password_hash TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- tower-sessions records (JSON), end users' and, later, the portals'.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed sign-ins per account and per source address: lockout survives a restart.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE authorization_codes (
    code_hash      BYTEA PRIMARY KEY NOT NULL,
    grant_id       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    -- Set once the first redemption's tokens are recorded: a replay before that is a concurrent
    -- duplicate, a replay after it revokes those tokens.
    tokens_issued_at BIGINT
);

-- Every refresh token of a grant ("family"). Exactly one is live: rotated_at and revoked_at
-- are NULL. expires_at is the family's absolute end, copied to each successor.
CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    grant_id   TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    -- Set once the rotation's answer (the successor and its access token) is ready: a replay
    -- before that is a concurrent duplicate, after it a replay that revokes the family.
    rotation_delivered_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

ALTER TABLE tokens ADD COLUMN grant_id TEXT;
CREATE INDEX tokens_grant ON tokens (grant_id);

-- Remembered consent: the scopes a user allowed a client, until revoked.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Every consent decision as it was shown, append-only.
CREATE TABLE consent_records (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    decision        TEXT NOT NULL,
    consent_version TEXT NOT NULL,
    decided_at      BIGINT NOT NULL
);

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
-- How the client's ID tokens are signed; NULL for clients that may not request openid.
ALTER TABLE clients ADD COLUMN id_token_signing_alg TEXT;

-- Scopes listed in discovery's scopes_supported (RFC 8414 §2: a server may keep some unlisted).
ALTER TABLE scopes ADD COLUMN public BIGINT NOT NULL DEFAULT 0;
UPDATE scopes SET public = 1 WHERE built_in = 1;
