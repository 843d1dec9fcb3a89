-- Issue 16, part 6: change of credit terms, and versioned per-tenant defaults.

-- What a pipeline is for: new business, or changing the terms of an existing deal
-- (POST /deals/{id}/change-terms opens the new deal in the tenant's change_of_terms pipeline).
ALTER TABLE pipelines ADD COLUMN purpose TEXT NOT NULL DEFAULT 'new_business'
    CHECK (purpose IN ('new_business', 'change_of_terms'));

-- A deal opened to change another deal's terms: the original, and the original's terms
-- (parameters, amount, linked parties with their limits) as they were when copied, so
-- every term changed since is shown against them even if the original changes later.
CREATE TABLE deal_origins (
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    deal_id        BLOB NOT NULL,
    origin_deal_id BLOB NOT NULL,
    terms          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, deal_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, origin_deal_id) REFERENCES deals (tenant_id, id)
);
CREATE INDEX deal_origins_origin ON deal_origins (tenant_id, origin_deal_id);

-- Which set of shipped defaults a tenant has: a host that ships more (stop reasons,
-- approval routes, a second pipeline) installs what a tenant lacks once, at start-up.
-- Tenants created since 0011 already have version 1 (stop reasons, routes, bodies).
ALTER TABLE tenants ADD COLUMN defaults_version INTEGER NOT NULL DEFAULT 0;
UPDATE tenants SET defaults_version = 1 WHERE EXISTS (SELECT 1 FROM stop_reasons s WHERE s.tenant_id = tenants.id);
