//! Who may export: an API token of a role that reads deployments and images (`admin`,
//! `read-only`), or an administrator's Basic credentials ([`crate::principal`]). The export
//! shows every cluster's inventory, so a user who is not an administrator may not.
use axum::http::HeaderMap;

use super::error::{ExportError, ExportResult, Grpc};
use crate::principal::{self, Refused};
use crate::state::App;

/// Checks the caller; `Ok` when it may read the export.
pub async fn authorize(app: &App, headers: &HeaderMap) -> ExportResult<()> {
    let caller = principal::authenticate(app, headers)
        .await
        .map_err(|r| match r {
            Refused::Unauthenticated(m) => ExportError::new(Grpc::Unauthenticated, m),
            Refused::Throttled => ExportError::new(
                Grpc::ResourceExhausted,
                "too many failed logins; retry later",
            ),
            Refused::Internal(m) => ExportError::internal(m),
        })?;
    if caller.role.may_read_inventory() {
        return Ok(());
    }
    Err(ExportError::new(
        Grpc::PermissionDenied,
        format!(
            "{} (role {:?}) may not read every cluster's deployments and images",
            caller.name,
            caller.role.as_str()
        ),
    ))
}
