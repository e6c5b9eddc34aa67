//! The runtime inventory's HTTP side: clusters report what runs in them, and the image-risk
//! surface ([`crate::sas`]) reads it.
//!
//! - [`clusters`]: creating clusters and their credentials (for `berth admin cluster`), and
//!   turning a stored cluster record into the inventory model's [`berth_inventory::Cluster`].
//! - [`ingest`]: `PUT /api/runtime/v1/clusters/{id}/snapshot` (what `kubectl get
//!   pods,deployments,... -A -o json` prints, replacing the cluster's inventory atomically) and
//!   `POST /api/runtime/v1/clusters/{id}/events` (one watch event, applied whole), each
//!   authenticated with that cluster's own credential (`Authorization: Bearer ...`).
//! - [`snapshots`]: parsed snapshots kept in memory by (cluster, version), so readers parse a
//!   stored document once per change, not once per request.
//!
//! Errors of this surface are JSON `{"error": {"code": ..., "message": ...}}` ([`error`]).
pub mod clusters;
mod credentials;
mod error;
pub(crate) mod ingest;
pub mod snapshots;
pub mod state;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::App;

pub use error::RuntimeError;
pub use state::RuntimeState;

/// The ingestion routes, for [`crate::router`] to merge.
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/runtime/v1/clusters/{id}/snapshot",
            put(ingest::put_snapshot),
        )
        .route(
            "/api/runtime/v1/clusters/{id}/events",
            post(ingest::post_event),
        )
        .route(
            "/api/runtime/v1/clusters/{id}/credentials",
            get(credentials::list).post(credentials::issue),
        )
        .route(
            "/api/runtime/v1/clusters/{id}/credentials/{credential_id}",
            delete(credentials::revoke),
        )
}
