-- Management API keys may be limited to the read-only (Describe*) actions.
ALTER TABLE api_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX access_tokens_username ON access_tokens(instance_id, username);
CREATE INDEX namespaces_instance ON namespaces(instance_id, created_at);
