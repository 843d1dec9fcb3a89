-- Work on a debt: a task or an interaction may name the sales document it is about,
-- so "Owed to us" drills down from each debt to the work done on it.

ALTER TABLE tasks ADD COLUMN sales_document_id UUID;
ALTER TABLE tasks ADD FOREIGN KEY (tenant_id, sales_document_id) REFERENCES sales_documents (tenant_id, id);
CREATE INDEX tasks_sales_document ON tasks (tenant_id, sales_document_id) WHERE sales_document_id IS NOT NULL;
ALTER TABLE interactions ADD COLUMN sales_document_id UUID;
ALTER TABLE interactions ADD FOREIGN KEY (tenant_id, sales_document_id) REFERENCES sales_documents (tenant_id, id);
CREATE INDEX interactions_sales_document ON interactions (tenant_id, sales_document_id) WHERE sales_document_id IS NOT NULL;
