-- Sales analytics: how long a deal may stay at a stage before it counts as stuck, and the
-- monthly sales plan of each manager.

CREATE TABLE stage_norms (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    stage_id   BLOB NOT NULL,
    norm_days  INTEGER NOT NULL CHECK (norm_days > 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, stage_id),
    FOREIGN KEY (tenant_id, stage_id) REFERENCES stages (tenant_id, id)
);

CREATE TABLE sales_plans (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    user_id    BLOB NOT NULL,
    -- `YYYY-MM`
    month      TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    updated_by BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, month),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);
