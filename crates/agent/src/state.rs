//! What the agent knows of the cluster, and what berth has not received yet.
//!
//! The watchers write here (a kind's list replaces that kind; a watch event updates one
//! object); the delivery loop takes work from here in order. One mutex guards both halves, so
//! the order in which changes enter the cache is the order in which they leave for berth, and a
//! snapshot is always built from a cache that holds every event before it and none after it.
//!
//! Rules:
//! - Until every kind has been listed, nothing is sent: the first thing berth gets is a
//!   snapshot of all kinds.
//! - A kind listed again (start, or a relist after 410) needs a new snapshot: the buffered events
//!   are dropped (the snapshot carries their effect) and nothing more is buffered until the
//!   snapshot is taken for delivery.
//! - The event buffer is bounded; on overflow it is dropped whole and a snapshot is due instead.
//! - Each of these bumps `epoch`: work taken under an older epoch is stale, and the delivery loop
//!   abandons it between two attempts rather than send it.
//! - The cache is bounded by berth's own snapshot limits (objects and bytes): a cluster larger
//!   than one snapshot can carry is a fatal error, not a silently partial inventory.
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::error::AgentError;
use crate::kinds::{KINDS, Kind};

/// One object as the agent keeps it: compact JSON with `apiVersion` and `kind` set and
/// `metadata.managedFields` removed (berth reads nothing from it; it is often half the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub namespace: String,
    pub name: String,
    pub json: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// Something to deliver to berth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A whole `v1 List` of every kind (shared bytes: a retry does not copy 64 MiB).
    Snapshot { body: bytes::Bytes, objects: usize },
    /// One watch event `{"type", "object"}`.
    Event { seq: u64, body: String },
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub snapshots_taken: u64,
    pub events_buffered: u64,
    pub overflows: u64,
}

#[derive(Default)]
struct KindCache {
    listed: bool,
    objects: BTreeMap<(String, String), String>,
}

struct Inner {
    kinds: Vec<KindCache>,
    objects: usize,
    bytes: usize,
    need_snapshot: bool,
    buffer: VecDeque<(u64, String)>,
    buffer_bytes: usize,
    next_seq: u64,
    epoch: u64,
    stats: Stats,
}

/// Limits of the shared state.
#[derive(Debug, Clone, Copy)]
pub struct StateLimits {
    /// Events held while berth does not take them (and at most `max_bytes` of them).
    pub buffer_events: usize,
    /// Objects one snapshot may carry (berth's `Limits::max_items`).
    pub max_objects: usize,
    /// Bytes one snapshot may have (berth's `Limits::max_document_bytes`).
    pub max_bytes: usize,
}

pub struct Shared {
    inner: Mutex<Inner>,
    limits: StateLimits,
    /// Wakes the delivery loop when there is work.
    pub wake: Notify,
}

/// The list envelope's bytes around the items (`{"apiVersion":"v1","kind":"List","items":[]}`
/// and a comma per item are counted with the items).
const ENVELOPE_BYTES: usize = 64;

fn kind_index(kind: &Kind) -> usize {
    KINDS.iter().position(|k| k == kind).unwrap_or(0)
}

