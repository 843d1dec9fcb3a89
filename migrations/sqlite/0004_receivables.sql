-- Receivables synced from the accounting system (1C) (SQLite): counterparties' accounting
-- references, contracts, sales documents and incoming payments; the open balance of
-- every document (kept by the allocation of payments); payer ratings; per-tenant
-- receivables settings; the Bank of Russia key-rate table; and durable jobs.

-- How the accounting system's counterparties map onto client cards (several 1C
-- records may share one card: duplicates with the same ИНН and КПП are common there).
CREATE TABLE counterparty_refs (
    tenant_id       BLOB NOT NULL,
    external_id     TEXT NOT NULL,
    counterparty_id BLOB NOT NULL,
    name            TEXT NOT NULL,
    inn             TEXT,
    kpp             TEXT,
    deleted         INTEGER NOT NULL,
    -- The sync created the card (rather than linking an existing one by ИНН/КПП).
    created_card    INTEGER NOT NULL,
    synced_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
CREATE INDEX counterparty_refs_counterparty ON counterparty_refs (tenant_id, counterparty_id);

CREATE TABLE contracts (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    external_id     TEXT NOT NULL,
    counterparty_id BLOB NOT NULL,
    number          TEXT,
    signed_on       TEXT,
    -- Payment deferral in calendar days; NULL: the counterparty's own deferral applies.
    deferral_days   INTEGER,
    deleted         INTEGER NOT NULL,
    -- Penalty terms are kept in the CRM (1C does not carry them); the sync never
    -- touches them. Rates are exact decimals as text.
    penalty_kind    TEXT NOT NULL DEFAULT 'art_395'
                    CHECK (penalty_kind IN ('none', 'contractual', 'art_395', 'key_rate_1_300')),
    penalty_rate    TEXT,
    penalty_cap_percent TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
CREATE UNIQUE INDEX contracts_external ON contracts (tenant_id, external_id);
CREATE INDEX contracts_counterparty ON contracts (tenant_id, counterparty_id);

-- Shipments / invoices, as the accounting system has them. Amounts in kopecks.
CREATE TABLE sales_documents (
    tenant_id        BLOB NOT NULL,
    id               BLOB NOT NULL,
    external_id      TEXT NOT NULL,
    counterparty_id  BLOB NOT NULL,
    contract_id      BLOB,
    -- The accounting system's id of our legal entity that sold (see our_legal_entities.accounting_ref).
    legal_entity_ref TEXT,
    number           TEXT NOT NULL,
    issued_on        TEXT NOT NULL,
    due_on           TEXT NOT NULL,
    amount           INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    posted           INTEGER NOT NULL,
    deleted          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);
CREATE UNIQUE INDEX sales_documents_external ON sales_documents (tenant_id, external_id);
CREATE INDEX sales_documents_counterparty ON sales_documents (tenant_id, counterparty_id, due_on);

-- What is still owed on each document once payments are allocated: a row only while
-- something is owed (usually a small share of all documents). "Owed to us" and the card
-- read only this table; the settlement keeps it.
CREATE TABLE open_items (
    tenant_id        BLOB NOT NULL,
    document_id      BLOB NOT NULL,
    counterparty_id  BLOB NOT NULL,
    due_on           TEXT NOT NULL,
    open_amount      INTEGER NOT NULL CHECK (open_amount > 0),
    legal_entity_ref TEXT,
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES sales_documents (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
CREATE INDEX open_items_counterparty ON open_items (tenant_id, counterparty_id, due_on, open_amount, legal_entity_ref);

CREATE TABLE payments (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    external_id     TEXT NOT NULL,
    counterparty_id BLOB NOT NULL,
    contract_id     BLOB,
    number          TEXT NOT NULL,
    paid_on         TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    -- The documents the accounting system says this payment pays:
    -- [{"document": "<external id>", "amount": <kopecks>}].
    allocations     TEXT NOT NULL DEFAULT '[]',
    posted          INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    -- What no document took (an advance), as of the last settlement.
    unapplied       INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id)
);
CREATE UNIQUE INDEX payments_external ON payments (tenant_id, external_id);
CREATE INDEX payments_counterparty ON payments (tenant_id, counterparty_id, paid_on);

-- Counterparties whose documents or payments changed since their balances were last
-- settled. Written in the same transaction as the change; cleared by the settlement.
CREATE TABLE receivables_dirty (
    tenant_id       BLOB NOT NULL,
    counterparty_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, counterparty_id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

CREATE TABLE payer_ratings (
    tenant_id           BLOB NOT NULL,
    counterparty_id     BLOB NOT NULL,
    -- 1..5, NULL when there is nothing to judge yet.
    stars               INTEGER CHECK (stars BETWEEN 1 AND 5),
    weighted_delay_days TEXT NOT NULL,
    on_time_share       TEXT NOT NULL,
    rated_amount        INTEGER NOT NULL,
    documents           INTEGER NOT NULL,
    window_from         TEXT NOT NULL,
    as_of               TEXT NOT NULL,
    computed_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, counterparty_id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);

CREATE TABLE receivables_settings (
    tenant_id          BLOB NOT NULL REFERENCES tenants (id),
    -- Upper bounds (days overdue) of the aging buckets after "not due".
    aging_buckets      TEXT NOT NULL,
    -- Local time ('HH:MM', tenant's time zone) of the daily sync; NULL: on demand only.
    sync_daily_at      TEXT,
    sync_page_size     INTEGER NOT NULL,
    rating_window_days INTEGER NOT NULL,
    claim_deadline_days INTEGER NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- The accounting system's id of each of our legal entities (1C "Организация").
ALTER TABLE our_legal_entities ADD COLUMN accounting_ref TEXT;
CREATE UNIQUE INDEX our_legal_entities_accounting_ref ON our_legal_entities (tenant_id, accounting_ref)
    WHERE accounting_ref IS NOT NULL;

-- The Bank of Russia key rate (reference data shared by all tenants; the operator
-- adds new decisions with `crm admin set-key-rate`).
CREATE TABLE key_rates (
    effective_from TEXT PRIMARY KEY,
    rate           TEXT NOT NULL
);
INSERT INTO key_rates (effective_from, rate) VALUES
    ('2021-12-20', '8.50'), ('2022-02-14', '9.50'), ('2022-02-28', '20.00'), ('2022-04-11', '17.00'),
    ('2022-05-04', '14.00'), ('2022-05-27', '11.00'), ('2022-06-14', '9.50'), ('2022-07-25', '8.00'),
    ('2022-09-19', '7.50'), ('2023-07-24', '8.50'), ('2023-08-15', '12.00'), ('2023-09-18', '13.00'),
    ('2023-10-30', '15.00'), ('2023-12-18', '16.00'), ('2024-07-29', '18.00'), ('2024-09-16', '19.00'),
    ('2024-10-28', '21.00'), ('2025-06-09', '20.00'), ('2025-07-28', '18.00'), ('2025-09-15', '17.00'),
    ('2025-10-27', '16.50'), ('2025-12-22', '16.00');

-- Durable background jobs (the 1C sync first). A job is claimed by one worker at a
-- time (SQLite's single writer serialises the claim) under a lease it renews; a job whose lease ran out
-- (its process died) is claimed again and resumes from `state`.
CREATE TABLE jobs (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    params       TEXT NOT NULL,
    state        TEXT NOT NULL,
    progress     TEXT NOT NULL,
    error        TEXT,
    attempts     INTEGER NOT NULL,
    dedupe_key   TEXT,
    requested_by BLOB,
    run_after    TEXT NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One queued or running job of a kind per tenant.
CREATE UNIQUE INDEX jobs_one_active ON jobs (tenant_id, kind) WHERE status IN ('queued', 'running');
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_claim ON jobs (run_after) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_list ON jobs (tenant_id, kind, id DESC);
