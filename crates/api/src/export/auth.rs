//! Who may export: an API token (`Authorization: Bearer bat_...`) of a role that reads
//! deployments and images (`admin`, `read-only`), or an administrator's Basic credentials. The
//! export shows every cluster's inventory, so a user who is not an administrator may not.
use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::error::{ExportError, ExportResult, Grpc};
use crate::api_tokens;
use crate::state::App;

fn denied(message: &str) -> ExportError {
    ExportError::new(Grpc::PermissionDenied, message)
}

fn unauthenticated(message: &str) -> ExportError {
    ExportError::new(Grpc::Unauthenticated, message)
}

/// Checks the caller; `Ok` when it may read the export.
pub async fn authorize(app: &App, headers: &HeaderMap) -> ExportResult<()> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("credentials are required: an API token or Basic"))?
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not text"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let verified = api_tokens::verify(app.meta.as_ref(), rest.trim())
            .await
            .map_err(ExportError::internal)?;
        return match verified {
            Err(refusal) => Err(unauthenticated(refusal.message())),
            Ok((_, role)) if role.may_read_inventory() => Ok(()),
            Ok((_, role)) => Err(denied(&format!(
                "the API token's role {:?} may not read deployments and images",
                role.as_str()
            ))),
        };
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
        let user = app
            .auth
            .verify_user(app.meta.as_ref(), &user, &pass)
            .await
            .map_err(|e| match e.code {
                crate::error::Code::TooManyRequests => ExportError::new(
                    Grpc::ResourceExhausted,
                    "too many failed logins; retry later",
                ),
                _ => ExportError::internal("cannot verify the credentials"),
            })?
            .ok_or_else(|| unauthenticated("invalid username or password"))?;
        return if user.is_admin {
            Ok(())
        } else {
            Err(denied(
                "only administrators may export every cluster's workloads",
            ))
        };
    }
    Err(unauthenticated("unsupported authorization scheme"))
}
