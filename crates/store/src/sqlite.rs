//! The metadata store on SQLite (WAL). Writes go through a one-connection pool, so writers queue
//! in-process instead of failing with SQLITE_BUSY; reads use a pool of their own.
use crate::meta::*;
use crate::tenants::{Instance, Namespace, Repository};
use crate::{Result, StoreError, now_millis};
use async_trait::async_trait;
use berth_oci::Digest;
use bytes::Bytes;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod api_tokens;
mod console_sessions;
mod endpoints;
mod exceptions;
mod foreign_scans;
mod jobs;
mod protection;
mod runtime;
mod webhooks;

/// Schema migrations, applied in order, each once.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("sqlite/0001_init.sql")),
    (2, include_str!("sqlite/0002_tenancy.sql")),
    (3, include_str!("sqlite/0003_webhooks.sql")),
    (4, include_str!("sqlite/0004_endpoints.sql")),
    (5, include_str!("sqlite/0005_blob_tombstones.sql")),
    (6, include_str!("sqlite/0006_runtime.sql")),
    (7, include_str!("sqlite/0007_tag_immutability.sql")),
    (8, include_str!("sqlite/0008_jobs.sql")),
    (9, include_str!("sqlite/0009_api_tokens.sql")),
    (10, include_str!("sqlite/0010_cluster_protection.sql")),
    (11, include_str!("sqlite/0011_exceptions.sql")),
    (12, include_str!("sqlite/0012_foreign_scans.sql")),
    (13, include_str!("sqlite/0013_scans_by_digest.sql")),
    (14, include_str!("sqlite/0014_seen_nonces.sql")),
    (15, include_str!("sqlite/0015_console_sessions.sql")),
];

mod scans;
mod tenancy;

pub struct SqliteMetadataStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Notices stay in the process: one process owns an SQLite file.
    notices: tokio::sync::broadcast::Sender<crate::Notice>,
    /// One lock per role led, for the same reason.
    leaders: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// An SQLite lead: the role's in-process lock.
struct RoleLock(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);

#[async_trait]
impl crate::notices::Lease for RoleLock {
    async fn held(&mut self) -> bool {
        true
    }
}

pub(crate) fn u(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn digest_col(row: &SqliteRow, col: &str) -> Result<Digest> {
    let s: String = row.try_get(col)?;
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad digest {s:?} in column {col}")))
}

pub(crate) fn opt_digest_col(row: &SqliteRow, col: &str) -> Result<Option<Digest>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("bad digest {s:?} in column {col}")))
    })
    .transpose()
}

