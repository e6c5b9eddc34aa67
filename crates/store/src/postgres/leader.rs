//! Leadership on PostgreSQL: a session advisory lock on the role's key, held by a connection of
//! its own that lives in the [`crate::LeaderGuard`]. Dropping the guard closes the connection,
//! which releases the lock; a process that dies (or loses its connection) releases it too, when
//! the server notices the connection is gone.
use super::PgMetadataStore;
use crate::notices::Lease;
use crate::{LeaderGuard, Result};
use async_trait::async_trait;
use sqlx::{Connection as _, PgConnection};

/// What a leader's connection is called in `pg_stat_activity`.
const LEADER_APPLICATION: &str = "berth-leader";

/// The advisory-lock key of a role: FNV-1a (64 bits) of `berth/<role>`, stable across builds
/// and processes (std's hasher promises neither).
pub(crate) fn role_key(role: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "berth/".bytes().chain(role.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

struct AdvisoryLock {
    conn: Option<PgConnection>,
}

#[async_trait]
impl Lease for AdvisoryLock {
    async fn held(&mut self) -> bool {
        // A session lock lasts as long as its connection: a live connection still holds it.
        match &mut self.conn {
            Some(conn) => conn.ping().await.is_ok(),
            None => false,
        }
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A polite close (the server releases the lock at once); without a runtime, dropping
        // the connection closes its socket, which the server notices as well.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = conn.close().await {
                    tracing::debug!(error = %e, "closing a leader's connection");
                }
            });
        }
    }
}

impl PgMetadataStore {
    pub(super) async fn lead(&self, role: &str) -> Result<Option<LeaderGuard>> {
        let options = self.options.clone().application_name(LEADER_APPLICATION);
        let mut conn = PgConnection::connect_with(&options).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(role_key(role))
            .fetch_one(&mut conn)
            .await?;
        if !got {
            conn.close().await?;
            return Ok(None);
        }
        let lease = AdvisoryLock { conn: Some(conn) };
        Ok(Some(LeaderGuard::new(role, Box::new(lease))))
    }
}
