//! [`ScanStore`] on SQLite.
use super::{SqliteMetadataStore, digest_col};
use crate::scans::*;
use crate::{Result, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn job_row(row: &SqliteRow) -> Result<ScanJob> {
    Ok(ScanJob {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        repository_id: row.try_get::<Option<i64>, _>("repository_id")?.unwrap_or(0),
        digest: digest_col(row, "digest")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        result: row.try_get("result")?,
        error: row.try_get("error")?,
        db_version: row.try_get("db_version")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

#[async_trait]
impl ScanStore for SqliteMetadataStore {
    async fn enqueue_scan(
        &self,
        instance_id: &str,
        repository_id: i64,
        digest: &Digest,
    ) -> Result<EnqueueOutcome> {
        let mut tx = self.write.begin().await?;
        let running: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM scans WHERE repository_id = $1 AND digest = $2
               AND status IN ($3, $4) ORDER BY id DESC LIMIT 1",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .bind(SCAN_QUEUED)
        .bind(SCAN_RUNNING)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = running {
            return Ok(EnqueueOutcome::InFlight(id));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scans (instance_id, repository_id, digest, status, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(instance_id)
        .bind(repository_id)
        .bind(digest.to_string())
        .bind(SCAN_QUEUED)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(EnqueueOutcome::Queued(id))
    }

    async fn claim_scan(&self) -> Result<Option<ScanJob>> {
        let row = sqlx::query(
            "UPDATE scans SET status = $1, started_at = $2, attempts = attempts + 1
             WHERE id = (SELECT id FROM scans WHERE status = $3 ORDER BY created_at, id LIMIT 1)
             RETURNING *",
        )
        .bind(SCAN_RUNNING)
        .bind(now_millis())
        .bind(SCAN_QUEUED)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| job_row(&r)).transpose()
    }

    async fn finish_scan(
        &self,
        id: i64,
        status: &str,
        result: Option<&str>,
        error: Option<&str>,
        db_version: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE scans SET status = $1, result = $2, error = $3, db_version = $4,
                    finished_at = $5 WHERE id = $6 AND status = $7",
        )
        .bind(status)
        .bind(result)
        .bind(error)
        .bind(db_version)
        .bind(now_millis())
        .bind(id)
        .bind(SCAN_RUNNING)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn prune_scans(&self, keep: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM scans WHERE id IN (
               SELECT id FROM (
                 SELECT id, ROW_NUMBER() OVER (
                   PARTITION BY repository_id, digest ORDER BY id DESC) AS n
                 FROM scans WHERE status IN ($1, $2))
               WHERE n > $3)",
        )
        .bind(SCAN_SUCCESS)
        .bind(SCAN_FAILED)
        .bind(i64::from(keep))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn latest_scan(&self, repository_id: i64, digest: &Digest) -> Result<Option<ScanJob>> {
        sqlx::query(
            "SELECT * FROM scans WHERE repository_id = $1 AND digest = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .fetch_optional(&self.read)
        .await?
        .map(|r| job_row(&r))
        .transpose()
    }

    async fn fail_interrupted_scans(&self, error: &str) -> Result<u64> {
        let failed = sqlx::query(
            "UPDATE scans SET status = $1, finished_at = $2, error = $3 WHERE status = $4",
        )
        .bind(SCAN_FAILED)
        .bind(now_millis())
        .bind(error)
        .bind(SCAN_RUNNING)
        .execute(&self.write)
        .await?;
        Ok(failed.rows_affected())
    }
}
