-- Replay keys of signed requests, shared by every process on the store (see claim_nonce).
CREATE TABLE seen_nonces (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX seen_nonces_expiry ON seen_nonces(expires_at);
