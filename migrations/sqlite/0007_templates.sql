-- Per-tenant document templates (claim letters and every later document). A tenant's row
-- replaces the shipped default of its kind; no row means the default.

CREATE TABLE templates (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  BLOB,
    PRIMARY KEY (tenant_id, kind),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);
