-- Replay keys of signed requests, shared by every replica (see claim_nonce).
CREATE TABLE seen_nonces (
    key TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX seen_nonces_expiry ON seen_nonces(expires_at);
