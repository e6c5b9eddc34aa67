-- Scans of images berth does not store but that run in a reported cluster (the scan cache,
-- berth_store::ForeignScanStore): one row per manifest digest, the newest outcome.
CREATE TABLE foreign_scans (
    digest TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    report TEXT,
    error TEXT,
    db_version TEXT,
    finished_at INTEGER NOT NULL
);
