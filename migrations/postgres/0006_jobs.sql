-- Background jobs (postgres): one row per job. Claiming a run moves `next_run_at` forward in the
-- same statement, so across every instance a job runs once per interval and one at a time.

CREATE TABLE job_runs (
    job         TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    next_run_at BIGINT NOT NULL,
    runs        BIGINT NOT NULL
);
