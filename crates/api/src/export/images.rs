//! The images of one export, each built once ([`super::image::entry`]) and kept in a cache
//! bounded by bytes, so an image run by thousands of deployments is read, parsed and
//! serialized once while memory stays flat whatever the inventory's size (an evicted image is
//! built again when a later deployment runs it).
use std::collections::HashMap;
use std::sync::Arc;

use berth_oci::Digest;
use berth_store::{StoreError, StoredImage};

use super::image::{ImageEntry, Scanned, entry};
use super::report::Report;
use super::suppress::Applicable;
use crate::state::App;

/// Bytes of built images one export keeps.
pub const CACHE_BYTES: u64 = 24 * 1024 * 1024;

pub struct Images {
    cache: moka::sync::Cache<String, Arc<ImageEntry>>,
    /// Which digests berth stores (filled by [`Images::learn`]).
    stored: HashMap<String, Vec<StoredImage>>,
    /// Digests already looked up, stored or not.
    known: std::collections::HashSet<String>,
}

impl Images {
    pub fn new() -> Self {
        Images {
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|_, e: &Arc<ImageEntry>| e.weight())
                .build(),
            stored: HashMap::new(),
            known: std::collections::HashSet::new(),
        }
    }

    /// Looks up, in one batch, which of `digests` not looked up yet berth stores.
    pub async fn learn(&mut self, app: &App, digests: &[Digest]) -> Result<(), StoreError> {
        let mut unknown: Vec<Digest> = Vec::new();
        for d in digests {
            if self.known.insert(d.to_string()) {
                unknown.push(d.clone());
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        for image in app.meta.images_by_digest(&unknown).await? {
            self.stored
                .entry(image.digest.to_string())
                .or_default()
                .push(image);
        }
        Ok(())
    }

    /// The image of `digest` with what `exceptions` suppress, built on first use.
    pub async fn get(
        &self,
        app: &App,
        digest: &str,
        exceptions: &Applicable<'_>,
    ) -> Result<Arc<ImageEntry>, StoreError> {
        let key = if exceptions.key.is_empty() {
            digest.to_string()
        } else {
            format!("{digest}#{}", exceptions.key)
        };
        if let Some(e) = self.cache.get(&key) {
            return Ok(e);
        }
        let scanned = self.scanned(app, digest).await?;
        let built = Arc::new(entry(digest, scanned.as_ref(), &|v| {
            exceptions.suppressed(v)
        }));
        self.cache.insert(key, built.clone());
        Ok(built)
    }

    /// The newest successful scan of `digest` in any repository, with its report parsed. A
    /// report this build cannot read counts as no scan (logged), as on the image-risk surface.
    async fn scanned(&self, app: &App, digest: &str) -> Result<Option<Scanned>, StoreError> {
        let Some(images) = self.stored.get(digest) else {
            return foreign(app, digest).await;
        };
        let Some(scan_id) = images.iter().filter_map(|i| i.latest_scan_id).max() else {
            return Ok(None);
        };
        let mut finished_at = None;
        let mut report = None;
        for image in images {
            if let Some(job) = app
                .meta
                .latest_scan(image.repository_id, &image.digest)
                .await?
                && job.id == scan_id
            {
                finished_at = job.finished_at;
                report = job.result;
                break;
            }
        }
        let report = match report {
            Some(r) => r,
            None => match app.meta.scan_result(scan_id).await? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        match serde_json::from_str::<Report>(&report) {
            Ok(report) => Ok(Some(Scanned {
                report,
                finished_at,
            })),
            Err(e) => {
                tracing::warn!(scan = scan_id, error = %e, "unreadable scan report: exported as not scanned");
                Ok(None)
            }
        }
    }
}

/// The scan cache's report of an image berth does not store (`crate::scan_cache`).
async fn foreign(app: &App, digest: &str) -> Result<Option<Scanned>, StoreError> {
    let Ok(digest) = digest.parse::<berth_oci::Digest>() else {
        return Ok(None);
    };
    let Some(scan) = crate::scan_cache::reports(app, &[digest]).await?.pop() else {
        return Ok(None);
    };
    let Some(report) = scan.report else {
        return Ok(None);
    };
    match serde_json::from_str::<Report>(&report) {
        Ok(report) => Ok(Some(Scanned {
            report,
            finished_at: Some(scan.finished_at),
        })),
        Err(e) => {
            tracing::warn!(digest = %scan.digest, error = %e, "unreadable foreign scan report: exported as not scanned");
            Ok(None)
        }
    }
}
