//! Webhook delivery: registry events are posted as signed JSON to the namespace's triggers.
//!
//! [`notify`] returns at once. Each (event, trigger) pair is one background job of kind
//! [`WEBHOOK_JOB`] (`berth-jobs`; queued before anything is sent, so it survives a restart)
//! whose attempts are the delivery's attempts: [`WebhookJobs`] sends one, logs it as Success or
//! Failed, and a failure is retried after [`backoff`] until `webhooks.max_attempts`. The job
//! runner's leases make sure an attempt never runs twice at once and that one whose runner died
//! is taken over when its lease ends (that attempt counts: at-least-once delivery).
mod guard;

pub use guard::{Target, TargetError, forbidden_kind, resolve};

use crate::config::WebhooksConfig;
use crate::state::App;
use async_trait::async_trait;
use berth_jobs::{Handler, Outcome};
use berth_oci::Digest;
use berth_store::{
    DeliveryResult, Instance, Job, JobEnqueued, NewJob, NewWebhookDelivery, Repository, StoreError,
    WebhookTrigger, now_millis,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The job kind of a delivery.
pub const WEBHOOK_JOB: &str = "webhook";

/// The signature header: `sha256=` and the hex HMAC-SHA256 of the body under the trigger's secret.
pub const SIGNATURE_HEADER: &str = "x-berth-signature";
pub const EVENT_HEADER: &str = "x-berth-event";
pub const DELIVERY_HEADER: &str = "x-berth-delivery";
pub const ATTEMPT_HEADER: &str = "x-berth-attempt";

/// At most this many triggers per namespace.
pub const MAX_TRIGGERS_PER_NAMESPACE: u32 = 100;
/// At most this many custom headers per trigger, values included.
pub const MAX_HEADERS: usize = 20;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_NAME_LEN: usize = 128;
/// Custom headers may not replace these: they frame the request or carry berth's signature.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-authorization",
    "expect",
];
/// Response excerpts kept in the log, in characters.
const EXCERPT_CHARS: usize = 256;
/// Attempts in flight at once per process: a burst of pushes to a namespace with many triggers
/// queues instead of opening thousands of connections.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    PushImage,
    DeleteImage,
    /// Admission stopped a workload running one of the namespace's images (berth's own).
    AdmissionBlock,
    /// Admission let a workload start with one of the namespace's images, with an alarm.
    AdmissionAlarm,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PushImage => "PushImage",
            EventType::DeleteImage => "DeleteImage",
            EventType::AdmissionBlock => "AdmissionBlock",
            EventType::AdmissionAlarm => "AdmissionAlarm",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        match s {
            "PushImage" => Some(EventType::PushImage),
            "DeleteImage" => Some(EventType::DeleteImage),
            "AdmissionBlock" => Some(EventType::AdmissionBlock),
            "AdmissionAlarm" => Some(EventType::AdmissionAlarm),
            _ => None,
        }
    }
}

/// Something that happened to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event: EventType,
    pub instance_id: String,
    pub instance_name: String,
    pub namespace_id: i64,
    pub namespace: String,
    /// The repository's full name (`namespace/...`).
    pub repository: String,
    pub tag: Option<String>,
    /// `None` only when a tag was deleted without resolving what it pointed at.
    pub digest: Option<String>,
    /// Unix milliseconds.
    pub time: i64,
    /// For the admission events: the cluster, workload, verdict, policies and reasons.
    pub admission: Option<serde_json::Value>,
}

impl WebhookEvent {
    /// An event happening now to an image of `repository`.
    pub fn new(
        event: EventType,
        instance: &Instance,
        repository: &Repository,
        tag: Option<&str>,
        digest: Option<&Digest>,
    ) -> WebhookEvent {
        WebhookEvent {
            event,
            instance_id: instance.id.clone(),
            instance_name: instance.name.clone(),
            namespace_id: repository.namespace_id,
            namespace: crate::http_util::namespace_of(&repository.name).to_string(),
            repository: repository.name.clone(),
            tag: tag.map(str::to_string),
            digest: digest.map(|d| d.to_string()),
            time: now_millis(),
            admission: None,
        }
    }
}

