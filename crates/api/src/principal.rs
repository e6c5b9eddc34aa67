//! Who calls berth's own JSON APIs (the workload export, exceptions): an API token
//! (`Authorization: Bearer bat_...`, with its role) or a user's Basic credentials (an
//! administrator acts as `admin`; any other user has no role on these APIs). Each surface maps
//! a [`Refused`] into its own error format and decides what a role may do.
use axum::http::{HeaderMap, header};
use base64::Engine as _;

use crate::api_tokens::{self, ApiRole};
use crate::state::App;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `token:<name>` or `user:<name>`, for audit lines and records.
    pub name: String,
    pub role: ApiRole,
}

/// Why no principal could be established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No credentials, malformed ones, or ones that do not verify (401); the message says
    /// which, never what was expected.
    Unauthenticated(String),
    /// Too many failed logins from this client.
    Throttled,
    /// The store could not be read.
    Internal(String),
}

fn unauthenticated(m: &str) -> Refused {
    Refused::Unauthenticated(m.to_string())
}

/// Establishes the caller from the `Authorization` header.
pub async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, Refused> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("credentials are required: an API token or Basic"))?
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not text"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let (record, role) = api_tokens::verify(app.meta.as_ref(), rest.trim())
            .await
            .map_err(|e| Refused::Internal(e.to_string()))?
            .map_err(|refusal| unauthenticated(refusal.message()))?;
        return Ok(Principal {
            name: format!("token:{}", record.name),
            role,
        });
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let (user, pass) = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
            .ok_or_else(|| unauthenticated("malformed Basic credentials"))?;
        let verified = app
            .auth
            .verify_user(app.meta.as_ref(), &user, &pass)
            .await
            .map_err(|e| match e.code {
                crate::error::Code::TooManyRequests => Refused::Throttled,
                _ => Refused::Internal("cannot verify the credentials".into()),
            })?
            .ok_or_else(|| unauthenticated("invalid username or password"))?;
        return Ok(Principal {
            name: format!("user:{user}"),
            role: if verified.is_admin {
                ApiRole::Admin
            } else {
                ApiRole::None
            },
        });
    }
    Err(unauthenticated("unsupported authorization scheme"))
}
