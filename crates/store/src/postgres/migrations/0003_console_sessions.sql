-- Web console sessions, shared by every replica (see ConsoleSessionStore); the session id is
-- kept as its SHA-256 only.
CREATE TABLE console_sessions (
    id_hash TEXT COLLATE "C" PRIMARY KEY,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen_at);
