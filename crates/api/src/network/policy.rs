//! An instance's network allow-list as the request path checks it.
use ipnet::IpNet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which client networks may reach an instance, parsed once per cache lifetime.
#[derive(Debug, Default)]
pub struct Policy {
    pub(crate) restricted: bool,
    pub(crate) nets: Vec<IpNet>,
}

/// Per instance: the networks its internal endpoints admit, cached for a few seconds.
pub struct AllowListCache {
    pub(crate) lists: moka::sync::Cache<String, Arc<Policy>>,
    /// Bumped by every invalidation: a policy read from the store before a change and cached
    /// after it would reopen a just-restricted instance.
    pub(crate) generation: AtomicU64,
}

impl Default for AllowListCache {
    fn default() -> Self {
        AllowListCache {
            lists: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(5))
                .build(),
            generation: AtomicU64::new(0),
        }
    }
}

impl AllowListCache {
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lists.invalidate_all();
    }
}
