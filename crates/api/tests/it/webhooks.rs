//! Webhook deliveries over real HTTP: a berth server on 127.0.0.1 posts to a receiver on
//! 127.0.0.1 that answers with scripted statuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use berth_api::config::Config;
use berth_api::webhooks::sign;
use berth_store::{DeliveryStatus, NewWebhookTrigger, WebhookDelivery, WebhookHeader};
use common::{TestApp, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct ReceiverState {
    /// Statuses to answer with, in order; 200 once they run out.
    script: Mutex<Vec<u16>>,
    got: Mutex<Vec<Received>>,
}

/// An HTTP receiver on 127.0.0.1.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.iter().rev().copied().collect()),
            got: Mutex::default(),
        });
        async fn hook(
            State(s): State<Arc<ReceiverState>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> (StatusCode, &'static str) {
            s.got.lock().unwrap().push(Received { headers, body });
            let code = s.script.lock().unwrap().pop().unwrap_or(200);
            (StatusCode::from_u16(code).unwrap(), "receiver says hi")
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }
}

/// Small delays so that retries happen within a test.
fn fast(c: &mut Config) {
    c.webhooks.allow_private_targets = true;
    c.webhooks.backoff_base_millis = 100;
    c.webhooks.backoff_max_millis = 400;
    c.webhooks.timeout_secs = 5;
}

async fn trigger_in_store(
    s: &TestServer,
    namespace: &str,
    url: &str,
    events: &[&str],
    enabled: bool,
) -> berth_store::WebhookTrigger {
    let inst = &s.app.default_instance;
    let ns = s
        .app
        .meta
        .ensure_namespace(&inst.id, namespace)
        .await
        .unwrap();
    s.app
        .meta
        .create_webhook_trigger(
            &NewWebhookTrigger {
                instance_id: inst.id.clone(),
                namespace_id: ns.id,
                name: "t".into(),
                url: url.into(),
                event_types: events.iter().map(|e| e.to_string()).collect(),
                headers: vec![WebhookHeader {
                    key: "X-Team".into(),
                    values: vec!["blue".into(), "green".into()],
                }],
                enabled,
                secret: berth_api::webhooks::new_secret(),
            },
            100,
        )
        .await
        .unwrap()
        .unwrap()
}

/// Waits until the trigger's log holds `n` attempts; returns them newest first.
async fn wait_for_log(s: &TestServer, trigger_id: i64, n: usize) -> Vec<WebhookDelivery> {
    for _ in 0..200 {
        let (log, _) = s
            .app
            .meta
            .list_webhook_deliveries(trigger_id, 0, 99)
            .await
            .unwrap();
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log of trigger {trigger_id} never reached {n} attempts");
}

fn statuses(log: &[WebhookDelivery]) -> Vec<DeliveryStatus> {
    log.iter().map(|d| d.status).collect()
}

#[tokio::test]
async fn engine_retries_until_success_and_signs_every_attempt() {
    let s = TestApp::new().config(fast).start().await;
    let rx = Receiver::start(&[500, 503]).await;
    let t = trigger_in_store(&s, "hooks", &rx.url, &["PushImage"], true).await;
    let (_, digest) = s.push_image("hooks/app", "v1", b"layer").await;

    let log = wait_for_log(&s, t.id, 3).await;
    assert_eq!(
        statuses(&log),
        vec![
            DeliveryStatus::Success,
            DeliveryStatus::Failed,
            DeliveryStatus::Failed
        ]
    );
    assert_eq!(
        log.iter().map(|d| d.status_code).collect::<Vec<_>>(),
        vec![Some(200), Some(503), Some(500)]
    );
    assert_eq!(log[2].response.as_deref(), Some("receiver says hi"));
    assert_eq!(log[0].attempt, 3);
    // Backoff: at least base, then 2 base, between attempts.
    assert!(log[1].created_at - log[2].created_at >= 100);
    assert!(log[0].created_at - log[1].created_at >= 200);

    let got = rx.got();
    assert_eq!(got.len(), 3);
    let delivery_ids: Vec<&str> = got
        .iter()
        .map(|r| r.headers["x-berth-delivery"].to_str().unwrap())
        .collect();
    assert!(delivery_ids.iter().all(|d| *d == delivery_ids[0]));
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(
            r.headers["x-berth-signature"].to_str().unwrap(),
            sign(&t.secret, &r.body)
        );
        assert_eq!(r.headers["x-berth-event"], "PushImage");
        assert_eq!(r.headers["x-berth-attempt"], (i + 1).to_string().as_str());
        let team: Vec<&str> = r
            .headers
            .get_all("x-team")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(team, vec!["blue", "green"]);
        assert_eq!(r.body, got[0].body, "every attempt sends the same body");
    }
    let v: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(v["event"], "PushImage");
    assert_eq!(v["delivery"], delivery_ids[0]);
    assert_eq!(v["instance"]["id"], s.app.default_instance.id.as_str());
    assert_eq!(v["instance"]["name"], "default");
    assert_eq!(v["namespace"], "hooks");
    assert_eq!(v["repository"], "hooks/app");
    assert_eq!(v["tag"], "v1");
    assert_eq!(v["digest"], digest.to_string().as_str());
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn engine_gives_up_after_max_attempts() {
    let s = TestApp::new()
        .config(|c| {
            fast(c);
            c.webhooks.max_attempts = 2;
        })
        .start()
        .await;
    let rx = Receiver::start(&[500, 500, 500]).await;
    let t = trigger_in_store(&s, "hooks", &rx.url, &["PushImage"], true).await;
    s.push_image("hooks/app", "v1", b"layer").await;
    let log = wait_for_log(&s, t.id, 2).await;
    assert_eq!(
        statuses(&log),
        vec![DeliveryStatus::Failed, DeliveryStatus::Failed]
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.got().len(), 2);
    let jobs = s
        .app
        .meta
        .list_jobs(berth_api::webhooks::WEBHOOK_JOB, 10)
        .await
        .unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.state, j.attempts))
            .collect::<Vec<_>>(),
        vec![(berth_store::JobState::Dead, 2)],
        "nothing left to run: the delivery is buried after its last attempt"
    );
}

