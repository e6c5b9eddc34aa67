//! List and watch over the Kubernetes API, with every size bounded.
//!
//! The `kube` client brings the configuration (kubeconfig or in-cluster service account), the
//! authentication and TLS; the requests and the reading of their bodies are done here, because
//! kube-client reads a list body whole and splits a watch stream into lines of any length. A
//! list page is read up to [`MAX_PAGE_BYTES`], a watch line up to [`MAX_LINE_BYTES`], an error
//! body up to [`MAX_ERROR_BYTES`].
use std::time::Duration;

use bytes::{Buf, BytesMut};
use http_body_util::BodyExt as _;
use kube::client::Body;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::AgentError;
use crate::kinds::Kind;
use crate::state::{EventType, Object};

/// One page of a list: the API server cuts pages at `limit` objects, so this is generous.
pub const MAX_PAGE_BYTES: usize = 64 << 20;
/// One watch event: etcd stores at most 1.5 MiB per object; berth takes 4 MiB per event.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// An error answer's body (a `Status`): only its message is kept.
pub const MAX_ERROR_BYTES: usize = 64 << 10;

/// How long a request may take to answer (and half of what a list page may take to arrive).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a list or watch did not go on.
#[derive(Debug)]
pub enum SourceError {
    /// 410 Gone (HTTP, or an `ERROR` event with code 410): list again.
    Gone(String),
    /// Retrying cannot help.
    Fatal(AgentError),
    /// Network, 5xx, a malformed answer: retry after a pause.
    Transient(String),
}

/// One item of a watch stream.
#[derive(Debug)]
pub enum WatchItem {
    Event {
        event: EventType,
        object: Object,
        resource_version: String,
    },
    Bookmark(String),
}

pub struct KubeApi {
    pub client: kube::Client,
    /// `limit` of each list request.
    pub page_size: u32,
    /// `timeoutSeconds` of each watch request; a watch silent for longer (plus a margin) is
    /// taken as a dead connection.
    pub watch_timeout: Duration,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Status {
    fn describe(&self) -> String {
        match (&self.reason, &self.message) {
            (Some(r), Some(m)) => format!("{r}: {m}"),
            (None, Some(m)) => m.clone(),
            (Some(r), None) => r.clone(),
            (None, None) => "no message".into(),
        }
    }
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: Option<String>,
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}

#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Option<Vec<Map<String, Value>>>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    object: Option<Value>,
}

/// Percent-encodes a query value (a `continue` token is base64: `+`, `/`, `=`).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The object as berth gets it: `apiVersion`/`kind` set (a typed list's items carry none) and
/// `metadata.managedFields` removed.
pub fn normalize(kind: &Kind, mut item: Map<String, Value>) -> Result<Object, String> {
    item.entry("apiVersion")
        .or_insert_with(|| Value::from(kind.api_version));
    item.entry("kind").or_insert_with(|| Value::from(kind.kind));
    let meta = item
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("a {} without metadata", kind.kind))?;
    meta.remove("managedFields");
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a {} without a name", kind.kind))?
        .to_string();
    let namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let json = serde_json::to_string(&item).map_err(|e| e.to_string())?;
    Ok(Object {
        namespace,
        name,
        json,
    })
}

/// Reads a body up to `limit` bytes; `None` when it is longer.
async fn read_bounded(mut body: Body, limit: usize) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("the answer broke off: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(out))
}

