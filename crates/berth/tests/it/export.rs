//! The workload vulnerability export through the real binary: API tokens made with `berth admin
//! api-token` and with the management API's CreateApiToken (sent by kingsoftcloud-sdk-python's
//! generic signed call, `kcr_call.py`), the stream read by a `requests` client
//! (`export_stream.py`), and revocation from the command line taking effect on the running
//! server. Registry-only builds export too, so this runs without the scanner.
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Berth, access_key, run_ok, test_python};

fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

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

fn export(b: &Berth, token: &str, query: &str) -> Value {
    let out = run_ok(
        Command::new(test_python())
            .arg(script("export_stream.py"))
            .args([&b.url(""), token, query]),
    );
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

#[tokio::test]
async fn api_tokens_from_the_cli_and_the_sdk_read_the_export() {
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let cluster = berth(
        data.path(),
        &["admin", "cluster", "create", "prod", "--json"],
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "uid-ns"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {
             "containers": [{"name": "web", "image": format!("registry.example.com/shop/web@{digest}")}]}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "db", "namespace": "data", "uid": "uid-db"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "template": {"spec": {
             "containers": [{"name": "db", "image": "postgres:16"}]}}}}
    ]});
    let r = reqwest::Client::new()
        .put(b.url(&format!(
            "/api/runtime/v1/clusters/{}/snapshot",
            cluster["ClusterId"].as_str().unwrap()
        )))
        .bearer_auth(cluster["Token"].as_str().unwrap())
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // A token from the command line, shown once, listed without its secret.
    let cli = berth(
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
    let cli_token = cli["Token"].as_str().unwrap().to_string();
    assert!(cli_token.starts_with("bat_"), "{cli}");
    let all = export(&b, &cli_token, "");
    assert_eq!(all["status"], 200, "{all}");
    let names: Vec<&str> = all["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod/data/db", "prod/shop/web"]);
    assert_eq!(all["deployments"][1]["images"], json!([digest]));
    let one = export(&b, &cli_token, "Namespace:shop");
    assert_eq!(one["deployments"].as_array().unwrap().len(), 1, "{one}");

    // A token from the management API, through the Python SDK's generic signed call.
    let key = access_key(data.path());
    let out = run_ok(
        Command::new(test_python())
            .arg(script("kcr_call.py"))
            .args([&b.url(""), &key.0, &key.1, "CreateApiToken"])
            .args(["Name=sdk", "Role=admin", "TtlSeconds=3600"]),
    );
    let created: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let sdk_token = created["Token"].as_str().unwrap().to_string();
    assert_eq!(export(&b, &sdk_token, "")["status"], 200);

    let listed = berth(data.path(), &["admin", "api-token", "list", "--json"]);
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(!listed.to_string().contains("bat_"), "{listed}");
    assert_eq!(rows[1]["Name"], "sdk");
    assert_eq!(rows[1]["Role"], "admin");

    // Revoked from the command line while the server runs: refused on the next request.
    let id = cli["Id"].as_str().unwrap();
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["admin", "api-token", "revoke", id, "--data-dir"])
            .arg(data.path())
            .env("BERTH_LOG", "warn"),
    );
    let refused = export(&b, &cli_token, "");
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(refused["body"]["code"], 16);
    assert!(
        refused["body"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    assert_eq!(export(&b, &sdk_token, "")["status"], 200);
}
