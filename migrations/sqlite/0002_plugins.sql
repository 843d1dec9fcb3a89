-- Plugin registry, per-tenant modules, the plugin run log, and registry data on
-- counterparty cards (filled by inn-enrichment plugins).

CREATE TABLE plugin_versions (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    plugin_id   TEXT NOT NULL,
    version     TEXT NOT NULL,
    world       TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id, version)
);

CREATE TABLE modules (
    tenant_id        BLOB NOT NULL,
    plugin_id        TEXT NOT NULL,
    version          TEXT NOT NULL,
    previous_version TEXT,
    enabled          INTEGER NOT NULL,
    settings         TEXT NOT NULL DEFAULT '{}',
    secrets          TEXT,
    secret_keys      TEXT NOT NULL DEFAULT '[]',
    grants           TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plugin_id),
    FOREIGN KEY (tenant_id, plugin_id, version) REFERENCES plugin_versions (tenant_id, plugin_id, version)
);

CREATE TABLE plugin_runs (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id           BLOB NOT NULL,
    plugin_id    TEXT NOT NULL,
    version      TEXT NOT NULL,
    function     TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    duration_us  INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    error        TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX plugin_runs_plugin ON plugin_runs (tenant_id, plugin_id, id DESC);

ALTER TABLE counterparties ADD COLUMN registry_status TEXT;
ALTER TABLE counterparties ADD COLUMN head_name TEXT;
ALTER TABLE counterparties ADD COLUMN head_post TEXT;
ALTER TABLE counterparties ADD COLUMN okved TEXT;
ALTER TABLE counterparties ADD COLUMN registered_on TEXT;
ALTER TABLE counterparties ADD COLUMN liquidated_on TEXT;
ALTER TABLE counterparties ADD COLUMN registry_checked_at TEXT;
-- Fields a person set by hand: a registry refresh keeps them unless asked to overwrite.
ALTER TABLE counterparties ADD COLUMN manual_fields TEXT NOT NULL DEFAULT '[]';
