-- Reminders that collect by themselves (PostgreSQL): the tenant's reminder rules and settings
-- (ФЗ-230 figures, send window), per-client flags (opt-out, no contact, time zone), disputed
-- debts, promises to pay, and the daily plan: every message planned, queued or skipped
-- (with the reason), once per (rule, step, client, documents).

CREATE TABLE reminder_settings (
    tenant_id  UUID NOT NULL REFERENCES tenants (id),
    settings   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- A rule: whom it applies to (scope) and its ordered steps, both as JSON documents.
CREATE TABLE reminder_rules (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    id           UUID NOT NULL,
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    active       BOOLEAN NOT NULL,
    max_attempts INTEGER,
    scope        JSONB NOT NULL,
    steps        JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE reminder_client_flags (
    tenant_id       UUID NOT NULL,
    counterparty_id UUID NOT NULL,
    opted_out       BOOLEAN NOT NULL,
    -- 'bankrupt', 'incapable', 'refused': no contact at all.
    no_contact      TEXT CHECK (no_contact IN ('bankrupt', 'incapable', 'refused')),
    time_zone       TEXT,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, counterparty_id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

CREATE TABLE debt_disputes (
    tenant_id   UUID NOT NULL,
    document_id UUID NOT NULL,
    reason      TEXT NOT NULL,
    disputed_by UUID NOT NULL,
    disputed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES sales_documents (tenant_id, id),
    FOREIGN KEY (tenant_id, disputed_by) REFERENCES users (tenant_id, id)
);

CREATE TABLE payment_promises (
    tenant_id       UUID NOT NULL,
    id              UUID NOT NULL,
    counterparty_id UUID NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    made_on         DATE NOT NULL,
    promised_on     DATE NOT NULL,
    -- The sales documents it covers: a JSON array of ids.
    documents       JSONB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'kept', 'broken')),
    paid            BIGINT NOT NULL DEFAULT 0,
    resolved_on     DATE,
    task_id         UUID,
    note            TEXT,
    created_by      UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX payment_promises_counterparty ON payment_promises (tenant_id, counterparty_id, status);

-- The days the planner has planned (a missed day is caught up from the last one).
CREATE TABLE reminder_runs (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    day       DATE NOT NULL,
    planned   INTEGER NOT NULL,
    skipped   INTEGER NOT NULL,
    ran_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Every decision of the planner. `dedupe_key` makes it once: (rule, step, client,
-- documents) for a message; a skip for a passing reason also carries the day.
CREATE TABLE reminder_messages (
    tenant_id       UUID NOT NULL,
    id              UUID NOT NULL,
    dedupe_key      TEXT NOT NULL,
    day             DATE NOT NULL,
    rule_id         UUID NOT NULL,
    step_id         TEXT NOT NULL,
    step_position   INTEGER NOT NULL,
    counterparty_id UUID NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'voice', 'task')),
    status          TEXT NOT NULL CHECK (status IN ('planned', 'queued', 'task_created', 'skipped')),
    reason_code     TEXT,
    reason          TEXT,
    documents       JSONB NOT NULL,
    recipients      JSONB NOT NULL,
    -- The From address of an e-mail (the client's manager, or the tenant's sender).
    sender          TEXT,
    subject         TEXT,
    body            TEXT,
    html            TEXT,
    not_before      TIMESTAMPTZ,
    mail_id         UUID,
    task_id         UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES reminder_rules (tenant_id, id)
);
CREATE UNIQUE INDEX reminder_messages_dedupe ON reminder_messages (tenant_id, dedupe_key);
CREATE INDEX reminder_messages_client ON reminder_messages (tenant_id, counterparty_id, day);
CREATE INDEX reminder_messages_day ON reminder_messages (tenant_id, day);
