//! Webhook triggers (per namespace) and their delivery attempts.
//!
//! Every attempt is one `webhook_deliveries` row. An attempt that has not run yet is `Pending`
//! with a due time; whoever runs it first claims it by pushing the due time past a lease, so a
//! pending attempt survives a restart (the lease expires and a retry loop picks it up) and two
//! processes never run the same attempt at once.
use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One custom header a trigger sends, with all its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookHeader {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookTrigger {
    pub instance_id: String,
    pub namespace_id: i64,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: Vec<WebhookHeader>,
    pub enabled: bool,
    /// The HMAC key deliveries are signed with.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTrigger {
    pub id: i64,
    pub instance_id: String,
    pub namespace_id: i64,
    /// The namespace's name.
    pub namespace: String,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub headers: Vec<WebhookHeader>,
    pub enabled: bool,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A partial update: `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookTriggerUpdate {
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<Vec<WebhookHeader>>,
    pub enabled: Option<bool>,
}

/// Outcome of an attempt; `Pending` is an attempt not made yet (never listed in the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Success,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Success => "Success",
            DeliveryStatus::Failed => "Failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "Pending" => Some(DeliveryStatus::Pending),
            "Success" => Some(DeliveryStatus::Success),
            "Failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// An attempt to schedule: it is due at `due_at` (Unix ms), or already claimed by its creator
/// until then when the creator runs it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookDelivery {
    pub trigger_id: i64,
    pub event_type: String,
    /// The exact body every attempt sends (signed as is).
    pub payload: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub due_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub trigger_id: i64,
    pub namespace_id: i64,
    pub namespace: String,
    pub event_type: String,
    pub payload: String,
    pub attempt: u32,
    pub status: DeliveryStatus,
    pub status_code: Option<u16>,
    /// A short excerpt of the response body, or why no response came.
    pub response: Option<String>,
    /// The URL the attempt was sent to.
    pub url: Option<String>,
    /// When a pending attempt is due (or its claim expires); `None` once it ran.
    pub due_at: Option<i64>,
    /// When the attempt ran (when it was scheduled, while pending).
    pub created_at: i64,
}

/// What an attempt produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    pub success: bool,
    pub status_code: Option<u16>,
    pub response: Option<String>,
    pub url: String,
    /// When the attempt ran (Unix ms).
    pub at: i64,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates the trigger unless its namespace already holds `max_per_namespace` triggers
    /// (then `None`).
    async fn create_webhook_trigger(
        &self,
        trigger: &NewWebhookTrigger,
        max_per_namespace: u32,
    ) -> Result<Option<WebhookTrigger>>;
    /// The trigger, if it exists in that namespace.
    async fn get_webhook_trigger(
        &self,
        namespace_id: i64,
        id: i64,
    ) -> Result<Option<WebhookTrigger>>;
    /// One page of the namespace's triggers, newest first, and how many there are in all.
    async fn list_webhook_triggers(
        &self,
        namespace_id: i64,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<WebhookTrigger>, u64)>;
    /// Applies the update; `None` when no such trigger is in the namespace.
    async fn update_webhook_trigger(
        &self,
        namespace_id: i64,
        id: i64,
        update: &WebhookTriggerUpdate,
    ) -> Result<Option<WebhookTrigger>>;
    /// Deletes the trigger with its log and pending attempts.
    async fn delete_webhook_trigger(&self, namespace_id: i64, id: i64) -> Result<bool>;
    /// The namespace's enabled triggers subscribed to `event_type`.
    async fn webhook_triggers_for_event(
        &self,
        namespace_id: i64,
        event_type: &str,
    ) -> Result<Vec<WebhookTrigger>>;

    /// Records a pending attempt; returns its id.
    async fn schedule_webhook_delivery(&self, delivery: &NewWebhookDelivery) -> Result<i64>;
    /// Pending attempts due at `now`, oldest first.
    async fn due_webhook_deliveries(&self, now: i64, limit: u32) -> Result<Vec<i64>>;
    /// Claims a pending attempt that is due at `now` until `lease_until`; `None` when it is not
    /// pending, not due, or someone else claimed it first.
    async fn claim_webhook_delivery(
        &self,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<WebhookDelivery>>;
    /// Extends a claim from `held_until` (the lease its holder set) to `lease_until`; false when
    /// the attempt is no longer pending or another runner claimed it after the lease ran out.
    async fn renew_webhook_claim(&self, id: i64, held_until: i64, lease_until: i64)
    -> Result<bool>;
    /// Records the outcome of a claimed attempt and, in the same transaction, schedules the next
    /// one (returning its id).
    async fn finish_webhook_delivery(
        &self,
        id: i64,
        result: &DeliveryResult,
        retry: Option<&NewWebhookDelivery>,
    ) -> Result<Option<i64>>;
    /// Deletes the log entries of each trigger beyond its newest `keep`; returns how many.
    async fn prune_webhook_deliveries(&self, keep: u32) -> Result<u64>;
    /// Drops a pending attempt (its trigger was disabled or unsubscribed meanwhile).
    async fn cancel_webhook_delivery(&self, id: i64) -> Result<()>;
    /// One page of the trigger's attempts that ran, newest first, and how many there are.
    async fn list_webhook_deliveries(
        &self,
        trigger_id: i64,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<WebhookDelivery>, u64)>;
}
