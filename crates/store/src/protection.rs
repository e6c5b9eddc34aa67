//! Cluster protection: the state behind the HSS cluster-protect API (`crates/api/src/hss/`).
//!
//! - Policies belong to a project (a berth instance) and are stored as the vendor's JSON
//!   document, which the API layer has validated with `berth_hss::policy`; the store does not
//!   parse it (as with snapshots, the store keeps documents and the columns lists need).
//! - Events are what admission decided against a policy; admission records them with
//!   [`ProtectionStore::record_protection_event`], the API lists them and changes their status.
//! - A cluster's protection mode is [`crate::ClusterRecord::protection`], set here for several
//!   clusters at once, all or none.
use crate::Result;
use async_trait::async_trait;

/// A stored cluster-protection policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionPolicy {
    /// The instance (project) the policy belongs to.
    pub project_id: String,
    /// Unique within the project; chosen by the caller (the vendor's API takes it in the body).
    pub policy_id: String,
    pub policy_name: String,
    pub template_id: String,
    /// The policy as the vendor's JSON (`ModPolicyRequestInfo`).
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Event handling states, as the vendor's `handle_status` names them.
pub const EVENT_UNHANDLED: &str = "unhandled";
pub const EVENT_HANDLED: &str = "handled";

/// A cluster-protection event (the vendor's `ClusterEventResponseInfo`, flattened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionEvent {
    pub project_id: String,
    /// Unique within the project.
    pub event_id: String,
    pub cluster_id: String,
    pub cluster_name: String,
    pub policy_id: String,
    pub policy_name: String,
    pub event_name: String,
    pub event_class_id: String,
    pub event_type: i64,
    pub event_content: String,
    /// What admission did (`alarm`, `block`, `allow`).
    pub action: String,
    /// [`EVENT_UNHANDLED`] or [`EVENT_HANDLED`].
    pub handle_status: String,
    /// The vendor's `resource_info` object, as JSON.
    pub resource_info: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One page of a list, with the number of items on every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionPage<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// Event counts of a project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtectionEventCounts {
    pub total: u64,
    /// Events whose action was `block`.
    pub blocked: u64,
}

#[async_trait]
pub trait ProtectionStore: Send + Sync {
    /// Stores a new policy; `false` (nothing written) when the project already has one with
    /// that id, or the project does not exist.
    async fn create_protection_policy(&self, policy: &ProtectionPolicy) -> Result<bool>;
    /// Replaces the policy's name, template and document (its `created_at` is kept);
    /// `false` when the project has no such policy.
    async fn update_protection_policy(&self, policy: &ProtectionPolicy) -> Result<bool>;
    /// `false` when the project has no such policy.
    async fn delete_protection_policy(&self, project_id: &str, policy_id: &str) -> Result<bool>;
    async fn get_protection_policy(
        &self,
        project_id: &str,
        policy_id: &str,
    ) -> Result<Option<ProtectionPolicy>>;
    /// Every policy of the project, oldest first (then by id).
    async fn list_protection_policies(&self, project_id: &str) -> Result<Vec<ProtectionPolicy>>;

    /// Records an event (admission's write); `false` when its id is taken in the project or the
    /// project does not exist.
    async fn record_protection_event(&self, event: &ProtectionEvent) -> Result<bool>;
    /// The project's events, newest first (then by id), of one cluster or all, from `offset`.
    async fn list_protection_events(
        &self,
        project_id: &str,
        cluster_id: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<ProtectionPage<ProtectionEvent>>;
    async fn count_protection_events(&self, project_id: &str) -> Result<ProtectionEventCounts>;
    /// Sets the status of every listed event, all or none: `None` (nothing written) when one of
    /// them is not the project's; else the events as they now are, in the order given.
    async fn set_protection_event_status(
        &self,
        project_id: &str,
        event_ids: &[String],
        handle_status: &str,
        now: i64,
    ) -> Result<Option<Vec<ProtectionEvent>>>;

    /// Sets [`crate::ClusterRecord::protection`] of every listed cluster, all or none: `false`
    /// (nothing written) when one of them does not exist.
    async fn set_cluster_protection(
        &self,
        cluster_ids: &[String],
        protection: &str,
    ) -> Result<bool>;
}
