//! The server's [`Source`]: berth's stores, through the registry's caches.
//!
//! An image is berth's own when its reference's registry is a host berth serves its registry
//! under: `public_url`'s host, the main listener's address (and `localhost:<port>` for a
//! loopback one), `admission.registry_hosts` (the default instance), or
//! `<instance>.<management.base_domain>` (that instance). Its tag is resolved to a digest from
//! berth's store; any reference pinned by digest is looked up by that digest in every instance
//! (a digest is the same content wherever it is stored), so a mirrored image finds its scan too.
use std::sync::Arc;

use async_trait::async_trait;
use berth_hss::policy::{Exception, ImageFindings, Policy};
use berth_oci::reference::Reference;
use berth_registry::ManifestReference;
use berth_store::{Instance, InstanceFilter, InstanceStatus, StoreError};

use super::findings;
use super::source::{Access, ImageInfo, ProjectPolicy, Source};
use crate::runtime::clusters::{TOKEN_PREFIX, token_hash};
use crate::state::App;

/// Projects whose policies are read; berth's instances are few.
const MAX_PROJECTS: u32 = 1000;

pub struct AppSource(pub App);

/// `host[:port]` of a URL.
fn authority(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// The hosts under which the default instance is reached.
fn default_hosts(app: &App) -> Vec<String> {
    let mut hosts: Vec<String> = app.config.admission.registry_hosts.clone();
    hosts.extend(app.config.public_url.as_deref().and_then(authority));
    let listen = app.config.listen;
    if !listen.ip().is_unspecified() {
        hosts.push(listen.to_string());
    }
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        hosts.push(format!("localhost:{}", listen.port()));
        hosts.push(format!("127.0.0.1:{}", listen.port()));
    }
    hosts
}

/// The instance a registry host names, if berth serves it.
async fn instance_of(app: &App, registry: &str) -> Result<Option<Arc<Instance>>, StoreError> {
    let host = registry.to_ascii_lowercase();
    if default_hosts(app)
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Ok(Some(app.default_instance.clone()));
    }
    let Some(base) = app.config.management.base_domain.as_deref() else {
        return Ok(None);
    };
    let bare = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host.as_str(),
    };
    let Some(label) = bare
        .strip_suffix(base)
        .and_then(|h| h.strip_suffix('.'))
        .filter(|l| !l.is_empty() && !l.contains('.'))
    else {
        return Ok(None);
    };
    Ok(app
        .registry
        .instance_by_name(label)
        .await?
        .filter(|i| i.status == InstanceStatus::Running))
}

#[async_trait]
impl Source for AppSource {
    async fn access(&self, cluster_id: &str, token: Option<&str>) -> Result<Access, StoreError> {
        let app = &self.0;
        let Some(cluster) = app.meta.get_cluster(cluster_id).await? else {
            return Ok(Access::UnknownCluster);
        };
        let Some(token) = token.filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() <= 256) else {
            return Ok(Access::BadCredential);
        };
        match app
            .meta
            .verify_cluster_credential(&token_hash(token))
            .await?
        {
            Some(c) if c.cluster_id == cluster.id => Ok(Access::Granted(cluster)),
            _ => Ok(Access::BadCredential),
        }
    }

    async fn policies(&self) -> Result<Arc<Vec<ProjectPolicy>>, StoreError> {
        let app = &self.0;
        if let Some(hit) = app.admission.policies.get(&()) {
            return Ok(hit);
        }
        let (instances, _) = app
            .meta
            .list_instances(&InstanceFilter::default(), 0, MAX_PROJECTS)
            .await?;
        let mut out = Vec::new();
        for instance in instances {
            for stored in app.meta.list_protection_policies(&instance.id).await? {
                // Validated when written; one that no longer reads (a newer build wrote it) is
                // left out rather than stopping every admission.
                match Policy::from_json(stored.document.as_bytes()) {
                    Ok(policy) => out.push(ProjectPolicy {
                        project_id: instance.id.clone(),
                        policy,
                    }),
                    Err(e) => tracing::warn!(policy = %stored.policy_id, error = %e,
                        "stored protection policy does not read: not enforced"),
                }
            }
        }
        let out = Arc::new(out);
        app.admission.policies.insert((), out.clone());
        Ok(out)
    }

    async fn exceptions(&self, now: std::time::SystemTime) -> Result<Vec<Exception>, StoreError> {
        super::exceptions::active(&self.0, now).await
    }

    async fn image(&self, reference: &Reference) -> Result<ImageInfo, StoreError> {
        let app = &self.0;
        let mut digest = reference.digest.clone();
        let mut home = None;
        if let Some(instance) = instance_of(app, &reference.registry).await?
            && let Some(repo) = app
                .registry
                .repository(&instance.id, &reference.repository)
                .await?
        {
            if digest.is_none() {
                let tag = reference.tag.clone().unwrap_or_else(|| "latest".into());
                digest = app
                    .registry
                    .resolve_manifest(repo.id, &ManifestReference::Tag(tag))
                    .await?
                    .map(|m| m.meta.digest.clone());
            }
            home = Some((instance, repo));
        }
        let Some(d) = digest else {
            return Ok(ImageInfo {
                digest: None,
                home,
                findings: Arc::new(ImageFindings::default()),
            });
        };
        let key = d.to_string();
        let scan = match app.admission.scans.get(&key) {
            Some(hit) => hit,
            None => {
                let stored = app.meta.images_by_digest(std::slice::from_ref(&d)).await?;
                let scan = stored.iter().filter_map(|i| i.latest_scan_id).max();
                app.admission.scans.insert(key, scan);
                scan
            }
        };
        let found = match scan {
            Some(id) => findings::of_scan(app, id).await?,
            // Another registry's image: the scan cache's report, else queue its scan for the
            // next admission (this one is decided as unscanned).
            None => {
                let cached = findings::of_foreign(app, &d).await?;
                if cached.is_none() && home.is_none() && app.config.scan.cache.enabled {
                    let pull = format!("{}/{}@{d}", reference.registry, reference.repository);
                    let app = app.clone();
                    let wanted = [(d.clone(), pull)];
                    tokio::spawn(async move {
                        if let Ok(n) = crate::scan_cache::queue_unknown(&app, &wanted).await
                            && n > 0
                        {
                            app.jobs_wake.notify_one();
                        }
                    });
                }
                cached
            }
        };
        Ok(ImageInfo {
            digest: Some(d.to_string()),
            home,
            findings: found.unwrap_or_default(),
        })
    }
}
