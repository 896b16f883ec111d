-- One transaction per redemption (postgres): spending a code or a refresh token and recording
-- what it issued commit together, so there is no "spent, answer not yet recorded" state to
-- mark any more. A rotated refresh token remembers its successor instead: presenting it again
-- while that successor is still unused, within seconds of the rotation, is a concurrent
-- duplicate; otherwise it is a replay (docs/security.md, "Refresh token rotation").

ALTER TABLE refresh_tokens ADD COLUMN successor_hash BYTEA;
ALTER TABLE refresh_tokens DROP COLUMN rotation_delivered_at;
