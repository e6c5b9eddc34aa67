//! The tenancy records: instances, namespaces and repositories.

/// An instance's life: created `Creating`, `Running` once its storage is ready (or `Error`),
/// `Deleting` while DeleteInstance removes it. Only a running instance serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    Creating,
    Running,
    Error,
    Deleting,
}

impl InstanceStatus {
    /// The name the management API reports (`InstanceStatus`) and the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Creating => "Creating",
            InstanceStatus::Running => "Running",
            InstanceStatus::Error => "Error",
            InstanceStatus::Deleting => "Deleting",
        }
    }

    pub fn parse(s: &str) -> Option<InstanceStatus> {
        match s {
            "Creating" => Some(InstanceStatus::Creating),
            "Running" => Some(InstanceStatus::Running),
            "Error" => Some(InstanceStatus::Error),
            "Deleting" => Some(InstanceStatus::Deleting),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub instance_type: String,
    pub status: InstanceStatus,
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
