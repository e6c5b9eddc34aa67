//! The exceptions admission honours: the one place they come from, the store's set in force,
//! kept one second like admission's other caches (this process's exception writes clear it);
//! `evaluate` checks each one's expiry again at the decision's instant.
use std::sync::Arc;
use std::time::SystemTime;

use berth_hss::policy::Exception;
use berth_store::StoreError;

use crate::state::App;

/// The exceptions in force at `now`.
pub async fn active(app: &App, now: SystemTime) -> Result<Vec<Exception>, StoreError> {
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if let Some(hit) = app.admission.exceptions.get(&()) {
        return Ok(hit.as_ref().clone());
    }
    let active: Vec<Exception> = app
        .meta
        .active_exceptions(now_secs)
        .await?
        .iter()
        .map(crate::exceptions::to_policy)
        .collect();
    app.admission
        .exceptions
        .insert((), Arc::new(active.clone()));
    Ok(active)
}
