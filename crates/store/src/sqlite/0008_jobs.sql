-- One durable job queue for every kind of background work (see crates/store/src/jobs.rs).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
-- What a claim looks for: queued by due time, running by lease end.
CREATE INDEX jobs_claim ON jobs(state, kind, due_at);
CREATE INDEX jobs_lease ON jobs(state, lease_until);
-- At most one unfinished job per kind and key.
CREATE UNIQUE INDEX jobs_dedupe ON jobs(kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');

-- Scans queued or running under the previous queue (a status on the scan row) become jobs.
-- A running one was running when its process stopped: it is claimable at once (lease 0) and,
-- with its one attempt spent, is handed out as abandoned (the scan fails as interrupted).
INSERT INTO jobs (kind, payload, state, attempts, max_attempts, due_at, lease_until, created_at)
    SELECT 'scan', CAST(id AS TEXT), 'queued', 0, 1, created_at, NULL, created_at
    FROM scans WHERE status = 'Queued';
INSERT INTO jobs (kind, payload, state, attempts, max_attempts, due_at, lease_until, created_at)
    SELECT 'scan', CAST(id AS TEXT), 'running', 1, 1, created_at, 0, created_at
    FROM scans WHERE status = 'Scanning';

-- Webhook attempts still to come (pending rows of the previous scheme) become deliveries: one
-- job each, its attempts counted so that the next claim is the attempt the row stood for.
INSERT INTO jobs (kind, payload, state, attempts, max_attempts, due_at, lease_until, created_at)
    SELECT 'webhook',
           json_object('trigger_id', d.trigger_id, 'namespace_id', t.namespace_id,
                       'event_type', d.event_type, 'body', d.payload),
           'queued', d.attempt - 1, MAX(d.attempt, 5), COALESCE(d.next_attempt_at, 0), NULL,
           d.created_at
    FROM webhook_deliveries d JOIN webhook_triggers t ON t.id = d.trigger_id
    WHERE d.status = 'Pending';
DELETE FROM webhook_deliveries WHERE status = 'Pending';
DROP INDEX webhook_deliveries_due;
