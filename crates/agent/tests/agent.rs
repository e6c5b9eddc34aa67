//! The agent against a loopback Kubernetes API server that speaks the list/watch wire format
//! (`support/fake_kube.rs`) and a fake berth that records what it receives (`support/sink.rs`):
//! both real HTTP over 127.0.0.1, the agent's real kube client configured by a kubeconfig.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "support/fake_kube.rs"]
mod fake_kube;
#[path = "support/sink.rs"]
mod sink;

use std::sync::Arc;
use std::time::Duration;

use berth_agent::{AgentConfig, AgentError, KubeSource, Shared};
use fake_kube::{Expiry, FakeKube};
use serde_json::{Value, json};
use sink::{Mode, Received, Sink};

const CLUSTER_ID: &str = "c0123456789abcdef0123456789abcdef";
const TOKEN: &str = "bcc_test-credential";
const KUBE_TOKEN: &str = "kube-service-account-token";

struct Setup {
    kube: FakeKube,
    berth: Sink,
    shared: Arc<Shared>,
    agent: tokio::task::JoinHandle<Result<(), AgentError>>,
    _dir: tempfile::TempDir,
}

/// The fixture cluster holds 14 objects.
const FIXTURE_OBJECTS: usize = 14;

async fn start(buffer_events: usize, tweak: impl FnOnce(&FakeKube)) -> Setup {
    let kube = FakeKube::start(KUBE_TOKEN).await;
    tweak(&kube);
    let berth = Sink::start(CLUSTER_ID, TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = AgentConfig::new(
        &berth.url(),
        CLUSTER_ID,
        TOKEN,
        KubeSource::Kubeconfig(kube.kubeconfig(dir.path())),
    );
    config.buffer_events = buffer_events;
    // Pages of 2 objects: the 7 fixture pods take 4 list requests with `continue`.
    config.page_size = 2;
    config.backoff_initial = Duration::from_millis(20);
    config.backoff_max = Duration::from_millis(200);
    let shared = berth_agent::shared_state(buffer_events);
    let agent = tokio::spawn(berth_agent::run(config, shared.clone()));
    Setup {
        kube,
        berth,
        shared,
        agent,
        _dir: dir,
    }
}

fn snapshots(got: &[Received]) -> usize {
    got.iter().filter(|r| r.what == "snapshot").count()
}

fn describe(got: &[Received]) -> Vec<String> {
    got.iter().map(Received::describe).collect()
}

fn pod(name: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
            "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
        "spec": {"containers": [{"name": "app", "image": image}]},
        "status": {"phase": "Running"}})
}

