//! The metadata store on PostgreSQL, for several berth processes sharing one database.
//!
//! Where SQLite keeps an invariant by its single writer (quota checks, first-push namespace
//! creation, manifest reference validation, tag immutability, GC tombstones), every write here
//! runs in a SERIALIZABLE transaction ([`serializable!`]): PostgreSQL aborts one of two
//! transactions whose interleaving no serial order explains (SQLSTATE 40001, or 40P01 for a
//! deadlock), and the whole transaction is run again, a bounded number of times. Reads are
//! single statements (or REPEATABLE READ transactions where two must agree). The job queue is
//! the exception: claims lock rows (`FOR UPDATE SKIP LOCKED`) and every later change is guarded
//! by the claim token, which READ COMMITTED keeps correct without retries.
use crate::meta::*;
use crate::tenants::{Instance, Namespace, Repository};
use crate::{Result, StoreError};
use berth_oci::Digest;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgConnection, PgPool, Row};
use std::time::Duration;

/// How many times a transaction runs before a serialisation failure is returned to the caller.
pub(crate) const TX_ATTEMPTS: u32 = 30;

/// Runs `$body` (a future over `$conn: &mut PgConnection` yielding `Result<T>`) in a
/// SERIALIZABLE transaction, committed when it returns `Ok`, and runs it again from the start
/// on a serialisation failure or deadlock. The body must only write through `$conn`: anything
/// it does elsewhere may happen several times.
macro_rules! serializable {
    ($store:expr, |$conn:ident| $body:expr) => {
        in_transaction!($store, |$conn| async {
            Ok::<_, $crate::StoreError>(($body.await?, true))
        })
    };
}

/// As [`serializable!`], for a body that yields `(value, commit)`: `commit == false` rolls the
/// transaction back and still returns the value (a batch refused half way).
macro_rules! in_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            let outcome = async {
                let mut tx = $store
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE")
                    .await?;
                let (value, commit) = {
                    let $conn: &mut sqlx::PgConnection = &mut tx;
                    $body.await?
                };
                if commit {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok::<_, $crate::StoreError>(value)
            }
            .await;
            match outcome {
                Err(e)
                    if $crate::postgres::retryable(&e)
                        && attempt + 1 < $crate::postgres::TX_ATTEMPTS =>
                {
                    attempt += 1;
                    $crate::postgres::backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}

mod api_tokens;
mod connect;
mod console_sessions;
mod endpoints;
mod exceptions;
mod foreign_scans;
mod jobs;
mod leader;
mod listener;
mod protection;
mod registry;
mod runtime;
mod scans;
mod tenancy;
mod webhooks;

/// The metadata store on a PostgreSQL database (see the module documentation). Open it with
/// [`PgMetadataStore::connect`].
pub struct PgMetadataStore {
    pool: PgPool,
    /// For the connections that are not the pool's: leaders' locks.
    options: PgConnectOptions,
    notices: tokio::sync::broadcast::Sender<crate::Notice>,
    /// The task that re-broadcasts this database's `NOTIFY`s; stopped with the store.
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PgMetadataStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// The one `LISTEN`/`NOTIFY` channel of the store.
pub(crate) const NOTICE_CHANNEL: &str = "berth_notices";

/// Whether the failure is a serialisation failure or a deadlock: the transaction can run again.
pub(crate) fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40001") | Some("40P01"))
        }
        _ => false,
    }
}

/// Waits before attempt `attempt` (1-based) of a transaction: exponential, capped, with jitter
/// so that the transactions that collided do not collide again in step.
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 2u64.saturating_pow(attempt.min(8)).min(200);
    let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u16) % (cap_ms + 1);
    tokio::time::sleep(Duration::from_millis(1 + jitter)).await;
}

pub(crate) fn u(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn digest_col(row: &PgRow, col: &str) -> Result<Digest> {
    let s: String = row.try_get(col)?;
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad digest {s:?} in column {col}")))
}

pub(crate) fn opt_digest_col(row: &PgRow, col: &str) -> Result<Option<Digest>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("bad digest {s:?} in column {col}")))
    })
    .transpose()
}

pub(crate) fn instance_row(row: &PgRow) -> Result<Instance> {
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

pub(crate) fn namespace_row(row: &PgRow) -> Result<Namespace> {
    Ok(Namespace {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        name: row.try_get("name")?,
        public: row.try_get("public")?,
        scan_on_push: row.try_get("scan_on_push")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn repository_row(row: &PgRow) -> Result<Repository> {
    Ok(Repository {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        namespace_id: row.try_get("namespace_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        tag_immutable: row.try_get("tag_immutable")?,
    })
}

pub(crate) fn manifest_meta_row(row: &PgRow) -> Result<ManifestMeta> {
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

pub(crate) fn user_row(row: &PgRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get("is_admin")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) const META_COLS: &str =
    "digest, media_type, artifact_type, size, subject, annotations, created_at";

/// Fails with [`StoreError::BlobBeingDeleted`] while the digest's bytes are being deleted.
pub(crate) async fn refuse_tombstoned(conn: &mut PgConnection, digest: &Digest) -> Result<()> {
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

pub(crate) async fn insert_tombstone(conn: &mut PgConnection, digest: &Digest) -> Result<()> {
    sqlx::query(
        "INSERT INTO blob_tombstones (digest, created_at) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET created_at = EXCLUDED.created_at",
    )
    .bind(digest.to_string())
    .bind(crate::now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The refusal of a write that would move or delete `tag` in a repository whose tags are
/// immutable (read on the transaction that was refused, so the name is the one it saw).
pub(crate) async fn tag_immutable(
    conn: &mut PgConnection,
    repository_id: i64,
    tag: &str,
) -> StoreError {
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
