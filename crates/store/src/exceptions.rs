//! Exceptions: accepted risks, each with a scope, a reason, an author and an expiry. The store
//! keeps every exception ever created, revoked and expired ones included (the audit trail);
//! which of them apply to a finding is decided above it (`berth_hss::policy::Exception`).
use crate::Result;
use async_trait::async_trait;

/// A stored exception. A scope field that is `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionRecord {
    /// `ex-` and 16 hex digits.
    pub id: String,
    pub cluster_id: Option<String>,
    pub namespace: Option<String>,
    /// An image or repository pattern (`repo`, `registry/repo`, with `:tag` or `@digest`).
    pub image: Option<String>,
    pub package: Option<String>,
    /// A CVE (or advisory) id, a baseline check id, or a malware name or family.
    pub vulnerability: Option<String>,
    pub reason: String,
    /// Who created it: an access key id, `token:<name>`, or `cli`.
    pub author: String,
    /// How it came in: `api` or `openvex` (with the document's id after a colon).
    pub source: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch; from that second on the exception no longer applies.
    pub expires_at: i64,
    /// Milliseconds since the epoch.
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

#[async_trait]
pub trait ExceptionStore: Send + Sync {
    /// Records exceptions, all or none; `false` (and nothing written) when an id is taken.
    async fn create_exceptions(&self, exceptions: &[ExceptionRecord]) -> Result<bool>;
    /// Every exception, revoked and expired ones included, in creation order.
    async fn list_exceptions(&self) -> Result<Vec<ExceptionRecord>>;
    /// Exceptions neither revoked nor expired at `now_secs` (seconds since the epoch), in
    /// creation order: what the product applies.
    async fn active_exceptions(&self, now_secs: i64) -> Result<Vec<ExceptionRecord>>;
    /// Revokes a live exception; `false` when there is no such unrevoked exception.
    async fn revoke_exception(&self, id: &str, by: &str) -> Result<bool>;
    /// How many exceptions are neither revoked nor expired (for the creation limit).
    async fn count_active_exceptions(&self, now_secs: i64) -> Result<u64>;
}
