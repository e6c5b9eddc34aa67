//! [`ScanStore`] on SQLite.
use super::jobs::insert_job;
use super::{SqliteMetadataStore, digest_col};
use crate::scans::*;
use crate::{JobEnqueued, NewJob, Result, StoreError, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn job_row(row: &SqliteRow) -> Result<ScanJob> {
    let status: String = row.try_get("status")?;
    Ok(ScanJob {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        repository_id: row.try_get::<Option<i64>, _>("repository_id")?.unwrap_or(0),
        digest: digest_col(row, "digest")?,
        status: ScanStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("bad scan status {status:?}")))?,
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
        .bind(ScanStatus::Queued.as_str())
        .bind(ScanStatus::Scanning.as_str())
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
        .bind(ScanStatus::Queued.as_str())
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        // One attempt: a scan whose runner died may be what killed it (a hostile image
        // exhausting memory), so it is failed as interrupted, never run again on its own.
        let job = NewJob {
            kind: SCAN_JOB.to_string(),
            payload: id.to_string(),
            dedupe_key: None,
            max_attempts: 1,
            due_at: now_millis(),
        };
        if let JobEnqueued::Duplicate(other) = insert_job(&mut tx, &job).await? {
            return Err(StoreError::Corrupt(format!(
                "scan {id} collided with job {other}"
            )));
        }
        tx.commit().await?;
        crate::job_notices::announce_job(self, SCAN_JOB).await;
        Ok(EnqueueOutcome::Queued(id))
    }

    async fn start_scan(&self, id: i64) -> Result<Option<ScanJob>> {
        let row = sqlx::query(
            "UPDATE scans SET status = $1, started_at = $2, attempts = attempts + 1
             WHERE id = $3 AND status = $4 RETURNING *",
        )
        .bind(ScanStatus::Scanning.as_str())
        .bind(now_millis())
        .bind(id)
        .bind(ScanStatus::Queued.as_str())
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| job_row(&r)).transpose()
    }

    async fn finish_scan(
        &self,
        id: i64,
        status: ScanStatus,
        result: Option<&str>,
        error: Option<&str>,
        db_version: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE scans SET status = $1, result = $2, error = $3, db_version = $4,
                    finished_at = $5 WHERE id = $6 AND status IN ($7, $8)",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(db_version)
        .bind(now_millis())
        .bind(id)
        .bind(ScanStatus::Queued.as_str())
        .bind(ScanStatus::Scanning.as_str())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn scans_to_rematch(
        &self,
        db_version: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ScanJob>> {
        sqlx::query(
            "SELECT * FROM scans s WHERE s.id > $1 AND s.status = $2
               AND (s.db_version IS NULL OR s.db_version != $3)
               AND s.id = (SELECT MAX(id) FROM scans l WHERE l.repository_id = s.repository_id
                             AND l.digest = s.digest AND l.status = $2)
             ORDER BY s.id LIMIT $4",
        )
        .bind(after)
        .bind(ScanStatus::Success.as_str())
        .bind(db_version)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(job_row)
        .collect()
    }

    async fn record_rematch(
        &self,
        from: i64,
        result: &str,
        db_version: &str,
    ) -> Result<Option<i64>> {
        let now = now_millis();
        // Not over a newer scan of the image: a queued or running one will be current.
        Ok(sqlx::query_scalar(
            "INSERT INTO scans (instance_id, repository_id, digest, db_version, status, attempts,
                                result, created_at, started_at, finished_at)
             SELECT instance_id, repository_id, digest, $1, $2, 0, $3, $4, $4, $4
             FROM scans s WHERE s.id = $5
               AND NOT EXISTS (SELECT 1 FROM scans n WHERE n.repository_id = s.repository_id
                                 AND n.digest = s.digest AND n.id > s.id)
             RETURNING id",
        )
        .bind(db_version)
        .bind(ScanStatus::Success.as_str())
        .bind(result)
        .bind(now)
        .bind(from)
        .fetch_optional(&self.write)
        .await?)
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
        .bind(ScanStatus::Success.as_str())
        .bind(ScanStatus::Failed.as_str())
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
}