/// The items of a snapshot as `Kind namespace/name`.
fn items(snapshot: &Received) -> Vec<String> {
    snapshot.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}/{}",
                i["kind"].as_str().unwrap(),
                i["metadata"]["namespace"].as_str().unwrap_or_default(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// What berth holds after what it took: a snapshot replaces, events apply.
fn replay(got: &[Received]) -> Vec<String> {
    let mut held = std::collections::BTreeSet::new();
    for r in got {
        if r.what == "snapshot" {
            held = items(r).into_iter().collect();
            continue;
        }
        let (event, key) = r
            .describe()
            .split_once(' ')
            .map(|(e, k)| (e.to_string(), k.to_string()))
            .unwrap();
        if event == "DELETED" {
            held.remove(&key);
        } else {
            held.insert(key);
        }
    }
    held.into_iter().collect()
}

#[tokio::test]
async fn first_a_snapshot_of_every_kind_then_the_watch_events_in_order() {
    let s = start(100, |_| {}).await;
    let got = s
        .berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;
    let snapshot = &got[0];
    assert_eq!(snapshot.what, "snapshot");
    assert_eq!(snapshot.body["apiVersion"], "v1");
    assert_eq!(snapshot.body["kind"], "List");
    let listed = items(snapshot);
    assert_eq!(listed.len(), FIXTURE_OBJECTS, "{listed:#?}");
    for expected in [
        "Deployment shop/web",
        "DaemonSet monitoring/node-exporter",
        "StatefulSet data/postgres",
        "ReplicaSet shop/web-7c9f8d6b5d",
        "ReplicationController legacy/legacy-frontend",
        "CronJob ops/nightly-backup",
        "Job ops/nightly-backup-28946700",
        "Pod shop/web-7c9f8d6b5d-q8mzt",
        "Pod default/debug-shell",
    ] {
        assert!(
            listed.iter().any(|l| l == expected),
            "{expected} not in {listed:#?}"
        );
    }
    // Items of typed lists get their apiVersion; managedFields do not travel.
    let deployment = &snapshot.body["items"][0];
    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert!(deployment["metadata"].get("managedFields").is_none());
    assert!(deployment["spec"]["template"]["spec"]["containers"].is_array());
    // Paged lists: pods came in pages of two, continue tokens sent back percent-encoded.
    let requests = s.kube.requests();
    let pod_lists: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?limit=2"))
        .collect();
    assert_eq!(pod_lists.len(), 4, "{pod_lists:#?}");
    assert!(
        pod_lists[1].contains("&continue=") && pod_lists[1].contains("%3A2"),
        "{pod_lists:#?}"
    );
    // Every kind is watched with bookmarks from its list's resourceVersion.
    for path in [
        "/api/v1/pods",
        "/apis/batch/v1/cronjobs",
        "/api/v1/replicationcontrollers",
    ] {
        assert!(
            requests.iter().any(
                |r| r.starts_with(&format!("{path}?watch=1&resourceVersion="))
                    && r.contains("allowWatchBookmarks=true")
            ),
            "no watch of {path}: {requests:#?}"
        );
    }

    s.kube.add(pod("web-new", "nginx:1.27.4"));
    let mut web = s.kube.get("apps/v1", "Deployment", "shop", "web");
    web["spec"]["replicas"] = json!(3);
    s.kube.modify(web);
    s.kube.delete("v1", "Pod", "default", "debug-shell");
    s.kube.add(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "once", "namespace": "ops", "uid": "uid-once"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}],
            "restartPolicy": "Never"}}}}));
    s.kube.delete("v1", "Pod", "shop", "web-new");
    let got = s.berth.wait_for("five events", |g| g.len() >= 6).await;
    let got = describe(&got);
    assert_eq!(got.len(), 6, "{got:#?}");
    assert_eq!(got[0], format!("SNAPSHOT {FIXTURE_OBJECTS}"));
    // Each kind is its own watch, so the API server orders events within a kind only; the
    // agent keeps that order (and the order of arrival across kinds).
    let of = |kind: &str| -> Vec<&String> {
        got.iter()
            .filter(|g| g.contains(&format!(" {kind} ")))
            .collect()
    };
    assert_eq!(
        of("Pod"),
        [
            "ADDED Pod shop/web-new",
            "DELETED Pod default/debug-shell",
            "DELETED Pod shop/web-new"
        ]
    );
    assert_eq!(of("Deployment"), ["MODIFIED Deployment shop/web"]);
    assert_eq!(of("Job"), ["ADDED Job ops/once"]);
    let events = s.berth.accepted();
    let modified = events
        .iter()
        .find(|r| r.body["type"] == "MODIFIED")
        .unwrap();
    assert_eq!(modified.body["object"]["spec"]["replicas"], 3);
    let added = events.iter().find(|r| r.body["type"] == "ADDED").unwrap();
    assert!(
        added.body["object"]["metadata"]
            .get("managedFields")
            .is_none()
    );
    assert!(!s.agent.is_finished());
}

