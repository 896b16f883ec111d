-- An absolute end for every browser session (postgres; SECURITY.md H-25): set when it is created
-- (and so again at sign-in, which issues a new session id), never moved by activity.
-- Sessions open at the upgrade end no later than their current idle expiry.

ALTER TABLE sessions ADD COLUMN ends_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET ends_at = expires_at;
