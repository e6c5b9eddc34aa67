//! Webhook triggers (per namespace) and the log of their delivery attempts.
//!
//! Every attempt that ran is one `webhook_deliveries` row, written with its outcome. Attempts
//! to come are background jobs (see [`crate::JobStore`]): a delivery is one job whose retries
//! are the later attempts, so it survives a restart and never runs twice at once.
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

/// Outcome of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Success,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Success => "Success",
            DeliveryStatus::Failed => "Failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "Success" => Some(DeliveryStatus::Success),
            "Failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// An attempt that ran, to log with its [`DeliveryResult`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookDelivery {
    pub trigger_id: i64,
    pub event_type: String,
    /// The exact body every attempt sends (signed as is).
    pub payload: String,
    /// 1 for the first attempt.
    pub attempt: u32,
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
    /// When the attempt ran.
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
    /// Deletes the trigger with its log (attempts still to come find it gone and stop).
    async fn delete_webhook_trigger(&self, namespace_id: i64, id: i64) -> Result<bool>;
    /// The namespace's enabled triggers subscribed to `event_type`.
    async fn webhook_triggers_for_event(
        &self,
        namespace_id: i64,
        event_type: &str,
    ) -> Result<Vec<WebhookTrigger>>;

    /// Logs an attempt that ran; `None` when its trigger was deleted meanwhile (nothing is
    /// logged).
    async fn record_webhook_delivery(
        &self,
        delivery: &NewWebhookDelivery,
        result: &DeliveryResult,
    ) -> Result<Option<i64>>;
    /// Deletes the log entries of each trigger beyond its newest `keep`; returns how many.
    async fn prune_webhook_deliveries(&self, keep: u32) -> Result<u64>;
    /// One page of the trigger's attempts that ran, newest first, and how many there are.
    async fn list_webhook_deliveries(
        &self,
        trigger_id: i64,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<WebhookDelivery>, u64)>;
}