#[tokio::test]
async fn a_watch_the_server_ends_resumes_from_the_bookmark_without_a_resync() {
    let s = start(100, |k| k.set_max_watch_seconds(1)).await;
    s.berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;
    // Changes to pods move the resourceVersion past every CronJob's: the CronJob watch learns
    // it from BOOKMARKs only.
    let rv = s.kube.add(pod("web-a", "nginx:1"));
    let watch_from = format!("/apis/batch/v1/cronjobs?watch=1&resourceVersion={rv}&");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.kube.requests().iter().any(|r| r.starts_with(&watch_from)) {
        assert!(
            std::time::Instant::now() < deadline,
            "{:#?}",
            s.kube.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.kube.add(pod("web-b", "nginx:1"));
    let got = s.berth.wait_for("two events", |g| g.len() >= 3).await;
    assert_eq!(
        describe(&got),
        [
            format!("SNAPSHOT {FIXTURE_OBJECTS}"),
            "ADDED Pod shop/web-a".into(),
            "ADDED Pod shop/web-b".into()
        ]
    );
    // Watches were restarted, lists were not.
    let requests = s.kube.requests();
    let cronjob_lists = requests
        .iter()
        .filter(|r| r.starts_with("/apis/batch/v1/cronjobs?limit"))
        .count();
    assert_eq!(cronjob_lists, 1, "{requests:#?}");
}

async fn expiry_relists_and_sends_a_new_snapshot(expiry: Expiry) {
    let s = start(100, |k| k.set_expiry(expiry)).await;
    s.berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;
    s.kube.add(pod("before", "nginx:1"));
    s.berth.wait_for("one event", |g| g.len() >= 2).await;
    match expiry {
        // Open watches get `ERROR` with a 410 Status.
        Expiry::ErrorEvent => s.kube.expire(),
        // The history is compacted under the open watches; they end (as at their timeout),
        // and watching again from the old resourceVersion answers HTTP 410.
        Expiry::HttpGone => {
            s.kube.compact();
            s.kube.close_watches();
        }
    }
    s.kube.add(pod("after", "nginx:2"));
    let got = s
        .berth
        .wait_for("a new snapshot, and the pod added after the expiry", |g| {
            snapshots(g) >= 2 && replay(g).iter().any(|i| i == "Pod shop/after")
        })
        .await;
    let listed = replay(&got);
    assert!(listed.iter().any(|i| i == "Pod shop/before"), "{listed:#?}");
    assert_eq!(listed.len(), FIXTURE_OBJECTS + 2);
    let requests = s.kube.requests();
    let relisted = requests
        .iter()
        .filter(|r| r.starts_with("/apis/apps/v1/deployments?limit=2"))
        .count();
    assert_eq!(
        relisted, 2,
        "deployments were not listed again: {requests:#?}"
    );
    let watched_from_old = requests
        .iter()
        .filter(|r| r.starts_with("/apis/apps/v1/deployments?watch=1&resourceVersion=14&"))
        .count();
    // ERROR on the open watch: listed again at once. HTTP 410: on watching again.
    let expected = if expiry == Expiry::HttpGone { 2 } else { 1 };
    assert_eq!(watched_from_old, expected, "{requests:#?}");
    // Kinds that expired together make one snapshot, not one each (with a margin for a kind
    // relisted before another saw its expiry).
    assert!(snapshots(&got) <= 3, "{:#?}", describe(&got));
}

#[tokio::test]
async fn an_error_event_with_410_relists_and_sends_a_new_snapshot() {
    expiry_relists_and_sends_a_new_snapshot(Expiry::ErrorEvent).await;
}

#[tokio::test]
async fn an_http_410_on_watch_relists_and_sends_a_new_snapshot() {
    expiry_relists_and_sends_a_new_snapshot(Expiry::HttpGone).await;
}

#[tokio::test]
async fn berth_down_buffers_events_then_an_overflow_becomes_a_resync() {
    let s = start(3, |_| {}).await;
    s.berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;

    // A short outage: the events wait in the buffer and arrive in order.
    s.berth.set_mode(Mode::Down);
    s.kube.add(pod("a", "nginx:1"));
    s.kube.add(pod("b", "nginx:1"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        s.berth.all().iter().any(|r| !r.accepted),
        "the agent did not try"
    );
    assert_eq!(s.shared.buffered(), 2);
    s.berth.set_mode(Mode::Up);
    let got = s
        .berth
        .wait_for("the buffered events", |g| g.len() >= 3)
        .await;
    assert_eq!(
        describe(&got),
        [
            format!("SNAPSHOT {FIXTURE_OBJECTS}"),
            "ADDED Pod shop/a".into(),
            "ADDED Pod shop/b".into()
        ]
    );

    // A longer one: five events overflow the buffer of three; when berth is back it gets one
    // snapshot with all of them, and none of the dropped events.
    s.berth.set_mode(Mode::Down);
    for name in ["c", "d", "e", "f", "g"] {
        s.kube.add(pod(name, "nginx:1"));
    }
    s.kube.delete("v1", "Pod", "shop", "a");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.shared.stats().overflows, 1);
    s.berth.set_mode(Mode::Up);
    let got = s.berth.wait_for("a resync", |g| snapshots(g) == 2).await;
    assert_eq!(got.len(), 4, "{:#?}", describe(&got));
    let listed = items(&got[3]);
    assert_eq!(listed.len(), FIXTURE_OBJECTS + 6, "{listed:#?}");
    assert!(!listed.iter().any(|i| i == "Pod shop/a"));
    // After the resync, events flow again.
    s.kube.add(pod("h", "nginx:1"));
    let got = s
        .berth
        .wait_for("an event after the resync", |g| g.len() >= 5)
        .await;
    assert_eq!(got[4].describe(), "ADDED Pod shop/h");
    // The kube side was not listed again: the resync came from the agent's cache.
    let lists = s
        .kube
        .requests()
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?limit=2") && !r.contains("continue"))
        .count();
    assert_eq!(lists, 1);
}

#[tokio::test]
async fn berth_unreachable_at_start_is_retried() {
    // Nothing listens on the port at first.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let kube = FakeKube::start(KUBE_TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = AgentConfig::new(
        &format!("http://127.0.0.1:{port}"),
        CLUSTER_ID,
        TOKEN,
        KubeSource::Kubeconfig(kube.kubeconfig(dir.path())),
    );
    config.backoff_initial = Duration::from_millis(20);
    config.backoff_max = Duration::from_millis(200);
    let shared = berth_agent::shared_state(100);
    let agent = tokio::spawn(berth_agent::run(config, shared));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!agent.is_finished());
    let berth = sink::Sink::start_on(CLUSTER_ID, TOKEN, port).await;
    let got = berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;
    assert_eq!(got[0].what, "snapshot");
    agent.abort();
}

