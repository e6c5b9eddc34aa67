//! A loopback Kubernetes API server for the agent's tests (there is no API server on these
//! machines). It serves the list/watch wire format as the Kubernetes API documents it
//! (reference/using-api/api-concepts: "Efficient detection of changes", "Watch bookmarks",
//! "Retrieving large results sets in chunks"):
//!
//! - `GET /api/v1/pods?limit=N[&continue=T]`: a typed list (`PodList`, items without
//!   `apiVersion`/`kind`), `metadata.resourceVersion`, `metadata.continue` while more remain; a
//!   continue token from before a compaction answers HTTP 410 with a `Status`;
//! - `GET ...?watch=1&resourceVersion=R&allowWatchBookmarks=true&timeoutSeconds=S`: 200 with a
//!   chunked body of newline-delimited `{"type","object"}` events after R, a `BOOKMARK` (an
//!   object with only `metadata.resourceVersion`) once caught up and when the timeout ends the
//!   watch; a resourceVersion from before a compaction answers, as configured, an `ERROR` event
//!   whose object is a `Status` with code 410 (what kube-apiserver does) or a plain HTTP 410;
//!   open watches get that `ERROR` event when the test expires them;
//! - a bearer token checked on every request (401 `Status` otherwise), and 403 `Status` for a
//!   resource the test forbids.
//!
//! The objects come from `fixtures/cluster.json` (shapes from the API reference); the Status
//! bodies from `fixtures/status-*.json`. Shared with crates/berth/tests/it/agent.rs (by path).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const CLUSTER: &str = include_str!("../fixtures/cluster.json");
const STATUS_401: &str = include_str!("../fixtures/status-401.json");
const STATUS_403: &str = include_str!("../fixtures/status-403.json");
const STATUS_410_WATCH: &str = include_str!("../fixtures/status-410-watch.json");
const STATUS_410_CONTINUE: &str = include_str!("../fixtures/status-410-continue.json");

/// How a watch from a compacted resourceVersion is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// 200 and one `ERROR` event with a 410 `Status` (kube-apiserver's way).
    ErrorEvent,
    /// HTTP 410 with the `Status` as the body.
    HttpGone,
}

/// The collection path of a kind: `/api/v1/pods`, `/apis/apps/v1/deployments`.
pub fn collection(api_version: &str, kind: &str) -> String {
    let plural = format!("{}s", kind.to_ascii_lowercase());
    if api_version == "v1" {
        format!("/api/v1/{plural}")
    } else {
        format!("/apis/{api_version}/{plural}")
    }
}

struct Kind {
    api_version: String,
    kind: String,
}

