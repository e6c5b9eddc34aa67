//! The exceptions admission honours: the one place they come from, the store's set in force
//! ([`crate::exceptions::Active`]); `evaluate` checks each one's expiry again at the decision's
//! instant.
use std::time::SystemTime;

use berth_hss::policy::Exception;
use berth_store::StoreError;

use crate::state::App;

/// The exceptions in force at `now`.
pub async fn active(app: &App, now: SystemTime) -> Result<Vec<Exception>, StoreError> {
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(app
        .meta
        .active_exceptions(now_secs)
        .await?
        .iter()
        .map(crate::exceptions::to_policy)
        .collect())
}