/// The JSON body of a delivery (documented in ARCHITECTURE.md, "Webhooks").
#[derive(Debug, Serialize)]
struct Payload<'a> {
    /// One id per event and trigger, the same on every attempt: receivers deduplicate on it.
    delivery: String,
    event: &'static str,
    instance: PayloadInstance<'a>,
    namespace: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    /// RFC 3339, UTC.
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission: Option<&'a serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct PayloadInstance<'a> {
    id: &'a str,
    name: &'a str,
}

pub fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` keyed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(berth_kcr::hmac_sha256(secret.as_bytes(), body))
    )
}

/// A new trigger secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Why a trigger's name, URL or headers are refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TriggerError {
    #[error("TriggerName must be 1 to {MAX_NAME_LEN} characters")]
    Name,
    #[error("TriggerUrl must be at most {MAX_URL_LEN} characters")]
    UrlLength,
    #[error("TriggerUrl {0}")]
    Target(#[from] TargetError),
    #[error("at most {MAX_HEADERS} headers are allowed")]
    TooManyHeaders,
    #[error("header name {0:?} is not valid")]
    HeaderName(String),
    #[error("header {0:?} is set by berth and cannot be replaced")]
    HeaderReserved(String),
    #[error("a value of header {0:?} is not valid")]
    HeaderValue(String),
    #[error("header {0:?} has no value")]
    HeaderEmpty(String),
}

pub fn validate_name(name: &str) -> Result<(), TriggerError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(TriggerError::Name);
    }
    Ok(())
}

/// Checks the URL's length and that it reaches an allowed address now.
pub async fn validate_url(config: &WebhooksConfig, url: &str) -> Result<(), TriggerError> {
    if url.len() > MAX_URL_LEN {
        return Err(TriggerError::UrlLength);
    }
    resolve(url, config.allow_private_targets).await?;
    Ok(())
}

pub fn validate_headers(headers: &[berth_store::WebhookHeader]) -> Result<(), TriggerError> {
    let count: usize = headers.iter().map(|h| h.values.len().max(1)).sum();
    if count > MAX_HEADERS {
        return Err(TriggerError::TooManyHeaders);
    }
    for h in headers {
        let name = http::HeaderName::from_bytes(h.key.as_bytes())
            .map_err(|_| TriggerError::HeaderName(h.key.clone()))?;
        if RESERVED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-berth-") {
            return Err(TriggerError::HeaderReserved(h.key.clone()));
        }
        if h.values.is_empty() {
            return Err(TriggerError::HeaderEmpty(h.key.clone()));
        }
        for v in &h.values {
            http::HeaderValue::from_str(v).map_err(|_| TriggerError::HeaderValue(h.key.clone()))?;
        }
    }
    Ok(())
}

/// Posts `event` to every enabled trigger of its namespace that subscribes to it, in the
/// background: this returns at once.
pub fn notify(app: &App, event: WebhookEvent) {
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = fan_out(&app, &event).await {
            tracing::error!(error = %e, event = event.event.as_str(), repository = %event.repository,
                "cannot schedule webhook deliveries");
        }
    });
}

/// A delivery's job payload: everything an attempt needs besides the trigger's current state.
#[derive(Debug, Serialize, Deserialize)]
struct Delivery {
    trigger_id: i64,
    namespace_id: i64,
    event_type: String,
    /// The exact body every attempt sends (signed as is).
    body: String,
}

/// The wait after failed attempt `attempt` (1-based): base, 2 base, 4 base, ... up to the cap.
pub fn backoff(c: &WebhooksConfig, attempt: u32) -> Duration {
    let factor = 1u64
        .checked_shl(attempt.saturating_sub(1).min(63))
        .unwrap_or(u64::MAX);
    Duration::from_millis(
        c.backoff_base_millis
            .saturating_mul(factor)
            .min(c.backoff_max_millis),
    )
}

async fn fan_out(app: &App, event: &WebhookEvent) -> Result<(), StoreError> {
    let triggers = app
        .meta
        .webhook_triggers_for_event(event.namespace_id, event.event.as_str())
        .await?;
    for trigger in triggers {
        let payload = Payload {
            delivery: uuid::Uuid::new_v4().to_string(),
            event: event.event.as_str(),
            instance: PayloadInstance {
                id: &event.instance_id,
                name: &event.instance_name,
            },
            namespace: &event.namespace,
            repository: &event.repository,
            tag: event.tag.as_deref(),
            digest: event.digest.as_deref(),
            time: rfc3339(event.time),
            admission: event.admission.as_ref(),
        };
        let payload = serde_json::to_string(&payload)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode a webhook payload: {e}")))?;
        let delivery = Delivery {
            trigger_id: trigger.id,
            namespace_id: event.namespace_id,
            event_type: event.event.as_str().to_string(),
            body: payload,
        };
        let job = NewJob {
            kind: WEBHOOK_JOB.to_string(),
            payload: serde_json::to_string(&delivery)
                .map_err(|e| StoreError::Corrupt(format!("cannot encode a delivery: {e}")))?,
            dedupe_key: None,
            max_attempts: app.config.webhooks.max_attempts.max(1),
            due_at: now_millis(),
        };
        if let JobEnqueued::Duplicate(id) = app.meta.enqueue_job(&job).await? {
            tracing::warn!(job = id, "a webhook delivery collided with another job");
        }
        app.jobs_wake.notify_one();
    }
    Ok(())
}

/// Runs delivery jobs: one attempt per run.
pub struct WebhookJobs {
    pub app: App,
}

#[async_trait]
impl Handler for WebhookJobs {
    fn kind(&self) -> &'static str {
        WEBHOOK_JOB
    }

    fn concurrency(&self) -> usize {
        IN_FLIGHT
    }

    /// The wait runs from when the attempt ended: a receiver that hangs until the timeout still
    /// gets its full backoff.
    fn backoff(&self, attempt: u32) -> Duration {
        backoff(&self.app.config.webhooks, attempt)
    }

    async fn run(&self, job: &Job) -> Outcome {
        let app = &self.app;
        let delivery: Delivery = match serde_json::from_str(&job.payload) {
            Ok(d) => d,
            Err(e) => return Outcome::Fail(format!("bad delivery payload: {e}")),
        };
        let trigger = match app
            .meta
            .get_webhook_trigger(delivery.namespace_id, delivery.trigger_id)
            .await
        {
            Ok(t) => t.filter(|t| t.enabled && t.event_types.contains(&delivery.event_type)),
            Err(e) => return Outcome::Retry(format!("cannot read the trigger: {e}")),
        };
        let Some(trigger) = trigger else {
            // Disabled, unsubscribed or deleted since: the remaining attempts are dropped.
            return Outcome::Done;
        };
        let attempt = NewWebhookDelivery {
            trigger_id: delivery.trigger_id,
            event_type: delivery.event_type,
            payload: delivery.body,
            attempt: job.attempts,
        };
        let result = send(&app.config.webhooks, &trigger, &attempt).await;
        tracing::info!(trigger = trigger.id, job = job.id, attempt = job.attempts,
            success = result.success, status = ?result.status_code, "webhook attempt");
        if let Err(e) = app.meta.record_webhook_delivery(&attempt, &result).await {
            tracing::error!(error = %e, job = job.id, "cannot log a webhook attempt");
        }
        if result.success {
            Outcome::Done
        } else {
            Outcome::Retry(result.response.unwrap_or_default())
        }
    }
}

/// Makes one attempt; never fails, every outcome is a result to log.
async fn send(
    config: &WebhooksConfig,
    trigger: &WebhookTrigger,
    job: &NewWebhookDelivery,
) -> DeliveryResult {
    let at = now_millis();
    let failed = |status_code: Option<u16>, response: String| DeliveryResult {
        success: false,
        status_code,
        response: Some(excerpt(&response)),
        url: trigger.url.clone(),
        at,
    };
    let target = match resolve(&trigger.url, config.allow_private_targets).await {
        Ok(t) => t,
        Err(e) => return failed(None, format!("refused: {e}")),
    };
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(config.timeout_secs))
        .user_agent(concat!("berth-webhook/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addr)) = &target.pinned {
        builder = builder.resolve(host, *addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return failed(None, error_chain(&e)),
    };
    let delivery = serde_json::from_str::<serde_json::Value>(&job.payload)
        .ok()
        .and_then(|v| v["delivery"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut req = client
        .post(target.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            sign(&trigger.secret, job.payload.as_bytes()),
        )
        .header(EVENT_HEADER, &job.event_type)
        .header(DELIVERY_HEADER, delivery)
        .header(ATTEMPT_HEADER, job.attempt.to_string());
    for h in &trigger.headers {
        for v in &h.values {
            req = req.header(h.key.as_str(), v.as_str());
        }
    }
    let resp = match req.body(job.payload.clone()).send().await {
        Ok(r) => r,
        Err(e) => return failed(None, error_chain(&e)),
    };
    let status = resp.status();
    let body = read_excerpt(resp).await;
    DeliveryResult {
        success: status.is_success(),
        status_code: Some(status.as_u16()),
        response: Some(body),
        url: trigger.url.clone(),
        at,
    }
}

/// The start of a response body, without reading more of it than the excerpt needs.
async fn read_excerpt(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < EXCERPT_CHARS * 4 {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt(&String::from_utf8_lossy(&buf))
}

fn excerpt(s: &str) -> String {
    s.chars().take(EXCERPT_CHARS).collect()
}

/// reqwest's own message is generic ("error sending request"); the cause is in its sources.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = WebhooksConfig {
            backoff_base_millis: 1000,
            backoff_max_millis: 5000,
            ..WebhooksConfig::default()
        };
        let waits: Vec<u64> = (1..=5)
            .map(|a| u64::try_from(backoff(&c, a).as_millis()).unwrap())
            .collect();
        assert_eq!(waits, vec![1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(&c, 200).as_millis(), 5000);
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Keys of a block and longer agree with the plain HMAC construction.
        for key in ["k".repeat(64), "k".repeat(65), new_secret()] {
            let mut mac =
                <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()).unwrap();
            mac.update(b"body");
            assert_eq!(
                sign(&key, b"body"),
                format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
            );
        }
    }

    #[test]
    fn header_rules() {
        let h = |k: &str, v: &[&str]| berth_store::WebhookHeader {
            key: k.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        assert!(validate_headers(&[h("X-Team", &["a", "b"])]).is_ok());
        assert_eq!(
            validate_headers(&[h("Content-Type", &["text/plain"])]),
            Err(TriggerError::HeaderReserved("Content-Type".into()))
        );
        assert_eq!(
            validate_headers(&[h("X-Berth-Signature", &["x"])]),
            Err(TriggerError::HeaderReserved("X-Berth-Signature".into()))
        );
        assert_eq!(
            validate_headers(&[h("bad header", &["x"])]),
            Err(TriggerError::HeaderName("bad header".into()))
        );
        assert_eq!(
            validate_headers(&[h("X-A", &["line\nbreak"])]),
            Err(TriggerError::HeaderValue("X-A".into()))
        );
        assert_eq!(
            validate_headers(&[h("X-A", &[])]),
            Err(TriggerError::HeaderEmpty("X-A".into()))
        );
        let many: Vec<&str> = vec!["v"; 21];
        assert_eq!(
            validate_headers(&[h("X-A", &many)]),
            Err(TriggerError::TooManyHeaders)
        );
        assert!(validate_name("a").is_ok());
        assert!(validate_name(&"a".repeat(128)).is_ok());
        assert_eq!(validate_name(""), Err(TriggerError::Name));
        assert_eq!(validate_name(&"a".repeat(129)), Err(TriggerError::Name));
    }
}
