//! [`ForeignScanStore`] on PostgreSQL.
use super::PgMetadataStore;
use crate::foreign_scans::*;
use crate::{Result, StoreError};
use async_trait::async_trait;
use berth_oci::Digest;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Digests per query (PostgreSQL's bound-parameter limit is far above; this keeps statements short).
const BATCH: usize = 500;

fn record(row: &PgRow) -> Result<ForeignScanRecord> {
    let digest: String = row.try_get("digest")?;
    Ok(ForeignScanRecord {
        digest: digest
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("foreign scan digest {digest:?}")))?,
        reference: row.try_get("reference")?,
        report: row.try_get("report")?,
        error: row.try_get("error")?,
        db_version: row.try_get("db_version")?,
        finished_at: row.try_get("finished_at")?,
    })
}

#[async_trait]
impl ForeignScanStore for PgMetadataStore {
    async fn record_foreign_scan(&self, s: &ForeignScanRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO foreign_scans (digest, reference, status, report, error, db_version, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (digest) DO UPDATE SET reference = EXCLUDED.reference,
               status = EXCLUDED.status, report = EXCLUDED.report, error = EXCLUDED.error,
               db_version = EXCLUDED.db_version, finished_at = EXCLUDED.finished_at",
        )
        .bind(s.digest.to_string())
        .bind(&s.reference)
        .bind(if s.succeeded() { "success" } else { "failed" })
        .bind(&s.report)
        .bind(&s.error)
        .bind(&s.db_version)
        .bind(s.finished_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn foreign_scans(&self, digests: &[Digest]) -> Result<Vec<ForeignScanRecord>> {
        let mut out = Vec::new();
        for chunk in digests.chunks(BATCH) {
            let marks = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT digest, reference, report, error, db_version, finished_at
                 FROM foreign_scans WHERE digest IN ({marks}) ORDER BY digest"
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q.bind(d.to_string());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(record(&row)?);
            }
        }
        Ok(out)
    }

    async fn foreign_scans_to_rematch(
        &self,
        db_version: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ForeignScanRecord>> {
        sqlx::query(
            "SELECT digest, reference, report, error, db_version, finished_at FROM foreign_scans
             WHERE report IS NOT NULL AND (db_version IS NULL OR db_version <> $1) AND digest > $2
             ORDER BY digest LIMIT $3",
        )
        .bind(db_version)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(record)
        .collect()
    }
}
