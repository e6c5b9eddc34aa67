//! [`TenancyStore`] on PostgreSQL (the SQL of `sqlite/tenancy.rs`, each write serializable).
use super::{PgMetadataStore, digest_col, instance_row, namespace_row, repository_row};
use crate::tenancy::*;
use crate::{Result, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

fn token_row(row: &PgRow) -> Result<AccessToken> {
    Ok(AccessToken {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        username: row.try_get("username")?,
        secret_hash: row.try_get("secret_hash")?,
        description: row.try_get("description")?,
        token_type: row.try_get("token_type")?,
        token_time: row.try_get("token_time")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn api_key_row(row: &PgRow) -> Result<ApiKey> {
    Ok(ApiKey {
        access_key_id: row.try_get("access_key_id")?,
        sealed_secret: row.try_get("secret")?,
        description: row.try_get("description")?,
        enabled: row.try_get("enabled")?,
        read_only: row.try_get("read_only")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Tables keyed by repository that a repository's (or an instance's) deletion empties first, so
/// the cascade from `repositories` never trips a composite foreign key midway.
const REPOSITORY_CONTENT: [&str; 5] = [
    "tags",
    "manifest_refs",
    "manifests",
    "repository_blobs",
    "uploads",
];

fn total(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn push_instance_filter(q: &mut QueryBuilder<'_, Postgres>, filter: &InstanceFilter) {
    q.push(" WHERE status != 'Deleting'");
    if !filter.ids.is_empty() {
        q.push(" AND id IN (");
        let mut sep = q.separated(", ");
        for id in &filter.ids {
            sep.push_bind(id.clone());
        }
        q.push(")");
    }
    if !filter.project_ids.is_empty() {
        q.push(" AND project_id IN (");
        let mut sep = q.separated(", ");
        for id in &filter.project_ids {
            sep.push_bind(id.clone());
        }
        q.push(")");
    }
    if let Some(name) = &filter.name {
        q.push(" AND name = ").push_bind(name.clone());
    }
}

#[async_trait]
impl TenancyStore for PgMetadataStore {
    async fn create_instance(&self, instance: &NewInstance) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO instances (id, name, instance_type, status, charge_type, project_id,
                                    created_at, expires_at)
             VALUES ($1, $2, $3, 'Creating', $4, $5, $6, $7)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&instance.id)
        .bind(&instance.name)
        .bind(&instance.instance_type)
        .bind(&instance.charge_type)
        .bind(&instance.project_id)
        .bind(now_millis())
        .bind(instance.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_instance_by_name(&self, name: &str) -> Result<Option<crate::Instance>> {
        sqlx::query("SELECT * FROM instances WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| instance_row(&r))
            .transpose()
    }

    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<crate::Instance>, u64)> {
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM instances");
        push_instance_filter(&mut count, filter);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM instances");
        push_instance_filter(&mut q, filter);
        q.push(" ORDER BY created_at, id LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = q.build().fetch_all(&self.pool).await?;
        let items = rows.iter().map(instance_row).collect::<Result<Vec<_>>>()?;
        Ok((items, total(n)))
    }

    async fn set_instance_status(
        &self,
        id: &str,
        from: crate::InstanceStatus,
        to: crate::InstanceStatus,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE instances SET status = $1 WHERE id = $2 AND status = $3")
            .bind(to.as_str())
            .bind(id)
            .bind(from.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_instance(&self, id: &str) -> Result<Vec<Digest>> {
        let rows = serializable!(self, |c| delete_instance_tx(c, id))?;
        rows.iter().map(|r| digest_col(r, "digest")).collect()
    }

    async fn instance_usage(&self, id: &str) -> Result<Usage> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM namespaces WHERE instance_id = $1) AS ns,
                    (SELECT COUNT(*) FROM repositories WHERE instance_id = $1) AS repos",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Usage {
            namespaces: row.try_get("ns")?,
            repositories: row.try_get("repos")?,
        })
    }

    async fn set_instance_quotas(
        &self,
        id: &str,
        namespaces: i64,
        repositories: i64,
    ) -> Result<bool> {
        // Serializable, as the quota checks that read these columns.
        serializable!(self, |c| async {
            let done = sqlx::query(
                "UPDATE instances SET namespace_quota = $1, repository_quota = $2 WHERE id = $3",
            )
            .bind(namespaces)
            .bind(repositories)
            .bind(id)
            .execute(&mut *c)
            .await?;
            Ok::<_, crate::StoreError>(done.rows_affected() == 1)
        })
    }

    async fn forget_unlinked_blob(&self, digest: &Digest) -> Result<bool> {
        serializable!(self, |c| async {
            let done = sqlx::query(
                "DELETE FROM blobs WHERE digest = $1
                   AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.ref_digest = blobs.digest AND r.kind = 0)
                   AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = blobs.digest)",
            )
            .bind(digest.to_string())
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            super::insert_tombstone(c, digest).await?;
            Ok::<_, crate::StoreError>(true)
        })
    }

    async fn create_access_token(&self, token: &AccessToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (id, instance_id, username, secret_hash, description,
                                        token_type, token_time, enabled, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.id)
        .bind(&token.instance_id)
        .bind(&token.username)
        .bind(&token.secret_hash)
        .bind(&token.description)
        .bind(&token.token_type)
        .bind(token.token_time)
        .bind(token.enabled)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_access_token(&self, instance_id: &str, id: &str) -> Result<Option<AccessToken>> {
        sqlx::query("SELECT * FROM access_tokens WHERE instance_id = $1 AND id = $2")
            .bind(instance_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| token_row(&r))
            .transpose()
    }

    async fn access_token_by_username(
        &self,
        instance_id: &str,
        username: &str,
    ) -> Result<Option<AccessToken>> {
        sqlx::query("SELECT * FROM access_tokens WHERE instance_id = $1 AND username = $2")
            .bind(instance_id)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| token_row(&r))
            .transpose()
    }

    async fn list_access_tokens(
        &self,
        instance_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AccessToken>, u64)> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(
            "SELECT * FROM access_tokens WHERE instance_id = $1
             ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(instance_id)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(token_row).collect::<Result<Vec<_>>>()?;
        Ok((items, total(n)))
    }

    async fn update_access_token(&self, token: &AccessToken) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE access_tokens SET description = $1, token_type = $2, token_time = $3,
                    expires_at = $4
             WHERE instance_id = $5 AND id = $6",
        )
        .bind(&token.description)
        .bind(&token.token_type)
        .bind(token.token_time)
        .bind(token.expires_at)
        .bind(&token.instance_id)
        .bind(&token.id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_access_token_enabled(
        &self,
        instance_id: &str,
        id: &str,
        enabled: bool,
    ) -> Result<bool> {
        let done =
            sqlx::query("UPDATE access_tokens SET enabled = $1 WHERE instance_id = $2 AND id = $3")
                .bind(enabled)
                .bind(instance_id)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_access_token(&self, instance_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE instance_id = $1 AND id = $2")
            .bind(instance_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (access_key_id, secret, description, enabled, read_only, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.access_key_id)
        .bind(&key.sealed_secret)
        .bind(&key.description)
        .bind(key.enabled)
        .bind(key.read_only)
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_api_key(&self, access_key_id: &str) -> Result<Option<ApiKey>> {
        sqlx::query("SELECT * FROM api_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| api_key_row(&r))
            .transpose()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_at, access_key_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(api_key_row).collect()
    }

    async fn set_api_key_enabled(&self, access_key_id: &str, enabled: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE api_keys SET enabled = $1 WHERE access_key_id = $2")
            .bind(enabled)
            .bind(access_key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_api_key(&self, access_key_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_namespace(
        &self,
        instance_id: &str,
        name: &str,
        public: bool,
    ) -> Result<CreateNamespaceOutcome> {
        serializable!(self, |c| create_namespace_tx(c, instance_id, name, public))
    }

    async fn list_namespaces(
        &self,
        instance_id: &str,
        name: Option<&str>,
        public: Option<bool>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<NamespaceInfo>, u64)> {
        let filter = |q: &mut QueryBuilder<'_, Postgres>| {
            q.push(" WHERE n.instance_id = ")
                .push_bind(instance_id.to_string());
            if let Some(name) = name {
                q.push(" AND n.name = ").push_bind(name.to_string());
            }
            if let Some(public) = public {
                q.push(" AND n.public = ").push_bind(public);
            }
        };
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM namespaces n");
        filter(&mut count);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT n.*, (SELECT COUNT(*) FROM repositories r WHERE r.namespace_id = n.id)
             AS repo_count FROM namespaces n",
        );
        filter(&mut q);
        q.push(" ORDER BY n.created_at, n.id LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = q.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(NamespaceInfo {
                    namespace: namespace_row(r)?,
                    repositories: r.try_get("repo_count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((items, total(n)))
    }

    async fn delete_namespace(&self, namespace_id: i64) -> Result<DeleteNamespaceOutcome> {
        serializable!(self, |c| async {
            let repos: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM repositories WHERE namespace_id = $1")
                    .bind(namespace_id)
                    .fetch_one(&mut *c)
                    .await?;
            if repos > 0 {
                return Ok(DeleteNamespaceOutcome::NotEmpty);
            }
            let done = sqlx::query("DELETE FROM namespaces WHERE id = $1")
                .bind(namespace_id)
                .execute(&mut *c)
                .await?;
            Ok::<_, crate::StoreError>(if done.rows_affected() == 1 {
                DeleteNamespaceOutcome::Deleted
            } else {
                DeleteNamespaceOutcome::Missing
            })
        })
    }

    async fn list_namespace_repositories(
        &self,
        namespace_id: i64,
        names: &[String],
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RepositoryInfo>, u64)> {
        let filter = |q: &mut QueryBuilder<'_, Postgres>| {
            q.push(" WHERE r.namespace_id = ").push_bind(namespace_id);
            if !names.is_empty() {
                q.push(" AND r.name IN (");
                let mut sep = q.separated(", ");
                for n in names {
                    sep.push_bind(n.clone());
                }
                q.push(")");
            }
        };
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM repositories r");
        filter(&mut count);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT r.id, r.name, r.description, r.created_at, r.updated_at, r.tag_immutable,
                    n.public
             FROM repositories r JOIN namespaces n ON n.id = r.namespace_id",
        );
        filter(&mut q);
        q.push(" ORDER BY r.name LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = q.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(RepositoryInfo {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    public: r.try_get("public")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    tag_immutable: r.try_get("tag_immutable")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((items, total(n)))
    }

    async fn get_repository_by_id(&self, id: i64) -> Result<Option<crate::Repository>> {
        sqlx::query("SELECT * FROM repositories WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| repository_row(&r))
            .transpose()
    }

    async fn set_repository_description(
        &self,
        repository_id: i64,
        description: &str,
    ) -> Result<bool> {
        let done =
            sqlx::query("UPDATE repositories SET description = $1, updated_at = $2 WHERE id = $3")
                .bind(description)
                .bind(now_millis())
                .bind(repository_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_repository_tag_immutable(&self, repository_id: i64, on: bool) -> Result<bool> {
        // Serializable, as the pushes and deletes that read the flag: one racing with it either
        // ran before (and saw the old setting) or after (and sees the new one), or is run again.
        serializable!(self, |c| async {
            let done = sqlx::query(
                "UPDATE repositories SET tag_immutable = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(on)
            .bind(now_millis())
            .bind(repository_id)
            .execute(&mut *c)
            .await?;
            Ok::<_, crate::StoreError>(done.rows_affected() == 1)
        })
    }

    async fn delete_repository(&self, repository_id: i64) -> Result<bool> {
        serializable!(self, |c| async {
            for table in REPOSITORY_CONTENT {
                sqlx::query(&format!("DELETE FROM {table} WHERE repository_id = $1"))
                    .bind(repository_id)
                    .execute(&mut *c)
                    .await?;
            }
            let done = sqlx::query("DELETE FROM repositories WHERE id = $1")
                .bind(repository_id)
                .execute(&mut *c)
                .await?;
            Ok::<_, crate::StoreError>(done.rows_affected() == 1)
        })
    }

    async fn list_images(
        &self,
        repository_id: i64,
        digest: Option<&Digest>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<ImageInfo>, u64)> {
        // Top-level manifests only: an index's children are part of the index's image.
        let filter = |q: &mut QueryBuilder<'_, Postgres>| {
            q.push(" WHERE m.repository_id = ").push_bind(repository_id);
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM manifest_refs c
                   WHERE c.repository_id = m.repository_id AND c.ref_digest = m.digest
                     AND c.kind = 1)",
            );
            if let Some(d) = digest {
                q.push(" AND m.digest = ").push_bind(d.to_string());
            }
        };
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM manifests m");
        filter(&mut count);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT m.digest, m.created_at,
               (m.size
               + COALESCE((SELECT SUM(b.size) FROM manifest_refs r JOIN blobs b ON b.digest = r.ref_digest
                           WHERE r.repository_id = m.repository_id AND r.manifest_digest = m.digest
                             AND r.kind = 0), 0)
               + COALESCE((SELECT SUM(cm.size) FROM manifest_refs r JOIN manifests cm
                             ON cm.repository_id = r.repository_id AND cm.digest = r.ref_digest
                           WHERE r.repository_id = m.repository_id AND r.manifest_digest = m.digest
                             AND r.kind = 1), 0)
               + COALESCE((SELECT SUM(b.size) FROM manifest_refs r
                             JOIN manifest_refs cr ON cr.repository_id = r.repository_id
                               AND cr.manifest_digest = r.ref_digest AND cr.kind = 0
                             JOIN blobs b ON b.digest = cr.ref_digest
                           WHERE r.repository_id = m.repository_id AND r.manifest_digest = m.digest
                             AND r.kind = 1), 0))::BIGINT AS total_size,
               (SELECT string_agg(t.name, chr(10) ORDER BY t.name) FROM tags t
                 WHERE t.repository_id = m.repository_id AND t.digest = m.digest) AS tag_names
             FROM manifests m",
        );
        filter(&mut q);
        q.push(" ORDER BY m.created_at DESC, m.digest LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
        let rows = q.build().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                let tags: Option<String> = r.try_get("tag_names")?;
                Ok(ImageInfo {
                    digest: digest_col(r, "digest")?,
                    size: r.try_get("total_size")?,
                    created_at: r.try_get("created_at")?,
                    tags: tags
                        .map(|t| t.split('\n').map(str::to_string).collect())
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((items, total(n)))
    }
}

async fn delete_instance_tx(c: &mut PgConnection, id: &str) -> Result<Vec<PgRow>> {
    let deletable: Option<bool> =
        sqlx::query_scalar("SELECT NOT is_default FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    if deletable != Some(true) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT DISTINCT rb.digest FROM repository_blobs rb
         JOIN repositories r ON r.id = rb.repository_id WHERE r.instance_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    // Tags and manifest references are keyed by repository, not by instance: delete them
    // explicitly, as SQLite does, rather than through the cascade.
    for table in REPOSITORY_CONTENT {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE repository_id IN
             (SELECT id FROM repositories WHERE instance_id = $1)"
        ))
        .bind(id)
        .execute(&mut *c)
        .await?;
    }
    sqlx::query("DELETE FROM instances WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(rows)
}

async fn create_namespace_tx(
    c: &mut PgConnection,
    instance_id: &str,
    name: &str,
    public: bool,
) -> Result<CreateNamespaceOutcome> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM namespaces WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
    if exists.is_some() {
        return Ok(CreateNamespaceOutcome::Exists);
    }
    let room: Option<bool> = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM namespaces WHERE instance_id = $1) < namespace_quota
         FROM instances WHERE id = $1",
    )
    .bind(instance_id)
    .fetch_optional(&mut *c)
    .await?;
    if room != Some(true) {
        return Ok(CreateNamespaceOutcome::QuotaExceeded);
    }
    let row = sqlx::query(
        "INSERT INTO namespaces (instance_id, name, public, created_at) VALUES ($1, $2, $3, $4)
         RETURNING *",
    )
    .bind(instance_id)
    .bind(name)
    .bind(public)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(CreateNamespaceOutcome::Created(namespace_row(&row)?))
}
