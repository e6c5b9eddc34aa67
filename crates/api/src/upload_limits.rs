//! Limits on upload sessions (open per principal and in total) and on uploads in flight (requests
//! writing a body, per principal): without them one client can open sessions without end or tie
//! up the server with bodies that never arrive.
//!
//! The counts live in this process. The metadata store is the truth about which sessions exist:
//! the first session after a start, and any session refused by a limit (at most once per
//! [`RECONCILE_EVERY`]), compare the counts with the store's uploads, so sessions that ended where
//! this module does not see it (expired by garbage collection, removed with their repository,
//! left by an earlier process) stop counting, and those left by an earlier process count towards
//! the total.
use crate::auth::Principal;
use crate::config::LimitsConfig;
use crate::error::{ApiError, ApiResult, Code};
use axum::http::header;
use berth_store::MetadataStore;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a refusal may re-read the store's uploads.
const RECONCILE_EVERY: Duration = Duration::from_secs(10);
/// A session this young may not be in the store yet (it is reserved before it is created).
const CREATING: Duration = Duration::from_secs(60);
/// The owner of sessions found in the store but not opened by this process.
const UNATTRIBUTED: &str = "";

struct Session {
    owner: String,
    opened: Instant,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    per_owner: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    reconciled: Option<Instant>,
}

impl Inner {
    fn remove(&mut self, id: &str) {
        if let Some(s) = self.sessions.remove(id)
            && let Some(n) = self.per_owner.get_mut(&s.owner)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_owner.remove(&s.owner);
            }
        }
    }

    fn insert(&mut self, id: String, owner: String, opened: Instant) {
        *self.per_owner.entry(owner.clone()).or_default() += 1;
        self.sessions.insert(id, Session { owner, opened });
    }

    /// Makes the counts agree with the ids the store holds.
    fn reconcile(&mut self, stored: &HashSet<String>, now: Instant) {
        let gone: Vec<String> = self
            .sessions
            .iter()
            .filter(|(id, s)| !stored.contains(*id) && now.duration_since(s.opened) > CREATING)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
        for id in stored {
            if !self.sessions.contains_key(id) {
                self.insert(id.clone(), UNATTRIBUTED.to_string(), now);
            }
        }
        self.reconciled = Some(now);
    }
}

/// The limits' state; one per application.
#[derive(Default)]
pub struct UploadLimits {
    inner: Mutex<Inner>,
}

/// Who a limit counts: the principal, within its instance (names are per instance).
pub fn owner(instance_id: &str, principal: &Principal) -> String {
    let who = match principal {
        // Anonymous pushers (`auth.anonymous_push`) share one count.
        Principal::Anonymous => "(anonymous)",
        p => p.name(),
    };
    format!("{instance_id}/{who}")
}

fn too_many(detail: String, retry_after: &str) -> ApiError {
    ApiError::new(Code::TooManyRequests, detail).with_header(header::RETRY_AFTER, retry_after)
}

impl UploadLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a new session `id` for `owner`, or refuses with 429 `TOOMANYREQUESTS`. The caller
    /// creates the session after this and calls [`UploadLimits::close`] if that fails.
    pub async fn open(
        &self,
        limits: &LimitsConfig,
        meta: &dyn MetadataStore,
        owner: &str,
        id: &str,
    ) -> ApiResult<()> {
        let over = |inner: &Inner| {
            if inner.per_owner.get(owner).copied().unwrap_or(0)
                >= limits.max_upload_sessions_per_principal
            {
                Some(format!(
                    "{} upload sessions are open for this principal, the most allowed; finish or \
                     cancel some first",
                    limits.max_upload_sessions_per_principal
                ))
            } else if inner.sessions.len() >= limits.max_upload_sessions {
                Some(format!(
                    "{} upload sessions are open, the most this registry allows",
                    limits.max_upload_sessions
                ))
            } else {
                None
            }
        };
        {
            let mut inner = self.lock();
            let due = match inner.reconciled {
                None => true,
                Some(at) => over(&inner).is_some() && at.elapsed() >= RECONCILE_EVERY,
            };
            if !due {
                if let Some(detail) = over(&inner) {
                    return Err(too_many(detail, "10"));
                }
                inner.insert(id.to_string(), owner.to_string(), Instant::now());
                return Ok(());
            }
            // One reconciliation at a time: the others count with what is known.
            inner.reconciled = Some(Instant::now());
        }
        let stored: Option<HashSet<String>> = match meta.stale_uploads(i64::MAX).await {
            Ok(uploads) => Some(uploads.into_iter().map(|u| u.id).collect()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the stored upload sessions");
                None
            }
        };
        let mut inner = self.lock();
        if let Some(stored) = stored {
            inner.reconcile(&stored, Instant::now());
        }
        if let Some(detail) = over(&inner) {
            return Err(too_many(detail, "10"));
        }
        inner.insert(id.to_string(), owner.to_string(), Instant::now());
        Ok(())
    }

    /// The session ended (committed, cancelled, discarded) or was never created.
    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Counts a request writing an upload body for `owner` until the guard is dropped, or
    /// refuses with 429 `TOOMANYREQUESTS`.
    pub fn begin_write<'a>(&'a self, max: usize, owner: &str) -> ApiResult<InFlight<'a>> {
        let mut inner = self.lock();
        let n = inner.in_flight.entry(owner.to_string()).or_default();
        if *n >= max {
            return Err(too_many(
                format!("{max} uploads of this principal are in flight, the most allowed"),
                "1",
            ));
        }
        *n += 1;
        Ok(InFlight {
            limits: self,
            owner: owner.to_string(),
        })
    }
}

/// One upload body being written; dropping it ends the count.
pub struct InFlight<'a> {
    limits: &'a UploadLimits,
    owner: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut inner = self.limits.lock();
        if let Some(n) = inner.in_flight.get_mut(&self.owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.in_flight.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciling_drops_gone_sessions_and_counts_unknown_ones() {
        let mut inner = Inner::default();
        let long_ago = Instant::now() - Duration::from_secs(3600);
        inner.insert("a".into(), "i/alice".into(), long_ago);
        inner.insert("b".into(), "i/alice".into(), long_ago);
        inner.insert("new".into(), "i/alice".into(), Instant::now());
        let stored: HashSet<String> = ["b".to_string(), "old".to_string()].into();
        inner.reconcile(&stored, Instant::now());
        // `a` is gone; `new` is being created; `old` was left by an earlier process.
        assert!(!inner.sessions.contains_key("a"));
        assert_eq!(inner.per_owner.get("i/alice"), Some(&2));
        assert_eq!(inner.per_owner.get(UNATTRIBUTED), Some(&1));
        assert_eq!(inner.sessions.len(), 3);
        inner.remove("b");
        inner.remove("new");
        assert_eq!(inner.per_owner.get("i/alice"), None);
    }
}