pub(crate) fn instance_row(row: &SqliteRow) -> Result<Instance> {
    Ok(Instance {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        instance_type: row.try_get("instance_type")?,
        status: {
            let status: String = row.try_get("status")?;
            crate::InstanceStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("bad instance status {status:?}")))?
        },
        charge_type: row.try_get("charge_type")?,
        project_id: row.try_get("project_id")?,
        is_default: row.try_get("is_default")?,
        namespace_quota: row.try_get("namespace_quota")?,
        repository_quota: row.try_get("repository_quota")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(crate) fn namespace_row(row: &SqliteRow) -> Result<Namespace> {
    Ok(Namespace {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        name: row.try_get("name")?,
        public: row.try_get("public")?,
        scan_on_push: row.try_get("scan_on_push")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn repository_row(row: &SqliteRow) -> Result<Repository> {
    Ok(Repository {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        namespace_id: row.try_get("namespace_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        tag_immutable: row.try_get("tag_immutable")?,
    })
}

fn manifest_meta_row(row: &SqliteRow) -> Result<ManifestMeta> {
    Ok(ManifestMeta {
        digest: digest_col(row, "digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        size: u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0),
        subject: opt_digest_col(row, "subject")?,
        annotations: row.try_get("annotations")?,
        created_at: row.try_get("created_at")?,
    })
}

fn user_row(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get("is_admin")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

const META_COLS: &str = "digest, media_type, artifact_type, size, subject, annotations, created_at";

impl SqliteMetadataStore {
    /// Opens (creating and migrating if needed) the database file at `path`.
    pub async fn open(path: &Path) -> Result<SqliteMetadataStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| Box::pin(clean_after_write(conn)))
            .connect_with(options.clone().synchronous(SqliteSynchronous::Full))
            .await?;
        migrate(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(SqliteMetadataStore {
            read,
            write,
            notices: tokio::sync::broadcast::channel(crate::notices::NOTICE_BUFFER).0,
            leaders: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The pool of read connections, for `migrate`'s table copy.
    pub(crate) fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

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
                    .fetch_optional(&self.read)
                    .await?
            }
        })
    }
}

/// Whether the write connection may serve the next writer: outside any transaction, both in
/// sqlx's bookkeeping and in SQLite's own state.
///
/// SQLite rolls a transaction back by itself on some errors (`SQLITE_FULL`, `SQLITE_IOERR`,
/// `SQLITE_NOMEM`); sqlx's later `ROLLBACK` then fails and its depth counter stays at one, so the
/// next `begin()` only opens a savepoint inside a transaction nobody commits, and every later
/// "committed" write is lost while the file stays locked for other processes. A connection in
/// any doubt is closed (which rolls back whatever is open) and the pool opens a fresh one.
async fn clean_after_write(conn: &mut SqliteConnection) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    // `BEGIN` fails inside a transaction: the one check of SQLite's state without FFI. A
    // deferred BEGIN takes no lock, so this costs two statements and nothing else. It also runs
    // after any rollback a dropped transaction queued, so sqlx's count is settled after it.
    let probe: std::result::Result<(), sqlx::Error> = {
        use sqlx::Executor as _;
        conn.execute("BEGIN; ROLLBACK").await.map(|_| ())
    };
    if let Err(e) = probe {
        tracing::warn!(error = %e, "closing a write connection in an unknown transaction state");
        return Ok(false);
    }
    if conn.is_in_transaction() {
        tracing::warn!("closing a write connection left inside a transaction");
        return Ok(false);
    }
    Ok(true)
}

/// Fails with [`StoreError::BlobBeingDeleted`] while the digest's bytes are being deleted.
pub(crate) async fn refuse_tombstoned(conn: &mut SqliteConnection, digest: &Digest) -> Result<()> {
    let since: Option<i64> =
        sqlx::query_scalar("SELECT created_at FROM blob_tombstones WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    match since {
        Some(since) => Err(StoreError::BlobBeingDeleted {
            digest: digest.to_string(),
            since,
        }),
        None => Ok(()),
    }
}

pub(crate) async fn insert_tombstone(conn: &mut SqliteConnection, digest: &Digest) -> Result<()> {
    sqlx::query(
        "INSERT INTO blob_tombstones (digest, created_at) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at",
    )
    .bind(digest.to_string())
    .bind(now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The refusal of a write that would move or delete `tag` in a repository whose tags are
/// immutable (read on the transaction that was refused, so the name is the one it saw).
async fn tag_immutable(conn: &mut SqliteConnection, repository_id: i64, tag: &str) -> StoreError {
    let name: std::result::Result<Option<String>, sqlx::Error> =
        sqlx::query_scalar("SELECT name FROM repositories WHERE id = $1")
            .bind(repository_id)
            .fetch_optional(&mut *conn)
            .await;
    match name {
        Ok(name) => StoreError::TagImmutable {
            repository: name.unwrap_or_default(),
            tag: tag.to_string(),
        },
        Err(e) => e.into(),
    }
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await?;
    for (version, sql) in MIGRATIONS {
        let mut tx = pool.begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_none() {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            tracing::info!(version, "applied metadata schema migration");
        }
        tx.commit().await?;
    }
    Ok(())
}

#[async_trait]
impl MetadataStore for SqliteMetadataStore {
    async fn ensure_default_instance(&self, name: &str) -> Result<Instance> {
        let existing = sqlx::query("SELECT * FROM instances WHERE is_default = 1")
            .fetch_optional(&self.write)
            .await?;
        if let Some(row) = existing {
            return instance_row(&row);
        }
        sqlx::query(
            "INSERT INTO instances (id, name, is_default, status, created_at) VALUES ($1, $2, 1, 'Running', $3)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(name)
        .bind(now_millis())
        .execute(&self.write)
        .await?;
        let row = sqlx::query("SELECT * FROM instances WHERE is_default = 1")
            .fetch_one(&self.write)
            .await?;
        instance_row(&row)
    }

    async fn get_instance(&self, id: &str) -> Result<Option<Instance>> {
        sqlx::query("SELECT * FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| instance_row(&r))
            .transpose()
    }

    async fn get_namespace(&self, instance_id: &str, name: &str) -> Result<Option<Namespace>> {
        sqlx::query("SELECT * FROM namespaces WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .map(|r| namespace_row(&r))
            .transpose()
    }

    async fn ensure_namespace(&self, instance_id: &str, name: &str) -> Result<Namespace> {
        let mut conn = self.write.acquire().await?;
        insert_namespace(&mut conn, instance_id, name).await
    }

    async fn set_namespace_public(&self, namespace_id: i64, public: bool) -> Result<()> {
        sqlx::query("UPDATE namespaces SET public = $1 WHERE id = $2")
            .bind(public)
            .bind(namespace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn set_namespace_scan_on_push(&self, namespace_id: i64, on: bool) -> Result<()> {
        sqlx::query("UPDATE namespaces SET scan_on_push = $1 WHERE id = $2")
            .bind(on)
            .bind(namespace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn get_repository(&self, instance_id: &str, name: &str) -> Result<Option<Repository>> {
        sqlx::query("SELECT * FROM repositories WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&self.read)
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
        let mut conn = self.write.acquire().await?;
        insert_repository(&mut conn, instance_id, namespace_id, name).await
    }

    async fn ensure_repository_path(
        &self,
        instance_id: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(Namespace, Repository)> {
        // One transaction: a push refused by the repository quota leaves no new namespace.
        let mut tx = self.write.begin().await?;
        let ns = insert_namespace(&mut tx, instance_id, namespace).await?;
        let repo = insert_repository(&mut tx, instance_id, ns.id, name).await?;
        tx.commit().await?;
        Ok((ns, repo))
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
        .fetch_all(&self.read)
        .await?)
    }

    async fn linked_blob(&self, repository_id: i64, digest: &Digest) -> Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest
             WHERE l.repository_id = $1 AND l.digest = $2",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .fetch_optional(&self.read)
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    async fn link_blob(&self, repository_id: i64, digest: &Digest, size: u64) -> Result<()> {
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        refuse_tombstoned(&mut tx, digest).await?;
        sqlx::query(
            "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest.to_string())
        .bind(u(size))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Re-linking refreshes created_at, which keeps the blob out of the GC grace window.
        sqlx::query(
            "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unlink_blob(&self, repository_id: i64, digest: &Digest) -> Result<bool> {
        let r =
            sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
                .bind(repository_id)
                .bind(digest.to_string())
                .execute(&self.write)
                .await?;
        Ok(r.rows_affected() > 0)
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
        .fetch_optional(&self.read)
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    async fn create_upload(&self, upload: &Upload) -> Result<()> {
        sqlx::query("INSERT INTO uploads (id, repository_id, created_at) VALUES ($1, $2, $3)")
            .bind(&upload.id)
            .bind(upload.repository_id)
            .bind(upload.created_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn get_upload(&self, id: &str) -> Result<Option<Upload>> {
        let row = sqlx::query("SELECT id, repository_id, created_at FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
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
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: &NewManifest,
        tags: &[String],
    ) -> Result<PutManifestOutcome> {
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        for r in &manifest.refs {
            let found: Option<(i64, String)> = match r.kind {
                RefKind::Blob => {
                    sqlx::query_as(
                        "SELECT b.size, '' FROM repository_blobs l JOIN blobs b ON b.digest = l.digest
                         WHERE l.repository_id = $1 AND l.digest = $2",
                    )
                    .bind(repository_id)
                    .bind(r.digest.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                }
                RefKind::Manifest => {
                    sqlx::query_as(
                        "SELECT size, media_type FROM manifests WHERE repository_id = $1 AND digest = $2",
                    )
                    .bind(repository_id)
                    .bind(r.digest.to_string())
                    .fetch_optional(&mut *tx)
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
        .execute(&mut *tx)
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
            .execute(&mut *tx)
            .await?;
        }
        for tag in tags {
            // The immutability check is part of the write: a tag that exists moves only when it
            // already names this digest or the repository's tags are mutable, as the repository
            // row reads when this statement runs (under the write lock, so a toggle committed
            // by anyone before it is seen, and one after it waits for this transaction).
            let r = sqlx::query(
                "INSERT INTO tags (repository_id, name, digest, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository_id, name) DO UPDATE
                   SET digest = excluded.digest, updated_at = excluded.updated_at
                   WHERE tags.digest = excluded.digest
                      OR NOT EXISTS (SELECT 1 FROM repositories
                                     WHERE id = $1 AND tag_immutable)",
            )
            .bind(repository_id)
            .bind(tag)
            .bind(&digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                // Dropping the transaction rolls back the manifest and the tags written so far.
                return Err(tag_immutable(&mut tx, repository_id, tag).await);
            }
        }
        sqlx::query("UPDATE repositories SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(repository_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PutManifestOutcome::Stored)
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
        .fetch_optional(&self.read)
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
        .fetch_optional(&self.read)
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
        // The delete checks immutability itself (its tags go with it, by cascade); the reason
        // for a refusal is read in the same transaction, under the lock the delete took.
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2
               AND NOT EXISTS (SELECT 1 FROM repositories r JOIN tags t ON t.repository_id = r.id
                               WHERE r.id = $1 AND r.tag_immutable AND t.digest = $2)",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(true);
        }
        let protected: Option<String> = sqlx::query_scalar(
            "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repository_id
             WHERE t.repository_id = $1 AND t.digest = $2 AND r.tag_immutable
             ORDER BY t.name LIMIT 1",
        )
        .bind(repository_id)
        .bind(digest.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        match protected {
            Some(tag) => Err(tag_immutable(&mut tx, repository_id, &tag).await),
            None => Ok(false),
        }
    }

    async fn delete_tag(&self, repository_id: i64, tag: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "DELETE FROM tags WHERE repository_id = $1 AND name = $2
               AND NOT EXISTS (SELECT 1 FROM repositories WHERE id = $1 AND tag_immutable)",
        )
        .bind(repository_id)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(true);
        }
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM tags WHERE repository_id = $1 AND name = $2")
                .bind(repository_id)
                .bind(tag)
                .fetch_optional(&mut *tx)
                .await?;
        match exists {
            Some(_) => Err(tag_immutable(&mut tx, repository_id, tag).await),
            None => Ok(false),
        }
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
        .fetch_all(&self.read)
        .await?)
    }

    async fn search_tags(
        &self,
        repository_id: i64,
        contains: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<TagRow>, u64)> {
        // instr(), not LIKE: the search text is taken literally (no `%` or `_` wildcards).
        let needle = contains.unwrap_or("");
        // Without a search the count is one pass over the primary key's range, no name test.
        let total: i64 =
            match contains {
                Some(n) => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tags WHERE repository_id = $1 AND instr(name, $2) > 0",
                )
                .bind(repository_id)
                .bind(n)
                .fetch_one(&self.read)
                .await?,
                None => {
                    sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE repository_id = $1")
                        .bind(repository_id)
                        .fetch_one(&self.read)
                        .await?
                }
            };
        let rows = sqlx::query(
            "SELECT name, digest, updated_at FROM tags
             WHERE repository_id = $1 AND name > $2 AND instr(name, $3) > 0
             ORDER BY name LIMIT $4",
        )
        .bind(repository_id)
        .bind(after.unwrap_or(""))
        .bind(needle)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
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
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(manifest_meta_row).collect()
    }

    async fn gc_untagged_manifests(&self, before: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let r = sqlx::query(
                "DELETE FROM manifests WHERE rowid IN (
                    SELECT m.rowid FROM manifests m
                    WHERE m.created_at < $1
                      AND NOT EXISTS (SELECT 1 FROM tags t
                                      WHERE t.repository_id = m.repository_id AND t.digest = m.digest)
                      AND NOT EXISTS (SELECT 1 FROM manifest_refs r
                                      WHERE r.repository_id = m.repository_id AND r.ref_digest = m.digest AND r.kind = 1)
                      AND (m.subject IS NULL OR NOT EXISTS (
                                      SELECT 1 FROM manifests s
                                      WHERE s.repository_id = m.repository_id AND s.digest = m.subject)))",
            )
            .bind(before)
            .execute(&self.write)
            .await?;
            if r.rows_affected() == 0 {
                return Ok(total);
            }
            total += r.rows_affected();
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
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt(format!("bad blob digest {s:?}")))
            })
            .collect()
    }

    async fn gc_forget_blob(&self, digest: &Digest, before: i64) -> Result<bool> {
        // One transaction: a manifest or link committed meanwhile keeps the blob, and one
        // committed after it waits for the tombstone to go.
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "DELETE FROM blobs WHERE digest = $1 AND created_at < $2
               AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.ref_digest = blobs.digest AND r.kind = 0)
               AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = blobs.digest AND l.created_at >= $2)",
        )
        .bind(digest.to_string())
        .bind(before)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        insert_tombstone(&mut tx, digest).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn blob_known(&self, digest: &Digest) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM blobs WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.read)
            .await?;
        Ok(found.is_some())
    }

    async fn tombstone_orphan(&self, digest: &Digest) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM blobs WHERE digest = $1
             UNION ALL SELECT 1 FROM blob_tombstones WHERE digest = $1",
        )
        .bind(digest.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_some() {
            return Ok(false);
        }
        insert_tombstone(&mut tx, digest).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn clear_tombstone(&self, digest: &Digest) -> Result<()> {
        sqlx::query("DELETE FROM blob_tombstones WHERE digest = $1")
            .bind(digest.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn tombstones(&self) -> Result<Vec<(Digest, i64)>> {
        let rows = sqlx::query("SELECT digest, created_at FROM blob_tombstones")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((digest_col(r, "digest")?, r.try_get("created_at")?)))
            .collect()
    }

    async fn stale_uploads(&self, before: i64) -> Result<Vec<Upload>> {
        let rows =
            sqlx::query("SELECT id, repository_id, created_at FROM uploads WHERE created_at < $1")
                .bind(before)
                .fetch_all(&self.read)
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
            .fetch_optional(&self.read)
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
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(password_hash)
            .bind(username)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(&self.write)
                .await?,
        )
    }

    async fn counts(&self) -> Result<StoreCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM repositories) AS repositories,
                    (SELECT COUNT(*) FROM manifests) AS manifests,
                    (SELECT COUNT(*) FROM tags) AS tags,
                    (SELECT COUNT(*) FROM blobs) AS blobs,
                    (SELECT COALESCE(SUM(size), 0) FROM blobs) AS blob_bytes",
        )
        .fetch_one(&self.read)
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
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn publish_notice(&self, topic: &str, payload: &str) -> Result<()> {
        // Validated as PostgreSQL would, so a notice that works here works there.
        crate::notices::encode_notice(topic, payload)?;
        // No subscriber is not an error: nobody needed telling.
        let _ = self.notices.send(crate::Notice {
            topic: topic.to_string(),
            payload: payload.to_string(),
        });
        Ok(())
    }

    fn subscribe_notices(&self) -> tokio::sync::broadcast::Receiver<crate::Notice> {
        self.notices.subscribe()
    }

    async fn claim_nonce(&self, key: &str, expires_at: i64) -> Result<bool> {
        let now = now_millis();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "DELETE FROM seen_nonces WHERE key IN \
             (SELECT key FROM seen_nonces WHERE expires_at < $1 LIMIT 100)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO seen_nonces (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE seen_nonces.expires_at < $3",
        )
        .bind(key)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn try_lead(&self, role: &str) -> Result<Option<crate::LeaderGuard>> {
        let lock = {
            let mut leaders = self
                .leaders
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            leaders.entry(role.to_string()).or_default().clone()
        };
        Ok(lock
            .try_lock_owned()
            .ok()
            .map(|held| crate::LeaderGuard::new(role, Box::new(RoleLock(held)))))
    }
}

/// Creates the namespace within the instance's quota, or returns the existing one.
async fn insert_namespace(
    conn: &mut SqliteConnection,
    instance_id: &str,
    name: &str,
) -> Result<Namespace> {
    sqlx::query(
        "INSERT INTO namespaces (instance_id, name, public, created_at)
         SELECT $1, $2, 0, $3 FROM instances i
         WHERE i.id = $1
           AND (SELECT COUNT(*) FROM namespaces WHERE instance_id = $1) < i.namespace_quota
         ON CONFLICT (instance_id, name) DO NOTHING",
    )
    .bind(instance_id)
    .bind(name)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT * FROM namespaces WHERE instance_id = $1 AND name = $2")
        .bind(instance_id)
        .bind(name)
        .fetch_optional(&mut *conn)
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
    conn: &mut SqliteConnection,
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
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT * FROM repositories WHERE instance_id = $1 AND name = $2")
        .bind(instance_id)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => repository_row(&row),
        None => Err(StoreError::QuotaExceeded(format!(
            "the instance's repository quota is used up (repository {name})"
        ))),
    }
}
