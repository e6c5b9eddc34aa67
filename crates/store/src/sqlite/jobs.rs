//! [`JobStore`] on SQLite. Every state change is one statement guarded by the claim token
//! (`lease_until`), so a runner that lost its lease changes nothing.
use super::{SqliteMetadataStore, u};
use crate::jobs::*;
use crate::{Result, StoreError, now_millis};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn job_row(row: &SqliteRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let count =
        |col: &str| -> Result<u32> { Ok(u32::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0)) };
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        dedupe_key: row.try_get("dedupe_key")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("bad job state {state:?}")))?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        due_at: row.try_get("due_at")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts a job inside a caller's transaction (a domain record and its job commit together).
pub(super) async fn insert_job(
    conn: &mut sqlx::SqliteConnection,
    job: &NewJob,
) -> Result<JobEnqueued> {
    if let Some(key) = &job.dedupe_key {
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE kind = $1 AND dedupe_key = $2
               AND state IN ('queued', 'running')",
        )
        .bind(&job.kind)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = existing {
            return Ok(JobEnqueued::Duplicate(id));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, dedupe_key, state, attempts, max_attempts, due_at,
                           created_at)
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6) RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(&job.dedupe_key)
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(job.due_at)
    .bind(now_millis())
    .fetch_one(&mut *conn)
    .await?;
    Ok(JobEnqueued::Queued(id))
}

#[async_trait]
impl JobStore for SqliteMetadataStore {
    async fn enqueue_job(&self, job: &NewJob) -> Result<JobEnqueued> {
        let mut tx = self.write.begin().await?;
        let outcome = insert_job(&mut tx, job).await?;
        tx.commit().await?;
        if let JobEnqueued::Queued(_) = outcome {
            crate::job_notices::announce_job(self, &job.kind).await;
        }
        Ok(outcome)
    }

    async fn claim_job(
        &self,
        kinds: &[&str],
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ClaimedJob>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let mut q = sqlx::QueryBuilder::new(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ",
        );
        q.push_bind(lease_until);
        q.push(" WHERE id = (SELECT id FROM jobs WHERE kind IN (");
        let mut list = q.separated(", ");
        for kind in kinds {
            list.push_bind(*kind);
        }
        q.push(") AND ((state = 'queued' AND due_at <= ");
        q.push_bind(now);
        q.push(") OR (state = 'running' AND lease_until < ");
        q.push_bind(now);
        q.push(
            ")) ORDER BY CASE state WHEN 'queued' THEN due_at ELSE lease_until END, id LIMIT 1)
             RETURNING *",
        );
        let row = q.build().fetch_optional(&self.write).await?;
        Ok(row.map(|r| job_row(&r)).transpose()?.map(|job| ClaimedJob {
            job,
            held_until: lease_until,
        }))
    }

    async fn next_job_due(&self, kinds: &[&str]) -> Result<Option<i64>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        // A running job is claimable once its lease has ended (strictly before `now`).
        let mut q = sqlx::QueryBuilder::new(
            "SELECT MIN(CASE state WHEN 'queued' THEN due_at ELSE lease_until + 1 END) FROM jobs
             WHERE state IN ('queued', 'running') AND kind IN (",
        );
        let mut list = q.separated(", ");
        for kind in kinds {
            list.push_bind(*kind);
        }
        q.push(")");
        Ok(q.build_query_scalar::<Option<i64>>()
            .fetch_one(&self.read)
            .await?)
    }

    async fn renew_job(&self, id: i64, held_until: i64, lease_until: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1
             WHERE id = $2 AND state = 'running' AND lease_until = $3",
        )
        .bind(lease_until)
        .bind(id)
        .bind(held_until)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete_job(&self, id: i64, held_until: i64) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND state = 'running' AND lease_until = $2",
        )
        .bind(id)
        .bind(held_until)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn retry_job(&self, id: i64, held_until: i64, due_at: i64, error: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', due_at = $1, lease_until = NULL, last_error = $2
             WHERE id = $3 AND state = 'running' AND lease_until = $4",
        )
        .bind(due_at)
        .bind(error)
        .bind(id)
        .bind(held_until)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn bury_job(&self, id: i64, held_until: i64, error: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $1
             WHERE id = $2 AND state = 'running' AND lease_until = $3",
        )
        .bind(error)
        .bind(id)
        .bind(held_until)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| job_row(&r))
            .transpose()
    }

    async fn list_jobs(&self, kind: &str, limit: u32) -> Result<Vec<Job>> {
        sqlx::query("SELECT * FROM jobs WHERE kind = $1 ORDER BY id LIMIT $2")
            .bind(kind)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    async fn prune_dead_jobs(&self, keep: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE state = 'dead' AND id NOT IN (
               SELECT id FROM jobs WHERE state = 'dead' ORDER BY id DESC LIMIT $1)",
        )
        .bind(u(u64::from(keep)))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}
