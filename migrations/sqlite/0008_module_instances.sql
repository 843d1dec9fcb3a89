-- Platform 0.2 (SQLite): module instances, contract versions, the mail outbox.
--
-- A tenant may enable one plugin several times with different settings (two SMS
-- providers, one fee rule per agency contract): a module is now an instance with its
-- own id, keyed (tenant_id, id). Existing modules become instances whose id is their
-- plugin id, so their API paths, run log and sealed secrets (bound to that name) keep
-- working. Nothing references `modules`, so the table is rebuilt in place.

CREATE TABLE modules_v2 (
    tenant_id        BLOB NOT NULL,
    id               TEXT NOT NULL,
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
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plugin_id, version) REFERENCES plugin_versions (tenant_id, plugin_id, version)
);
INSERT INTO modules_v2 (tenant_id, id, plugin_id, version, previous_version, enabled, settings, secrets, secret_keys, grants, created_at, updated_at)
    SELECT tenant_id, plugin_id, plugin_id, version, previous_version, enabled, settings, secrets, secret_keys, grants, created_at, updated_at FROM modules;
DROP TABLE modules;
ALTER TABLE modules_v2 RENAME TO modules;
CREATE INDEX modules_plugin ON modules (tenant_id, plugin_id);

-- The contract version a component is built against, read from the component. Every
-- component registered before 0.2.0 was built against 0.1.0.
ALTER TABLE plugin_versions ADD COLUMN contract TEXT NOT NULL DEFAULT '0.1.0';

-- The run log names the instance that ran.
ALTER TABLE plugin_runs ADD COLUMN module_id TEXT;
UPDATE plugin_runs SET module_id = plugin_id;
CREATE INDEX plugin_runs_module ON plugin_runs (tenant_id, module_id, id DESC);

-- Which accounting-sync instance the receivables sync uses (NULL: the only enabled one).
ALTER TABLE receivables_settings ADD COLUMN accounting_module TEXT;

-- E-mail queued by plugins (mail.send) and, later, by the host's own notices. A message
-- with an idempotency key is queued once per source and key.
CREATE TABLE mail_outbox (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    -- Who queued it: `module:<instance id>`.
    source          TEXT NOT NULL,
    idempotency_key TEXT,
    from_addr       TEXT NOT NULL,
    reply_to        TEXT,
    to_addrs        TEXT NOT NULL,
    cc_addrs        TEXT NOT NULL DEFAULT '[]',
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX mail_outbox_key ON mail_outbox (tenant_id, source, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX mail_outbox_status ON mail_outbox (tenant_id, status, id);

CREATE TABLE mail_attachments (
    tenant_id    BLOB NOT NULL,
    mail_id      BLOB NOT NULL,
    n            INTEGER NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (tenant_id, mail_id, n),
    FOREIGN KEY (tenant_id, mail_id) REFERENCES mail_outbox (tenant_id, id)
);
