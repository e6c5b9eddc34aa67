-- A digest whose bytes are being deleted. Set in the same transaction that forgets the blob (or
-- finds a file nobody recorded) and cleared once the bytes are gone; while it is set, nobody may
-- link the digest, so a blob linked after GC looked at it is never deleted under it.
CREATE TABLE blob_tombstones (
    digest TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