#[tokio::test]
async fn a_credential_berth_rejects_is_fatal_at_once() {
    let s = start(100, |_| {}).await;
    s.berth.set_mode(Mode::Unauthorized);
    let result = tokio::time::timeout(Duration::from_secs(20), s.agent)
        .await
        .expect("the agent stops")
        .unwrap();
    let err = result.unwrap_err();
    assert!(
        matches!(err, AgentError::CredentialRejected { status: 401, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("berth admin cluster credential create"),
        "{err}"
    );
    // One try, no retry loop.
    assert_eq!(s.berth.all().len(), 1);
}

#[tokio::test]
async fn an_api_server_that_forbids_a_kind_is_fatal_and_names_the_rbac() {
    let s = start(100, |k| k.forbid("/apis/batch/v1/cronjobs")).await;
    let result = tokio::time::timeout(Duration::from_secs(20), s.agent)
        .await
        .expect("the agent stops")
        .unwrap();
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("cronjobs") && err.contains("403") && err.contains("list"),
        "{err}"
    );
    // Nothing partial went to berth.
    assert!(s.berth.all().is_empty());
}

#[tokio::test]
async fn an_expired_continue_token_starts_the_list_over() {
    let s = start(100, |k| k.expire_next_continue()).await;
    let got = s
        .berth
        .wait_for("the first snapshot", |g| !g.is_empty())
        .await;
    assert_eq!(items(&got[0]).len(), FIXTURE_OBJECTS);
    assert_eq!(snapshots(&got), 1);
    // The first kind listed (Deployments, one page) had no continue; the first paged one
    // started over: two first pages, one refused continuation.
    let requests = s.kube.requests();
    let first_pages = requests.iter().filter(|r| r.ends_with("?limit=2")).count();
    assert_eq!(first_pages, 9, "{requests:#?}");
}
