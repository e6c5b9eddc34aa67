//! [`RuntimeStore`] on SQLite.
use super::{SqliteMetadataStore, digest_col};
use crate::runtime::*;
use crate::scans::ScanStatus;
use crate::{Result, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::BTreeMap;

/// Digests bound per query (SQLite's bound-variable limit is far above it).
const DIGESTS_PER_QUERY: usize = 500;

const CLUSTER_COLS: &str =
    "id, name, cluster_type, region, kubernetes_version, protection, created_at";
const CREDENTIAL_COLS: &str = "id, cluster_id, token_hash, description, created_at, revoked_at";

fn cluster_row(row: &SqliteRow) -> Result<ClusterRecord> {
    Ok(ClusterRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        cluster_type: row.try_get("cluster_type")?,
        region: row.try_get("region")?,
        kubernetes_version: row.try_get("kubernetes_version")?,
        protection: row.try_get("protection")?,
        created_at: row.try_get("created_at")?,
    })
}

fn credential_row(row: &SqliteRow) -> Result<ClusterCredential> {
    Ok(ClusterCredential {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        token_hash: row.try_get("token_hash")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn snapshot_row(row: &SqliteRow) -> Result<StoredSnapshot> {
    Ok(StoredSnapshot {
        cluster_id: row.try_get("cluster_id")?,
        document: row.try_get("document")?,
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl RuntimeStore for SqliteMetadataStore {
    async fn create_cluster(&self, cluster: &ClusterRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO clusters (id, name, cluster_type, region, kubernetes_version,
                                   protection, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&cluster.id)
        .bind(&cluster.name)
        .bind(&cluster.cluster_type)
        .bind(&cluster.region)
        .bind(&cluster.kubernetes_version)
        .bind(&cluster.protection)
        .bind(cluster.created_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_clusters(&self) -> Result<Vec<ClusterRecord>> {
        sqlx::query(&format!(
            "SELECT {CLUSTER_COLS} FROM clusters ORDER BY created_at, id"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(cluster_row)
        .collect()
    }

    async fn get_cluster(&self, id: &str) -> Result<Option<ClusterRecord>> {
        sqlx::query(&format!(
            "SELECT {CLUSTER_COLS} FROM clusters WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| cluster_row(&r))
        .transpose()
    }

    async fn delete_cluster(&self, id: &str) -> Result<bool> {
        // Snapshot, credentials (and the unused rows of 0001's deployments) go by cascade.
        let done = sqlx::query("DELETE FROM clusters WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_cluster_credential(&self, credential: &ClusterCredential) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO cluster_credentials
                 (id, cluster_id, token_hash, description, created_at, revoked_at)
             SELECT $1, id, $3, $4, $5, $6 FROM clusters WHERE id = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(&credential.id)
        .bind(&credential.cluster_id)
        .bind(&credential.token_hash)
        .bind(&credential.description)
        .bind(credential.created_at)
        .bind(credential.revoked_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_cluster_credentials(&self, cluster_id: &str) -> Result<Vec<ClusterCredential>> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLS} FROM cluster_credentials WHERE cluster_id = $1
             ORDER BY created_at, id"
        ))
        .bind(cluster_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(credential_row)
        .collect()
    }

    async fn revoke_cluster_credential(&self, cluster_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE cluster_credentials SET revoked_at = $1
             WHERE cluster_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(cluster_id)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn verify_cluster_credential(
        &self,
        token_hash: &str,
    ) -> Result<Option<ClusterCredential>> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLS} FROM cluster_credentials
             WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?
        .map(|r| credential_row(&r))
        .transpose()
    }

    async fn replace_snapshot(
        &self,
        cluster_id: &str,
        document: &str,
        expected_version: Option<i64>,
    ) -> Result<SnapshotWrite> {
        let mut tx = self.write.begin().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM clusters WHERE id = $1")
            .bind(cluster_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(SnapshotWrite::NoCluster);
        }
        let current: i64 =
            sqlx::query_scalar("SELECT version FROM cluster_snapshots WHERE cluster_id = $1")
                .bind(cluster_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0);
        if expected_version.is_some_and(|v| v != current) {
            return Ok(SnapshotWrite::Conflict { current });
        }
        let version = current.saturating_add(1);
        sqlx::query(
            "INSERT INTO cluster_snapshots (cluster_id, document, version, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (cluster_id) DO UPDATE SET document = excluded.document,
                 version = excluded.version, updated_at = excluded.updated_at",
        )
        .bind(cluster_id)
        .bind(document)
        .bind(version)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SnapshotWrite::Written { version })
    }

    async fn snapshot(&self, cluster_id: &str) -> Result<Option<StoredSnapshot>> {
        sqlx::query(
            "SELECT cluster_id, document, version, updated_at FROM cluster_snapshots
             WHERE cluster_id = $1",
        )
        .bind(cluster_id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| snapshot_row(&r))
        .transpose()
    }

    async fn all_snapshots(&self) -> Result<Vec<StoredSnapshot>> {
        sqlx::query(
            "SELECT cluster_id, document, version, updated_at FROM cluster_snapshots
             ORDER BY cluster_id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(snapshot_row)
        .collect()
    }

    async fn snapshot_versions(&self) -> Result<Vec<SnapshotVersion>> {
        let rows = sqlx::query(
            "SELECT cluster_id, version, updated_at FROM cluster_snapshots ORDER BY cluster_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotVersion {
                    cluster_id: r.try_get("cluster_id")?,
                    version: r.try_get("version")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    async fn images_by_digest(&self, digests: &[Digest]) -> Result<Vec<StoredImage>> {
        let mut images = Vec::new();
        for chunk in digests.chunks(DIGESTS_PER_QUERY) {
            let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
                "SELECT m.digest, m.repository_id, m.created_at, r.name AS repository,
                        r.tag_immutable, r.instance_id, i.name AS instance_name, n.name AS namespace,
                        n.public AS namespace_public,
                        (SELECT s.id FROM scans s WHERE s.digest = m.digest AND s.status = ",
            );
            q.push_bind(ScanStatus::Success.as_str());
            q.push(
                " ORDER BY s.id DESC LIMIT 1) AS scan_id
                 FROM manifests m
                 JOIN repositories r ON r.id = m.repository_id
                 JOIN namespaces n ON n.id = r.namespace_id
                 JOIN instances i ON i.id = r.instance_id
                 WHERE i.status != 'Deleting' AND m.digest IN (",
            );
            let mut sep = q.separated(", ");
            for d in chunk {
                sep.push_bind(d.to_string());
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.read).await?;

            let mut t: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
                "SELECT t.repository_id, t.digest, t.name FROM tags t
                 JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
                 WHERE m.digest IN (",
            );
            let mut sep = t.separated(", ");
            for d in chunk {
                sep.push_bind(d.to_string());
            }
            t.push(")");
            let mut tags: BTreeMap<(i64, String), Vec<String>> = BTreeMap::new();
            for row in t.build().fetch_all(&self.read).await? {
                tags.entry((row.try_get("repository_id")?, row.try_get("digest")?))
                    .or_default()
                    .push(row.try_get("name")?);
            }
            for row in &rows {
                let digest = digest_col(row, "digest")?;
                let repository_id: i64 = row.try_get("repository_id")?;
                let mut names = tags
                    .remove(&(repository_id, digest.to_string()))
                    .unwrap_or_default();
                names.sort_unstable();
                images.push(StoredImage {
                    digest,
                    instance_id: row.try_get("instance_id")?,
                    instance_name: row.try_get("instance_name")?,
                    namespace: row.try_get("namespace")?,
                    namespace_public: row.try_get("namespace_public")?,
                    repository_id,
                    repository: row.try_get("repository")?,
                    tags: names,
                    tag_immutable: row.try_get("tag_immutable")?,
                    created_at: row.try_get("created_at")?,
                    latest_scan_id: row.try_get("scan_id")?,
                });
            }
        }
        images.sort_by(|a, b| {
            (a.digest.to_string(), &a.instance_id, &a.repository).cmp(&(
                b.digest.to_string(),
                &b.instance_id,
                &b.repository,
            ))
        });
        Ok(images)
    }

    async fn scan_result(&self, scan_id: i64) -> Result<Option<String>> {
        let result: Option<Option<String>> =
            sqlx::query_scalar("SELECT result FROM scans WHERE id = $1")
                .bind(scan_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(result.flatten())
    }
}
