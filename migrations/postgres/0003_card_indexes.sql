-- The client card lists a counterparty's contacts in id order: serve it from one index
-- (found by the card benchmark: without it SQLite walked every contact of the tenant).
CREATE INDEX contacts_counterparty_order ON contacts (tenant_id, counterparty_id, id);
DROP INDEX contacts_counterparty;
