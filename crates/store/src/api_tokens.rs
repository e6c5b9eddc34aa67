//! API tokens: bearer credentials for berth's HTTP APIs other than the registry's (the
//! vulnerability export first), each with a role and an expiry. Like cluster credentials, the
//! token itself is never stored, only its SHA-256 (a 256-bit random token leaves nothing to
//! guess, so a fast hash suffices); what a role may do is decided by the API layer.
use crate::Result;
use async_trait::async_trait;

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// `at-` and 16 hex digits: what lists and revocations name.
    pub id: String,
    /// Unique among tokens, chosen by whoever created it.
    pub name: String,
    /// The role's wire name (`admin`, `read-only`, `continuous-integration`, `none`); kept as
    /// given.
    pub role: String,
    /// SHA-256 of the token, lowercase hex. Unique.
    pub token_hash: String,
    pub created_at: i64,
    /// Milliseconds since the epoch after which the token is refused; `None`: never.
    pub expires_at: Option<i64>,
    /// When it was revoked; a revoked token never verifies again.
    pub revoked_at: Option<i64>,
}

#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Records a token; `false` when its id, name or hash is taken.
    async fn create_api_token(&self, token: &ApiTokenRecord) -> Result<bool>;
    /// Every token, revoked and expired ones included, in creation order.
    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>>;
    /// Revokes the token; `false` when there is no such live (unrevoked) token.
    async fn revoke_api_token(&self, id: &str) -> Result<bool>;
    /// The token whose secret hashes to `token_hash`, revoked or expired ones included: the
    /// caller says why it is refused.
    async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>>;
}
