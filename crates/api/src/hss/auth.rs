//! Who signed a request: SDK-HMAC-SHA256 (`berth_hss::sign`, exactly as huaweicloudsdkcore
//! signs) with berth's access keys, the management API's (`berth admin access-key`; the same
//! key store as `kcr/keys.rs` and the image-risk surface). The secret is opened from its sealed
//! form only after the request parsed and its time checked, so a malformed or stale request
//! costs no key lookup.
//!
//! `X-Auth-Token`: the seed's header for IAM tokens. berth has no API-token credential this
//! surface could check (registry login tokens are per instance and for `docker login`), so a
//! request carrying only a token is answered with a clear 401 (`HSS.0401`) rather than
//! treated as anonymous or as a failed signature.
use std::time::SystemTime;

use axum::http::request::Parts;
use berth_hss::sign::{self, Secret};

use super::error::{HssError, HssResult};
use crate::state::App;

/// Who is calling.
pub struct Caller {
    pub access_key_id: String,
    pub read_only: bool,
}

/// Verifies the request (its parts and the body, read within the surface's limit).
pub async fn verify(app: &App, parts: &Parts, body: &[u8]) -> HssResult<Caller> {
    let has_signature = parts.headers.contains_key("authorization");
    if !has_signature && parts.headers.contains_key("x-auth-token") {
        return Err(HssError::token_unavailable());
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
        access_key_id: key.access_key_id,
        read_only: key.read_only,
    })
}
