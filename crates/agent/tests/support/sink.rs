//! A fake berth: a real HTTP server on loopback with berth's two ingestion routes, recording
//! every request it accepts, in order. It can be switched to answer 503 (berth down) or 401
//! (credential revoked).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Down,
    Unauthorized,
}

/// One request berth received.
#[derive(Debug, Clone)]
pub struct Received {
    /// "snapshot" or "event".
    pub what: &'static str,
    pub body: Value,
    /// Whether it was accepted (200) or refused.
    pub accepted: bool,
}

impl Received {
    /// `ADDED Pod shop/web-1`, or `SNAPSHOT 14`.
    pub fn describe(&self) -> String {
        if self.what == "snapshot" {
            return format!("SNAPSHOT {}", self.body["items"].as_array().unwrap().len());
        }
        let o = &self.body["object"];
        format!(
            "{} {} {}/{}",
            self.body["type"].as_str().unwrap(),
            o["kind"].as_str().unwrap(),
            o["metadata"]["namespace"].as_str().unwrap_or_default(),
            o["metadata"]["name"].as_str().unwrap()
        )
    }
}

#[derive(Clone)]
struct Ctx {
    inner: Arc<Mutex<(Mode, Vec<Received>)>>,
    token: String,
    cluster: String,
}

pub struct Sink {
    pub addr: SocketAddr,
    inner: Arc<Mutex<(Mode, Vec<Received>)>>,
}

async fn ingest(
    State(ctx): State<Ctx>,
    Path((cluster, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let what: &'static str = match what.as_str() {
        "snapshot" => "snapshot",
        "events" => "event",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut inner = ctx.inner.lock().unwrap();
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {}", ctx.token));
    let (status, accepted) = match inner.0 {
        Mode::Down => (StatusCode::SERVICE_UNAVAILABLE, false),
        Mode::Unauthorized => (StatusCode::UNAUTHORIZED, false),
        Mode::Up if !auth_ok || cluster != ctx.cluster => (StatusCode::FORBIDDEN, false),
        Mode::Up => (StatusCode::OK, true),
    };
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    inner.1.push(Received {
        what,
        body,
        accepted,
    });
    let reply = if accepted {
        json!({"clusterId": cluster})
    } else {
        json!({"error": {"code": "unavailable", "message": format!("fake berth answers {status}")}})
    };
    (status, axum::Json(reply)).into_response()
}

impl Sink {
    pub async fn start(cluster: &str, token: &str) -> Sink {
        Self::start_on(cluster, token, 0).await
    }

    /// On a given loopback port (0: any free one).
    pub async fn start_on(cluster: &str, token: &str, port: u16) -> Sink {
        let inner = Arc::new(Mutex::new((Mode::Up, Vec::new())));
        let ctx = Ctx {
            inner: inner.clone(),
            token: token.to_string(),
            cluster: cluster.to_string(),
        };
        let app = axum::Router::new()
            .route(
                "/api/runtime/v1/clusters/{cluster}/{what}",
                axum::routing::put(ingest).post(ingest),
            )
            .with_state(ctx);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().0 = mode;
    }

    /// Everything received, accepted or not.
    pub fn all(&self) -> Vec<Received> {
        self.inner.lock().unwrap().1.clone()
    }

    /// What berth took, in order.
    pub fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.accepted).collect()
    }

    /// Waits (up to 20 s) until what berth took satisfies `done`; panics with it otherwise.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.accepted();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; berth took: {:#?}",
                got.iter().map(Received::describe).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
