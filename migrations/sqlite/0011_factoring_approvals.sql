-- Factoring deals end to end (issue 16, parts 1–5): reasons for СТОП, the deal's suppliers
-- and buyers with their limits, checklist marks, approval routes as data with their runs,
-- steps, decisions and delegations, collegial bodies with meetings and votes.

-- Why deals go to СТОП: a per-tenant list, shipped with Russian defaults.
CREATE TABLE stop_reasons (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    archived_at TEXT,
    PRIMARY KEY (tenant_id, id)
);

-- A move to a stage that asks for a reason keeps the reason (as named then) and the text.
ALTER TABLE deal_stage_history ADD COLUMN reason TEXT;
ALTER TABLE deal_stage_history ADD COLUMN comment TEXT;

-- Suppliers and buyers (debtors) of a factoring deal, each with its limit.
CREATE TABLE deal_parties (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    deal_id         BLOB NOT NULL,
    counterparty_id BLOB NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('supplier', 'buyer')),
    limit_amount    INTEGER,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT deal_parties_key UNIQUE (tenant_id, deal_id, role, counterparty_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

-- Checklist items of a deal marked done (the items themselves are data on the stage gates).
CREATE TABLE deal_checklist (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    deal_id    BLOB NOT NULL,
    item       TEXT NOT NULL,
    done_by    BLOB NOT NULL,
    done_at    TEXT NOT NULL,
    comment    TEXT,
    PRIMARY KEY (tenant_id, deal_id, item),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, done_by) REFERENCES users (tenant_id, id)
);

-- An approval route: ordered groups of steps (JSON), for one subject (заявка в КО, проект решения).
CREATE TABLE approval_routes (
    tenant_id     BLOB NOT NULL REFERENCES tenants (id),
    id            BLOB NOT NULL,
    subject       TEXT NOT NULL,
    name          TEXT NOT NULL,
    after_subject TEXT,
    groups        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT approval_routes_subject_key UNIQUE (tenant_id, subject)
);

-- One pass of a deal's document through a route.
CREATE TABLE approval_runs (
    tenant_id     BLOB NOT NULL REFERENCES tenants (id),
    id            BLOB NOT NULL,
    deal_id       BLOB NOT NULL,
    route_id      BLOB NOT NULL,
    subject       TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('in_progress', 'approved', 'rejected', 'returned', 'cancelled')),
    started_by    BLOB NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    -- Which of our legal entities the document is for: only approvers serving it decide.
    legal_entity_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, legal_entity_id) REFERENCES our_legal_entities (tenant_id, id),
    FOREIGN KEY (tenant_id, route_id) REFERENCES approval_routes (tenant_id, id),
    FOREIGN KEY (tenant_id, started_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX approval_runs_deal ON approval_runs (tenant_id, deal_id);

-- The steps of a run, copied from the route when it starts.
CREATE TABLE approval_steps (
    tenant_id     BLOB NOT NULL REFERENCES tenants (id),
    id            BLOB NOT NULL,
    run_id        BLOB NOT NULL,
    group_index   INTEGER NOT NULL,
    step_index    INTEGER NOT NULL,
    name          TEXT NOT NULL,
    department    TEXT NOT NULL,
    required      INTEGER NOT NULL,
    document_kind TEXT,
    sla_days      INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'active', 'approved', 'rejected', 'returned', 'cancelled')),
    round         INTEGER NOT NULL,
    approvals     INTEGER NOT NULL,
    activated_at  TEXT,
    due_at        TEXT,
    escalated_at  TEXT,
    finished_at   TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES approval_runs (tenant_id, id)
);
CREATE INDEX approval_steps_run ON approval_steps (tenant_id, run_id);
CREATE INDEX approval_steps_active ON approval_steps (tenant_id, status, due_at);

-- Everything that happened on a run: who, when, what, with which remark and document.
CREATE TABLE approval_events (
    tenant_id     BLOB NOT NULL REFERENCES tenants (id),
    id            BLOB NOT NULL,
    run_id        BLOB NOT NULL,
    step_id       BLOB,
    round         INTEGER NOT NULL,
    action        TEXT NOT NULL,
    user_id       BLOB,
    on_behalf_of  BLOB,
    remark        TEXT,
    document_id   BLOB,
    at            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES approval_runs (tenant_id, id),
    FOREIGN KEY (tenant_id, step_id) REFERENCES approval_steps (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, on_behalf_of) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX approval_events_run ON approval_events (tenant_id, run_id);

-- The legal entities an approver serves; an approver with none serves every one.
CREATE TABLE approver_legal_entities (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    user_id         BLOB NOT NULL,
    legal_entity_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, user_id, legal_entity_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, legal_entity_id) REFERENCES our_legal_entities (tenant_id, id)
);

-- An approver away: another user decides for them from starts_on to ends_on.
CREATE TABLE approval_delegations (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    from_user  BLOB NOT NULL,
    to_user    BLOB NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, from_user) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, to_user) REFERENCES users (tenant_id, id)
);

-- Collegial bodies by the deal's kind (поточная → Финансовый комитет, индивидуальная → Совет директоров).
CREATE TABLE collegial_bodies (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    name       TEXT NOT NULL,
    deal_kind  TEXT NOT NULL,
    members    TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT collegial_bodies_kind_key UNIQUE (tenant_id, deal_kind)
);

CREATE TABLE committee_meetings (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    deal_id     BLOB NOT NULL,
    body_id     BLOB NOT NULL,
    body_name   TEXT NOT NULL,
    held_on     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('voting', 'approved', 'rejected')),
    created_by  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, body_id) REFERENCES collegial_bodies (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX committee_meetings_deal ON committee_meetings (tenant_id, deal_id);

CREATE TABLE committee_votes (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    meeting_id BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    position   INTEGER NOT NULL,
    vote       TEXT CHECK (vote IN ('for', 'against', 'abstain')),
    comment    TEXT,
    voted_at   TEXT,
    PRIMARY KEY (tenant_id, meeting_id, user_id),
    FOREIGN KEY (tenant_id, meeting_id) REFERENCES committee_meetings (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
