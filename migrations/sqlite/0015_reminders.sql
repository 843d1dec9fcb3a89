-- Reminders that collect by themselves (SQLite): the tenant's reminder rules and settings
-- (ФЗ-230 figures, send window), per-client flags (opt-out, no contact, time zone), disputed
-- debts, promises to pay, and the daily plan: every message planned, queued or skipped
-- (with the reason), once per (rule, step, client, documents).

CREATE TABLE reminder_settings (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- A rule: whom it applies to (scope) and its ordered steps, both as JSON documents.
CREATE TABLE reminder_rules (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    active       INTEGER NOT NULL,
    max_attempts INTEGER,
    scope        TEXT NOT NULL,
    steps        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE reminder_client_flags (
    tenant_id       BLOB NOT NULL,
    counterparty_id BLOB NOT NULL,
    opted_out       INTEGER NOT NULL,
    -- 'bankrupt', 'incapable', 'refused': no contact at all.
    no_contact      TEXT CHECK (no_contact IN ('bankrupt', 'incapable', 'refused')),
    time_zone       TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, counterparty_id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

CREATE TABLE debt_disputes (
    tenant_id   BLOB NOT NULL,
    document_id BLOB NOT NULL,
    reason      TEXT NOT NULL,
    disputed_by BLOB NOT NULL,
    disputed_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES sales_documents (tenant_id, id),
    FOREIGN KEY (tenant_id, disputed_by) REFERENCES users (tenant_id, id)
);

CREATE TABLE payment_promises (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    counterparty_id BLOB NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    made_on         TEXT NOT NULL,
    promised_on     TEXT NOT NULL,
    -- The sales documents it covers: a JSON array of ids.
    documents       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'kept', 'broken')),
    paid            INTEGER NOT NULL DEFAULT 0,
    resolved_on     TEXT,
    task_id         BLOB,
    note            TEXT,
    created_by      BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX payment_promises_counterparty ON payment_promises (tenant_id, counterparty_id, status);

-- The days the planner has planned (a missed day is caught up from the last one).
CREATE TABLE reminder_runs (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    day       TEXT NOT NULL,
    planned   INTEGER NOT NULL,
    skipped   INTEGER NOT NULL,
    ran_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Every decision of the planner. `dedupe_key` makes it once: (rule, step, client,
-- documents) for a message; a skip for a passing reason also carries the day.
CREATE TABLE reminder_messages (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    dedupe_key      TEXT NOT NULL,
    day             TEXT NOT NULL,
    rule_id         BLOB NOT NULL,
    step_id         TEXT NOT NULL,
    step_position   INTEGER NOT NULL,
    counterparty_id BLOB NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'voice', 'task')),
    status          TEXT NOT NULL CHECK (status IN ('planned', 'queued', 'task_created', 'skipped')),
    reason_code     TEXT,
    reason          TEXT,
    documents       TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    -- The From address of an e-mail (the client's manager, or the tenant's sender).
    sender          TEXT,
    subject         TEXT,
    body            TEXT,
    html            TEXT,
    not_before      TEXT,
    mail_id         BLOB,
    task_id         BLOB,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES reminder_rules (tenant_id, id)
);
CREATE UNIQUE INDEX reminder_messages_dedupe ON reminder_messages (tenant_id, dedupe_key);
CREATE INDEX reminder_messages_client ON reminder_messages (tenant_id, counterparty_id, day);
CREATE INDEX reminder_messages_day ON reminder_messages (tenant_id, day);
