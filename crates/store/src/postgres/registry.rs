//! [`MetadataStore`] on PostgreSQL: the registry's own records (instances, namespaces,
//! repositories, blobs, uploads, manifests, tags, GC, users, settings) and the notices.
use super::{
    META_COLS, PgMetadataStore, digest_col, insert_tombstone, instance_row, manifest_meta_row,
    namespace_row, refuse_tombstoned, repository_row, tag_immutable, u, user_row,
};
use crate::meta::*;
use crate::tenants::{Instance, Namespace, Repository};
use crate::{Result, StoreError, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use bytes::Bytes;
use sqlx::{PgConnection, Row};

impl PgMetadataStore {
    async fn manifest_digest_for(
        &self,
        repository_id: i64,
        selector: &ManifestSelector,
    ) -> Result<Option<String>> {
        Ok(match selector {
            ManifestSelector::Digest(d) => Some(d.to_string()),
            ManifestSelector::Tag(t) => {
                sqlx::query_scalar("SELECT digest FROM tags WHERE repository_id = $1 AND name = $2")
                    .bind(repository_id)
                    .bind(t)
                    .fetch_optional(&self.pool)
                    .await?
            }
        })
    }
}

#[async_trait]
impl MetadataStore for PgMetadataStore {
    async fn ensure_default_instance(&self, name: &str) -> Result<Instance> {
        // Replicas starting together race here: the partial unique index lets one insert win.
        let row = serializable!(self, |c| async {
            sqlx::query(
                "INSERT INTO instances (id, name, is_default, status, created_at)
                 VALUES ($1, $2, TRUE, 'Running', $3) ON CONFLICT DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(name)
            .bind(now_millis())
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(
                sqlx::query("SELECT * FROM instances WHERE is_default")
                    .fetch_one(&mut *c)
                    .await?,
            )
        })?;
        instance_row(&row)
    }

    async fn get_instance(&self, id: &str) -> Result<Option<Instance>> {
        sqlx::query("SELECT * FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| instance_row(&r))
            .transpose()
    }

    async fn get_namespace(&self, instance_id: &str, name: &str) -> Result<Option<Namespace>> {
        sqlx::query("SELECT * FROM namespaces WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| namespace_row(&r))
            .transpose()
    }

    async fn ensure_namespace(&self, instance_id: &str, name: &str) -> Result<Namespace> {
        serializable!(self, |c| insert_namespace(c, instance_id, name))
    }

    async fn set_namespace_public(&self, namespace_id: i64, public: bool) -> Result<()> {
        serializable!(self, |c| async {
            sqlx::query("UPDATE namespaces SET public = $1 WHERE id = $2")
                .bind(public)
                .bind(namespace_id)
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    async fn set_namespace_scan_on_push(&self, namespace_id: i64, on: bool) -> Result<()> {
        serializable!(self, |c| async {
            sqlx::query("UPDATE namespaces SET scan_on_push = $1 WHERE id = $2")
                .bind(on)
                .bind(namespace_id)
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    async fn get_repository(&self, instance_id: &str, name: &str) -> Result<Option<Repository>> {
        sqlx::query("SELECT * FROM repositories WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| repository_row(&r))
            .transpose()
    }

    async fn ensure_repository(
        &self,
        instance_id: &str,
        namespace_id: i64,
        name: &str,
    ) -> Result<Repository> {
        serializable!(self, |c| insert_repository(
            c,
            instance_id,
            namespace_id,
            name
        ))
    }

    async fn ensure_repository_path(
        &self,
        instance_id: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(Namespace, Repository)> {
        // One transaction: a push refused by the repository quota leaves no new namespace.
        serializable!(self, |c| async {
            let ns = insert_namespace(c, instance_id, namespace).await?;
            let repo = insert_repository(c, instance_id, ns.id, name).await?;
            Ok::<_, StoreError>((ns, repo))
        })
    }

    async fn list_repositories(
        &self,
        instance_id: &str,
        last: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT r.name FROM repositories r
             WHERE r.instance_id = $1 AND r.name > $2
               AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
             ORDER BY r.name LIMIT $3",
        )
        .bind(instance_id)
        .bind(last.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn linked_blob(&self, repository_id: i64, digest: &Digest) -> Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest
             WHERE l.repository_id = $1 AND l.digest = $2",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    async fn link_blob(&self, repository_id: i64, digest: &Digest, size: u64) -> Result<()> {
        serializable!(self, |c| async {
            let now = now_millis();
            refuse_tombstoned(c, digest).await?;
            sqlx::query(
                "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (digest) DO NOTHING",
            )
            .bind(digest.to_string())
            .bind(u(size))
            .bind(now)
            .execute(&mut *c)
            .await?;
            // Re-linking refreshes created_at, which keeps the blob out of the GC grace window.
            sqlx::query(
                "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = EXCLUDED.created_at",
            )
            .bind(repository_id)
            .bind(digest.to_string())
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    async fn unlink_blob(&self, repository_id: i64, digest: &Digest) -> Result<bool> {
        serializable!(self, |c| async {
            let r = sqlx::query(
                "DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2",
            )
            .bind(repository_id)
            .bind(digest.to_string())
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(r.rows_affected() > 0)
        })
    }

    async fn find_blob_in_instance(
        &self,
        instance_id: &str,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM blobs b WHERE b.digest = $1 AND EXISTS (
                SELECT 1 FROM repository_blobs l JOIN repositories r ON r.id = l.repository_id
                WHERE l.digest = b.digest AND r.instance_id = $2)",
        )
        .bind(digest.to_string())
        .bind(instance_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    async fn create_upload(&self, upload: &Upload) -> Result<()> {
        sqlx::query("INSERT INTO uploads (id, repository_id, created_at) VALUES ($1, $2, $3)")
            .bind(&upload.id)
            .bind(upload.repository_id)
            .bind(upload.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_upload(&self, id: &str) -> Result<Option<Upload>> {
        let row = sqlx::query("SELECT id, repository_id, created_at FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Upload {
                id: r.try_get("id")?,
                repository_id: r.try_get("repository_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn delete_upload(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: &NewManifest,
        tags: &[String],
    ) -> Result<PutManifestOutcome> {
        serializable!(self, |c| put_manifest_tx(c, repository_id, manifest, tags))
    }

    async fn manifest_meta(
        &self,
        repository_id: i64,
        selector: &ManifestSelector,
    ) -> Result<Option<ManifestMeta>> {
        let Some(digest) = self.manifest_digest_for(repository_id, selector).await? else {
            return Ok(None);
        };
        sqlx::query(&format!(
            "SELECT {META_COLS} FROM manifests WHERE repository_id = $1 AND digest = $2"
        ))
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| manifest_meta_row(&r))
        .transpose()
    }

    async fn get_manifest(
        &self,
        repository_id: i64,
        selector: &ManifestSelector,
    ) -> Result<Option<StoredManifest>> {
        let Some(digest) = self.manifest_digest_for(repository_id, selector).await? else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "SELECT {META_COLS}, content FROM manifests WHERE repository_id = $1 AND digest = $2"
        ))
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let content: Vec<u8> = r.try_get("content")?;
            Ok(StoredManifest {
                meta: manifest_meta_row(&r)?,
                content: Bytes::from(content),
            })
        })
        .transpose()
    }

    async fn delete_manifest(&self, repository_id: i64, digest: &Digest) -> Result<bool> {
        serializable!(self, |c| async {
            // The delete checks immutability itself (its tags go with it, by cascade); the
            // reason for a refusal is read in the same transaction.
            let r = sqlx::query(
                "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2
                   AND NOT EXISTS (SELECT 1 FROM repositories r JOIN tags t ON t.repository_id = r.id
                                   WHERE r.id = $1 AND r.tag_immutable AND t.digest = $2)",
            )
            .bind(repository_id)
            .bind(digest.to_string())
            .execute(&mut *c)
            .await?;
            if r.rows_affected() > 0 {
                return Ok(true);
            }
            let protected: Option<String> = sqlx::query_scalar(
                "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repository_id
                 WHERE t.repository_id = $1 AND t.digest = $2 AND r.tag_immutable
                 ORDER BY t.name LIMIT 1",
            )
            .bind(repository_id)
            .bind(digest.to_string())
            .fetch_optional(&mut *c)
            .await?;
            match protected {
                Some(tag) => Err(tag_immutable(c, repository_id, &tag).await),
                None => Ok(false),
            }
        })
    }

    async fn delete_tag(&self, repository_id: i64, tag: &str) -> Result<bool> {
        serializable!(self, |c| async {
            let r = sqlx::query(
                "DELETE FROM tags WHERE repository_id = $1 AND name = $2
                   AND NOT EXISTS (SELECT 1 FROM repositories WHERE id = $1 AND tag_immutable)",
            )
            .bind(repository_id)
            .bind(tag)
            .execute(&mut *c)
            .await?;
            if r.rows_affected() > 0 {
                return Ok(true);
            }
            let exists: Option<bool> =
                sqlx::query_scalar("SELECT TRUE FROM tags WHERE repository_id = $1 AND name = $2")
                    .bind(repository_id)
                    .bind(tag)
                    .fetch_optional(&mut *c)
                    .await?;
            match exists {
                Some(_) => Err(tag_immutable(c, repository_id, tag).await),
                None => Ok(false),
            }
        })
    }

    async fn list_tags(
        &self,
        repository_id: i64,
        last: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3",
        )
        .bind(repository_id)
        .bind(last.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn search_tags(
        &self,
        repository_id: i64,
        contains: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<TagRow>, u64)> {
        // strpos(), not LIKE: the search text is taken literally (no `%` or `_` wildcards), as
        // SQLite's instr(). The count and the page read one snapshot.
        let needle = contains.unwrap_or("");
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tags WHERE repository_id = $1 AND strpos(name, $2) > 0",
        )
        .bind(repository_id)
        .bind(needle)
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT name, digest, updated_at FROM tags
             WHERE repository_id = $1 AND name > $2 AND strpos(name, $3) > 0
             ORDER BY name LIMIT $4",
        )
        .bind(repository_id)
        .bind(after.unwrap_or(""))
        .bind(needle)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let tags = rows
            .iter()
            .map(|r| {
                Ok(TagRow {
                    name: r.try_get("name")?,
                    digest: digest_col(r, "digest")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((tags, u64::try_from(total).unwrap_or(0)))
    }

    async fn referrers(&self, repository_id: i64, subject: &Digest) -> Result<Vec<ManifestMeta>> {
        let rows = sqlx::query(&format!(
            "SELECT {META_COLS} FROM manifests WHERE repository_id = $1 AND subject = $2 ORDER BY digest"
        ))
        .bind(repository_id)
        .bind(subject.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(manifest_meta_row).collect()
    }

    async fn gc_untagged_manifests(&self, before: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let deleted = serializable!(self, |c| async {
                let r = sqlx::query(
                    "DELETE FROM manifests m
                     WHERE m.created_at < $1
                       AND NOT EXISTS (SELECT 1 FROM tags t
                                       WHERE t.repository_id = m.repository_id AND t.digest = m.digest)
                       AND NOT EXISTS (SELECT 1 FROM manifest_refs r
                                       WHERE r.repository_id = m.repository_id AND r.ref_digest = m.digest AND r.kind = 1)
                       AND (m.subject IS NULL OR NOT EXISTS (
                                       SELECT 1 FROM manifests s
                                       WHERE s.repository_id = m.repository_id AND s.digest = m.subject))",
                )
                .bind(before)
                .execute(&mut *c)
                .await?;
                Ok::<_, StoreError>(r.rows_affected())
            })?;
            if deleted == 0 {
                return Ok(total);
            }
            total += deleted;
        }
    }

    async fn gc_blob_candidates(&self, before: i64) -> Result<Vec<Digest>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT b.digest FROM blobs b
             WHERE b.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.ref_digest = b.digest AND r.kind = 0)
               AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest AND l.created_at >= $1)",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt(format!("bad blob digest {s:?}")))
            })
            .collect()
    }

    async fn gc_forget_blob(&self, digest: &Digest, before: i64) -> Result<bool> {
        // One transaction: a manifest or link committed meanwhile keeps the blob (or aborts
        // this one), and one committed after it waits for the tombstone to go.
        serializable!(self, |c| async {
            let r = sqlx::query(
                "DELETE FROM blobs WHERE digest = $1 AND created_at < $2
                   AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.ref_digest = blobs.digest AND r.kind = 0)
                   AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = blobs.digest AND l.created_at >= $2)",
            )
            .bind(digest.to_string())
            .bind(before)
            .execute(&mut *c)
            .await?;
            if r.rows_affected() == 0 {
                return Ok(false);
            }
            insert_tombstone(c, digest).await?;
            Ok::<_, StoreError>(true)
        })
    }

    async fn blob_known(&self, digest: &Digest) -> Result<bool> {
        let found: Option<bool> = sqlx::query_scalar("SELECT TRUE FROM blobs WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn tombstone_orphan(&self, digest: &Digest) -> Result<bool> {
        serializable!(self, |c| async {
            let known: Option<bool> = sqlx::query_scalar(
                "SELECT TRUE FROM blobs WHERE digest = $1
                 UNION ALL SELECT TRUE FROM blob_tombstones WHERE digest = $1 LIMIT 1",
            )
            .bind(digest.to_string())
            .fetch_optional(&mut *c)
            .await?;
            if known.is_some() {
                return Ok(false);
            }
            insert_tombstone(c, digest).await?;
            Ok::<_, StoreError>(true)
        })
    }

    async fn clear_tombstone(&self, digest: &Digest) -> Result<()> {
        serializable!(self, |c| async {
            sqlx::query("DELETE FROM blob_tombstones WHERE digest = $1")
                .bind(digest.to_string())
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    async fn tombstones(&self) -> Result<Vec<(Digest, i64)>> {
        let rows = sqlx::query("SELECT digest, created_at FROM blob_tombstones")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((digest_col(r, "digest")?, r.try_get("created_at")?)))
            .collect()
    }

    async fn stale_uploads(&self, before: i64) -> Result<Vec<Upload>> {
        let rows =
            sqlx::query("SELECT id, repository_id, created_at FROM uploads WHERE created_at < $1")
                .bind(before)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Upload {
                    id: r.try_get("id")?,
                    repository_id: r.try_get("repository_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| user_row(&r))
            .transpose()
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(is_admin)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(password_hash)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        // Replicas may initialise a key together: the insert of one wins, and the others read
        // its value with a statement of their own (one that started before the winner
        // committed would not see the row its conflict waited for).
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO NOTHING RETURNING value",
        )
        .bind(key)
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(value) = inserted {
            return Ok(value);
        }
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn counts(&self) -> Result<StoreCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM repositories) AS repositories,
                    (SELECT COUNT(*) FROM manifests) AS manifests,
                    (SELECT COUNT(*) FROM tags) AS tags,
                    (SELECT COUNT(*) FROM blobs) AS blobs,
                    (SELECT COALESCE(SUM(size), 0)::BIGINT FROM blobs) AS blob_bytes",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreCounts {
            repositories: row.try_get("repositories")?,
            manifests: row.try_get("manifests")?,
            tags: row.try_get("tags")?,
            blobs: row.try_get("blobs")?,
            blob_bytes: row.try_get("blob_bytes")?,
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn publish_notice(&self, topic: &str, payload: &str) -> Result<()> {
        let encoded = crate::notices::encode_notice(topic, payload)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::NOTICE_CHANNEL)
            .bind(encoded)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn subscribe_notices(&self) -> tokio::sync::broadcast::Receiver<crate::Notice> {
        self.notices.subscribe()
    }

    async fn claim_nonce(&self, key: &str, expires_at: i64) -> Result<bool> {
        let now = now_millis();
        // Pruning a few expired keys per claim keeps the table at about one window's keys.
        sqlx::query(
            "DELETE FROM seen_nonces WHERE key IN \
             (SELECT key FROM seen_nonces WHERE expires_at < $1 LIMIT 100)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        // One statement: of two replicas claiming one key, the unique key lets one insert;
        // an expired key is taken over.
        let claimed = sqlx::query(
            "INSERT INTO seen_nonces (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE seen_nonces.expires_at < $3",
        )
        .bind(key)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        Ok(claimed)
    }

    async fn try_lead(&self, role: &str) -> Result<Option<crate::LeaderGuard>> {
        self.lead(role).await
    }
}

async fn put_manifest_tx(
    c: &mut PgConnection,
    repository_id: i64,
    manifest: &NewManifest,
    tags: &[String],
) -> Result<PutManifestOutcome> {
    let now = now_millis();
    for r in &manifest.refs {
        let found: Option<(i64, String)> = match r.kind {
            RefKind::Blob => {
                sqlx::query_as(
                    "SELECT b.size, ''::TEXT FROM repository_blobs l JOIN blobs b ON b.digest = l.digest
                     WHERE l.repository_id = $1 AND l.digest = $2",
                )
                .bind(repository_id)
                .bind(r.digest.to_string())
                .fetch_optional(&mut *c)
                .await?
            }
            RefKind::Manifest => {
                sqlx::query_as(
                    "SELECT size, media_type FROM manifests WHERE repository_id = $1 AND digest = $2",
                )
                .bind(repository_id)
                .bind(r.digest.to_string())
                .fetch_optional(&mut *c)
                .await?
            }
        };
        let Some((size, media_type)) = found else {
            return Ok(match r.kind {
                RefKind::Blob => PutManifestOutcome::MissingBlob(r.digest.clone()),
                RefKind::Manifest => PutManifestOutcome::MissingManifest(r.digest.clone()),
            });
        };
        let actual = u64::try_from(size).unwrap_or(0);
        if actual != r.size {
            return Ok(PutManifestOutcome::SizeMismatch {
                digest: r.digest.clone(),
                declared: r.size,
                actual,
            });
        }
        if r.kind == RefKind::Manifest && media_type != r.media_type {
            return Ok(PutManifestOutcome::MediaTypeMismatch {
                digest: r.digest.clone(),
                declared: r.media_type.clone(),
                actual: media_type,
            });
        }
    }
    let digest = manifest.digest.to_string();
    sqlx::query(
        "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, size, content, subject, annotations, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repository_id, digest) DO NOTHING",
    )
    .bind(repository_id)
    .bind(&digest)
    .bind(&manifest.media_type)
    .bind(&manifest.artifact_type)
    .bind(u(manifest.content.len() as u64))
    .bind(manifest.content.as_ref())
    .bind(manifest.subject.as_ref().map(|d| d.to_string()))
    .bind(&manifest.annotations)
    .bind(now)
    .execute(&mut *c)
    .await?;
    for r in &manifest.refs {
        sqlx::query(
            "INSERT INTO manifest_refs (repository_id, manifest_digest, ref_digest, kind)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(repository_id)
        .bind(&digest)
        .bind(r.digest.to_string())
        .bind(match r.kind {
            RefKind::Blob => 0i64,
            RefKind::Manifest => 1,
        })
        .execute(&mut *c)
        .await?;
    }
    for tag in tags {
        // The immutability check is part of the write: a tag that exists moves only when it
        // already names this digest or the repository's tags are mutable, as this
        // (serializable) transaction reads the repository row; a toggle committed concurrently
        // makes one of the two transactions fail and run again.
        let r = sqlx::query(
            "INSERT INTO tags (repository_id, name, digest, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository_id, name) DO UPDATE
               SET digest = EXCLUDED.digest, updated_at = EXCLUDED.updated_at
               WHERE tags.digest = EXCLUDED.digest
                  OR NOT EXISTS (SELECT 1 FROM repositories
                                 WHERE id = $1 AND tag_immutable)",
        )
        .bind(repository_id)
        .bind(tag)
        .bind(&digest)
        .bind(now)
        .execute(&mut *c)
        .await?;
        if r.rows_affected() == 0 {
            // The caller's transaction is rolled back with the manifest and the tags so far.
            return Err(tag_immutable(c, repository_id, tag).await);
        }
    }
    sqlx::query("UPDATE repositories SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(repository_id)
        .execute(&mut *c)
        .await?;
    Ok(PutManifestOutcome::Stored)
}

/// Creates the namespace within the instance's quota, or returns the existing one.
async fn insert_namespace(
    c: &mut PgConnection,
    instance_id: &str,
    name: &str,
) -> Result<Namespace> {
    sqlx::query(
        "INSERT INTO namespaces (instance_id, name, public, created_at)
         SELECT $1, $2, FALSE, $3 FROM instances i
         WHERE i.id = $1
           AND (SELECT COUNT(*) FROM namespaces WHERE instance_id = $1) < i.namespace_quota
         ON CONFLICT (instance_id, name) DO NOTHING",
    )
    .bind(instance_id)
    .bind(name)
    .bind(now_millis())
    .execute(&mut *c)
    .await?;
    let row = sqlx::query("SELECT * FROM namespaces WHERE instance_id = $1 AND name = $2")
        .bind(instance_id)
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some(row) => namespace_row(&row),
        None => Err(StoreError::QuotaExceeded(format!(
            "the instance's namespace quota is used up (namespace {name})"
        ))),
    }
}

/// Creates the repository within the instance's quota, or returns the existing one.
async fn insert_repository(
    c: &mut PgConnection,
    instance_id: &str,
    namespace_id: i64,
    name: &str,
) -> Result<Repository> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO repositories (instance_id, namespace_id, name, created_at, updated_at)
         SELECT $1, $2, $3, $4, $4 FROM instances i
         WHERE i.id = $1
           AND (SELECT COUNT(*) FROM repositories WHERE instance_id = $1) < i.repository_quota
         ON CONFLICT (instance_id, name) DO NOTHING",
    )
    .bind(instance_id)
    .bind(namespace_id)
    .bind(name)
    .bind(now)
    .execute(&mut *c)
    .await?;
    let row = sqlx::query("SELECT * FROM repositories WHERE instance_id = $1 AND name = $2")
        .bind(instance_id)
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some(row) => repository_row(&row),
        None => Err(StoreError::QuotaExceeded(format!(
            "the instance's repository quota is used up (repository {name})"
        ))),
    }
}
