-- Host foundation: tenants, access, core CRM entities, timeline and audit (SQLite).
-- Same shape as migrations/postgres. Every tenant table keys on (tenant_id, id); every unique constraint and foreign key
-- includes tenant_id, so tables can be distributed by tenant_id (Citus) as they are.

CREATE TABLE tenants (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL DEFAULT 'Europe/Moscow',
    created_at  TEXT NOT NULL,
    archived_at TEXT
);

CREATE TABLE users (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    email       TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'head', 'manager')),
    departments TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    archived_at TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE api_tokens (
    tenant_id   BLOB NOT NULL,
    id          BLOB NOT NULL,
    user_id     BLOB NOT NULL,
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX api_tokens_user ON api_tokens (tenant_id, user_id);

CREATE TABLE our_legal_entities (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    id             BLOB NOT NULL,
    full_name      TEXT NOT NULL,
    short_name     TEXT,
    inn            TEXT NOT NULL,
    kpp            TEXT,
    ogrn           TEXT,
    legal_address  TEXT,
    bank_name      TEXT,
    bank_bic       TEXT,
    bank_account   TEXT,
    bank_corr_account TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    archived_at    TEXT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE counterparties (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    id             BLOB NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('legal_entity', 'sole_proprietor', 'natural_person')),
    inn            TEXT,
    kpp            TEXT,
    ogrn           TEXT,
    full_name      TEXT NOT NULL,
    short_name     TEXT,
    legal_address  TEXT,
    postal_address TEXT,
    bank_name      TEXT,
    bank_bic       TEXT,
    bank_account   TEXT,
    bank_corr_account TEXT,
    segment        TEXT,
    responsible_id BLOB,
    payment_deferral_days INTEGER NOT NULL DEFAULT 0,
    tags           TEXT NOT NULL DEFAULT '[]',
    search_key     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    archived_at    TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, responsible_id) REFERENCES users (tenant_id, id)
);
-- One live card per INN+KPP (branches share the INN with their own KPP).
CREATE UNIQUE INDEX counterparties_inn_key ON counterparties (tenant_id, inn, COALESCE(kpp, ''))
    WHERE inn IS NOT NULL AND archived_at IS NULL;
CREATE INDEX counterparties_responsible ON counterparties (tenant_id, responsible_id);
CREATE INDEX counterparties_search ON counterparties (tenant_id, search_key);

CREATE TABLE contacts (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    counterparty_id BLOB,
    full_name       TEXT NOT NULL,
    position        TEXT,
    phones          TEXT NOT NULL DEFAULT '[]',
    emails          TEXT NOT NULL DEFAULT '[]',
    note            TEXT,
    search_key      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    archived_at     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
CREATE INDEX contacts_counterparty ON contacts (tenant_id, counterparty_id);

CREATE TABLE relationships (
    tenant_id            BLOB NOT NULL REFERENCES tenants (id),
    id                   BLOB NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('holding', 'employee_of', 'related', 'kin')),
    from_counterparty_id BLOB,
    from_contact_id      BLOB,
    to_counterparty_id   BLOB,
    to_contact_id        BLOB,
    note                 TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    archived_at          TEXT,
    PRIMARY KEY (tenant_id, id),
    CHECK ((from_counterparty_id IS NULL) <> (from_contact_id IS NULL)),
    CHECK ((to_counterparty_id IS NULL) <> (to_contact_id IS NULL)),
    FOREIGN KEY (tenant_id, from_counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, from_contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, to_counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, to_contact_id) REFERENCES contacts (tenant_id, id)
);
CREATE INDEX relationships_from_cp ON relationships (tenant_id, from_counterparty_id);
CREATE INDEX relationships_to_cp ON relationships (tenant_id, to_counterparty_id);
CREATE INDEX relationships_from_contact ON relationships (tenant_id, from_contact_id);
CREATE INDEX relationships_to_contact ON relationships (tenant_id, to_contact_id);

CREATE TABLE pipelines (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    field_schema TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    archived_at  TEXT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE stages (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    pipeline_id     BLOB NOT NULL,
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
    win_probability INTEGER NOT NULL CHECK (win_probability BETWEEN 0 AND 100),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id)
);
CREATE INDEX stages_pipeline ON stages (tenant_id, pipeline_id, position);

