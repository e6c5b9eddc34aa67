//! [`ExceptionStore`] on PostgreSQL.
use super::PgMetadataStore;
use crate::exceptions::*;
use crate::{Result, now_millis};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLS: &str = "id, cluster_id, namespace, image, package, vulnerability, reason, author, \
                    source, created_at, expires_at, revoked_at, revoked_by";

fn exception_row(row: &PgRow) -> Result<ExceptionRecord> {
    Ok(ExceptionRecord {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        namespace: row.try_get("namespace")?,
        image: row.try_get("image")?,
        package: row.try_get("package")?,
        vulnerability: row.try_get("vulnerability")?,
        reason: row.try_get("reason")?,
        author: row.try_get("author")?,
        source: row.try_get("source")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
    })
}

#[async_trait]
impl ExceptionStore for PgMetadataStore {
    async fn create_exceptions(&self, exceptions: &[ExceptionRecord]) -> Result<bool> {
        in_transaction!(self, |c| async {
            for e in exceptions {
                let done = sqlx::query(&format!(
                    "INSERT INTO exceptions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13) ON CONFLICT DO NOTHING"
                ))
                .bind(&e.id)
                .bind(&e.cluster_id)
                .bind(&e.namespace)
                .bind(&e.image)
                .bind(&e.package)
                .bind(&e.vulnerability)
                .bind(&e.reason)
                .bind(&e.author)
                .bind(&e.source)
                .bind(e.created_at)
                .bind(e.expires_at)
                .bind(e.revoked_at)
                .bind(&e.revoked_by)
                .execute(&mut *c)
                .await?;
                if done.rows_affected() != 1 {
                    // Rolls back what was inserted before.
                    return Ok((false, false));
                }
            }
            Ok::<_, crate::StoreError>((true, true))
        })
    }

    async fn list_exceptions(&self) -> Result<Vec<ExceptionRecord>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM exceptions ORDER BY created_at, seq"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(exception_row)
        .collect()
    }

    async fn active_exceptions(&self, now_secs: i64) -> Result<Vec<ExceptionRecord>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM exceptions WHERE revoked_at IS NULL AND expires_at > $1 \
             ORDER BY created_at, seq"
        ))
        .bind(now_secs)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(exception_row)
        .collect()
    }

    async fn revoke_exception(&self, id: &str, by: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE exceptions SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_active_exceptions(&self, now_secs: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM exceptions WHERE revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
