//! The port while berth starts: bound at once, so a load balancer's probes get an answer while
//! PostgreSQL or S3 is still unreachable (`/healthz` 200, `/readyz` and everything else 503 with
//! the reason), then handed to the real server on the same socket.
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::{Arc, Mutex};

/// Answers on a listener until [`Starting::finish`].
pub struct Starting {
    reason: Arc<Mutex<String>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Starting {
    /// Serves the placeholder on a clone of `listener`'s socket (the caller keeps the original
    /// for the real server; connections arriving between the two wait in the backlog).
    pub fn serve(listener: &std::net::TcpListener) -> std::io::Result<Starting> {
        let clone = listener.try_clone()?;
        clone.set_nonblocking(true)?;
        let clone = tokio::net::TcpListener::from_std(clone)?;
        let reason = Arc::new(Mutex::new("starting".to_string()));
        let shown = reason.clone();
        let not_ready = move || {
            let shown = shown.clone();
            async move {
                let reason = shown.lock().map(|r| r.clone()).unwrap_or_default();
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "1")],
                    format!("berth is starting: {reason}\n"),
                )
                    .into_response()
            }
        };
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .fallback(not_ready);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(clone, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "the start-up listener failed");
            }
        });
        Ok(Starting { reason, stop, task })
    }

    /// What `/readyz` says is missing.
    pub fn set_reason(&self, reason: String) {
        if let Ok(mut r) = self.reason.lock() {
            *r = reason;
        }
    }

    /// Stops answering; returns once the placeholder's connections are done.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