#[derive(Default)]
struct KState {
    rv: u64,
    kinds: BTreeMap<String, Kind>,
    /// (path, namespace, name) → object with apiVersion and kind.
    objects: BTreeMap<(String, String, String), Value>,
    history: Vec<(u64, String, &'static str, Value)>,
    compacted: u64,
    generation: u64,
    closed: u64,
    expire_next_continue: bool,
    expiry: Option<Expiry>,
    max_watch_seconds: u64,
    forbidden: Vec<String>,
    requests: Vec<String>,
}

pub struct FakeKube {
    pub addr: SocketAddr,
    pub token: String,
    state: Arc<Mutex<KState>>,
    tick: tokio::sync::watch::Sender<u64>,
}

#[derive(Clone)]
struct Ctx {
    state: Arc<Mutex<KState>>,
    tick: tokio::sync::watch::Sender<u64>,
    token: String,
}

fn status(code: StatusCode, body: &str) -> Response {
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn with_rv(mut object: Value, rv: u64) -> Value {
    object["metadata"]["resourceVersion"] = Value::from(rv.to_string());
    object
}

impl FakeKube {
    /// Serves the fixture cluster on a free loopback port; every request must carry `token`.
    pub async fn start(token: &str) -> FakeKube {
        let (tick, _) = tokio::sync::watch::channel(0);
        let state = Arc::new(Mutex::new(KState {
            expiry: Some(Expiry::ErrorEvent),
            max_watch_seconds: 3600,
            ..KState::default()
        }));
        let fake_ctx = Ctx {
            state: state.clone(),
            tick: tick.clone(),
            token: token.to_string(),
        };
        let list: Value = serde_json::from_str(CLUSTER).unwrap();
        {
            let mut s = state.lock().unwrap();
            for item in list["items"].as_array().unwrap() {
                let path = register(&mut s, item);
                s.rv += 1;
                let rv = s.rv;
                let key = key_of(&path, item);
                s.objects.insert(key, with_rv(item.clone(), rv));
            }
            // Kinds without objects in the fixture are served (empty) all the same.
            for (api_version, kind) in [("v1", "ReplicationController"), ("batch/v1", "Job")] {
                register(&mut s, &json!({"apiVersion": api_version, "kind": kind}));
            }
        }
        let app = axum::Router::new().fallback(handle).with_state(fake_ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeKube {
            addr,
            token: token.to_string(),
            state,
            tick,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose current context is this server with the bearer token.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: agent\n\
             current-context: fake\nusers:\n- name: agent\n  user:\n    token: {}\n",
            self.url(),
            self.token
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn change(&self, event: &'static str, object: Value) -> u64 {
        let rv = {
            let mut s = self.state.lock().unwrap();
            let path = register(&mut s, &object);
            s.rv += 1;
            let rv = s.rv;
            let object = with_rv(object, rv);
            let key = key_of(&path, &object);
            if event == "DELETED" {
                s.objects.remove(&key);
            } else {
                s.objects.insert(key, object.clone());
            }
            s.history.push((rv, path, event, object));
            rv
        };
        self.tick.send_modify(|t| *t += 1);
        rv
    }

    /// ADDED (the object needs `apiVersion`, `kind` and `metadata.name`/`namespace`).
    pub fn add(&self, object: Value) -> u64 {
        self.change("ADDED", object)
    }

    pub fn modify(&self, object: Value) -> u64 {
        self.change("MODIFIED", object)
    }

    pub fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> u64 {
        let path = collection(api_version, kind);
        let object = self
            .state
            .lock()
            .unwrap()
            .objects
            .get(&(path, namespace.to_string(), name.to_string()))
            .cloned()
            .expect("deleting an object the fake holds");
        self.change("DELETED", object)
    }

    /// The object as the fake holds it.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
        let path = collection(api_version, kind);
        self.state.lock().unwrap().objects[&(path, namespace.to_string(), name.to_string())].clone()
    }

    /// Compacts the history (every resourceVersion so far is gone) and ends every open watch
    /// with an `ERROR` event of code 410.
    pub fn expire(&self) {
        {
            let mut s = self.state.lock().unwrap();
            s.compacted = s.rv;
            s.generation += 1;
        }
        self.tick.send_modify(|t| *t += 1);
    }

    /// Compacts the history without touching open watches: the next watch (or continue) from
    /// an old resourceVersion is refused.
    pub fn compact(&self) {
        let mut s = self.state.lock().unwrap();
        s.compacted = s.rv;
    }

    /// The next `continue` token presented is refused with HTTP 410, as one older than the
    /// history is.
    pub fn expire_next_continue(&self) {
        self.state.lock().unwrap().expire_next_continue = true;
    }

    /// Ends every open watch cleanly, as its timeout would.
    pub fn close_watches(&self) {
        self.state.lock().unwrap().closed += 1;
        self.tick.send_modify(|t| *t += 1);
    }

    pub fn set_expiry(&self, expiry: Expiry) {
        self.state.lock().unwrap().expiry = Some(expiry);
    }

    /// Caps every watch's `timeoutSeconds` (so tests see watches end and restart).
    pub fn set_max_watch_seconds(&self, seconds: u64) {
        self.state.lock().unwrap().max_watch_seconds = seconds;
    }

    /// Answers 403 to every request under this collection path.
    pub fn forbid(&self, path: &str) {
        self.state.lock().unwrap().forbidden.push(path.to_string());
    }

    /// Every request so far, `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn resource_version(&self) -> u64 {
        self.state.lock().unwrap().rv
    }
}

fn register(s: &mut KState, object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap().to_string();
    let kind = object["kind"].as_str().unwrap().to_string();
    let path = collection(&api_version, &kind);
    s.kinds
        .entry(path.clone())
        .or_insert(Kind { api_version, kind });
    path
}

fn key_of(path: &str, object: &Value) -> (String, String, String) {
    let m = &object["metadata"];
    (
        path.to_string(),
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap().to_string(),
    )
}

async fn handle(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    {
        let mut s = ctx.state.lock().unwrap();
        s.requests.push(match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        });
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {}", ctx.token) {
        return status(StatusCode::UNAUTHORIZED, STATUS_401);
    }
    let (list_kind, api_version) = {
        let s = ctx.state.lock().unwrap();
        if s.forbidden.contains(&path) {
            return status(StatusCode::FORBIDDEN, STATUS_403);
        }
        match s.kinds.get(&path) {
            Some(k) => (format!("{}List", k.kind), k.api_version.clone()),
            None => {
                return status(
                    StatusCode::NOT_FOUND,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "the server could not find the requested resource",
                        "reason": "NotFound", "details": {}, "code": 404})
                    .to_string(),
                );
            }
        }
    };
    if matches!(query.get("watch").map(String::as_str), Some("1" | "true")) {
        watch(ctx, path, query)
    } else {
        list(ctx, path, list_kind, api_version, query)
    }
}

