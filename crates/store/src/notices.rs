//! Cross-process notices and leadership: what several berth processes sharing one metadata
//! store tell each other (a cache entry went stale, a job was queued) and how one of them is
//! chosen to run what must run once (GC). SQLite is owned by one process, so there both are
//! in-process; PostgreSQL carries notices on `NOTIFY` and leadership on advisory locks.
use crate::{Result, StoreError};
use async_trait::async_trait;

/// A message to every subscriber of every process on the store, the publisher's own included.
/// Delivery is at most once and best effort: a subscriber that lags (its receiver reports
/// `Lagged`) or a process whose listening connection was lost (it receives [`RESYNC_TOPIC`])
/// must assume it missed some and drop whatever the notices keep fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub topic: String,
    pub payload: String,
}

/// Published by the store itself after notices may have been missed (its listening connection
/// was lost and is back): caches should forget everything.
pub const RESYNC_TOPIC: &str = "resync";

/// Published by `enqueue_job` (and `enqueue_scan`) after the job committed; the payload is the
/// job's kind, so runners of that kind can claim it at once instead of at their next poll.
pub const JOBS_TOPIC: &str = "jobs";

/// PostgreSQL's `NOTIFY` takes payloads shorter than 8000 bytes; every backend enforces the same
/// limit (on the encoded notice) so that what works on SQLite works on PostgreSQL.
pub const MAX_NOTICE_BYTES: usize = 7999;

/// How many notices a subscriber may fall behind before it lags.
pub(crate) const NOTICE_BUFFER: usize = 1024;

/// The notice as one string (JSON: `{"t":topic,"p":payload}`), refused when the topic is empty
/// or the encoding exceeds [`MAX_NOTICE_BYTES`].
pub(crate) fn encode_notice(topic: &str, payload: &str) -> Result<String> {
    if topic.is_empty() {
        return Err(StoreError::Corrupt("a notice needs a topic".to_string()));
    }
    let encoded = serde_json::json!({ "t": topic, "p": payload }).to_string();
    if encoded.len() > MAX_NOTICE_BYTES {
        return Err(StoreError::TooLarge(format!(
            "notice on {topic:?} encodes to {} bytes; at most {MAX_NOTICE_BYTES}",
            encoded.len()
        )));
    }
    Ok(encoded)
}

/// The inverse of [`encode_notice`]; `None` for anything else on the channel.
pub(crate) fn decode_notice(encoded: &str) -> Option<Notice> {
    let v: serde_json::Value = serde_json::from_str(encoded).ok()?;
    Some(Notice {
        topic: v.get("t")?.as_str()?.to_string(),
        payload: v.get("p")?.as_str()?.to_string(),
    })
}

/// What keeps a lead: a held lock of some kind, released when dropped.
#[async_trait]
pub(crate) trait Lease: Send + Sync {
    /// Whether the lock is still held (a lost database connection loses it).
    async fn held(&mut self) -> bool;
}

/// Leadership of a role (see `MetadataStore::try_lead`): while this value lives, no other
/// holder of the store (in this process or another) leads the same role. Dropping it hands the
/// role on. A process that dies loses it as well.
pub struct LeaderGuard {
    role: String,
    lease: Box<dyn Lease>,
}

impl LeaderGuard {
    pub(crate) fn new(role: &str, lease: Box<dyn Lease>) -> LeaderGuard {
        LeaderGuard {
            role: role.to_string(),
            lease,
        }
    }

    pub fn role(&self) -> &str {
        &self.role
    }

    /// Whether the lead is still held. A leader checks before each round of work: on
    /// PostgreSQL the lock lives on a connection, and a connection lost (a network failure, a
    /// restarted server) releases it, after which another process may lead.
    pub async fn still_held(&mut self) -> bool {
        self.lease.held().await
    }
}

impl std::fmt::Debug for LeaderGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderGuard")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
