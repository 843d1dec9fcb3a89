-- Open, fault-isolated background jobs (SQLite). Same shape as migrations/postgres.
--
-- * Job kinds are names registered by the domains (`receivables.sync`, …); the 1C
--   sync's old kind `receivables_sync` is renamed.
-- * A job can be cancelled (status `cancelled`): `cancel_requested_at` asks a running one
--   to stop at its next save point; who asked is kept in the job (and the audit log).
-- * `worker` keeps the worker that ran the job last (the lease owner is cleared at the end).
-- * Schedules are data: `job_schedules`, one row per tenant and kind, either a local time
--   of day or a cron expression in the tenant's time zone (or the kind's default), with
--   the last slot queued. The 1C sync's daily time moves here from
--   `receivables_settings.sync_daily_at`.
--
-- SQLite cannot change a CHECK constraint in place: `jobs` is rebuilt. Nothing refers
-- to it, so the rebuild needs no foreign-key juggling.

CREATE TABLE jobs_0006 (
    tenant_id           BLOB NOT NULL REFERENCES tenants (id),
    id                  BLOB NOT NULL,
    kind                TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params              TEXT NOT NULL,
    state               TEXT NOT NULL,
    progress            TEXT NOT NULL,
    error               TEXT,
    attempts            INTEGER NOT NULL,
    dedupe_key          TEXT,
    requested_by        BLOB,
    run_after           TEXT NOT NULL,
    lease_owner         TEXT,
    lease_until         TEXT,
    worker              TEXT,
    cancel_requested_at TEXT,
    cancelled_by        BLOB,
    cancelled_by_name   TEXT,
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    finished_at         TEXT,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO jobs_0006 (tenant_id, id, kind, status, params, state, progress, error, attempts, dedupe_key, requested_by,
                       run_after, lease_owner, lease_until, worker, created_at, started_at, finished_at, updated_at)
SELECT tenant_id, id, CASE kind WHEN 'receivables_sync' THEN 'receivables.sync' ELSE kind END, status, params, state, progress,
       error, attempts, dedupe_key, requested_by, run_after, lease_owner, lease_until, lease_owner, created_at, started_at,
       finished_at, updated_at
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_0006 RENAME TO jobs;
-- One queued or running job of a kind per tenant.
CREATE UNIQUE INDEX jobs_one_active ON jobs (tenant_id, kind) WHERE status IN ('queued', 'running');
-- One job per scheduled slot, whichever instance queues it first.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_claim ON jobs (run_after) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_list ON jobs (tenant_id, kind, id DESC);
-- A worker's own running jobs, checked for cancel requests.
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE status = 'running';

CREATE TABLE job_schedules (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL,
    -- Off: the kind is never queued by the scheduler for this tenant.
    enabled      INTEGER NOT NULL,
    -- The tenant's own schedule: a local time 'HH:MM' or a 5-field cron expression, in
    -- the tenant's time zone; both NULL: the kind's default schedule.
    daily_at     TEXT,
    cron         TEXT,
    -- The latest slot queued (a missed run is caught up once: only the latest slot that
    -- has passed is ever queued, and only when it is later than this).
    last_slot_at TEXT,
    updated_at   TEXT NOT NULL,
    updated_by   BLOB,
    PRIMARY KEY (tenant_id, kind),
    CHECK (daily_at IS NULL OR cron IS NULL)
);

-- The 1C sync's daily time, as each tenant set it. The last daily sync queued stands for
-- the last slot, so the upgrade does not run today's sync a second time.
INSERT INTO job_schedules (tenant_id, kind, enabled, daily_at, cron, last_slot_at, updated_at, updated_by)
SELECT s.tenant_id, 'receivables.sync', s.sync_daily_at IS NOT NULL, s.sync_daily_at, NULL,
       (SELECT MAX(j.created_at) FROM jobs j WHERE j.tenant_id = s.tenant_id AND j.kind = 'receivables.sync' AND j.dedupe_key LIKE 'daily:%'),
       s.updated_at, NULL
FROM receivables_settings s;
-- Tenants on the default time with daily syncs behind them: remember the last one.
INSERT INTO job_schedules (tenant_id, kind, enabled, daily_at, cron, last_slot_at, updated_at, updated_by)
SELECT j.tenant_id, 'receivables.sync', 1, NULL, NULL, MAX(j.created_at), MAX(j.created_at), NULL
FROM jobs j
WHERE j.kind = 'receivables.sync' AND j.dedupe_key LIKE 'daily:%'
  AND NOT EXISTS (SELECT 1 FROM receivables_settings s WHERE s.tenant_id = j.tenant_id)
GROUP BY j.tenant_id;

ALTER TABLE receivables_settings DROP COLUMN sync_daily_at;
