-- Administrators and the hash-chained audit log (sqlite).

CREATE TABLE admins (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- Space-separated admin:* permissions.
    permissions   TEXT NOT NULL,
    -- The TOTP secret sealed with the master key (NULL: no second factor), and the last step
    -- accepted, so a code is good once.
    totp_sealed   BLOB,
    totp_last_step BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Append-only. id is assigned by the writer (last id + 1) because it is part of the hash;
-- appends are serialised (one SQLite writer; an advisory lock on PostgreSQL).
CREATE TABLE audit_log (
    id        BIGINT PRIMARY KEY NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    source_ip TEXT,
    details   TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_target ON audit_log (target);

-- The secret before the last regeneration, valid until previous_secret_until so partners can
-- roll the new one out; its last use tells the admin when it is safe to retire.
ALTER TABLE clients ADD COLUMN previous_secret_hash BLOB;
ALTER TABLE clients ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE clients ADD COLUMN previous_secret_last_used_at BIGINT;
ALTER TABLE clients ADD COLUMN previous_secret_last_used_ip TEXT;

-- Failed client authentications per UTC day, client ("unknown" for unregistered ids) and
-- reason: the dashboard's and analytics' failed-authentication figures.
CREATE TABLE client_auth_failures (
    day       BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    reason    TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (day, client_id, reason)
);
