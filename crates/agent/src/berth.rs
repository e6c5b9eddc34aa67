//! berth's side: the ingestion endpoints, and the loop that delivers the shared state's work to
//! them in order.
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::AgentError;
use crate::state::{Shared, Work};

/// An answer's body is read up to this many bytes (berth's answers are small JSON).
const MAX_ANSWER_BYTES: usize = 64 << 10;

pub struct BerthClient {
    http: reqwest::Client,
    /// `https://berth.example.com` (no trailing slash).
    server: String,
    cluster_id: String,
    token: String,
}

/// What became of one delivery.
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// berth refused the document itself (400, 413): sending it again cannot help.
    Refused(String),
    /// berth unreachable, 5xx, 409, 429: try again.
    Retry(String),
    Fatal(AgentError),
}

impl BerthClient {
    pub fn new(server: &str, cluster_id: &str, token: &str) -> Result<BerthClient, AgentError> {
        let server = server.trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(AgentError::Config(format!(
                "the berth server {server:?} is not an http:// or https:// URL"
            )));
        }
        if cluster_id.is_empty()
            || cluster_id.len() > 64
            || !cluster_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(AgentError::Config(format!(
                "{cluster_id:?} is not a cluster id (`berth admin cluster list` shows them)"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A 64 MiB snapshot over a slow link, parsed and written by berth.
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| AgentError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(BerthClient {
            http,
            server,
            cluster_id: cluster_id.to_string(),
            token: token.to_string(),
        })
    }

    pub async fn deliver(&self, work: &Work) -> Outcome {
        let (request, what) = match work {
            Work::Snapshot { body, .. } => (
                self.http
                    .put(format!(
                        "{}/api/runtime/v1/clusters/{}/snapshot",
                        self.server, self.cluster_id
                    ))
                    .body(body.clone()),
                "snapshot",
            ),
            Work::Event { body, .. } => (
                self.http
                    .post(format!(
                        "{}/api/runtime/v1/clusters/{}/events",
                        self.server, self.cluster_id
                    ))
                    .body(body.clone()),
                "event",
            ),
        };
        let response = match request
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("berth is unreachable: {e}")),
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Outcome::Delivered;
        }
        let message = error_message(response).await;
        match status {
            401 | 403 => Outcome::Fatal(AgentError::CredentialRejected {
                status,
                cluster_id: self.cluster_id.clone(),
                message,
            }),
            404 => Outcome::Fatal(AgentError::NoSuchCluster {
                cluster_id: self.cluster_id.clone(),
                message,
            }),
            400 | 413 | 422 => {
                Outcome::Refused(format!("berth refused the {what} ({status}): {message}"))
            }
            _ => Outcome::Retry(format!(
                "berth answered the {what} with {status}: {message}"
            )),
        }
    }
}

/// berth's `{"error": {"code", "message"}}`, read up to [`MAX_ANSWER_BYTES`].
async fn error_message(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect())
}

/// Delivers the shared state's work in order until a fatal error. A failed delivery is retried
/// with backoff, unless the work went stale meanwhile (buffer dropped, relist): then the newer
/// work is taken instead.
pub async fn deliver_loop(
    client: BerthClient,
    shared: Arc<Shared>,
    mut backoff: Backoff,
    refused_pause: Duration,
) -> Result<(), AgentError> {
    loop {
        let Some((work, epoch)) = shared.next_work() else {
            shared.wake.notified().await;
            continue;
        };
        loop {
            match client.deliver(&work).await {
                Outcome::Delivered => {
                    if let Work::Snapshot { objects, .. } = &work {
                        tracing::info!(objects, "snapshot delivered");
                    }
                    shared.done(&work);
                    backoff.reset();
                    break;
                }
                Outcome::Fatal(e) => return Err(e),
                Outcome::Refused(m) => {
                    tracing::error!("{m}");
                    shared.done(&work);
                    if matches!(work, Work::Snapshot { .. }) {
                        // The cluster holds something berth will not take; try a new snapshot
                        // later, when the cluster may have changed.
                        tokio::time::sleep(refused_pause).await;
                        shared.snapshot_again();
                    }
                    break;
                }
                Outcome::Retry(m) => {
                    let pause = backoff.next_pause();
                    tracing::warn!("{m}; again in {pause:?}");
                    tokio::time::sleep(pause).await;
                    if !shared.is_current(epoch) {
                        tracing::info!("a full resync replaces what was being delivered");
                        break;
                    }
                }
            }
        }
    }
}
