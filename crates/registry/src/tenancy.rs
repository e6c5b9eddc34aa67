//! Instances, namespaces and repositories through the registry: cached lookups for the hot
//! paths (Host routing, every OCI request's authorization) and the writes that must drop what
//! those caches hold, so a change made through this process is seen by its next request.
use crate::CacheNotice;
use crate::service::Registry;
use berth_store::{
    CreateNamespaceOutcome, DeleteNamespaceOutcome, Instance, InstanceStatus, Namespace,
    Repository, StoreError,
};
use std::sync::Arc;

fn key(instance_id: &str, name: &str) -> (String, String) {
    (instance_id.to_string(), name.to_string())
}

impl Registry {
    /// The instance named `name` (Host routing), cached for a few seconds, absence included.
    pub async fn instance_by_name(&self, name: &str) -> Result<Option<Arc<Instance>>, StoreError> {
        if let Some(hit) = self.caches.instances.get(name) {
            return Ok(hit);
        }
        let found = self.meta.get_instance_by_name(name).await?.map(Arc::new);
        self.caches
            .instances
            .insert(name.to_string(), found.clone());
        Ok(found)
    }

    /// Moves an instance from `from` to `to` (false if it was not in `from`).
    pub async fn set_instance_status(
        &self,
        id: &str,
        from: InstanceStatus,
        to: InstanceStatus,
    ) -> Result<bool, StoreError> {
        let moved = self.meta.set_instance_status(id, from, to).await;
        self.caches.instances.invalidate_all();
        self.announce(CacheNotice::Instances);
        moved
    }

    /// Deletes an instance with everything in it; the digests it linked (for DeleteBucket).
    pub async fn delete_instance(&self, id: &str) -> Result<Vec<berth_oci::Digest>, StoreError> {
        let deleted = self.meta.delete_instance(id).await;
        // Its namespaces, repositories, tags and links are gone (or, on an error, the instance
        // is as it was): nothing cached about it may be served.
        self.caches.clear();
        self.announce(CacheNotice::All);
        deleted
    }

    /// The namespace, cached for a few seconds, absence included.
    pub async fn namespace(
        &self,
        instance_id: &str,
        name: &str,
    ) -> Result<Option<Arc<Namespace>>, StoreError> {
        let key = key(instance_id, name);
        if let Some(hit) = self.caches.namespaces.get(&key) {
            return Ok(hit);
        }
        let ns = self
            .meta
            .get_namespace(instance_id, name)
            .await?
            .map(Arc::new);
        self.caches.namespaces.insert(key, ns.clone());
        Ok(ns)
    }

    pub async fn create_namespace(
        &self,
        instance_id: &str,
        name: &str,
        public: bool,
    ) -> Result<CreateNamespaceOutcome, StoreError> {
        let created = self.meta.create_namespace(instance_id, name, public).await;
        self.caches.namespaces.invalidate(&key(instance_id, name));
        self.announce(CacheNotice::Namespace {
            instance_id: instance_id.to_string(),
            name: name.to_string(),
        });
        created
    }

    /// Makes a namespace public or private; its cached visibility goes at once.
    pub async fn set_namespace_public(
        &self,
        namespace: &Namespace,
        public: bool,
    ) -> Result<(), StoreError> {
        let set = self.meta.set_namespace_public(namespace.id, public).await;
        self.caches
            .namespaces
            .invalidate(&key(&namespace.instance_id, &namespace.name));
        self.announce(namespace_notice(namespace));
        set
    }

    pub async fn delete_namespace(
        &self,
        namespace: &Namespace,
    ) -> Result<DeleteNamespaceOutcome, StoreError> {
        let deleted = self.meta.delete_namespace(namespace.id).await;
        self.caches
            .namespaces
            .invalidate(&key(&namespace.instance_id, &namespace.name));
        self.announce(namespace_notice(namespace));
        deleted
    }

    /// The repository, cached for a few seconds, absence included.
    pub async fn repository(
        &self,
        instance_id: &str,
        name: &str,
    ) -> Result<Option<Arc<Repository>>, StoreError> {
        let key = key(instance_id, name);
        if let Some(hit) = self.caches.repositories.get(&key) {
            return Ok(hit);
        }
        let repo = self
            .meta
            .get_repository(instance_id, name)
            .await?
            .map(Arc::new);
        self.caches.repositories.insert(key, repo.clone());
        Ok(repo)
    }

    /// Deletes a repository with its manifests, tags and links; false if it was already gone.
    pub async fn delete_repository(&self, repository: &Repository) -> Result<bool, StoreError> {
        let deleted = self.meta.delete_repository(repository.id).await;
        // Its tags, manifests and links are keyed by its id in three caches: clear them all
        // rather than track every key.
        self.caches.clear();
        self.announce(CacheNotice::All);
        deleted
    }
}

impl Registry {
    /// The repository `name` of namespace `namespace`, both created on first push.
    pub async fn ensure_repository(
        &self,
        instance_id: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Repository>, StoreError> {
        let (_, repo) = self
            .meta
            .ensure_repository_path(instance_id, namespace, name)
            .await?;
        let repo = Arc::new(repo);
        self.caches
            .repositories
            .insert(key(instance_id, name), Some(repo.clone()));
        // The namespace may have been created (or cached as absent).
        self.caches
            .namespaces
            .invalidate(&key(instance_id, namespace));
        // Other processes may hold either as absent, but only for a cache lifetime: a repository
        // older than that (twice, for clocks that differ between replicas) needs no notice.
        // Every upload and manifest push comes through here; this keeps notices to new ones.
        let lifetime =
            i64::try_from(crate::caches::MUTABLE_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        if berth_store::now_millis().saturating_sub(repo.created_at) > 2 * lifetime {
            return Ok(repo);
        }
        self.announce(CacheNotice::Namespace {
            instance_id: instance_id.to_string(),
            name: namespace.to_string(),
        });
        self.announce(CacheNotice::Repository {
            instance_id: instance_id.to_string(),
            name: name.to_string(),
        });
        Ok(repo)
    }

    /// Turns the repository's tag immutability on or off; false if the repository is gone.
    /// Nothing enforces from the cache (the store checks inside its writes), but what it holds
    /// should not be older than the change.
    pub async fn set_tag_immutable(
        &self,
        repository: &Repository,
        on: bool,
    ) -> Result<bool, StoreError> {
        let set = self
            .meta
            .set_repository_tag_immutable(repository.id, on)
            .await;
        self.caches
            .repositories
            .invalidate(&key(&repository.instance_id, &repository.name));
        self.announce(CacheNotice::Repository {
            instance_id: repository.instance_id.clone(),
            name: repository.name.clone(),
        });
        set
    }
}

fn namespace_notice(namespace: &Namespace) -> CacheNotice {
    CacheNotice::Namespace {
        instance_id: namespace.instance_id.clone(),
        name: namespace.name.clone(),
    }
}
