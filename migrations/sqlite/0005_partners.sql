-- Partner developer accounts, what their organisations requested, and their notifications
-- (sqlite).

CREATE TABLE partners (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    organisation    TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    -- pending | active | rejected | disabled
    status          TEXT NOT NULL,
    decision_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX partners_status ON partners (status, created_at);

-- One row per client a partner organisation requested: the client itself lives in clients
-- (pending until approved); this holds who owns it and what the admin decided around it.
CREATE TABLE partner_clients (
    client_id          TEXT PRIMARY KEY NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organisation_id    TEXT NOT NULL,
    description        TEXT NOT NULL,
    justification      TEXT NOT NULL,
    max_overlap_hours  BIGINT,
    decision_reason    TEXT,
    secret_revealed_at BIGINT,
    requested_at       BIGINT NOT NULL
);
CREATE INDEX partner_clients_organisation ON partner_clients (organisation_id);

CREATE TABLE partner_notifications (
    id              TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    message         TEXT NOT NULL,
    read_at         BIGINT
);
CREATE INDEX partner_notifications_organisation ON partner_notifications (organisation_id, at);
