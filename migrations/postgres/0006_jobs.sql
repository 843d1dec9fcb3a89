-- Open, fault-isolated background jobs (PostgreSQL). Same shape as migrations/sqlite.
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

ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
ALTER TABLE jobs
    ADD COLUMN worker              TEXT,
    ADD COLUMN cancel_requested_at TIMESTAMPTZ,
    ADD COLUMN cancelled_by        UUID,
    ADD COLUMN cancelled_by_name   TEXT;
UPDATE jobs SET kind = CASE kind WHEN 'receivables_sync' THEN 'receivables.sync' ELSE kind END, worker = lease_owner;
-- A worker's own running jobs, checked for cancel requests.
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE status = 'running';

CREATE TABLE job_schedules (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL,
    -- Off: the kind is never queued by the scheduler for this tenant.
    enabled      BOOLEAN NOT NULL,
    -- The tenant's own schedule: a local time 'HH:MM' or a 5-field cron expression, in
    -- the tenant's time zone; both NULL: the kind's default schedule.
    daily_at     TEXT,
    cron         TEXT,
    -- The latest slot queued (a missed run is caught up once: only the latest slot that
    -- has passed is ever queued, and only when it is later than this).
    last_slot_at TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   UUID,
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
SELECT j.tenant_id, 'receivables.sync', TRUE, NULL, NULL, MAX(j.created_at), MAX(j.created_at), NULL
FROM jobs j
WHERE j.kind = 'receivables.sync' AND j.dedupe_key LIKE 'daily:%'
  AND NOT EXISTS (SELECT 1 FROM receivables_settings s WHERE s.tenant_id = j.tenant_id)
GROUP BY j.tenant_id;

ALTER TABLE receivables_settings DROP COLUMN sync_daily_at;
