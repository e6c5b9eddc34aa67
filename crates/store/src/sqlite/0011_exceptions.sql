-- Exceptions (berth_store::ExceptionStore): accepted risks that the whole product honours
-- (admission, scans, image risk, the workload export). A scope field left NULL matches
-- anything; revoked and expired rows are kept for the audit trail.
CREATE TABLE exceptions (
    id TEXT PRIMARY KEY,
    cluster_id TEXT,
    namespace TEXT,
    image TEXT,
    package TEXT,
    vulnerability TEXT,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT
);
CREATE INDEX exceptions_live ON exceptions (revoked_at, expires_at);
