-- Debt control and the morning digest (SQLite).
--
-- * debt_control_rules: the tenant's rules (debt ≥ X, overdue ≥ N days, payer rating ≤ k
--   stars; every condition given must hold) and the control period of their tasks.
-- * debt_control_tasks: one row per control task given for (rule, client); at most one open
--   per (rule, client). It holds the manager's task, its control date, the head's
--   escalation task (once) and why it was closed.
-- * debt_snapshots / debt_snapshot_days: each client's owed and overdue totals as the
--   digest saw them on a day, for "change since yesterday".
-- * digest_subscriptions: managers who asked for the digest of their own clients.

CREATE TABLE debt_control_rules (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id),
    id               BLOB NOT NULL,
    name             TEXT NOT NULL,
    active           INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    min_debt         INTEGER CHECK (min_debt IS NULL OR min_debt > 0),
    min_days_overdue INTEGER CHECK (min_days_overdue IS NULL OR min_days_overdue > 0),
    max_stars        INTEGER CHECK (max_stars IS NULL OR max_stars BETWEEN 1 AND 5),
    control_days     INTEGER NOT NULL CHECK (control_days BETWEEN 1 AND 365),
    working_days     INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE debt_control_tasks (
    tenant_id          BLOB NOT NULL,
    id                 BLOB NOT NULL,
    rule_id            BLOB NOT NULL,
    counterparty_id    BLOB NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_on          TEXT NOT NULL,
    control_on         TEXT NOT NULL,
    -- Set right after the row: the row is taken first, so two racing runs give one task.
    task_id            BLOB,
    escalation_task_id BLOB,
    escalated_on       TEXT,
    closed_on          TEXT,
    close_reason       TEXT,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES debt_control_rules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id),
    FOREIGN KEY (tenant_id, escalation_task_id) REFERENCES tasks (tenant_id, id)
);
CREATE UNIQUE INDEX debt_control_tasks_one_open ON debt_control_tasks (tenant_id, rule_id, counterparty_id) WHERE status = 'open';
CREATE INDEX debt_control_tasks_client ON debt_control_tasks (tenant_id, counterparty_id);

CREATE TABLE debt_snapshot_days (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    day       TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE debt_snapshots (
    tenant_id       BLOB NOT NULL,
    day             TEXT NOT NULL,
    counterparty_id BLOB NOT NULL,
    owed            INTEGER NOT NULL,
    overdue         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, counterparty_id),
    FOREIGN KEY (tenant_id, day) REFERENCES debt_snapshot_days (tenant_id, day),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

CREATE TABLE digest_subscriptions (
    tenant_id  BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    opted_in   INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
