-- API keys (postgres). A key is stored only as its keyed hash; key_prefix is the few characters
-- shown in lists. Usage counters are aggregated in memory and added here by periodic flushes.

CREATE TABLE api_keys (
    id                    TEXT PRIMARY KEY NOT NULL,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    burst                 BIGINT,
    allowed_ips           TEXT NOT NULL,
    expires_at            BIGINT,
    status                TEXT NOT NULL,
    key_prefix            TEXT NOT NULL,
    key_hash              BYTEA NOT NULL UNIQUE,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    last_used_at          BIGINT,
    replaced_by           TEXT
);
CREATE INDEX api_keys_client ON api_keys (client_id, created_at);

-- Verifications per key, UTC day (days since the epoch) and outcome.
CREATE TABLE api_key_usage (
    key_id  TEXT NOT NULL,
    day     BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (key_id, day, outcome)
);

-- Source addresses seen per key and day.
CREATE TABLE api_key_sources (
    key_id TEXT NOT NULL,
    day    BIGINT NOT NULL,
    source TEXT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (key_id, day, source)
);

-- In-process rate-limit state (theoretical arrival times, microseconds) saved at shutdown and
-- read back at start, so a restart does not hand every key a fresh burst.
CREATE TABLE api_key_rate_state (
    key_id TEXT PRIMARY KEY NOT NULL,
    tat    BIGINT NOT NULL
);
