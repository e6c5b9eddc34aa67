-- The newest successful scan of a digest (images_by_digest, per manifest) is an index lookup:
-- without it SQLite may walk every successful scan for each manifest.
CREATE INDEX scans_digest_status ON scans(digest, status, id);