impl KubeApi {
    async fn get(
        &self,
        kind: &Kind,
        verb: &'static str,
        uri: String,
    ) -> Result<http::Response<Body>, SourceError> {
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            // A watch stream must not be gzipped: see kube-client's request_events.
            .header(http::header::ACCEPT_ENCODING, "identity")
            .body(Body::from(Vec::new()))
            .map_err(|e| SourceError::Transient(e.to_string()))?;
        // A hung API server must not hold a kind forever: the answer's head comes within
        // REQUEST_TIMEOUT (a watch's events may then take as long as the watch lasts).
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.send(request))
            .await
            .map_err(|_| {
                SourceError::Transient(format!(
                    "{verb} {}: no answer in {REQUEST_TIMEOUT:?}",
                    kind.resource
                ))
            })?
            .map_err(|e| SourceError::Transient(format!("{verb} {}: {e}", kind.resource)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = tokio::time::timeout(
            REQUEST_TIMEOUT,
            read_bounded(response.into_body(), MAX_ERROR_BYTES),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default();
        let message = serde_json::from_slice::<Status>(&body)
            .map(|s| s.describe())
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(match status.as_u16() {
            410 => SourceError::Gone(message),
            code @ (401 | 403 | 404) => SourceError::Fatal(AgentError::KubeRefused {
                verb,
                resource: kind.resource,
                status: code,
                message,
            }),
            code => SourceError::Transient(format!("{verb} {}: {code} {message}", kind.resource)),
        })
    }

    /// Lists a kind across all namespaces, page by page; the objects and the list's
    /// resourceVersion to watch from. A `continue` token that expired (410) starts over.
    pub async fn list(
        &self,
        kind: &Kind,
        max_objects: usize,
    ) -> Result<(Vec<Object>, String), SourceError> {
        let mut objects = Vec::new();
        let mut cont: Option<String> = None;
        loop {
            let mut uri = format!("{}?limit={}", kind.path, self.page_size);
            if let Some(c) = &cont {
                uri.push_str("&continue=");
                uri.push_str(&encode(c));
            }
            let response = match self.get(kind, "list", uri).await {
                Err(SourceError::Gone(m)) if cont.is_some() => {
                    tracing::info!(
                        kind = kind.kind,
                        "list continuation expired ({m}); listing again"
                    );
                    objects.clear();
                    cont = None;
                    continue;
                }
                other => other?,
            };
            let body = tokio::time::timeout(
                REQUEST_TIMEOUT * 2,
                read_bounded(response.into_body(), MAX_PAGE_BYTES),
            )
            .await
            .map_err(|_| {
                SourceError::Transient(format!(
                    "a page of {} did not arrive in time",
                    kind.resource
                ))
            })?
            .map_err(SourceError::Transient)?
            .ok_or_else(|| {
                SourceError::Transient(format!(
                    "a page of {} is over {MAX_PAGE_BYTES} bytes",
                    kind.resource
                ))
            })?;
            let page: ListPage = serde_json::from_slice(&body).map_err(|e| {
                SourceError::Transient(format!("a list of {} is not JSON: {e}", kind.resource))
            })?;
            for item in page.items.unwrap_or_default() {
                objects.push(normalize(kind, item).map_err(SourceError::Transient)?);
                if objects.len() > max_objects {
                    return Err(SourceError::Fatal(AgentError::TooLarge {
                        what: format!("more than {max_objects} {}", kind.resource),
                    }));
                }
            }
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => cont = Some(c),
                _ => {
                    let rv = page.metadata.resource_version.unwrap_or_default();
                    if rv.is_empty() {
                        return Err(SourceError::Transient(format!(
                            "the list of {} has no resourceVersion",
                            kind.resource
                        )));
                    }
                    return Ok((objects, rv));
                }
            }
        }
    }

    /// Starts a watch of a kind from `resource_version`, with bookmarks.
    pub async fn watch(&self, kind: &Kind, resource_version: &str) -> Result<Watch, SourceError> {
        let uri = format!(
            "{}?watch=1&resourceVersion={}&allowWatchBookmarks=true&timeoutSeconds={}",
            kind.path,
            encode(resource_version),
            self.watch_timeout.as_secs().max(1)
        );
        let response = self.get(kind, "watch", uri).await?;
        Ok(Watch {
            kind: *kind,
            body: response.into_body(),
            buf: BytesMut::new(),
            idle: self.watch_timeout + Duration::from_secs(30),
        })
    }
}

/// A watch stream: newline-delimited JSON events over a chunked body.
pub struct Watch {
    kind: Kind,
    body: Body,
    buf: BytesMut,
    idle: Duration,
}

impl Watch {
    /// The next event; `Ok(None)` when the server ended the watch (its timeout): watch again
    /// from the last resourceVersion.
    pub async fn next(&mut self) -> Result<Option<WatchItem>, SourceError> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(at + 1);
                let line = line.chunk().trim_ascii();
                if line.is_empty() {
                    continue;
                }
                return self.parse(line).map(Some);
            }
            if self.buf.len() > MAX_LINE_BYTES {
                return Err(SourceError::Transient(format!(
                    "a watch event of {} is over {MAX_LINE_BYTES} bytes",
                    self.kind.resource
                )));
            }
            let frame = match tokio::time::timeout(self.idle, self.body.frame()).await {
                Err(_) => {
                    return Err(SourceError::Transient(format!(
                        "the watch of {} was silent for {:?}",
                        self.kind.resource, self.idle
                    )));
                }
                Ok(None) => {
                    let rest = self.buf.split();
                    let rest = rest.chunk().trim_ascii();
                    return if rest.is_empty() {
                        Ok(None)
                    } else {
                        self.parse(rest).map(Some)
                    };
                }
                Ok(Some(Err(e))) => {
                    return Err(SourceError::Transient(format!(
                        "the watch of {} broke off: {e}",
                        self.kind.resource
                    )));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    fn parse(&self, line: &[u8]) -> Result<WatchItem, SourceError> {
        let bad = |what: String| {
            SourceError::Transient(format!("a watch event of {}: {what}", self.kind.resource))
        };
        let raw: RawEvent = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        let object = raw.object.ok_or_else(|| bad("no object".into()))?;
        let event = match raw.event_type.as_str() {
            "ADDED" => EventType::Added,
            "MODIFIED" => EventType::Modified,
            "DELETED" => EventType::Deleted,
            "BOOKMARK" => {
                let rv = resource_version(&object)
                    .ok_or_else(|| bad("a bookmark without resourceVersion".into()))?;
                return Ok(WatchItem::Bookmark(rv));
            }
            "ERROR" => {
                let status: Status =
                    serde_json::from_value(object).map_err(|e| bad(e.to_string()))?;
                return Err(if status.code == Some(410) {
                    SourceError::Gone(status.describe())
                } else {
                    // Any other error ends the watch too; client-go lists again after it.
                    SourceError::Gone(format!("watch error: {}", status.describe()))
                });
            }
            other => return Err(bad(format!("unknown type {other:?}"))),
        };
        let Value::Object(map) = object else {
            return Err(bad("the object is not an object".into()));
        };
        let rv = map
            .get("metadata")
            .and_then(resource_version_of_meta)
            .ok_or_else(|| bad("an object without resourceVersion".into()))?;
        let object = normalize(&self.kind, map).map_err(bad)?;
        Ok(WatchItem::Event {
            event,
            object,
            resource_version: rv,
        })
    }
}

fn resource_version(object: &Value) -> Option<String> {
    resource_version_of_meta(object.get("metadata")?)
}

fn resource_version_of_meta(metadata: &Value) -> Option<String> {
    metadata
        .get("resourceVersion")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
