//! The tenancy records: instances, namespaces and repositories.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub status: String,
    pub charge_type: String,
    pub project_id: String,
    pub is_default: bool,
    pub namespace_quota: i64,
    pub repository_quota: i64,
    pub created_at: i64,
    /// When a Monthly instance's term ends.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub id: i64,
    pub instance_id: String,
    pub name: String,
    pub public: bool,
    /// Scan every image pushed into it (besides the server-wide `scan.on_push`).
    pub scan_on_push: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub id: i64,
    pub instance_id: String,
    pub namespace_id: i64,
    pub name: String,
    pub created_at: i64,
    /// While on, an existing tag cannot be moved to another digest or deleted, and a manifest
    /// that tags point at cannot be deleted by digest ([`crate::StoreError::TagImmutable`]).
    /// Creating new tags and pushing a tag's own digest again stay allowed; deleting the whole
    /// repository (an administrator's action on the repository itself) stays allowed too.
    pub tag_immutable: bool,
}
