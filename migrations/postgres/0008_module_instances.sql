-- Platform 0.2 (PostgreSQL): module instances, contract versions, the mail outbox.
--
-- A tenant may enable one plugin several times with different settings (two SMS
-- providers, one fee rule per agency contract): a module is now an instance with its
-- own id, keyed (tenant_id, id). Existing modules become instances whose id is their
-- plugin id, so their API paths, run log and sealed secrets (bound to that name) keep
-- working.

ALTER TABLE modules ADD COLUMN id TEXT;
UPDATE modules SET id = plugin_id;
ALTER TABLE modules ALTER COLUMN id SET NOT NULL;
ALTER TABLE modules DROP CONSTRAINT modules_pkey;
ALTER TABLE modules ADD PRIMARY KEY (tenant_id, id);
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
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    id              UUID NOT NULL,
    -- Who queued it: `module:<instance id>`.
    source          TEXT NOT NULL,
    idempotency_key TEXT,
    from_addr       TEXT NOT NULL,
    reply_to        TEXT,
    to_addrs        JSONB NOT NULL,
    cc_addrs        JSONB NOT NULL DEFAULT '[]',
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX mail_outbox_key ON mail_outbox (tenant_id, source, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX mail_outbox_status ON mail_outbox (tenant_id, status, id);

CREATE TABLE mail_attachments (
    tenant_id    UUID NOT NULL,
    mail_id      UUID NOT NULL,
    n            INTEGER NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, mail_id, n),
    FOREIGN KEY (tenant_id, mail_id) REFERENCES mail_outbox (tenant_id, id)
);
