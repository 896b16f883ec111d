-- Partner organisations with several members (postgres): a member invites a colleague with a
-- one-time code (stored only as a keyed hash); the account created with it joins the inviting
-- organisation once an admin approves it (docs/security.md, "Developer portal").

ALTER TABLE partners ADD COLUMN invited_by TEXT;

CREATE TABLE partner_invitations (
    code_hash       BYTEA PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL,
    organisation    TEXT NOT NULL,
    invited_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    -- Set once, by the sign-up that used it.
    used_at         BIGINT,
    used_by         TEXT
);
CREATE INDEX partner_invitations_expiry ON partner_invitations (expires_at);
CREATE INDEX partners_organisation ON partners (organisation_id);
