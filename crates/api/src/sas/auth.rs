//! Signature verification with berth's management access keys, and what a key may call.
//!
//! The keys are the management API's (`berth admin access-key`): the same id and secret sign
//! SigV4 requests there and ACS3 / v2 requests here. The secret is opened from its sealed form
//! with the master key only once the request parsed and its time checked, so a malformed or
//! stale request costs no key lookup.
use std::time::SystemTime;

use axum::http::request::Parts;
use berth_acs::{AcsError, AcsResult, Secret, Verified};

use crate::state::App;

/// Who signed a request, and with which access.
pub struct Caller {
    pub verified: Verified,
    pub read_only: bool,
}

/// Verifies the request (parts and the body read within the verifier's limit): parse, time,
/// key lookup, signature, then the nonce (recorded only for a request that verified).
pub async fn verify(app: &App, parts: &Parts, body: &[u8]) -> AcsResult<Caller> {
    let now = SystemTime::now();
    let request = berth_acs::Request::from_parts(parts, body);
    let unverified = berth_acs::parse(&request, app.runtime.acs.limits())?;
    unverified.check_time(now)?;
    let key = app
        .meta
        .get_api_key(unverified.access_key_id())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read API keys");
            AcsError::ServerError
        })?
        .filter(|k| k.enabled)
        .ok_or(AcsError::InvalidAccessKeyIdNotFound)?;
    let secret = app
        .master_key
        .open(&key.access_key_id, &key.sealed_secret)
        .ok_or_else(|| {
            tracing::error!(key = %key.access_key_id, "API key secret does not open with the master key");
            AcsError::ServerError
        })?;
    let verified = unverified.verify(&Secret::new(secret), app.runtime.acs.nonces(), now)?;
    // Replicas on one PostgreSQL share the replay check: a request replayed to another replica
    // within the window is refused there too. (One process on SQLite: its own cache suffices.)
    if app.config.metadata.engine() == Ok(crate::config::Engine::Postgres) {
        let (key, until) = verified.replay_key();
        let first = app
            .meta
            .claim_nonce(key, until.saturating_mul(1000))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot record a signature nonce");
                AcsError::ServerError
            })?;
        if !first {
            return Err(AcsError::SignatureNonceUsed);
        }
    }
    Ok(Caller {
        verified,
        read_only: key.read_only,
    })
}

/// Whether a key may call the action. Both operations of this surface read (the seeds' access
/// levels are List and Get), so read-only keys may call them, as they may call the management
/// API's Describe* actions; an operation that writes would need a read-write key
/// (`NoPermission` otherwise).
pub fn permitted(action: &str, read_only: bool) -> bool {
    !read_only || is_read(action)
}

fn is_read(action: &str) -> bool {
    ["List", "Describe", "Get", "Query"]
        .iter()
        .any(|p| action.starts_with(p))
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_only_keys_read() {
        assert!(super::permitted("ListImageRisk", true));
        assert!(super::permitted(
            "DescribeClusterImageSecuritySummary",
            true
        ));
        assert!(!super::permitted("ModifyImageRisk", true));
        assert!(super::permitted("ModifyImageRisk", false));
    }
}
