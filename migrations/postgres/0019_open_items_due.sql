-- The daily reminders plan reads only the open documents due on the days its rules' steps
-- fall on, not the whole ledger.
CREATE INDEX open_items_due ON open_items (tenant_id, due_on);
