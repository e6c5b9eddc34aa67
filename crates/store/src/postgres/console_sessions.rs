//! [`ConsoleSessionStore`] on PostgreSQL.
use super::PgMetadataStore;
use crate::Result;
use crate::console_sessions::*;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLS: &str = "id_hash, username, csrf, created_at, last_seen_at, expires_at";

fn session_row(row: &PgRow) -> Result<ConsoleSession> {
    Ok(ConsoleSession {
        id_hash: row.try_get("id_hash")?,
        username: row.try_get("username")?,
        csrf: row.try_get("csrf")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

#[async_trait]
impl ConsoleSessionStore for PgMetadataStore {
    async fn create_console_session(
        &self,
        s: &ConsoleSession,
        now: i64,
        idle_before: i64,
    ) -> Result<bool> {
        // A bounded prune per login: logins outnumber abandoned sessions' growth.
        sqlx::query(
            "DELETE FROM console_sessions WHERE id_hash IN \
             (SELECT id_hash FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2 LIMIT 100)",
        )
        .bind(now)
        .bind(idle_before)
        .execute(&self.pool)
        .await?;
        let done = sqlx::query(
            "INSERT INTO console_sessions (id_hash, username, csrf, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&s.id_hash)
        .bind(&s.username)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn console_session(
        &self,
        id_hash: &str,
        now: i64,
        idle_before: i64,
    ) -> Result<Option<ConsoleSession>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM console_sessions
             WHERE id_hash = $1 AND expires_at > $2 AND last_seen_at >= $3"
        ))
        .bind(id_hash)
        .bind(now)
        .bind(idle_before)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| session_row(&r))
        .transpose()
    }

    async fn touch_console_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2",
        )
        .bind(id_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_console_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