#[tokio::test]
async fn private_targets_are_refused_at_delivery_time() {
    // Created behind the API's back (as if allowed when created): delivery checks again.
    let s = TestApp::new()
        .config(|c| {
            fast(c);
            c.webhooks.allow_private_targets = false;
            c.webhooks.max_attempts = 1;
        })
        .start()
        .await;
    let rx = Receiver::start(&[]).await;
    let t = trigger_in_store(&s, "hooks", &rx.url, &["PushImage"], true).await;
    s.push_image("hooks/app", "v1", b"layer").await;
    let log = wait_for_log(&s, t.id, 1).await;
    assert_eq!(log[0].status, DeliveryStatus::Failed);
    assert_eq!(log[0].status_code, None);
    let why = log[0].response.as_deref().unwrap();
    assert!(why.contains("loopback"), "{why}");
    assert!(rx.got().is_empty());
}

#[tokio::test]
async fn engine_fires_delete_and_skips_disabled_and_unsubscribed_triggers() {
    let s = TestApp::new().config(fast).start().await;
    let rx = Receiver::start(&[]).await;
    let off = Receiver::start(&[]).await;
    let delete = trigger_in_store(&s, "hooks", &rx.url, &["DeleteImage"], true).await;
    let disabled =
        trigger_in_store(&s, "hooks", &off.url, &["PushImage", "DeleteImage"], false).await;
    let (_, digest) = s.push_image("hooks/app", "v1", b"layer").await;
    let r = s
        .admin(Method::DELETE, "/v2/hooks/app/manifests/v1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let r = s
        .admin(Method::DELETE, &format!("/v2/hooks/app/manifests/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let log = wait_for_log(&s, delete.id, 2).await;
    assert_eq!(
        statuses(&log),
        vec![DeliveryStatus::Success, DeliveryStatus::Success]
    );
    let bodies: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "the push is not delivered to a DeleteImage trigger"
    );
    let by_tag = bodies.iter().find(|b| b["tag"] == "v1").unwrap();
    assert_eq!(by_tag["event"], "DeleteImage");
    assert_eq!(by_tag["digest"], digest.to_string().as_str());
    let by_digest = bodies.iter().find(|b| b["tag"].is_null()).unwrap();
    assert_eq!(by_digest["digest"], digest.to_string().as_str());
    assert_eq!(by_digest["repository"], "hooks/app");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(off.got().is_empty(), "disabled triggers are not fired");
    assert!(
        s.app
            .meta
            .list_webhook_deliveries(disabled.id, 0, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}

#[tokio::test]
async fn pending_attempts_survive_a_restart() {
    // A delivery whose process died during its first attempt (outcome unknown) is taken over
    // by the next process once the lease ends, as attempt 2.
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(&[]).await;
    let trigger_id;
    {
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let (meta, _) = berth_api::open_stores(&config).await.unwrap();
        let inst = meta.ensure_default_instance("default").await.unwrap();
        let ns = meta.ensure_namespace(&inst.id, "hooks").await.unwrap();
        let t = meta
            .create_webhook_trigger(
                &NewWebhookTrigger {
                    instance_id: inst.id.clone(),
                    namespace_id: ns.id,
                    name: "t".into(),
                    url: rx.url.clone(),
                    event_types: vec!["PushImage".into()],
                    headers: vec![],
                    enabled: true,
                    secret: "k".into(),
                },
                100,
            )
            .await
            .unwrap()
            .unwrap();
        trigger_id = t.id;
        let now = berth_store::now_millis();
        meta.enqueue_job(&berth_store::NewJob {
            kind: berth_api::webhooks::WEBHOOK_JOB.into(),
            payload: json!({
                "trigger_id": t.id,
                "namespace_id": ns.id,
                "event_type": "PushImage",
                "body": "{\"delivery\":\"d1\",\"event\":\"PushImage\"}",
            })
            .to_string(),
            dedupe_key: None,
            max_attempts: 5,
            due_at: now,
        })
        .await
        .unwrap();
        // Claimed by the process that dies: its lease has already ended.
        let claimed = meta
            .claim_job(&[berth_api::webhooks::WEBHOOK_JOB], now, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.job.attempts, 1);
    }
    let s = TestApp::new().data_dir(dir).config(fast).start().await;
    let log = wait_for_log(&s, trigger_id, 1).await;
    assert_eq!(log[0].status, DeliveryStatus::Success);
    assert_eq!(log[0].attempt, 2);
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["x-berth-delivery"], "d1");
    assert_eq!(got[0].headers["x-berth-attempt"], "2");
    assert_eq!(
        got[0].headers["x-berth-signature"].to_str().unwrap(),
        sign("k", &got[0].body)
    );
}

// The management API: the five actions over signed HTTP.

/// The default instance's id and a namespace created in it.
async fn namespace(s: &TestServer, name: &str) -> String {
    let inst = s.app.default_instance.id.clone();
    s.app.meta.ensure_namespace(&inst, name).await.unwrap();
    inst
}

/// Waits until DescribeWebhookTriggerLog reports `n` attempts; returns the reply.
async fn wait_for_api_log(kcr: &common::kcr::Kcr, inst: &str, ns: &str, id: &str, n: u64) -> Value {
    for _ in 0..200 {
        let v = kcr
            .call(
                "DescribeWebhookTriggerLog",
                &[("InstanceId", inst), ("Namespace", ns), ("TriggerId", id)],
            )
            .await;
        if v["TotalCount"].as_u64().unwrap() >= n {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log of trigger {id} never reached {n} attempts");
}

#[tokio::test]
async fn api_trigger_fails_twice_then_succeeds_with_three_log_entries() {
    let s = TestApp::new().config(fast).start().await;
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    let rx = Receiver::start(&[500, 500]).await;
    let created = kcr
        .call(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "ci"),
                ("Trigger.EventType.1", "PushImage"),
                ("Trigger.TriggerUrl", &rx.url),
                ("Trigger.Header.1.Key", "X-Team"),
                ("Trigger.Header.1.Value.1", "blue"),
                ("Trigger.Header.1.Value.2", "green"),
                ("Trigger.Header.2.Key", "Authorization"),
                ("Trigger.Header.2.Value.1", "Bearer hook-token"),
                ("Trigger.Enabled", "True"),
            ],
        )
        .await;
    let id = created["TriggerId"].as_i64().unwrap();
    assert!(id > 0);
    let secret = created["Secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    let (_, digest) = s.push_image("hooks/app", "v1", b"layer").await;

    let id_s = id.to_string();
    let v = wait_for_api_log(&kcr, &inst, "hooks", &id_s, 3).await;
    assert_eq!(v["TotalCount"], 3);
    assert_eq!(v["MaxResults"], 10);
    assert_eq!(v["Marker"], 0);
    let logs = v["Logs"].as_array().unwrap();
    let statuses: Vec<&str> = logs.iter().map(|l| l["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["Success", "Failed", "Failed"], "newest first");
    for l in logs {
        assert_eq!(l["TriggerId"], id);
        assert_eq!(l["EventType"], "PushImage");
        assert_eq!(l["Namespace"], "hooks");
        assert_eq!(l["TriggerUrl"], rx.url.as_str());
        assert_eq!(l["CreateTime"].as_str().unwrap().len(), 19);
        assert!(l["LogId"].as_i64().unwrap() > 0);
    }
    assert_eq!(logs[0]["StatusCode"], 200);
    assert_eq!(logs[2]["StatusCode"], 500);
    assert_eq!(logs[2]["Attempt"], 1);
    // Paging over the log.
    let v = kcr
        .call(
            "DescribeWebhookTriggerLog",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("TriggerId", &id_s),
                ("MaxResults", "2"),
            ],
        )
        .await;
    assert_eq!(
        (v["Logs"].as_array().unwrap().len(), &v["Marker"]),
        (2, &json!(2))
    );
    let v = kcr
        .call(
            "DescribeWebhookTriggerLog",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("TriggerId", &id_s),
                ("MaxResults", "2"),
                ("Marker", "2"),
            ],
        )
        .await;
    assert_eq!(v["Logs"][0]["Status"], "Failed");
    assert_eq!(v["Marker"], 0);

    let got = rx.got();
    assert_eq!(got.len(), 3);
    for r in &got {
        // What a receiver does: HMAC-SHA256 of the raw body under the secret it was given.
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret.as_bytes()).unwrap();
        hmac::Mac::update(&mut mac, &r.body);
        let expected = format!(
            "sha256={}",
            hex::encode(hmac::Mac::finalize(mac).into_bytes())
        );
        assert_eq!(r.headers["x-berth-signature"].to_str().unwrap(), expected);
        let team: Vec<&str> = r
            .headers
            .get_all("x-team")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(team, ["blue", "green"]);
        assert_eq!(r.headers["authorization"], "Bearer hook-token");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    let p: Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(p["event"], "PushImage");
    assert_eq!(p["instance"]["id"], inst.as_str());
    assert_eq!(p["namespace"], "hooks");
    assert_eq!(p["repository"], "hooks/app");
    assert_eq!(p["tag"], "v1");
    assert_eq!(p["digest"], digest.to_string().as_str());
    assert_eq!(
        p["delivery"],
        got[0].headers["x-berth-delivery"].to_str().unwrap()
    );
}

#[tokio::test]
async fn api_crud_paging_and_validation() {
    let s = TestApp::new().config(fast).start().await;
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    namespace(&s, "other").await;
    let base = [("InstanceId", inst.as_str()), ("Namespace", "hooks")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, &str)> = base.to_vec();
        p.extend_from_slice(extra);
        p
    };
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let mut p = with(&[
            ("Trigger.EventType.1", "PushImage"),
            ("Trigger.TriggerUrl", "http://127.0.0.1:9/hook"),
        ]);
        p.push(("Trigger.TriggerName", name));
        let v = kcr.call("CreateWebhookTrigger", &p).await;
        ids.push(v["TriggerId"].as_i64().unwrap());
    }

    let v = kcr.call("DescribeWebhookTrigger", &base).await;
    assert_eq!(v["TotalCount"], 3);
    assert_eq!(v["MaxResults"], 10);
    assert_eq!(v["Marker"], 0);
    let set = v["TriggerSet"].as_array().unwrap();
    assert_eq!(
        set.iter()
            .map(|t| t["TriggerId"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]],
        "newest first, as in the seed's example"
    );
    let t = &set[2];
    assert_eq!(t["TriggerName"], "a");
    assert_eq!(t["EventType"], json!(["PushImage"]));
    assert_eq!(t["TriggerUrl"], "http://127.0.0.1:9/hook");
    assert_eq!(t["Header"], Value::Null);
    assert_eq!(t["Enabled"], true);
    assert_eq!(t["CreateTime"].as_str().unwrap().len(), 19);
    assert!(t.get("Secret").is_none(), "the secret is shown once");
    let v = kcr
        .call("DescribeWebhookTrigger", &with(&[("MaxResults", "2")]))
        .await;
    assert_eq!(v["TriggerSet"].as_array().unwrap().len(), 2);
    assert_eq!(v["Marker"], 2);
    let v = kcr
        .call(
            "DescribeWebhookTrigger",
            &with(&[("MaxResults", "2"), ("Marker", "2")]),
        )
        .await;
    assert_eq!(v["TriggerSet"][0]["TriggerId"], ids[0]);
    assert_eq!(v["Marker"], 0);
    let first = ids[0].to_string();
    let mut p = base.to_vec();
    p.push(("TriggerId", &first));
    let v = kcr.call("DescribeWebhookTrigger", &p).await;
    assert_eq!(v["TotalCount"], 1);
    assert_eq!(v["TriggerSet"][0]["TriggerName"], "a");
    // Triggers are per namespace.
    let v = kcr
        .call(
            "DescribeWebhookTrigger",
            &[("InstanceId", &inst), ("Namespace", "other")],
        )
        .await;
    assert_eq!(v["TotalCount"], 0);
    assert_eq!(v["TriggerSet"], json!([]));

    // Modify: only what is given changes.
    let mut p = base.to_vec();
    p.extend_from_slice(&[
        ("Trigger.TriggerId", first.as_str()),
        ("Trigger.TriggerName", "renamed"),
        ("Trigger.EventType.1", "DeleteImage"),
        ("Trigger.EventType.2", "PushImage"),
        ("Trigger.Header.1.Key", "k1"),
        ("Trigger.Header.1.Value.1", "v1"),
        ("Trigger.Enabled", "False"),
    ]);
    let v = kcr.call("ModifyWebhookTrigger", &p).await;
    assert_eq!(v.as_object().unwrap().len(), 1, "only RequestId: {v}");
    let mut p = base.to_vec();
    p.push(("TriggerId", &first));
    let v = kcr.call("DescribeWebhookTrigger", &p).await;
    let t = &v["TriggerSet"][0];
    assert_eq!(t["TriggerName"], "renamed");
    assert_eq!(t["EventType"], json!(["DeleteImage", "PushImage"]));
    assert_eq!(t["Header"], json!([{"Key": "k1", "Value": ["v1"]}]));
    assert_eq!(t["Enabled"], false);
    assert_eq!(t["TriggerUrl"], "http://127.0.0.1:9/hook");

    // Errors.
    let missing = |k: &'static str| {
        let mut p = with(&[
            ("Trigger.TriggerName", "x"),
            ("Trigger.EventType.1", "PushImage"),
            ("Trigger.TriggerUrl", "http://127.0.0.1:9/"),
        ]);
        p.retain(|(key, _)| *key != k);
        p
    };
    for k in [
        "Trigger.TriggerName",
        "Trigger.TriggerUrl",
        "Namespace",
        "InstanceId",
    ] {
        kcr.fails("CreateWebhookTrigger", &missing(k), 400, "MissingParameter")
            .await;
    }
    kcr.fails(
        "CreateWebhookTrigger",
        &missing("Trigger.EventType.1"),
        400,
        "MissingParameter",
    )
    .await;
    for (k, v) in [
        ("Trigger.EventType.2", "PullImage"),
        ("Trigger.Enabled", "maybe"),
        ("Trigger.Header.1.Key", "Content-Type"),
        ("Trigger.Header.1.Key", "bad key"),
    ] {
        let mut p = missing("none");
        p.push((k, v));
        if k.starts_with("Trigger.Header") {
            p.push(("Trigger.Header.1.Value.1", "x"));
        }
        kcr.fails("CreateWebhookTrigger", &p, 400, "InvalidParameterValue")
            .await;
    }
    let long = "n".repeat(129);
    let mut p = missing("Trigger.TriggerName");
    p.push(("Trigger.TriggerName", &long));
    kcr.fails("CreateWebhookTrigger", &p, 400, "InvalidParameterValue")
        .await;
    for url in ["ftp://example.com/", "not a url", "http:///nohost"] {
        let mut p = missing("Trigger.TriggerUrl");
        p.push(("Trigger.TriggerUrl", url));
        kcr.fails("CreateWebhookTrigger", &p, 400, "InvalidParameterValue")
            .await;
    }
    let mut p = missing("none");
    p.push(("Trigger.Header.1.Key", "X-A"));
    kcr.fails("CreateWebhookTrigger", &p, 400, "MissingParameter")
        .await;
    let mut p = missing("Namespace");
    p.push(("Namespace", "nope"));
    kcr.fails("CreateWebhookTrigger", &p, 400, "InvalidParameterValue")
        .await;
    for id in ["999", "0", "x"] {
        let mut p = base.to_vec();
        p.push(("TriggerId", id));
        kcr.fails("DeleteWebhookTrigger", &p, 400, "InvalidParameterValue")
            .await;
        kcr.fails(
            "DescribeWebhookTriggerLog",
            &p,
            400,
            "InvalidParameterValue",
        )
        .await;
        kcr.fails("DescribeWebhookTrigger", &p, 400, "InvalidParameterValue")
            .await;
    }
    kcr.fails("DeleteWebhookTrigger", &base, 400, "MissingParameter")
        .await;
    kcr.fails(
        "DescribeWebhookTrigger",
        &with(&[("MaxResults", "100")]),
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "ModifyWebhookTrigger",
        &with(&[("Trigger.TriggerId", "999"), ("Trigger.TriggerName", "x")]),
        400,
        "InvalidParameterValue",
    )
    .await;
    // A trigger of another namespace is not reachable through this one.
    let mut p = vec![("InstanceId", inst.as_str()), ("Namespace", "other")];
    p.push(("TriggerId", &first));
    kcr.fails("DeleteWebhookTrigger", &p, 400, "InvalidParameterValue")
        .await;

    // Delete.
    let mut p = base.to_vec();
    p.push(("TriggerId", &first));
    kcr.call("DeleteWebhookTrigger", &p).await;
    kcr.fails("DescribeWebhookTrigger", &p, 400, "InvalidParameterValue")
        .await;
    kcr.fails("DeleteWebhookTrigger", &p, 400, "InvalidParameterValue")
        .await;
    let v = kcr.call("DescribeWebhookTrigger", &base).await;
    assert_eq!(v["TotalCount"], 2);
    // GET works as well as POST.
    let (status, v) = kcr.get("DescribeWebhookTrigger", &base).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(v["TotalCount"], 2);
}

#[tokio::test]
async fn api_private_targets_are_refused_unless_allowed() {
    let s = TestApp::new().start().await;
    assert!(!s.app.config.webhooks.allow_private_targets);
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ] {
        let msg = kcr
            .fails(
                "CreateWebhookTrigger",
                &[
                    ("InstanceId", &inst),
                    ("Namespace", "hooks"),
                    ("Trigger.TriggerName", "x"),
                    ("Trigger.EventType.1", "PushImage"),
                    ("Trigger.TriggerUrl", url),
                ],
                400,
                "InvalidParameterValue",
            )
            .await;
        assert!(msg.contains("Trigger.TriggerUrl"), "{url}: {msg}");
        assert!(msg.contains("may not target"), "{url}: {msg}");
    }
    // Allowed: a public address (never contacted here).
    let v = kcr
        .call(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "x"),
                ("Trigger.EventType.1", "PushImage"),
                ("Trigger.TriggerUrl", "https://93.184.215.14/hook"),
            ],
        )
        .await;
    let id = v["TriggerId"].to_string();
    // Changing the URL to a private one is refused too.
    kcr.fails(
        "ModifyWebhookTrigger",
        &[
            ("InstanceId", &inst),
            ("Namespace", "hooks"),
            ("Trigger.TriggerId", &id),
            ("Trigger.TriggerUrl", "http://127.0.0.1/"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
}

#[tokio::test]
async fn api_disabled_trigger_is_not_fired_and_delete_image_is() {
    let s = TestApp::new().config(fast).start().await;
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    let rx = Receiver::start(&[]).await;
    let v = kcr
        .call(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "both"),
                ("Trigger.EventType.1", "PushImage"),
                ("Trigger.EventType.2", "DeleteImage"),
                ("Trigger.TriggerUrl", &rx.url),
                ("Trigger.Enabled", "False"),
            ],
        )
        .await;
    let id = v["TriggerId"].to_string();
    let (_, digest) = s.push_image("hooks/app", "v1", b"layer").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got().is_empty(), "a disabled trigger is not fired");
    let v = kcr
        .call(
            "DescribeWebhookTriggerLog",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("TriggerId", &id),
            ],
        )
        .await;
    assert_eq!(v["TotalCount"], 0);
    assert_eq!(v["Logs"], json!([]));

    kcr.call(
        "ModifyWebhookTrigger",
        &[
            ("InstanceId", &inst),
            ("Namespace", "hooks"),
            ("Trigger.TriggerId", &id),
            ("Trigger.Enabled", "True"),
        ],
    )
    .await;
    let r = s
        .admin(Method::DELETE, &format!("/v2/hooks/app/manifests/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let v = wait_for_api_log(&kcr, &inst, "hooks", &id, 1).await;
    assert_eq!(v["Logs"][0]["Status"], "Success");
    assert_eq!(v["Logs"][0]["EventType"], "DeleteImage");
    let got = rx.got();
    assert_eq!(got.len(), 1);
    let p: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(p["event"], "DeleteImage");
    assert_eq!(p["digest"], digest.to_string().as_str());
    assert_eq!(p["tag"], Value::Null);
    assert_eq!(p["repository"], "hooks/app");
}

#[tokio::test]
async fn api_delete_repo_tag_and_delete_images_fire_delete_image() {
    let s = TestApp::new().config(fast).start().await;
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    let rx = Receiver::start(&[]).await;
    let v = kcr
        .call(
            "CreateWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("Trigger.TriggerName", "deletes"),
                ("Trigger.EventType.1", "DeleteImage"),
                ("Trigger.TriggerUrl", &rx.url),
            ],
        )
        .await;
    let id = v["TriggerId"].to_string();
    let (_, digest) = s.push_image("hooks/app", "v1", b"layer").await;
    let repo = [
        ("InstanceId", inst.as_str()),
        ("Namespace", "hooks"),
        ("RepoName", "app"),
    ];
    let mut p = repo.to_vec();
    p.push(("TagName", "v1"));
    kcr.call("DeleteRepoTag", &p).await;
    let digest_s = digest.to_string();
    let mut p = repo.to_vec();
    p.push(("ImageId", &digest_s));
    kcr.call("DeleteImages", &p).await;
    let v = wait_for_api_log(&kcr, &inst, "hooks", &id, 2).await;
    assert_eq!(v["Logs"][0]["Status"], "Success");
    assert_eq!(v["Logs"][1]["Status"], "Success");
    let mut bodies: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    bodies.sort_by_key(|b| b["tag"].is_null());
    assert_eq!(bodies.len(), 2, "the push is not a DeleteImage event");
    for b in &bodies {
        assert_eq!(b["event"], "DeleteImage");
        assert_eq!(b["repository"], "hooks/app");
        assert_eq!(
            b["digest"],
            digest_s.as_str(),
            "the API resolves the tag first"
        );
    }
    assert_eq!(bodies[0]["tag"], "v1");
    assert_eq!(bodies[1]["tag"], Value::Null);
}

