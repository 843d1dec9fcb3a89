-- Receivables that can be signed (PostgreSQL): what each document owed on every past day,
-- the claim letter's signatory and deadline, stored claim letters, the key-rate table's
-- "current through" date, 1C managers mapped to CRM users, and primary documents.

-- What each document owed, day by day, as stretches of days with the same amount (at
-- the end of each day). The settlement keeps it next to `open_items` (today's balance);
-- "Owed to us" and the other reports read it for any day: the rows with
-- valid_from <= day <= valid_to. valid_to is '9999-12-31' while the amount is still owed.
CREATE TABLE open_spans (
    tenant_id        UUID NOT NULL,
    document_id      UUID NOT NULL,
    valid_from       DATE NOT NULL,
    valid_to         DATE NOT NULL,
    counterparty_id  UUID NOT NULL,
    due_on           DATE NOT NULL,
    open_amount      BIGINT NOT NULL CHECK (open_amount > 0),
    legal_entity_ref TEXT,
    -- By client first: the settlement writes a batch of clients at a time, and the page of
    -- "Owed to us" reads its clients' spans.
    PRIMARY KEY (tenant_id, counterparty_id, document_id, valid_from),
    FOREIGN KEY (tenant_id, document_id) REFERENCES sales_documents (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
-- "Owed to us" for a day: a range of valid_to, everything else read from the index.
CREATE INDEX open_spans_day ON open_spans (tenant_id, valid_to, valid_from, counterparty_id, due_on, open_amount, legal_entity_ref);
-- The history is written by the settlement: every client with documents is settled again
-- by the next sync (a report for a past day is empty for a client until then).
INSERT INTO receivables_dirty (tenant_id, counterparty_id)
    SELECT DISTINCT tenant_id, counterparty_id FROM sales_documents ON CONFLICT DO NOTHING;

-- The primary document a court expects (УПД, ТОРГ-12, акт), as the accounting system says.
ALTER TABLE sales_documents ADD COLUMN primary_document TEXT;

-- Who signs for our legal entity: its head, and a representative by power of attorney.
ALTER TABLE our_legal_entities ADD COLUMN head_post TEXT;
ALTER TABLE our_legal_entities ADD COLUMN head_name TEXT;
ALTER TABLE our_legal_entities ADD COLUMN signatory_post TEXT;
ALTER TABLE our_legal_entities ADD COLUMN signatory_name TEXT;
ALTER TABLE our_legal_entities ADD COLUMN signatory_authority TEXT;

-- How the claim letter words its deadline: 'from_receipt' (N days from receipt, no date)
-- or 'by_date' (a date, N days from the letter's date).
ALTER TABLE receivables_settings ADD COLUMN claim_deadline_mode TEXT NOT NULL DEFAULT 'from_receipt'
    CHECK (claim_deadline_mode IN ('from_receipt', 'by_date'));

-- Claim letters generated with ?save=true: the file is a document on the client; the
-- row keeps the figures and the day it was sent (claims cases start from it).
CREATE TABLE claim_letters (
    tenant_id       UUID NOT NULL,
    id              UUID NOT NULL,
    counterparty_id UUID NOT NULL,
    document_id     UUID NOT NULL,
    legal_entity_id UUID NOT NULL,
    number          TEXT,
    letter_date     DATE NOT NULL,
    as_of           DATE NOT NULL,
    principal       BIGINT NOT NULL,
    penalty         BIGINT NOT NULL,
    total           BIGINT NOT NULL,
    deadline_days   INTEGER NOT NULL,
    deadline_mode   TEXT NOT NULL,
    pay_by          DATE,
    sent_on         DATE,
    created_by      UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
    FOREIGN KEY (tenant_id, legal_entity_id) REFERENCES our_legal_entities (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX claim_letters_counterparty ON claim_letters (tenant_id, counterparty_id, id);

-- The key-rate table (shared by all tenants) is known to be current through this day:
-- set when the operator adds or confirms a rate (`crm admin set-key-rate`,
-- `crm admin confirm-key-rates`). One row.
CREATE TABLE key_rates_status (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    current_through DATE NOT NULL,
    confirmed_at    TIMESTAMPTZ NOT NULL,
    confirmed_by    TEXT NOT NULL
);
INSERT INTO key_rates_status (id, current_through, confirmed_at, confirmed_by)
    VALUES (1, '2025-12-22', '2026-01-01T00:00:00+00:00', 'migration 0009 (the table of shared/reference/penalties.md)');
-- Rates are kept with two decimals.
UPDATE key_rates SET rate = to_char(rate::numeric, 'FM999990.00');

-- A tenant's own additions to the key-rate table and its own confirmation that the table
-- is current (an admin, through the API); they apply to that tenant only.
CREATE TABLE tenant_key_rates (
    tenant_id      UUID NOT NULL REFERENCES tenants (id),
    effective_from DATE NOT NULL,
    rate           TEXT NOT NULL,
    created_by     UUID NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, effective_from),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE TABLE key_rate_confirmations (
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    current_through DATE NOT NULL,
    confirmed_at    TIMESTAMPTZ NOT NULL,
    confirmed_by    UUID NOT NULL,
    PRIMARY KEY (tenant_id),
    FOREIGN KEY (tenant_id, confirmed_by) REFERENCES users (tenant_id, id)
);

-- The accounting system's users named as responsible for clients or contracts, and the
-- CRM user each stands for (the admin keeps the mapping).
CREATE TABLE accounting_managers (
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    external_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    user_id     UUID,
    seen_at     TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
ALTER TABLE counterparty_refs ADD COLUMN manager_ref TEXT;
-- The responsible the sync set on the card from the mapping (a person's change is kept).
ALTER TABLE counterparty_refs ADD COLUMN assigned_user_id UUID;
ALTER TABLE contracts ADD COLUMN manager_ref TEXT;
