//! Operations endpoints: liveness, readiness, Prometheus metrics.
use crate::state::App;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the metadata store answers and the blob store can be read (one cheap request
/// each: balancers probe this twice a second).
pub async fn readyz(State(app): State<App>) -> Response {
    if let Err(e) = app.meta.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("metadata store: {e}"),
        )
            .into_response();
    }
    if let Err(e) = app.blobs.ready().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("blob store: {e}")).into_response();
    }
    "ready".into_response()
}

pub async fn metrics(State(app): State<App>) -> Response {
    match app.meta.counts().await {
        Ok(c) => {
            app.metrics.blob_bytes.set(c.blob_bytes);
            app.metrics.blobs.set(c.blobs);
            app.metrics.repositories.set(c.repositories);
            app.metrics.manifests.set(c.manifests);
        }
        Err(e) => tracing::warn!(error = %e, "cannot read storage counts for metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}