#[tokio::test]
async fn api_json_body_as_the_kingsoftcloud_sdk_sends_it() {
    // ksyun.client.kcrs.v20211109 posts CreateWebhookTrigger as a JSON object with a nested
    // Trigger, Action and Version in the query.
    let s = TestApp::new().config(fast).start().await;
    let kcr = s.kcr().await;
    let inst = namespace(&s, "hooks").await;
    let body = json!({
        "InstanceId": inst,
        "Namespace": "hooks",
        "Trigger": {
            "TriggerName": "sdk",
            "EventType": ["PushImage", "DeleteImage"],
            "TriggerUrl": "http://127.0.0.1:9/hook",
            "Header": [{"Key": "X-A", "Value": ["1", "2"]}],
            "Enabled": false,
        },
    })
    .to_string();
    let url = format!("{}/?Action=CreateWebhookTrigger&Version=2021-11-09", s.base);
    let r = kcr
        .send_signed(
            "POST",
            &url,
            &[("content-type", "application/json")],
            body.as_bytes(),
            std::time::SystemTime::now(),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let id = v["TriggerId"].to_string();
    let v = kcr
        .call(
            "DescribeWebhookTrigger",
            &[
                ("InstanceId", &inst),
                ("Namespace", "hooks"),
                ("TriggerId", &id),
            ],
        )
        .await;
    let t = &v["TriggerSet"][0];
    assert_eq!(t["TriggerName"], "sdk");
    assert_eq!(t["EventType"], json!(["PushImage", "DeleteImage"]));
    assert_eq!(t["Header"], json!([{"Key": "X-A", "Value": ["1", "2"]}]));
    assert_eq!(t["Enabled"], false);
}
