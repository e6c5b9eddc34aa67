//! Who signed a request: SDK-HMAC-SHA256 (`berth_hss::sign`, exactly as huaweicloudsdkcore
//! signs) with berth's access keys, the management API's (`berth admin access-key`; the same
//! key store as `kcr/keys.rs` and the image-risk surface). The secret is opened from its sealed
//! form only after the request parsed and its time checked, so a malformed or stale request
//! costs no key lookup.
//!
//! `X-Auth-Token`: the seed's header for IAM tokens takes berth's API tokens (`bat_...`,
//! [`crate::api_tokens`]): an `admin` token reads and writes, a `read-only` one reads; the
//! other roles (`continuous-integration`, `none`) are refused with 403 `HSS.0403`. An unknown,
//! revoked or expired token is 401 `APIGW.0301`, as a bad signature is. A request that carries
//! both a signature and a token is judged by its signature (the SDK signs; a stray header does
//! not change who signed).
use std::time::SystemTime;

use axum::http::request::Parts;
use berth_hss::sign::{self, Secret};

use super::error::{HssError, HssResult};
use crate::api_tokens::{self, ApiRole};
use crate::state::App;

/// Who is calling.
pub struct Caller {
    /// The access key id, or `token:<name>` for an API token (for logs).
    pub principal: String,
    pub read_only: bool,
}

/// Verifies the request (its parts and the body, read within the surface's limit).
pub async fn verify(app: &App, parts: &Parts, body: &[u8]) -> HssResult<Caller> {
    let has_signature = parts.headers.contains_key("authorization");
    if !has_signature && let Some(token) = parts.headers.get("x-auth-token") {
        return verify_token(app, token.as_bytes()).await;
    }
    if !has_signature {
        return Err(HssError::unauthenticated(
            "the request is not signed (no Authorization header)",
        ));
    }
    let now = SystemTime::now();
    let request = sign::Request::from_parts(parts, body);
    let unverified = sign::parse(&request)?;
    unverified.check_time(now, sign::MAX_SKEW_SECS)?;
    let key = app
        .meta
        .get_api_key(unverified.access_key_id())
        .await?
        .filter(|k| k.enabled)
        .ok_or_else(|| HssError::unauthenticated("unknown or disabled access key"))?;
    let secret = app
        .master_key
        .open(&key.access_key_id, &key.sealed_secret)
        .ok_or_else(|| {
            tracing::error!(key = %key.access_key_id, "API key secret does not open with the master key");
            HssError::internal()
        })?;
    unverified.verify(&Secret::new(secret), &request, now)?;
    Ok(Caller {
        principal: key.access_key_id,
        read_only: key.read_only,
    })
}

/// An `X-Auth-Token` carrying a berth API token.
async fn verify_token(app: &App, token: &[u8]) -> HssResult<Caller> {
    let token = std::str::from_utf8(token)
        .map_err(|_| HssError::unauthenticated("the X-Auth-Token is not text"))?;
    let (record, role) = api_tokens::verify(app.meta.as_ref(), token)
        .await?
        .map_err(|refusal| HssError::unauthenticated(refusal.message()))?;
    let read_only = match role {
        ApiRole::Admin => false,
        ApiRole::ReadOnly => true,
        ApiRole::ContinuousIntegration | ApiRole::None => {
            tracing::info!(token = %record.name, role = role.as_str(), "API token role refused");
            return Err(HssError::role_refused(role.as_str()));
        }
    };
    Ok(Caller {
        principal: format!("token:{}", record.name),
        read_only,
    })
}
