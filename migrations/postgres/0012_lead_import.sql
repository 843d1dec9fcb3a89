-- Lead import from spreadsheets: the uploaded file and its report, telemarketing
-- batches (one per responsible manager of a bank's list), and the tenant's import
-- settings (lead statuses and which one opens a deal; where deals start).

CREATE TABLE lead_imports (
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    id          UUID NOT NULL,
    mode        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    content     BYTEA NOT NULL,
    job_id      UUID,
    -- What the import would do, when it was previewed first (JSON).
    preview     JSONB,
    -- The import's report once it has run (JSON).
    report      JSONB,
    created_by  UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX lead_imports_created ON lead_imports (tenant_id, created_at);

CREATE TABLE lead_batches (
    tenant_id      UUID NOT NULL REFERENCES tenants (id),
    id             UUID NOT NULL,
    -- The file's SHA-256: importing the same list again reuses its batches.
    source_sha256  TEXT NOT NULL,
    import_id      UUID NOT NULL,
    responsible_id UUID NOT NULL,
    title          TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_sha256, responsible_id),
    FOREIGN KEY (tenant_id, responsible_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES lead_imports (tenant_id, id)
);

CREATE TABLE lead_batch_items (
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    batch_id        UUID NOT NULL,
    counterparty_id UUID NOT NULL,
    row_number      INTEGER NOT NULL,
    call_on         DATE,
    deal_id         UUID,
    PRIMARY KEY (tenant_id, batch_id, counterparty_id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES lead_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);

CREATE TABLE lead_import_settings (
    tenant_id  UUID PRIMARY KEY REFERENCES tenants (id),
    settings   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
