-- The runtime inventory. `clusters` (0001) gains the attributes the image-risk API reports;
-- nothing wrote it before, so the defaults only matter for the type of the columns. A cluster's
-- inventory is one JSON document (berth_inventory::ClusterSnapshot), replaced whole, with a
-- version for compare-and-set. Credentials keep only the SHA-256 of their token.
ALTER TABLE clusters ADD COLUMN cluster_type TEXT NOT NULL DEFAULT 'Kubernetes';
ALTER TABLE clusters ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN kubernetes_version TEXT;
ALTER TABLE clusters ADD COLUMN protection TEXT NOT NULL DEFAULT 'unprotected';
CREATE UNIQUE INDEX clusters_name ON clusters(name);

CREATE TABLE cluster_snapshots (
    cluster_id TEXT PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE cluster_credentials (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX cluster_credentials_cluster ON cluster_credentials(cluster_id, created_at);
