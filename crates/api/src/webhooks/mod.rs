//! Webhook delivery: registry events are posted as signed JSON to the namespace's triggers.
//!
//! [`notify`] returns at once; the work runs on tokio tasks. Each attempt is first recorded as a
//! pending row (so it survives a restart), then sent, then recorded as Success or Failed together
//! with the next attempt when one is left. The task that made an attempt sleeps until the next is
//! due and claims it; [`spawn_retry_loop`] claims whatever is due and unclaimed (attempts left by
//! a restart, or by another process). Claims are leases in the store, so an attempt never runs
//! twice at once and one whose runner died is picked up when its lease ends.
mod guard;

pub use guard::{Target, TargetError, forbidden_kind, resolve};

use crate::config::WebhooksConfig;
use crate::state::App;
use berth_oci::Digest;
use berth_store::{
    DeliveryResult, Instance, NewWebhookDelivery, Repository, StoreError, WebhookDelivery,
    WebhookTrigger, now_millis,
};
use serde::Serialize;
use std::time::Duration;

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
/// Due attempts claimed per pass of the retry loop.
const RETRY_BATCH: u32 = 100;
/// Attempts in flight at once, process-wide: a burst of pushes to a namespace with many triggers
/// queues here instead of opening thousands of connections.
static IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    PushImage,
    DeleteImage,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PushImage => "PushImage",
            EventType::DeleteImage => "DeleteImage",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        match s {
            "PushImage" => Some(EventType::PushImage),
            "DeleteImage" => Some(EventType::DeleteImage),
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
        hex::encode(crate::mac::hmac_sha256(secret.as_bytes(), body))
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

/// What one attempt needs to run.
struct Job {
    id: i64,
    trigger_id: i64,
    namespace_id: i64,
    event_type: String,
    payload: String,
    attempt: u32,
    /// The end of the lease this runner holds on the attempt (its claim token).
    held_until: i64,
}

impl From<WebhookDelivery> for Job {
    fn from(d: WebhookDelivery) -> Job {
        Job {
            id: d.id,
            trigger_id: d.trigger_id,
            namespace_id: d.namespace_id,
            event_type: d.event_type,
            payload: d.payload,
            attempt: d.attempt,
            held_until: d.due_at.unwrap_or_default(),
        }
    }
}

/// How long a claim on an attempt lasts: longer than the attempt can take.
fn lease_millis(c: &WebhooksConfig) -> i64 {
    millis(Duration::from_secs(c.timeout_secs) + Duration::from_secs(60))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
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
        };
        let payload = serde_json::to_string(&payload)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode a webhook payload: {e}")))?;
        // Scheduled as already claimed by this process: the retry loop leaves it alone unless
        // this process dies before recording the outcome.
        let held_until = now_millis().saturating_add(lease_millis(&app.config.webhooks));
        let id = app
            .meta
            .schedule_webhook_delivery(&NewWebhookDelivery {
                trigger_id: trigger.id,
                event_type: event.event.as_str().to_string(),
                payload: payload.clone(),
                attempt: 1,
                due_at: held_until,
            })
            .await?;
        let job = Job {
            id,
            trigger_id: trigger.id,
            namespace_id: event.namespace_id,
            event_type: event.event.as_str().to_string(),
            payload,
            attempt: 1,
            held_until,
        };
        let app = app.clone();
        tokio::spawn(async move { run_logged(app, job).await });
    }
    Ok(())
}

async fn run_logged(app: App, job: Job) {
    let id = job.id;
    if let Err(e) = run(&app, job).await {
        tracing::error!(error = %e, delivery = id, "webhook delivery bookkeeping failed");
    }
}

/// Runs the attempt, then each retry this process gets to claim.
async fn run(app: &App, mut job: Job) -> Result<(), StoreError> {
    let config = &app.config.webhooks;
    loop {
        // The semaphore is never closed; were it, sending unthrottled is the better failure.
        let permit = IN_FLIGHT.acquire().await.ok();
        // The lease may have run out while the attempt waited for a slot, and another runner
        // may hold the attempt now: renew it from the lease this runner set, or leave it.
        let lease = now_millis().saturating_add(lease_millis(config));
        if !app
            .meta
            .renew_webhook_claim(job.id, job.held_until, lease)
            .await?
        {
            return Ok(());
        }
        job.held_until = lease;
        let trigger = app
            .meta
            .get_webhook_trigger(job.namespace_id, job.trigger_id)
            .await?
            .filter(|t| t.enabled && t.event_types.contains(&job.event_type));
        let Some(trigger) = trigger else {
            // Disabled, unsubscribed or deleted since: the remaining attempts are dropped.
            app.meta.cancel_webhook_delivery(job.id).await?;
            return Ok(());
        };
        let result = send(config, &trigger, &job).await;
        drop(permit);
        // The wait runs from when the attempt ended: a receiver that hangs until the timeout
        // still gets its full backoff.
        let ended = now_millis();
        let retry =
            (!result.success && job.attempt < config.max_attempts).then(|| NewWebhookDelivery {
                trigger_id: job.trigger_id,
                event_type: job.event_type.clone(),
                payload: job.payload.clone(),
                attempt: job.attempt + 1,
                due_at: ended.saturating_add(millis(backoff(config, job.attempt))),
            });
        tracing::info!(trigger = trigger.id, delivery = job.id, attempt = job.attempt,
            success = result.success, status = ?result.status_code, "webhook attempt");
        let Some(next) = app
            .meta
            .finish_webhook_delivery(job.id, &result, retry.as_ref())
            .await?
        else {
            return Ok(());
        };
        let due = retry.map(|r| r.due_at).unwrap_or_default();
        let wait = u64::try_from(due.saturating_sub(now_millis())).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let now = now_millis();
        match app
            .meta
            .claim_webhook_delivery(next, now, now.saturating_add(lease_millis(config)))
            .await?
        {
            Some(d) => job = d.into(),
            // The retry loop (or another process) took it.
            None => return Ok(()),
        }
    }
}

/// Makes one attempt; never fails, every outcome is a result to log.
async fn send(config: &WebhooksConfig, trigger: &WebhookTrigger, job: &Job) -> DeliveryResult {
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

/// Claims and runs due attempts every `poll_interval_millis`: those whose runner died (a
/// restart) or that another process scheduled.
pub fn spawn_retry_loop(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_millis(app.config.webhooks.poll_interval_millis.max(10));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = retry_due(&app).await {
                tracing::error!(error = %e, "webhook retry pass failed");
            }
        }
    })
}

async fn retry_due(app: &App) -> Result<(), StoreError> {
    let now = now_millis();
    let lease = now.saturating_add(lease_millis(&app.config.webhooks));
    for id in app.meta.due_webhook_deliveries(now, RETRY_BATCH).await? {
        if let Some(d) = app.meta.claim_webhook_delivery(id, now, lease).await? {
            let app = app.clone();
            tokio::spawn(async move { run_logged(app, d.into()).await });
        }
    }
    Ok(())
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
