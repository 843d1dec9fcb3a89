-- Work on a debt: a task or an interaction may name the sales document it is about,
-- so "Owed to us" drills down from each debt to the work done on it (SQLite).
--
-- SQLite cannot add a table-level (composite) foreign key to an existing table, and a
-- rebuild would need foreign keys switched off, which sqlx's SQLite migrator (always
-- one transaction) cannot do. Triggers enforce the same rule as PostgreSQL's
-- FOREIGN KEY (tenant_id, sales_document_id) REFERENCES sales_documents (tenant_id, id);
-- sales documents are never deleted, so inserts and updates are all there is to check.

ALTER TABLE tasks ADD COLUMN sales_document_id BLOB;
CREATE INDEX tasks_sales_document ON tasks (tenant_id, sales_document_id) WHERE sales_document_id IS NOT NULL;
ALTER TABLE interactions ADD COLUMN sales_document_id BLOB;
CREATE INDEX interactions_sales_document ON interactions (tenant_id, sales_document_id) WHERE sales_document_id IS NOT NULL;

CREATE TRIGGER tasks_sales_document_insert BEFORE INSERT ON tasks
WHEN NEW.sales_document_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM sales_documents WHERE tenant_id = NEW.tenant_id AND id = NEW.sales_document_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: tasks.sales_document_id'); END;

CREATE TRIGGER tasks_sales_document_update BEFORE UPDATE OF sales_document_id, tenant_id ON tasks
WHEN NEW.sales_document_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM sales_documents WHERE tenant_id = NEW.tenant_id AND id = NEW.sales_document_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: tasks.sales_document_id'); END;

CREATE TRIGGER interactions_sales_document_insert BEFORE INSERT ON interactions
WHEN NEW.sales_document_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM sales_documents WHERE tenant_id = NEW.tenant_id AND id = NEW.sales_document_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: interactions.sales_document_id'); END;

CREATE TRIGGER interactions_sales_document_update BEFORE UPDATE OF sales_document_id, tenant_id ON interactions
WHEN NEW.sales_document_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM sales_documents WHERE tenant_id = NEW.tenant_id AND id = NEW.sales_document_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: interactions.sales_document_id'); END;
