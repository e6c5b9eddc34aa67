//! Prometheus metrics: requests and latencies by route, bytes in and out, storage use.
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

/// Admission decisions by outcome (`allow`, `alarm`, `block`, `invalid`, `failure`) and
/// whether the request was a dry run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub verdict: &'static str,
    pub dry_run: bool,
}

pub struct Metrics {
    registry: Registry,
    pub admission_decisions: Family<DecisionLabels, Counter>,
    /// From the request's head to the decision (the TLS handshake is not in it).
    pub admission_latency: Histogram,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pub bytes_in: Family<RouteLabels, Counter>,
    pub bytes_out: Family<RouteLabels, Counter>,
    pub blob_bytes: Gauge,
    pub blobs: Gauge,
    pub repositories: Gauge,
    pub manifests: Gauge,
    pub gc_runs: Counter,
    pub gc_deleted_blobs: Counter,
    pub gc_deleted_manifests: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("berth");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0, 30.0,
            ])
        });
        let bytes_in = Family::<RouteLabels, Counter>::default();
        let bytes_out = Family::<RouteLabels, Counter>::default();
        let m = Metrics {
            admission_decisions: Family::default(),
            admission_latency: Histogram::new([
                0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0, 30.0,
            ]),
            blob_bytes: Gauge::default(),
            blobs: Gauge::default(),
            repositories: Gauge::default(),
            manifests: Gauge::default(),
            gc_runs: Counter::default(),
            gc_deleted_blobs: Counter::default(),
            gc_deleted_manifests: Counter::default(),
            requests,
            latency,
            bytes_in,
            bytes_out,
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route (to response headers)",
            m.latency.clone(),
        );
        registry.register(
            "http_request_bytes",
            "Request body bytes received",
            m.bytes_in.clone(),
        );
        registry.register(
            "http_response_bytes",
            "Response body bytes sent",
            m.bytes_out.clone(),
        );
        registry.register(
            "storage_blob_bytes",
            "Bytes stored in blobs",
            m.blob_bytes.clone(),
        );
        registry.register("storage_blobs", "Blobs stored", m.blobs.clone());
        registry.register(
            "storage_repositories",
            "Repositories",
            m.repositories.clone(),
        );
        registry.register("storage_manifests", "Manifests stored", m.manifests.clone());
        registry.register("gc_runs", "Garbage collection passes", m.gc_runs.clone());
        registry.register(
            "gc_deleted_blobs",
            "Blobs deleted by garbage collection",
            m.gc_deleted_blobs.clone(),
        );
        registry.register(
            "gc_deleted_manifests",
            "Manifests deleted by garbage collection",
            m.gc_deleted_manifests.clone(),
        );
        registry.register(
            "admission_decisions",
            "Admission reviews answered, by verdict",
            m.admission_decisions.clone(),
        );
        registry.register(
            "admission_decision_duration_seconds",
            "Time to decide an admission review",
            m.admission_latency.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The route family of a path, a bounded label set (never the repository name).
pub fn route_of(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/v2/") else {
        return match path {
            "/v2" => "base",
            "/auth/token" => "token",
            "/healthz" | "/readyz" => "probe",
            "/metrics" => "metrics",
            _ => "other",
        };
    };
    if rest.is_empty() {
        "base"
    } else if rest == "_catalog" {
        "catalog"
    } else if rest.contains("/blobs/uploads") {
        "blob_upload"
    } else if rest.contains("/blobs/") {
        "blob"
    } else if rest.contains("/manifests/") {
        "manifest"
    } else if rest.ends_with("/tags/list") {
        "tags"
    } else if rest.contains("/referrers/") {
        "referrers"
    } else {
        "other"
    }
}

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = route_of(req.uri().path());
    let method = req.method().as_str().to_string();
    let is_head = req.method() == axum::http::Method::HEAD;
    let start = Instant::now();
    // Upload bodies are counted as they stream (chunked ones have no Content-Length).
    if route != "blob_upload" {
        metrics
            .bytes_in
            .get_or_create(&RouteLabels { route })
            .inc_by(content_length(req.headers()));
    }
    let resp = next.run(req).await;
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    if !is_head {
        metrics
            .bytes_out
            .get_or_create(&RouteLabels { route })
            .inc_by(content_length(resp.headers()));
    }
    resp
}
