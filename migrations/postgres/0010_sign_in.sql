-- Sign-in for the web pages: users' passwords (argon2id PHC strings), browser sessions,
-- and the throttle on failed sign-ins. Stage gates: what a deal needs to enter a stage.

ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ;
-- Sign-in looks a user up by e-mail before it knows the tenant.
CREATE INDEX users_email ON users (email);

CREATE TABLE sessions (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    user_id      UUID NOT NULL,
    -- SHA-256 of the cookie's secret part; the secret itself is never stored.
    secret_hash  BYTEA NOT NULL,
    -- Sent back with every state-changing form and request (CSRF).
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- Failed sign-ins per login (the e-mail, lower-cased), across host processes. Not a
-- tenant table: the tenant is not known until the password matches.
CREATE TABLE sign_in_failures (
    login        TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

-- What a deal must have to enter the stage: {"fields": [...], "documents": [...]}.
ALTER TABLE stages ADD COLUMN gate JSONB NOT NULL DEFAULT '{}';
