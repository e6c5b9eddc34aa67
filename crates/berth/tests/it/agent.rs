//! `berth agent` end to end: the real berth server, a cluster and its credential made with
//! `berth admin cluster create`, the real `berth agent` process reaching a loopback Kubernetes API
//! server (crates/agent/tests/support/fake_kube.rs: the list/watch wire format, BOOKMARKs, 410)
//! through a kubeconfig, and the inventory read back through the workload export, which berth
//! already serves.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Berth, run_ok};

#[path = "../../../agent/tests/support/fake_kube.rs"]
mod fake_kube;

const KUBE_TOKEN: &str = "kube-service-account-token";

fn berth(data: &Path, args: &[&str]) -> Value {
    let out = run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env("BERTH_LOG", "warn")
            .env_remove("BERTH_DATA_DIR"),
    );
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Starts `berth agent`; its log goes to `dir/agent-N.log`.
fn start_agent(b: &Berth, dir: &Path, cluster: &str, kubeconfig: &Path, n: u32) -> Child {
    let log = std::fs::File::create(dir.join(format!("agent-{n}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["agent", "--server", &b.url(""), "--cluster-id", cluster])
        .arg("--token-file")
        .arg(dir.join("token"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--page-size", "3", "--max-retry-seconds", "1"])
        .env("BERTH_LOG", "info")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The workloads berth holds for the cluster, `namespace/name` → live pods, as the export
/// reads them.
async fn workloads(b: &Berth, token: &str) -> Vec<(String, i64)> {
    let text = reqwest::Client::new()
        .get(b.url("/v1/export/vuln-mgmt/workloads"))
        .query(&[("query", ""), ("timeout", "60")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut out: Vec<(String, i64)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|m| {
            let r = m.get("result")?;
            let d = &r["deployment"];
            Some((
                format!(
                    "{}/{}",
                    d["namespace"].as_str().unwrap(),
                    d["name"].as_str().unwrap()
                ),
                r["livePods"].as_i64().unwrap_or(-1),
            ))
        })
        .collect();
    out.sort();
    out
}

async fn wait_until(
    b: &Berth,
    token: &str,
    dir: &Path,
    what: &str,
    done: impl Fn(&[(String, i64)]) -> bool,
) -> Vec<(String, i64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = workloads(b, token).await;
        if done(&got) {
            return got;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = (0..4)
                .filter_map(|n| std::fs::read_to_string(dir.join(format!("agent-{n}.log"))).ok())
                .collect();
            panic!("timed out waiting for {what}; berth holds {got:#?}\nagent logs:\n{logs:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(got: &[(String, i64)], name: &str) -> bool {
    got.iter().any(|(n, _)| n == name)
}

fn deployment(namespace: &str, name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}")},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_keeps_berths_inventory_of_a_cluster() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let cluster = berth(
        data.path(),
        &["admin", "cluster", "create", "prod", "--json"],
    );
    let cluster_id = cluster["ClusterId"].as_str().unwrap().to_string();
    std::fs::write(
        dir.path().join("token"),
        format!("{}\n", cluster["Token"].as_str().unwrap()),
    )
    .unwrap();
    let reader = berth(
        data.path(),
        &[
            "admin",
            "api-token",
            "create",
            "reader",
            "--role",
            "read-only",
            "--json",
        ],
    );
    let read = reader["Token"].as_str().unwrap().to_string();
    let kube = fake_kube::FakeKube::start(KUBE_TOKEN).await;
    let kubeconfig = kube.kubeconfig(dir.path());

    // Start: one snapshot of every kind.
    let mut agent = start_agent(&b, dir.path(), &cluster_id, &kubeconfig, 0);
    let got = wait_until(&b, &read, dir.path(), "the first snapshot", |g| {
        has(g, "shop/web")
    })
    .await;
    for name in [
        "shop/web",
        "monitoring/node-exporter",
        "data/postgres",
        "ops/nightly-backup",
        "legacy/legacy-frontend",
        "default/debug-shell",
    ] {
        assert!(has(&got, name), "{name} missing: {got:#?}");
    }
    let web_pods = got.iter().find(|(n, _)| n == "shop/web").unwrap().1;
    assert_eq!(web_pods, 2, "{got:#?}");

    // Watch events: a new Deployment, a bare pod deleted.
    kube.add(deployment(
        "shop",
        "api",
        "registry.example.com/shop/api:1.0",
    ));
    kube.delete("v1", "Pod", "default", "debug-shell");
    wait_until(&b, &read, dir.path(), "the watch events", |g| {
        has(g, "shop/api") && !has(g, "default/debug-shell")
    })
    .await;

    // The watch history expires (ERROR 410): the agent lists again and resyncs.
    kube.expire();
    kube.add(deployment(
        "shop",
        "cart",
        "registry.example.com/shop/cart:2.1",
    ));
    wait_until(&b, &read, dir.path(), "the resync after 410", |g| {
        has(g, "shop/cart") && has(g, "shop/api")
    })
    .await;

    // The agent restarts; what changed while it was down arrives with its first snapshot,
    // deletions included.
    agent.kill().unwrap();
    agent.wait().unwrap();
    kube.delete("apps/v1", "Deployment", "shop", "api");
    kube.add(deployment(
        "billing",
        "invoices",
        "registry.example.com/billing/invoices:3",
    ));
    let mut agent = start_agent(&b, dir.path(), &cluster_id, &kubeconfig, 1);
    wait_until(&b, &read, dir.path(), "the snapshot after a restart", |g| {
        has(g, "billing/invoices") && !has(g, "shop/api") && has(g, "shop/cart")
    })
    .await;

    // The credential revoked: the agent stops with a clear error instead of retrying.
    let credential = cluster["CredentialId"].as_str().unwrap();
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args([
                "admin",
                "cluster",
                "credential",
                "revoke",
                &cluster_id,
                credential,
            ])
            .arg("--data-dir")
            .arg(data.path())
            .env("BERTH_LOG", "warn"),
    );
    kube.add(deployment(
        "shop",
        "late",
        "registry.example.com/shop/late:1",
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = agent.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent kept running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("agent-1.log")).unwrap();
    assert!(
        log.contains("berth refused the cluster credential (401)"),
        "{log}"
    );
}
