//! The metadata store: the domain model of DESIGN.md (instances, namespaces, repositories,
//! manifests, tags, blobs, uploads, users, access tokens) behind one trait.
use crate::Result;
use crate::tenants::{Instance, Namespace, Repository};
use async_trait::async_trait;
use berth_oci::Digest;
use bytes::Bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Blob,
    Manifest,
}

/// Something a manifest points at that must exist in the same repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRef {
    pub digest: Digest,
    pub kind: RefKind,
    pub size: u64,
    /// For manifest references: the media type the parent declares for the child.
    pub media_type: String,
}

#[derive(Debug, Clone)]
pub struct NewManifest {
    pub digest: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub content: Bytes,
    pub subject: Option<Digest>,
    /// The manifest's `annotations`, as a JSON object, for the referrers API.
    pub annotations: Option<String>,
    pub refs: Vec<ManifestRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestMeta {
    pub digest: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: u64,
    pub subject: Option<Digest>,
    pub annotations: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub meta: ManifestMeta,
    pub content: Bytes,
}

/// Why a manifest was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutManifestOutcome {
    Stored,
    MissingBlob(Digest),
    MissingManifest(Digest),
    SizeMismatch {
        digest: Digest,
        declared: u64,
        actual: u64,
    },
    MediaTypeMismatch {
        digest: Digest,
        declared: String,
        actual: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSelector {
    Tag(String),
    Digest(Digest),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub repository_id: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
}

/// One tag as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub name: String,
    pub digest: Digest,
    /// When the tag last moved, in milliseconds since the epoch.
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub repositories: i64,
    pub manifests: i64,
    pub tags: i64,
    pub blobs: i64,
    pub blob_bytes: i64,
}

#[async_trait]
pub trait MetadataStore:
    crate::TenancyStore
    + crate::ApiTokenStore
    + crate::EndpointStore
    + crate::ScanStore
    + crate::JobStore
    + crate::WebhookStore
    + crate::RuntimeStore
    + crate::ProtectionStore
    + crate::ExceptionStore
    + crate::ForeignScanStore
    + crate::ConsoleSessionStore
    + Send
    + Sync
    + 'static
{
    // Instances: the default one serves plain `host:port` requests.
    async fn ensure_default_instance(&self, name: &str) -> Result<Instance>;
    async fn get_instance(&self, id: &str) -> Result<Option<Instance>>;

    // Namespaces: the first component of a repository name; private unless marked public.
    async fn get_namespace(&self, instance_id: &str, name: &str) -> Result<Option<Namespace>>;
    /// Creates the namespace, or returns the existing one of that name.
    async fn ensure_namespace(&self, instance_id: &str, name: &str) -> Result<Namespace>;
    async fn set_namespace_public(&self, namespace_id: i64, public: bool) -> Result<()>;
    async fn set_namespace_scan_on_push(&self, namespace_id: i64, on: bool) -> Result<()>;

    // Repositories.
    async fn get_repository(&self, instance_id: &str, name: &str) -> Result<Option<Repository>>;
    /// Creates the namespace and the repository as one change (first push): neither is left
    /// behind when a quota refuses the other.
    async fn ensure_repository_path(
        &self,
        instance_id: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(Namespace, Repository)>;
    async fn ensure_repository(
        &self,
        instance_id: &str,
        namespace_id: i64,
        name: &str,
    ) -> Result<Repository>;
    /// Repository names holding at least one manifest, in lexical order after `last`.
    async fn list_repositories(
        &self,
        instance_id: &str,
        last: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>>;

    // Blobs: content is global; repositories hold links to it.
    /// The blob's size if it is linked into the repository.
    async fn linked_blob(&self, repository_id: i64, digest: &Digest) -> Result<Option<u64>>;
    /// Records the blob (if new) and links it into the repository. Fails with
    /// [`crate::StoreError::BlobBeingDeleted`] while its digest carries a tombstone: the caller
    /// must link *before* it relies on the bytes being present, and check them after.
    async fn link_blob(&self, repository_id: i64, digest: &Digest, size: u64) -> Result<()>;
    async fn unlink_blob(&self, repository_id: i64, digest: &Digest) -> Result<bool>;
    /// The blob's size if any repository of the instance links it (for mounts without `from`).
    async fn find_blob_in_instance(
        &self,
        instance_id: &str,
        digest: &Digest,
    ) -> Result<Option<u64>>;

    // Uploads in progress (their bytes live in the blob store).
    async fn create_upload(&self, upload: &Upload) -> Result<()>;
    async fn get_upload(&self, id: &str) -> Result<Option<Upload>>;
    async fn delete_upload(&self, id: &str) -> Result<()>;

    // Manifests and tags.
    /// Stores the manifest (idempotent by digest) and points `tags` at it, in one transaction
    /// that first checks every reference exists in the repository with the declared size.
    /// While the repository's tags are immutable, a tag that exists and names another digest
    /// fails the whole call with [`crate::StoreError::TagImmutable`] (nothing is stored); new
    /// tags and tags already naming this digest are written. The check is made by the statement
    /// that writes the tag, so it cannot race with [`crate::TenancyStore::set_repository_tag_immutable`].
    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: &NewManifest,
        tags: &[String],
    ) -> Result<PutManifestOutcome>;
    async fn manifest_meta(
        &self,
        repository_id: i64,
        selector: &ManifestSelector,
    ) -> Result<Option<ManifestMeta>>;
    async fn get_manifest(
        &self,
        repository_id: i64,
        selector: &ManifestSelector,
    ) -> Result<Option<StoredManifest>>;
    /// Deletes the manifest and every tag pointing at it; `false` if it was not there. Refused
    /// with [`crate::StoreError::TagImmutable`] (nothing deleted) when tags point at it and the
    /// repository's tags are immutable; an untagged manifest may still be deleted.
    async fn delete_manifest(&self, repository_id: i64, digest: &Digest) -> Result<bool>;
    /// Deletes the tag; `false` if there was none. Refused with
    /// [`crate::StoreError::TagImmutable`] while the repository's tags are immutable.
    async fn delete_tag(&self, repository_id: i64, tag: &str) -> Result<bool>;
    async fn list_tags(
        &self,
        repository_id: i64,
        last: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>>;
    /// A page of tags in name order after `after` (keyset paging: one index range scan
    /// however deep the page), only those whose name contains `contains`, and how many match
    /// in all.
    async fn search_tags(
        &self,
        repository_id: i64,
        contains: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<TagRow>, u64)>;
    /// Manifests whose `subject` is `subject`, ordered by digest.
    async fn referrers(&self, repository_id: i64, subject: &Digest) -> Result<Vec<ManifestMeta>>;

    // Garbage collection.
    /// Deletes manifests created before `before` that no tag names, no manifest in the same
    /// repository references, and whose subject (if any) is gone. Repeats until nothing changes.
    async fn gc_untagged_manifests(&self, before: i64) -> Result<u64>;
    /// Blobs recorded before `before` that no manifest references.
    async fn gc_blob_candidates(&self, before: i64) -> Result<Vec<Digest>>;
    /// Forgets the blob if it is still unreferenced and older than `before`, and puts a
    /// tombstone on its digest in the same transaction; `true` when the caller should now delete
    /// its bytes and then [`MetadataStore::clear_tombstone`].
    async fn gc_forget_blob(&self, digest: &Digest, before: i64) -> Result<bool>;
    /// Whether the blob is recorded at all (a read: the orphan sweep asks it of every file
    /// before it takes the write path of [`MetadataStore::tombstone_orphan`]).
    async fn blob_known(&self, digest: &Digest) -> Result<bool>;
    /// Puts a tombstone on a digest the store has no record of (a file nobody links); `false`
    /// when it is recorded (or already tombstoned) and its bytes must stay.
    async fn tombstone_orphan(&self, digest: &Digest) -> Result<bool>;
    /// Ends a deletion: the digest may be linked (and its bytes written) again.
    async fn clear_tombstone(&self, digest: &Digest) -> Result<()>;
    /// Tombstones still set, with the time they were set: deletions a crash interrupted.
    async fn tombstones(&self) -> Result<Vec<(Digest, i64)>>;
    /// Uploads started before `before`.
    async fn stale_uploads(&self, before: i64) -> Result<Vec<Upload>>;

    // Users and settings.
    async fn get_user(&self, username: &str) -> Result<Option<User>>;
    /// Creates the user; returns `false` when the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<bool>;
    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool>;
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` unless the key is set; returns the value in force.
    async fn init_setting(&self, key: &str, value: &str) -> Result<String>;

    async fn counts(&self) -> Result<StoreCounts>;
    /// Cheap liveness check of the database connection.
    async fn ping(&self) -> Result<()>;

    // Notices and leadership between the processes sharing the store (crate::notices).
    /// Sends a notice to every subscriber of every process on this store (this one's included).
    /// Refused with [`crate::StoreError::TooLarge`] beyond [`crate::MAX_NOTICE_BYTES`] encoded.
    async fn publish_notice(&self, topic: &str, payload: &str) -> Result<()>;
    /// Notices published from now on (see [`crate::Notice`] for what a lag or a
    /// [`crate::RESYNC_TOPIC`] notice means).
    fn subscribe_notices(&self) -> tokio::sync::broadcast::Receiver<crate::Notice>;
    /// Leads `role` if nobody else does: `None` while another holder (of this store, in any
    /// process) leads it. The lead lasts as long as the guard.
    async fn try_lead(&self, role: &str) -> Result<Option<crate::LeaderGuard>>;

    /// Records `key` (a signed request's replay key) as used until `expires_at` (Unix
    /// milliseconds); `false` when it is already recorded and not expired, in this process or
    /// any other on the store. Replay protection across replicas: each process also keeps its
    /// own cache, this is the shared check. Expired keys are pruned as new ones arrive.
    async fn claim_nonce(&self, key: &str, expires_at: i64) -> Result<bool>;
}
