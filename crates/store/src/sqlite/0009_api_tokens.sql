-- API tokens (berth_store::ApiTokenStore): bearer credentials with a role and an expiry for
-- berth's own APIs (the vulnerability export). Only the SHA-256 of a token is kept.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
