//! [`ApiTokenStore`] on PostgreSQL.
use super::PgMetadataStore;
use crate::api_tokens::*;
use crate::{Result, now_millis};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLS: &str = "id, name, role, token_hash, created_at, expires_at, revoked_at";

fn token_row(row: &PgRow) -> Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        token_hash: row.try_get("token_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

#[async_trait]
impl ApiTokenStore for PgMetadataStore {
    async fn create_api_token(&self, t: &ApiTokenRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.role)
        .bind(&t.token_hash)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        // seq breaks ties in insertion order: ids are random, so two tokens created in the
        // same millisecond would otherwise list in no particular order.
        sqlx::query(&format!(
            "SELECT {COLS} FROM api_tokens ORDER BY created_at, seq"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token_row)
        .collect()
    }

    async fn revoke_api_token(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| token_row(&r))
        .transpose()
    }
}
