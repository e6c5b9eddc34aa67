//! The Kubernetes admission webhook (issue 12, item 3): a `ValidatingAdmissionWebhook` that
//! kube-apiserver calls over HTTPS with an `admission.k8s.io/v1` `AdmissionReview` for every
//! Pod and pod-template workload created or updated, answered from berth's policies and scans.
//!
//! - [`review`]: the wire format; [`workload`]: the containers of each kind.
//! - [`decide`]: the decision procedure over a [`source::Source`] ([`store_source`] reads
//!   berth's stores; [`findings`] turns a stored scan into a policy's findings;
//!   [`exceptions`] is where the exceptions in force come from); [`message`] words it.
//! - [`record`]: HSS events, webhook events, the audit log and the inventory.
//! - [`tls`], [`listener`]: the HTTPS listener; [`manifest`]: the `ValidatingWebhookConfiguration`.
//!
//! Routes (on the admission listener only):
//! `POST /api/admission/v1/clusters/{cluster_id}/{credential}/validate` — the credential is a
//! cluster credential (`bcc_...`) in the path, since a webhook configuration can carry no
//! header; `POST /api/admission/v1/clusters/{cluster_id}/validate` takes it as
//! `Authorization: Bearer` instead (kube-apiserver's `--admission-control-config-file`
//! kubeconfig). The path is never logged.
pub mod config;
pub mod decide;
pub mod exceptions;
pub mod findings;
pub mod listener;
pub mod manifest;
pub mod message;
pub mod record;
pub mod review;
pub mod source;
pub mod state;
pub mod store_source;
pub mod tls;
pub mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::metrics::DecisionLabels;
use crate::state::App;

/// The largest review read: kube-apiserver's own request limit (3 MiB); etcd keeps objects of at
/// most 1.5 MiB, so a real review is always smaller.
pub const MAX_BODY_BYTES: usize = 3 << 20;
/// The most of a too-large body read (and dropped) before answering.
const DRAIN_BYTES: usize = 16 << 20;
/// Kept from the caller's timeout for the answer's way back.
const MARGIN: Duration = Duration::from_millis(200);

/// The admission routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/api/admission/v1/clusters/{cluster_id}/validate",
            post(validate_with_header),
        )
        .route(
            "/api/admission/v1/clusters/{cluster_id}/{credential}/validate",
            post(validate_with_path),
        )
        .with_state(app)
}

async fn validate_with_header(
    State(app): State<App>,
    Path(cluster_id): Path<String>,
    req: Request,
) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    validate(app, cluster_id, token, req).await
}

async fn validate_with_path(
    State(app): State<App>,
    Path((cluster_id, credential)): Path<(String, String)>,
    req: Request,
) -> Response {
    validate(app, cluster_id, Some(credential), req).await
}

/// The time to decide in: the request's `?timeout=` (what kube-apiserver appends: the
/// webhook's `timeoutSeconds`) or the configured one, less a margin for the way back.
fn budget(app: &App, query: Option<&str>) -> Duration {
    let asked = crate::http_util::query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "timeout")
        .and_then(|(_, v)| review::go_duration(&v))
        .unwrap_or(Duration::from_secs(app.config.admission.timeout_secs));
    asked
        .saturating_sub(MARGIN.min(asked / 5))
        .max(Duration::from_millis(1))
}

/// Why a body was not read.
enum Unread {
    TooLarge,
    Late,
    Broken,
}

/// The body, up to [`MAX_BODY_BYTES`], by `deadline`. A larger body is read on (and dropped)
/// up to [`DRAIN_BYTES`], so that its sender, still writing, gets the answer instead of a
/// reset connection; past that the connection is closed.
async fn read_body(body: axum::body::Body, deadline: Instant) -> Result<bytes::Bytes, Unread> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => return Err(Unread::Late),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(Unread::Broken),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_BYTES {
            return Err(Unread::TooLarge);
        }
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(Unread::TooLarge);
    }
    Ok(kept.into())
}

async fn validate(app: App, cluster_id: String, token: Option<String>, req: Request) -> Response {
    let started = Instant::now();
    let deadline = started + budget(&app, req.uri().query());
    let failure = app.config.admission.failure_policy;
    let outcome = match read_body(req.into_body(), deadline).await {
        Err(Unread::TooLarge) => {
            decide::failure("", failure, 413, "the review is larger than 3 MiB")
        }
        Err(Unread::Late) => decide::failure("", failure, 504, "the review did not arrive in time"),
        Err(Unread::Broken) => decide::failure("", failure, 400, "the review did not arrive whole"),
        Ok(body) => {
            let source = store_source::AppSource(app.clone());
            decide::decide_by(
                deadline.into(),
                &source,
                &cluster_id,
                token.as_deref(),
                &body,
                failure,
                SystemTime::now(),
            )
            .await
        }
    };
    let dry_run = outcome.decided.as_ref().is_some_and(|d| d.dry_run);
    app.metrics
        .admission_decisions
        .get_or_create(&DecisionLabels {
            verdict: outcome.class.as_str(),
            dry_run,
        })
        .inc();
    app.metrics
        .admission_latency
        .observe(started.elapsed().as_secs_f64());
    tracing::debug!(target: "admission", verdict = outcome.class.as_str(), dry_run,
        micros = started.elapsed().as_micros() as u64, "admission review answered");
    if let Some(decided) = outcome.decided {
        let allowed = outcome.response.allowed;
        // After the answer: recording must not spend the API server's budget.
        let app = app.clone();
        tokio::spawn(async move { record::record(&app, &decided, allowed).await });
    }
    Json(outcome.response.review()).into_response()
}

/// The listener's TLS configuration: the configured certificate, or the generated one.
pub fn tls_config(
    config: &crate::config::Config,
) -> Result<Arc<rustls::ServerConfig>, tls::TlsError> {
    tls::server_config(&tls::load_or_create(config)?)
}

/// Serves the admission routes over HTTPS until `shutdown` resolves.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let grace = Duration::from_secs(app.config.limits.shutdown_grace_secs);
    listener::serve(listener, tls, router(app), grace, shutdown).await;
}

#[cfg(test)]
mod decide_tests;
