//! Replay protection: the (access key, nonce) pairs of requests accepted within the time window.
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::{AcsError, AcsResult};
use crate::time::MAX_SKEW_SECS;

/// What one entry is counted as besides its strings (two map nodes, the key's boxes, the order
/// index): an estimate on the high side, so `max_bytes` bounds real memory.
const ENTRY_OVERHEAD: usize = 128;

type Key = (Box<str>, Box<str>);

/// The nonces of accepted requests, keyed by (access key, nonce), each kept until its request's
/// time leaves the window: a request claiming time `t` is acceptable until `t +`
/// [`MAX_SKEW_SECS`], so its nonce is remembered exactly that long and a replay is refused
/// either as `SignatureNonceUsed` (while remembered) or as `InvalidTimeStamp.Expired` (after).
///
/// Bounded in entries and in bytes. **When full it refuses new requests**
/// (`ServiceUnavailable`, 503) rather than forget a nonce whose request could still be replayed;
/// it makes room as entries expire. Only requests whose signature checked out are recorded, so
/// filling it takes valid credentials; per-key rate limits belong to the HTTP surface.
///
/// Thread-safe: one mutex around a hash map and an expiry-ordered index; every operation is
/// O(log n) plus the expired entries it drops.
#[derive(Debug)]
pub struct NonceCache {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Key → (expiry, sequence number), the sequence number making the index key unique.
    entries: HashMap<Key, (i64, u64)>,
    /// (expiry, sequence number) → key, oldest first.
    by_expiry: BTreeMap<(i64, u64), Key>,
    bytes: usize,
    next_seq: u64,
}

fn entry_bytes(access_key_id: &str, nonce: &str) -> usize {
    // The key is held twice: in the map and in the index.
    ENTRY_OVERHEAD + 2 * (access_key_id.len() + nonce.len())
}

impl Default for NonceCache {
    /// 200,000 entries or 64 MiB: over a hundred requests a second, sustained for the whole
    /// 30-minute life of an entry.
    fn default() -> Self {
        NonceCache::new(200_000, 64 * 1024 * 1024)
    }
}

impl NonceCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        NonceCache {
            inner: Mutex::new(Inner::default()),
            max_entries,
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something ever did, the maps are still
        // consistent after each single operation, so the data is usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the pair for a request claiming time `timestamp` (seconds since the epoch), seen
    /// at `now`. `SignatureNonceUsed` if the pair is already remembered, `ServiceUnavailable` if
    /// there is no room.
    pub fn check_and_insert(
        &self,
        access_key_id: &str,
        nonce: &str,
        timestamp: i64,
        now: i64,
    ) -> AcsResult<()> {
        let expiry = timestamp.saturating_add(MAX_SKEW_SECS).max(now);
        let mut inner = self.lock();
        inner.prune(now);
        let key: Key = (access_key_id.into(), nonce.into());
        if inner.entries.contains_key(&key) {
            return Err(AcsError::SignatureNonceUsed);
        }
        let size = entry_bytes(access_key_id, nonce);
        if inner.entries.len() >= self.max_entries
            || inner.bytes.saturating_add(size) > self.max_bytes
        {
            return Err(AcsError::ServiceUnavailable);
        }
        let seq = inner.next_seq;
        inner.next_seq = seq.wrapping_add(1);
        inner.bytes += size;
        inner.by_expiry.insert((expiry, seq), key.clone());
        inner.entries.insert(key, (expiry, seq));
        Ok(())
    }

    /// Drops the entries expired at `now`.
    pub fn prune(&self, now: i64) {
        self.lock().prune(now);
    }

    /// Entries held (expired ones included until the next operation drops them).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the entries are counted as.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl Inner {
    /// An entry lives while `now <= expiry`: at `expiry` its request is still on the edge of the
    /// window and could be replayed.
    fn prune(&mut self, now: i64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 >= now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
            self.bytes = self.bytes.saturating_sub(entry_bytes(&key.0, &key.1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_nonce_until_its_request_expires() {
        let cache = NonceCache::default();
        let t = 1_000_000;
        assert_eq!(cache.check_and_insert("ak", "n", t, t), Ok(()));
        assert_eq!(
            cache.check_and_insert("ak", "n", t, t + 1),
            Err(AcsError::SignatureNonceUsed)
        );
        // Another key's nonce is its own.
        assert_eq!(cache.check_and_insert("ak2", "n", t, t), Ok(()));
        // Still remembered on the window's last second, forgotten after it.
        assert_eq!(
            cache.check_and_insert("ak", "n", t, t + MAX_SKEW_SECS),
            Err(AcsError::SignatureNonceUsed)
        );
        assert_eq!(
            cache.check_and_insert("ak", "n", t, t + MAX_SKEW_SECS + 1),
            Ok(())
        );
    }

    #[test]
    fn a_request_from_the_future_is_remembered_longer() {
        let cache = NonceCache::default();
        let now = 1_000_000;
        let ahead = now + MAX_SKEW_SECS;
        assert_eq!(cache.check_and_insert("ak", "n", ahead, now), Ok(()));
        assert_eq!(
            cache.check_and_insert("ak", "n", ahead, now + 2 * MAX_SKEW_SECS),
            Err(AcsError::SignatureNonceUsed)
        );
    }

    #[test]
    fn full_refuses_instead_of_forgetting() {
        let cache = NonceCache::new(2, usize::MAX);
        let t = 1_000_000;
        assert_eq!(cache.check_and_insert("ak", "1", t, t), Ok(()));
        assert_eq!(cache.check_and_insert("ak", "2", t + 10, t + 10), Ok(()));
        assert_eq!(
            cache.check_and_insert("ak", "3", t + 20, t + 20),
            Err(AcsError::ServiceUnavailable)
        );
        // The first is still remembered...
        assert_eq!(
            cache.check_and_insert("ak", "1", t, t + 20),
            Err(AcsError::SignatureNonceUsed)
        );
        // ...until it expires, which makes room.
        let later = t + MAX_SKEW_SECS + 1;
        assert_eq!(cache.check_and_insert("ak", "3", later, later), Ok(()));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn bounded_in_bytes() {
        let one = entry_bytes("ak", "nonce-1");
        let cache = NonceCache::new(usize::MAX, 2 * one);
        assert_eq!(cache.check_and_insert("ak", "nonce-1", 0, 0), Ok(()));
        assert_eq!(cache.check_and_insert("ak", "nonce-2", 0, 0), Ok(()));
        assert_eq!(cache.bytes(), 2 * one);
        assert_eq!(
            cache.check_and_insert("ak", "nonce-3", 0, 0),
            Err(AcsError::ServiceUnavailable)
        );
        cache.prune(MAX_SKEW_SECS + 1);
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn shared_between_threads() {
        let cache = std::sync::Arc::new(NonceCache::default());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|i| cache.check_and_insert("ak", &i.to_string(), 0, 0).is_ok())
                        .count()
                })
            })
            .collect();
        let accepted: usize = handles.into_iter().filter_map(|h| h.join().ok()).sum();
        // Each nonce accepted exactly once across the threads.
        assert_eq!(accepted, 100);
    }
}
