//! Tenancy: instances and their quotas, instance access tokens, management API keys, and the
//! listings the management API pages through (namespaces, repositories, images).
use crate::Result;
use crate::tenants::{Instance, Namespace, Repository};
use async_trait::async_trait;
use berth_oci::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub charge_type: String,
    pub project_id: String,
    pub expires_at: Option<i64>,
}

/// Which instances to list; empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    pub ids: Vec<String>,
    pub project_ids: Vec<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub namespaces: i64,
    pub repositories: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: String,
    pub instance_id: String,
    pub username: String,
    pub secret_hash: String,
    pub description: String,
    pub token_type: String,
    pub token_time: Option<i64>,
    pub enabled: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub access_key_id: String,
    /// The secret, sealed under the server's master key (never stored in the clear).
    pub sealed_secret: String,
    pub description: String,
    pub enabled: bool,
    pub read_only: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateNamespaceOutcome {
    Created(Namespace),
    Exists,
    QuotaExceeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteNamespaceOutcome {
    Deleted,
    NotEmpty,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub namespace: Namespace,
    pub repositories: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryInfo {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// See [`crate::Repository::tag_immutable`].
    pub tag_immutable: bool,
}

/// An image as the management API lists it: a manifest no index in the repository contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub digest: Digest,
    /// The manifest, its config and layers (and, for an index, its children's).
    pub size: i64,
    pub created_at: i64,
    pub tags: Vec<String>,
}

#[async_trait]
pub trait TenancyStore: Send + Sync {
    /// Creates the instance; `false` when the name is taken.
    async fn create_instance(&self, instance: &NewInstance) -> Result<bool>;
    async fn get_instance_by_name(&self, name: &str) -> Result<Option<Instance>>;
    /// A page of instances in creation order, and how many match in all.
    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Instance>, u64)>;
    /// Moves the instance from status `from` to `to`; false when it is not in `from` (a
    /// concurrent change won, or it is gone).
    async fn set_instance_status(
        &self,
        id: &str,
        from: crate::InstanceStatus,
        to: crate::InstanceStatus,
    ) -> Result<bool>;
    /// Deletes the instance and everything in it; returns the digests of blobs it linked. The
    /// default instance (and an unknown id) is left as it is, with nothing returned.
    async fn delete_instance(&self, id: &str) -> Result<Vec<Digest>>;
    async fn instance_usage(&self, id: &str) -> Result<Usage>;
    async fn set_instance_quotas(
        &self,
        id: &str,
        namespaces: i64,
        repositories: i64,
    ) -> Result<bool>;
    /// Forgets the blob if no repository links it and no manifest references it; `true` when
    /// the caller should now delete its bytes (DeleteInstance with DeleteBucket).
    async fn forget_unlinked_blob(&self, digest: &Digest) -> Result<bool>;

    // Instance access tokens.
    async fn create_access_token(&self, token: &AccessToken) -> Result<()>;
    async fn get_access_token(&self, instance_id: &str, id: &str) -> Result<Option<AccessToken>>;
    async fn access_token_by_username(
        &self,
        instance_id: &str,
        username: &str,
    ) -> Result<Option<AccessToken>>;
    async fn list_access_tokens(
        &self,
        instance_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AccessToken>, u64)>;
    /// Replaces the description, type, time and expiry (never `enabled`: a concurrent
    /// information change must not re-enable a token that was just disabled).
    async fn update_access_token(&self, token: &AccessToken) -> Result<bool>;
    /// Enables or disables the token.
    async fn set_access_token_enabled(
        &self,
        instance_id: &str,
        id: &str,
        enabled: bool,
    ) -> Result<bool>;
    async fn delete_access_token(&self, instance_id: &str, id: &str) -> Result<bool>;

    // Management API keys.
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    async fn get_api_key(&self, access_key_id: &str) -> Result<Option<ApiKey>>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    async fn set_api_key_enabled(&self, access_key_id: &str, enabled: bool) -> Result<bool>;
    async fn delete_api_key(&self, access_key_id: &str) -> Result<bool>;

    // Namespaces, repositories and images as the management API sees them.
    /// Creates the namespace unless it exists or the instance's namespace quota is used up.
    async fn create_namespace(
        &self,
        instance_id: &str,
        name: &str,
        public: bool,
    ) -> Result<CreateNamespaceOutcome>;
    async fn list_namespaces(
        &self,
        instance_id: &str,
        name: Option<&str>,
        public: Option<bool>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<NamespaceInfo>, u64)>;
    /// Deletes the namespace unless it holds repositories.
    async fn delete_namespace(&self, namespace_id: i64) -> Result<DeleteNamespaceOutcome>;
    /// Repositories of a namespace (full names), optionally only those named.
    async fn list_namespace_repositories(
        &self,
        namespace_id: i64,
        names: &[String],
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RepositoryInfo>, u64)>;
    async fn get_repository_by_id(&self, id: i64) -> Result<Option<Repository>>;
    async fn set_repository_description(
        &self,
        repository_id: i64,
        description: &str,
    ) -> Result<bool>;
    /// Turns the repository's tag immutability on or off; `false` when there is no such
    /// repository. Takes effect for every write that commits after it: the check is made inside
    /// the statements that move or delete tags.
    async fn set_repository_tag_immutable(&self, repository_id: i64, on: bool) -> Result<bool>;
    /// Deletes the repository with its manifests, tags and blob links, whether or not its tags
    /// are immutable: deleting the repository is an administrator's action on the repository
    /// itself (as in Harbor, where immutability rules protect tags, not repositories).
    async fn delete_repository(&self, repository_id: i64) -> Result<bool>;
    async fn list_images(
        &self,
        repository_id: i64,
        digest: Option<&Digest>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<ImageInfo>, u64)>;
}
