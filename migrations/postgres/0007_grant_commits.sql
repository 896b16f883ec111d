-- One transaction per redemption (postgres): spending a code or a refresh token and recording what
-- it issued commit together, so there is no "spent, answer not yet recorded" state to mark any
-- more. A rotated refresh token remembers its successor instead: presented again within the
-- duplicate window (1 s) while that successor is unused, it is a concurrent duplicate;
-- otherwise a replay (docs/security.md, "The duplicate window").
--
-- rotation_delivered_at is no longer written or read. It stays until the next release, so
-- instances of the previous version that still read it keep working during a rolling upgrade
-- (docs/deployment.md, "Upgrades").

ALTER TABLE refresh_tokens ADD COLUMN successor_hash BYTEA;
