//! API tokens: bearer credentials with a role and an expiry for berth's own HTTP APIs (the
//! vulnerability export, `GET /v1/export/vuln-mgmt/workloads`). Created and revoked by `berth
//! admin api-token` and the management API's `CreateApiToken` / `DeleteApiToken`.
//!
//! A token is `bat_` + 43 base64url characters (256 random bits), shown once. Only its SHA-256
//! is stored: the token is random, so a fast hash leaves nothing to guess, and a lookup by hash
//! costs one indexed read (argon2 is for passwords, which people choose).
//!
//! Roles follow StackRox's default roles, whose API tokens this imitates:
//!
//! | role | may |
//! | --- | --- |
//! | `admin` | everything an API token can do |
//! | `read-only` (StackRox's Analyst) | read: the vulnerability export |
//! | `continuous-integration` | nothing yet (image checks, when berth has them); not the export, which needs read access to deployments |
//! | `none` | nothing (a token kept for its audit trail) |
use base64::Engine as _;
use berth_store::{ApiTokenRecord, MetadataStore, StoreError, now_millis};
use rand::RngCore;
use sha2::{Digest as _, Sha256};

/// The prefix of every API token, so a leaked one is recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "bat_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRole {
    Admin,
    ReadOnly,
    ContinuousIntegration,
    None,
}

impl ApiRole {
    pub const ALL: [ApiRole; 4] = [
        ApiRole::Admin,
        ApiRole::ReadOnly,
        ApiRole::ContinuousIntegration,
        ApiRole::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::Admin => "admin",
            ApiRole::ReadOnly => "read-only",
            ApiRole::ContinuousIntegration => "continuous-integration",
            ApiRole::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<ApiRole> {
        ApiRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role reads deployments and images (what the workload export shows).
    pub fn may_read_inventory(self) -> bool {
        matches!(self, ApiRole::Admin | ApiRole::ReadOnly)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("an API token named {0:?} exists already")]
    NameTaken(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A token just created: the only time its secret exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct IssuedApiToken {
    pub record: ApiTokenRecord,
    pub token: String,
}

/// What is stored of a token: its SHA-256, lowercase hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Longest token name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest validity a token may be given: ten years, in seconds (a bound, so expiry arithmetic
/// cannot overflow whatever a caller asks).
pub const MAX_TTL_SECS: u64 = 10 * 365 * 86_400;

/// Creates a token named `name` with `role`, expiring `ttl_secs` from now (`None`: never).
pub async fn create(
    meta: &dyn MetadataStore,
    name: &str,
    role: ApiRole,
    ttl_secs: Option<u64>,
) -> Result<IssuedApiToken, ApiTokenError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ApiTokenError::Invalid {
            field: "name",
            reason: format!("1 to {MAX_NAME_LEN} bytes, no control characters"),
        });
    }
    let expires_at = match ttl_secs {
        None => None,
        Some(t) if t == 0 || t > MAX_TTL_SECS => {
            return Err(ApiTokenError::Invalid {
                field: "ttl",
                reason: format!("1 to {MAX_TTL_SECS} seconds"),
            });
        }
        // Bounded above, so the product fits an i64.
        Some(t) => Some(now_millis().saturating_add(i64::try_from(t).unwrap_or(0) * 1000)),
    };
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>())
    );
    let record = ApiTokenRecord {
        id: format!("at-{}", hex::encode(random::<8>())),
        name: name.to_string(),
        role: role.as_str().to_string(),
        token_hash: token_hash(&token),
        created_at: now_millis(),
        expires_at,
        revoked_at: None,
    };
    if !meta.create_api_token(&record).await? {
        return Err(ApiTokenError::NameTaken(name.to_string()));
    }
    Ok(IssuedApiToken { record, token })
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown API token",
            Refusal::Revoked => "the API token was revoked",
            Refusal::Expired => "the API token has expired",
        }
    }
}

/// The role of a live token, or why it is refused. A role this build does not know reads as
/// `none`: a newer process's role never grants more here.
pub async fn verify(
    meta: &dyn MetadataStore,
    token: &str,
) -> Result<Result<(ApiTokenRecord, ApiRole), Refusal>, StoreError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 256 {
        return Ok(Err(Refusal::Unknown));
    }
    let Some(record) = meta.api_token_by_hash(&token_hash(token)).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if record.revoked_at.is_some() {
        return Ok(Err(Refusal::Revoked));
    }
    if record.expires_at.is_some_and(|e| e <= now_millis()) {
        return Ok(Err(Refusal::Expired));
    }
    let role = ApiRole::parse(&record.role).unwrap_or(ApiRole::None);
    Ok(Ok((record, role)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_readers_export() {
        for r in ApiRole::ALL {
            assert_eq!(ApiRole::parse(r.as_str()), Some(r));
        }
        assert!(ApiRole::Admin.may_read_inventory());
        assert!(ApiRole::ReadOnly.may_read_inventory());
        assert!(!ApiRole::ContinuousIntegration.may_read_inventory());
        assert!(!ApiRole::None.may_read_inventory());
        assert_eq!(ApiRole::parse("Admin"), None);
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
