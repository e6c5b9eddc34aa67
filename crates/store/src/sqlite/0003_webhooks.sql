-- Webhook deliveries: the URL each attempt went to (a trigger's URL may change later), and the
-- index the retry loop scans for due attempts.
ALTER TABLE webhook_deliveries ADD COLUMN url TEXT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'Pending';
CREATE INDEX webhook_triggers_namespace ON webhook_triggers(namespace_id);
