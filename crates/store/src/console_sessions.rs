//! Web console sessions, kept in the metadata store so that every berth process on it (several
//! replicas behind one load balancer) knows every session, and a logout on one ends the session
//! on all. The session id itself is never stored: only its SHA-256 (a 256-bit random id leaves
//! nothing to guess, so a fast hash suffices); a copy of the database logs nobody in.
use crate::Result;
use async_trait::async_trait;

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 of the session id (the cookie's value), lowercase hex. Unique.
    pub id_hash: String,
    pub username: String,
    /// The token the session's forms carry (not a credential on its own: without the cookie it
    /// opens nothing).
    pub csrf: String,
    pub created_at: i64,
    /// When the session was last used (updated at most once a minute, see
    /// [`ConsoleSessionStore::touch_console_session`]).
    pub last_seen_at: i64,
    /// Milliseconds since the epoch after which the session is gone, used or not.
    pub expires_at: i64,
}

#[async_trait]
pub trait ConsoleSessionStore: Send + Sync {
    /// Records a session; `false` when its hash is taken. Prunes some sessions that ended
    /// before `now` (expired, or idle since before `idle_before`), so the table does not grow
    /// with abandoned sessions.
    async fn create_console_session(
        &self,
        session: &ConsoleSession,
        now: i64,
        idle_before: i64,
    ) -> Result<bool>;
    /// The live session whose id hashes to `id_hash`: not expired at `now`, and used since
    /// `idle_before`.
    async fn console_session(
        &self,
        id_hash: &str,
        now: i64,
        idle_before: i64,
    ) -> Result<Option<ConsoleSession>>;
    /// Records a use at `now`.
    async fn touch_console_session(&self, id_hash: &str, now: i64) -> Result<()>;
    /// Ends the session; `false` when there was none.
    async fn delete_console_session(&self, id_hash: &str) -> Result<bool>;
}
