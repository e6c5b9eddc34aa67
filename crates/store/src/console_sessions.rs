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

/// The one SQL implementation of [`ConsoleSessionStore`], for both backends: its statements run
/// unchanged on SQLite and PostgreSQL, so only the store type, its row type and the pools it
/// writes and reads through differ.
macro_rules! console_session_store {
    ($store:ty, $row:ty, write: $write:ident, read: $read:ident) => {
        const COLS: &str = "id_hash, username, csrf, created_at, last_seen_at, expires_at";

        fn session_row(row: &$row) -> $crate::Result<$crate::console_sessions::ConsoleSession> {
            Ok($crate::console_sessions::ConsoleSession {
                id_hash: ::sqlx::Row::try_get(row, "id_hash")?,
                username: ::sqlx::Row::try_get(row, "username")?,
                csrf: ::sqlx::Row::try_get(row, "csrf")?,
                created_at: ::sqlx::Row::try_get(row, "created_at")?,
                last_seen_at: ::sqlx::Row::try_get(row, "last_seen_at")?,
                expires_at: ::sqlx::Row::try_get(row, "expires_at")?,
            })
        }

        #[::async_trait::async_trait]
        impl $crate::console_sessions::ConsoleSessionStore for $store {
            async fn create_console_session(
                &self,
                s: &$crate::console_sessions::ConsoleSession,
                now: i64,
                idle_before: i64,
            ) -> $crate::Result<bool> {
                // A bounded prune per login: logins outnumber abandoned sessions' growth.
                ::sqlx::query(
                    "DELETE FROM console_sessions WHERE id_hash IN \
                     (SELECT id_hash FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2 LIMIT 100)",
                )
                .bind(now)
                .bind(idle_before)
                .execute(&self.$write)
                .await?;
                let done = ::sqlx::query(
                    "INSERT INTO console_sessions (id_hash, username, csrf, created_at, last_seen_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(&s.id_hash)
                .bind(&s.username)
                .bind(&s.csrf)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn console_session(
                &self,
                id_hash: &str,
                now: i64,
                idle_before: i64,
            ) -> $crate::Result<Option<$crate::console_sessions::ConsoleSession>> {
                ::sqlx::query(&format!(
                    "SELECT {COLS} FROM console_sessions
                     WHERE id_hash = $1 AND expires_at > $2 AND last_seen_at >= $3"
                ))
                .bind(id_hash)
                .bind(now)
                .bind(idle_before)
                .fetch_optional(&self.$read)
                .await?
                .map(|r| session_row(&r))
                .transpose()
            }

            async fn touch_console_session(&self, id_hash: &str, now: i64) -> $crate::Result<()> {
                ::sqlx::query(
                    "UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2",
                )
                .bind(id_hash)
                .bind(now)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn delete_console_session(&self, id_hash: &str) -> $crate::Result<bool> {
                let done = ::sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use console_session_store;