impl Shared {
    pub fn new(limits: StateLimits) -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                kinds: KINDS.iter().map(|_| KindCache::default()).collect(),
                objects: 0,
                bytes: ENVELOPE_BYTES,
                need_snapshot: true,
                buffer: VecDeque::new(),
                buffer_bytes: 0,
                next_seq: 0,
                epoch: 0,
                stats: Stats::default(),
            }),
            limits,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot leave the cache half-updated in a way that
        // matters more than stopping would: keep going with what is there.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, inner: &Inner) -> Result<(), AgentError> {
        if inner.objects > self.limits.max_objects {
            return Err(AgentError::TooLarge {
                what: format!(
                    "{} objects, at most {}",
                    inner.objects, self.limits.max_objects
                ),
            });
        }
        if inner.bytes > self.limits.max_bytes {
            return Err(AgentError::TooLarge {
                what: format!(
                    "{} bytes of JSON, at most {}",
                    inner.bytes, self.limits.max_bytes
                ),
            });
        }
        Ok(())
    }

    /// A kind's full list (at start or after a relist) replaces what was held of it.
    pub fn replace_kind(&self, kind: &Kind, objects: Vec<Object>) -> Result<(), AgentError> {
        let mut inner = self.lock();
        let i = kind_index(kind);
        let old = std::mem::take(&mut inner.kinds[i].objects);
        inner.objects -= old.len();
        inner.bytes -= old.values().map(|j| j.len() + 1).sum::<usize>();
        let mut map = BTreeMap::new();
        for o in objects {
            inner.objects += 1;
            inner.bytes += o.json.len() + 1;
            if let Some(prev) = map.insert((o.namespace, o.name), o.json) {
                inner.objects -= 1;
                inner.bytes -= prev.len() + 1;
            }
        }
        inner.kinds[i].objects = map;
        inner.kinds[i].listed = true;
        Self::drop_buffer(&mut inner);
        inner.need_snapshot = true;
        let checked = self.check(&inner);
        drop(inner);
        self.wake.notify_one();
        checked
    }

    /// A kind's watch expired: until it is listed again, no snapshot is taken (so kinds that
    /// expire together make one snapshot, not one each) and nothing more is buffered.
    pub fn invalidate(&self, kind: &Kind) {
        let mut inner = self.lock();
        let i = kind_index(kind);
        inner.kinds[i].listed = false;
        Self::drop_buffer(&mut inner);
        inner.need_snapshot = true;
    }

    fn drop_buffer(inner: &mut Inner) {
        inner.buffer.clear();
        inner.buffer_bytes = 0;
        inner.epoch += 1;
    }

    /// One watch event: the cache follows it, and berth gets it unless a snapshot is due.
    pub fn apply(&self, kind: &Kind, event: EventType, object: Object) -> Result<(), AgentError> {
        let mut inner = self.lock();
        let i = kind_index(kind);
        let body = format!(
            "{{\"type\":\"{}\",\"object\":{}}}",
            event.as_str(),
            object.json
        );
        let key = (object.namespace, object.name);
        let previous = match event {
            EventType::Added | EventType::Modified => {
                inner.objects += 1;
                inner.bytes += object.json.len() + 1;
                inner.kinds[i].objects.insert(key, object.json)
            }
            EventType::Deleted => inner.kinds[i].objects.remove(&key),
        };
        if let Some(prev) = previous {
            inner.objects -= 1;
            inner.bytes -= prev.len() + 1;
        }
        if !inner.need_snapshot {
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.buffer_bytes += body.len();
            inner.buffer.push_back((seq, body));
            inner.stats.events_buffered += 1;
            // Bounded in count and in bytes (a snapshot's worth): past either, a snapshot
            // from the cache costs less than the events.
            if inner.buffer.len() > self.limits.buffer_events
                || inner.buffer_bytes > self.limits.max_bytes
            {
                tracing::warn!(
                    capacity = self.limits.buffer_events,
                    "berth has not taken the buffered events; dropping them for a full resync"
                );
                Self::drop_buffer(&mut inner);
                inner.need_snapshot = true;
                inner.stats.overflows += 1;
            }
        }
        let checked = self.check(&inner);
        drop(inner);
        self.wake.notify_one();
        checked
    }

    /// The next thing to deliver and the epoch it belongs to, or `None` when there is nothing
    /// (or the first lists are not all in yet).
    pub fn next_work(&self) -> Option<(Work, u64)> {
        let mut inner = self.lock();
        if inner.need_snapshot {
            if !inner.kinds.iter().all(|k| k.listed) {
                return None;
            }
            let mut body = String::with_capacity(inner.bytes);
            body.push_str(r#"{"apiVersion":"v1","kind":"List","metadata":{},"items":["#);
            let mut first = true;
            for json in inner.kinds.iter().flat_map(|k| k.objects.values()) {
                if !first {
                    body.push(',');
                }
                first = false;
                body.push_str(json);
            }
            body.push_str("]}");
            let objects = inner.objects;
            inner.need_snapshot = false;
            Self::drop_buffer(&mut inner);
            inner.stats.snapshots_taken += 1;
            let body = bytes::Bytes::from(body);
            return Some((Work::Snapshot { body, objects }, inner.epoch));
        }
        let (seq, body) = inner.buffer.front()?.clone();
        Some((Work::Event { seq, body }, inner.epoch))
    }

    /// Work delivered: an event leaves the buffer (if the buffer was not dropped meanwhile).
    pub fn done(&self, work: &Work) {
        if let Work::Event { seq, .. } = work {
            let mut inner = self.lock();
            if inner.buffer.front().is_some_and(|(s, _)| s == seq)
                && let Some((_, body)) = inner.buffer.pop_front()
            {
                inner.buffer_bytes -= body.len();
            }
        }
    }

    /// Whether work taken under `epoch` is still what berth should get.
    pub fn is_current(&self, epoch: u64) -> bool {
        self.lock().epoch == epoch
    }

    /// A snapshot that berth refused is due again (after a pause, built from the cache then).
    pub fn snapshot_again(&self) {
        let mut inner = self.lock();
        Self::drop_buffer(&mut inner);
        inner.need_snapshot = true;
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    pub fn buffered(&self) -> usize {
        self.lock().buffer.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn obj(name: &str, v: u32) -> Object {
        Object {
            namespace: "ns".into(),
            name: name.into(),
            json: format!(r#"{{"kind":"Pod","metadata":{{"name":"{name}","v":{v}}}}}"#),
        }
    }

    fn shared(buffer_events: usize) -> Shared {
        Shared::new(StateLimits {
            buffer_events,
            max_objects: 100,
            max_bytes: 1 << 20,
        })
    }

    fn list_all(s: &Shared) {
        for k in &KINDS {
            s.replace_kind(k, vec![]).unwrap();
        }
    }

    const POD: &Kind = &KINDS[7];

    #[test]
    fn nothing_before_every_kind_is_listed_then_one_snapshot() {
        let s = shared(10);
        s.replace_kind(POD, vec![obj("a", 1)]).unwrap();
        assert!(s.next_work().is_none());
        for k in &KINDS[..7] {
            s.replace_kind(k, vec![]).unwrap();
        }
        let (work, _) = s.next_work().unwrap();
        let Work::Snapshot { body, objects } = work else {
            panic!("{work:?}")
        };
        assert_eq!(objects, 1);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["items"][0]["metadata"]["name"], "a");
        assert!(s.next_work().is_none());
    }

    #[test]
    fn events_after_the_snapshot_leave_in_order_and_overflow_asks_for_a_snapshot() {
        let s = shared(2);
        list_all(&s);
        let (_, epoch) = s.next_work().unwrap();
        s.apply(POD, EventType::Added, obj("a", 1)).unwrap();
        s.apply(POD, EventType::Modified, obj("a", 2)).unwrap();
        let (first, e1) = s.next_work().unwrap();
        assert_eq!(e1, epoch);
        assert!(
            matches!(&first, Work::Event { body, .. } if body.starts_with(r#"{"type":"ADDED""#))
        );
        s.done(&first);
        let (second, _) = s.next_work().unwrap();
        assert!(matches!(&second, Work::Event { body, .. } if body.contains(r#""v":2"#)));
        s.done(&second);
        assert!(s.next_work().is_none());
        // Three undelivered events overflow a buffer of two: dropped, a snapshot is due.
        for v in 3..6 {
            s.apply(POD, EventType::Modified, obj("a", v)).unwrap();
        }
        assert!(!s.is_current(epoch));
        assert_eq!(s.stats().overflows, 1);
        let (work, _) = s.next_work().unwrap();
        let Work::Snapshot { body, .. } = work else {
            panic!("{work:?}")
        };
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(r#""v":5"#), "{body}");
        s.apply(POD, EventType::Deleted, obj("a", 5)).unwrap();
        assert_eq!(s.buffered(), 1);
    }

    #[test]
    fn the_cache_is_bounded_by_the_snapshot_limits() {
        let s = Shared::new(StateLimits {
            buffer_events: 10,
            max_objects: 2,
            max_bytes: 1 << 20,
        });
        list_all(&s);
        s.apply(POD, EventType::Added, obj("a", 1)).unwrap();
        s.apply(POD, EventType::Modified, obj("a", 2)).unwrap();
        s.apply(POD, EventType::Added, obj("b", 1)).unwrap();
        let err = s.apply(POD, EventType::Added, obj("c", 1)).unwrap_err();
        assert!(matches!(err, AgentError::TooLarge { .. }), "{err}");
    }
}
