//! berth's HTTP surfaces, authentication, background jobs and configuration.
//!
//! Error policy: handlers return [`error::ApiError`]; storage and parsing errors are mapped to the
//! OCI error codes once, in `error.rs`, and nowhere else.
pub mod admission;
pub mod api_tokens;
mod auth;
pub mod config;
mod conn;
mod console;
mod effects;
mod error;
pub mod exceptions;
mod export;
mod hss;
mod http_util;
mod jobs;
pub mod kcr;
mod metrics;
mod network;
pub mod notices;
mod ops;
mod principal;
mod registry;
pub mod runtime;
mod sas;
pub mod scan_cache;
#[cfg(feature = "scanner")]
pub mod scanning;
mod seal;
mod start_error;
pub mod starting;
mod state;
pub mod stores;
mod upload_limits;
pub mod webhooks;

pub use jobs::{GcError, run_gc};

pub use berth_registry::{content, gc};

pub use auth::hash_password;
pub use conn::raise_fd_limit;
pub use state::{App, AppState};

use axum::Router;
use axum::http::{HeaderName, Request};
use base64::Engine as _;
use berth_store::{BlobStore, MetadataStore};
use config::Config;
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub use start_error::StartError;
pub use stores::open_stores;

fn random_secret(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the first start created and must tell its operator once.
pub struct Bootstrap {
    /// The generated admin password, when `BERTH_ADMIN_PASSWORD` was not set.
    pub generated_admin_password: Option<String>,
}

/// Builds the application to serve it: default instance, signing secret, and on the first
/// start the admin user (with `admin_password`, or a generated one the caller must show).
pub async fn build(
    config: Config,
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    admin_password: Option<String>,
) -> Result<(App, Bootstrap), StartError> {
    build_app(config, meta, blobs, Some(admin_password)).await
}

/// Builds the application for a command that maintains the data directory without serving it
/// (`berth gc`): no admin user is created. A generated password is only ever shown by `serve`,
/// so an admin made here would have a password nobody knows, and `serve` would then not create
/// one with `BERTH_ADMIN_PASSWORD`.
pub async fn build_for_maintenance(
    config: Config,
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
) -> Result<App, StartError> {
    Ok(build_app(config, meta, blobs, None).await?.0)
}

/// `admin`: `Some(password)` creates the admin user when there is none (`Some(None)`: with a
/// generated password), `None` never does.
async fn build_app(
    mut config: Config,
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    admin: Option<Option<String>>,
) -> Result<(App, Bootstrap), StartError> {
    config.normalize();
    let instance = meta.ensure_default_instance("default").await?;
    let secret = meta
        .init_setting("token_secret", &random_secret(32))
        .await?;
    let mut generated = None;
    if let Some(admin_password) = admin
        && meta.get_user("admin").await?.is_none()
    {
        let password = match admin_password {
            Some(p) => p,
            None => {
                let p = random_secret(18);
                generated = Some(p.clone());
                p
            }
        };
        let hash = hash_password(&password).map_err(StartError::Hash)?;
        meta.create_user("admin", &hash, true).await?;
    }
    let master_key = seal::MasterKey::for_config(&config)?;
    let caches = Arc::new(state::Caches::default());
    let redirects = config
        .blobs
        .redirect
        .then(|| Duration::from_secs(config.blobs.redirect_ttl_secs.max(1)));
    let registry = berth_registry::Registry::new(meta.clone(), blobs.clone(), caches.clone())
        .with_blob_redirects(redirects);
    let app = Arc::new(AppState {
        master_key,
        jobs_wake: Arc::new(tokio::sync::Notify::new()),
        auth: auth::Auth::new(config.auth.clone(), secret.as_bytes()),
        config,
        meta,
        blobs,
        default_instance: Arc::new(instance),
        registry,
        caches,
        allow_lists: Default::default(),
        metrics: Arc::new(metrics::Metrics::default()),
        upload_limits: Default::default(),
        runtime: Default::default(),
        admission: Default::default(),
    });
    effects::register(&app);
    notices::spawn_listener(&app);
    Ok((
        app,
        Bootstrap {
            generated_admin_password: generated,
        },
    ))
}

/// Every HTTP surface, with request ids, access logs, metrics and the body idle timeout.
pub fn router(app: App) -> Router {
    use axum::routing::{any, get};
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
        })
        // One short access-log line per request, at info, inside the span that carries the
        // request id, method and path.
        .on_response(
            |res: &axum::http::Response<_>, latency: Duration, _: &tracing::Span| {
                tracing::info!(
                    target: "access",
                    status = res.status().as_u16(),
                    ms = %format_args!("{:.1}", latency.as_secs_f64() * 1000.0),
                );
            },
        );
    // A body that sends nothing for this long ends with an error the handler answers (uploads
    // keep what arrived); without it a stalled client holds its request open for ever.
    let body_idle = Duration::from_secs(app.config.limits.body_idle_timeout_secs);
    Router::new()
        .route("/", any(sas::root))
        .merge(runtime::routes())
        .merge(export::routes())
        .merge(exceptions::http::routes())
        .merge(hss::routes())
        .merge(console::routes())
        .route("/openapi.json", get(kcr::openapi::serve))
        .route("/v2", any(registry::dispatch))
        .route("/v2/", any(registry::dispatch))
        .route("/v2/{*rest}", any(registry::dispatch))
        .route("/auth/token", get(registry::token::token))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/instances/{id}/zone", get(network::zone))
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .layer(axum::middleware::from_fn_with_state(
            app.metrics.clone(),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(app)
}

/// Serves until `shutdown` resolves, with the background jobs (scans, webhook deliveries, the
/// periodic garbage collection) running;
/// then stops accepting connections, lets requests in flight finish for
/// `limits.shutdown_grace_secs` and drops the connections still open.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    jobs::spawn(&app);
    let network_app = app.clone();
    tokio::spawn(async move {
        // The configuration may have changed since the endpoints were validated.
        if let Err(e) = network::reconcile(&network_app, None).await {
            tracing::error!(error = %e, "internal endpoint validation failed");
        }
    });
    let limits = app.config.limits.clone();
    conn::serve(listener, router(app), &limits, shutdown).await;
    Ok(())
}