fn list(
    ctx: Ctx,
    path: String,
    list_kind: String,
    api_version: String,
    query: BTreeMap<String, String>,
) -> Response {
    let mut s = ctx.state.lock().unwrap();
    let (list_rv, offset) = match query.get("continue") {
        Some(token) => {
            let (rv, offset) = token.split_once(':').unwrap();
            let rv: u64 = rv.parse().unwrap();
            if rv < s.compacted || std::mem::take(&mut s.expire_next_continue) {
                return status(StatusCode::GONE, STATUS_410_CONTINUE);
            }
            (rv, offset.parse::<usize>().unwrap())
        }
        None => (s.rv, 0),
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let all: Vec<Value> = s
        .objects
        .iter()
        .filter(|((p, _, _), _)| *p == path)
        .map(|(_, o)| {
            let mut o = o.clone();
            // A typed list's items carry no apiVersion/kind.
            let m = o.as_object_mut().unwrap();
            m.remove("apiVersion");
            m.remove("kind");
            o
        })
        .collect();
    let end = offset.saturating_add(limit).min(all.len());
    let items = &all[offset.min(end)..end];
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if end < all.len() {
        // Tokens are opaque to clients; this one needs percent-encoding (`:`).
        metadata["continue"] = Value::from(format!("{list_rv}:{end}"));
    }
    let body = json!({"kind": list_kind, "apiVersion": api_version, "metadata": metadata,
        "items": items});
    status(StatusCode::OK, &body.to_string())
}

fn line(event: &str, object: &Value) -> bytes::Bytes {
    bytes::Bytes::from(format!("{}\n", json!({"type": event, "object": object})))
}

fn watch(ctx: Ctx, path: String, query: BTreeMap<String, String>) -> Response {
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let (expiry, compacted, generation, closed, max_seconds, api_version, kind) = {
        let s = ctx.state.lock().unwrap();
        let k = &s.kinds[&path];
        (
            s.expiry,
            s.compacted,
            s.generation,
            s.closed,
            s.max_watch_seconds,
            k.api_version.clone(),
            k.kind.clone(),
        )
    };
    let gone: Value = serde_json::from_str(STATUS_410_WATCH).unwrap();
    if from < compacted {
        return match expiry {
            Some(Expiry::HttpGone) => status(StatusCode::GONE, STATUS_410_WATCH),
            _ => status(
                StatusCode::OK,
                &format!("{}", String::from_utf8_lossy(&line("ERROR", &gone))),
            ),
        };
    }
    let seconds = query
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1800)
        .min(max_seconds);
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(64);
    let mut tick = ctx.tick.subscribe();
    tokio::spawn(async move {
        use futures::SinkExt as _;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut last = from;
        let mut caught_up = false;
        loop {
            let (lines, expired, ended, bookmark) = {
                let s = ctx.state.lock().unwrap();
                let (expired, ended) = (s.generation != generation, s.closed != closed);
                // A watch that ends or expires sends nothing more of the history.
                let lines: Vec<bytes::Bytes> = s
                    .history
                    .iter()
                    .filter(|(rv, p, _, _)| *rv > last && *p == path && !expired && !ended)
                    .map(|(_, _, e, o)| line(e, o))
                    .collect();
                last = s.rv;
                (lines, expired, ended, s.rv)
            };
            for l in lines {
                if tx.send(Ok(l)).await.is_err() {
                    return;
                }
            }
            if expired {
                let _ = tx.send(Ok(line("ERROR", &gone))).await;
                return;
            }
            if ended {
                return;
            }
            let mark = json!({"kind": kind, "apiVersion": api_version,
                "metadata": {"resourceVersion": bookmark.to_string()}});
            if bookmarks && !caught_up {
                caught_up = true;
                if tx.send(Ok(line("BOOKMARK", &mark))).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                changed = tick.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(deadline) => {
                    if bookmarks {
                        let _ = tx.send(Ok(line("BOOKMARK", &mark))).await;
                    }
                    return;
                }
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(rx))
        .unwrap()
}
