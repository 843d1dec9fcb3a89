-- Lead import from spreadsheets: the uploaded file and its report, telemarketing
-- batches (one per responsible manager of a bank's list), and the tenant's import
-- settings (lead statuses and which one opens a deal; where deals start).

CREATE TABLE lead_imports (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    mode        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL,
    job_id      BLOB,
    -- What the import would do, when it was previewed first (JSON).
    preview     TEXT,
    -- The import's report once it has run (JSON).
    report      TEXT,
    created_by  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX lead_imports_created ON lead_imports (tenant_id, created_at);

CREATE TABLE lead_batches (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    id             BLOB NOT NULL,
    -- The file's SHA-256: importing the same list again reuses its batches.
    source_sha256  TEXT NOT NULL,
    import_id      BLOB NOT NULL,
    responsible_id BLOB NOT NULL,
    title          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_sha256, responsible_id),
    FOREIGN KEY (tenant_id, responsible_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES lead_imports (tenant_id, id)
);

CREATE TABLE lead_batch_items (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    batch_id        BLOB NOT NULL,
    counterparty_id BLOB NOT NULL,
    row_number      INTEGER NOT NULL,
    call_on         TEXT,
    deal_id         BLOB,
    PRIMARY KEY (tenant_id, batch_id, counterparty_id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES lead_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);

CREATE TABLE lead_import_settings (
    tenant_id  BLOB PRIMARY KEY REFERENCES tenants (id),
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
