//! The exceptions admission honours: the one place they come from.
use std::time::SystemTime;

use berth_hss::policy::Exception;
use berth_store::StoreError;

use crate::state::App;

/// The exceptions in force at `now`. berth stores no exceptions yet, so there are none; the
/// exception store (issue 12, item 4) is read here, and expired ones are left to `evaluate`,
/// which ignores them.
pub async fn active(_app: &App, _now: SystemTime) -> Result<Vec<Exception>, StoreError> {
    Ok(Vec::new())
}
