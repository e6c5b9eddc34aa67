-- Cluster protection (the HSS cluster-protect API, crates/api/src/hss/): policies per project
-- (a project is a berth instance), and the events admission records against them. A policy's
-- content is the vendor's JSON, validated by berth_hss::policy before it is written; the
-- columns beside it are what lists filter and order by. 0001's `protection_policies` was never
-- written or read; it is left alone so branches that may read it keep migrating.
CREATE TABLE cluster_protection_policies (
    project_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    template_id TEXT NOT NULL DEFAULT '',
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, policy_id)
);
CREATE INDEX cluster_protection_policies_order
    ON cluster_protection_policies(project_id, created_at, policy_id);

-- Events outlive the clusters and policies they name (they are a record of what happened), so
-- neither is a foreign key.
CREATE TABLE cluster_protection_events (
    project_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    cluster_name TEXT NOT NULL DEFAULT '',
    policy_id TEXT NOT NULL DEFAULT '',
    policy_name TEXT NOT NULL DEFAULT '',
    event_name TEXT NOT NULL DEFAULT '',
    event_class_id TEXT NOT NULL DEFAULT '',
    event_type INTEGER NOT NULL,
    event_content TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    handle_status TEXT NOT NULL,
    resource_info TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX cluster_protection_events_order
    ON cluster_protection_events(project_id, created_at DESC, event_id);