CREATE TABLE deals (
    tenant_id        BLOB NOT NULL,
    id               BLOB NOT NULL,
    title            TEXT NOT NULL,
    pipeline_id      BLOB NOT NULL,
    stage_id         BLOB NOT NULL,
    counterparty_id  BLOB NOT NULL,
    responsible_id   BLOB NOT NULL,
    amount           INTEGER,
    currency         TEXT NOT NULL DEFAULT 'RUB',
    expected_close_date TEXT,
    params           TEXT NOT NULL DEFAULT '{}',
    search_key       TEXT NOT NULL,
    stage_changed_at TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    archived_at      TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id),
    FOREIGN KEY (tenant_id, stage_id) REFERENCES stages (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, responsible_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX deals_counterparty ON deals (tenant_id, counterparty_id);
CREATE INDEX deals_stage ON deals (tenant_id, stage_id);

CREATE TABLE deal_stage_history (
    tenant_id     BLOB NOT NULL,
    id            BLOB NOT NULL,
    deal_id       BLOB NOT NULL,
    from_stage_id BLOB,
    to_stage_id   BLOB NOT NULL,
    changed_by    BLOB NOT NULL,
    changed_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, from_stage_id) REFERENCES stages (tenant_id, id),
    FOREIGN KEY (tenant_id, to_stage_id) REFERENCES stages (tenant_id, id),
    FOREIGN KEY (tenant_id, changed_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX deal_stage_history_deal ON deal_stage_history (tenant_id, deal_id);

CREATE TABLE interactions (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('call', 'meeting', 'email', 'note')),
    subject         TEXT NOT NULL,
    body            TEXT,
    occurred_at     TEXT NOT NULL,
    counterparty_id BLOB,
    deal_id         BLOB,
    contact_id      BLOB,
    author_id       BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    archived_at     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX interactions_counterparty ON interactions (tenant_id, counterparty_id);
CREATE INDEX interactions_deal ON interactions (tenant_id, deal_id);

CREATE TABLE tasks (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    assignee_id     BLOB NOT NULL,
    created_by      BLOB NOT NULL,
    due_at          TEXT,
    requires_file   INTEGER NOT NULL DEFAULT 0,
    checklist       TEXT NOT NULL DEFAULT '[]',
    counterparty_id BLOB,
    deal_id         BLOB,
    completed_at    TEXT,
    search_key      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    archived_at     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);
CREATE INDEX tasks_assignee ON tasks (tenant_id, assignee_id, status);
CREATE INDEX tasks_deal ON tasks (tenant_id, deal_id);
CREATE INDEX tasks_counterparty ON tasks (tenant_id, counterparty_id);

CREATE TABLE documents (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    kind            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    counterparty_id BLOB,
    deal_id         BLOB,
    task_id         BLOB,
    interaction_id  BLOB,
    uploaded_by     BLOB NOT NULL,
    search_key      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    archived_at     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id),
    FOREIGN KEY (tenant_id, interaction_id) REFERENCES interactions (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX documents_counterparty ON documents (tenant_id, counterparty_id);
CREATE INDEX documents_deal ON documents (tenant_id, deal_id);
CREATE INDEX documents_task ON documents (tenant_id, task_id);

CREATE TABLE timeline_events (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    counterparty_id BLOB,
    deal_id         BLOB,
    kind            TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       BLOB NOT NULL,
    summary         TEXT NOT NULL,
    actor_id        BLOB,
    occurred_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);
CREATE INDEX timeline_counterparty ON timeline_events (tenant_id, counterparty_id, occurred_at DESC, id DESC);
CREATE INDEX timeline_deal ON timeline_events (tenant_id, deal_id, occurred_at DESC, id DESC);

CREATE TABLE audit_log (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   BLOB NOT NULL,
    action      TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    BLOB,
    actor_label TEXT NOT NULL,
    request_id  TEXT,
    changes     TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_entity ON audit_log (tenant_id, entity_type, entity_id, id DESC);
