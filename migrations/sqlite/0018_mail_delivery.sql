-- Delivery of the mail outbox over the tenant's SMTP server.

-- The tenant's SMTP server. The password is sealed with the server key, bound to the
-- tenant; it is never returned by the API.
CREATE TABLE mail_settings (
    tenant_id        BLOB NOT NULL PRIMARY KEY REFERENCES tenants (id),
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    -- starttls | tls | none
    security         TEXT NOT NULL,
    username         TEXT,
    password_sealed  TEXT,
    -- The sender when a message names none of its own (the tenant's address).
    from_addr        TEXT NOT NULL,
    -- A CA certificate (PEM) trusted besides the public roots: closed networks.
    ca_pem           TEXT,
    enabled          INTEGER NOT NULL DEFAULT 1,
    updated_at       TEXT NOT NULL
);

-- A message being handed to the server is `sending`; a transient failure sets when to try
-- again.
ALTER TABLE mail_outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE mail_outbox ADD COLUMN message_id TEXT;
CREATE INDEX mail_outbox_due ON mail_outbox (tenant_id, status, next_attempt_at);

-- An attachment shown inside the HTML part (`cid:`), e.g. a chart.
ALTER TABLE mail_attachments ADD COLUMN content_id TEXT;
