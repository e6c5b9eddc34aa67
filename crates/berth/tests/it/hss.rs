//! The cluster-protection surface end to end: the real `berth` binary, two clusters made with
//! `berth admin cluster create`, a read-write and a read-only access key, the project id as
//! DescribeInstance reports it (through the management API's own SDK), two events recorded
//! through `ProtectionStore::record_protection_event` (what admission will call) on the same
//! database, then `tests/clients/hss_sdk.py`: every operation of huaweicloudsdkhss's
//! cluster-protect family, with its error paths, through the vendor's SDK over real HTTP.
use std::path::Path;
use std::process::Command;

use berth_store::{EVENT_UNHANDLED, ProtectionEvent, ProtectionStore, SqliteMetadataStore};
use serde_json::{Value, json};

use crate::common::{Berth, access_key, run_ok, test_python};

/// Every operation of the family, by the SDK's method names.
const OPERATIONS: [&str; 15] = [
    "ChangeClusterEvents",
    "ChangeClusterProtectionPolicy",
    "CreateClusterProtectionPolicy",
    "DeleteClusterProtectionPolicy",
    "ListClusterEvents",
    "ListClusterProtectOverview",
    "ListClusterProtectPolicyTemplates",
    "ListClusterProtectionDefaultPolicy",
    "ListClusterProtectionInfo",
    "ListClusterProtectionItem",
    "ListClusterProtectionPolicy",
    "ListClusterProtectionPolicyDetail",
    "ShowClusterProtectPolicyTemplate",
    "SwitchClusterProtectionMode",
    "SyncClusterProtectionEvent",
];

fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn last_json(out: &str) -> Value {
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn admin(data: &Path, args: &[&str]) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.arg("admin")
        .args(args)
        .args(["--json", "--data-dir"])
        .arg(data)
        .env("BERTH_LOG", "warn");
    last_json(&run_ok(&mut c))
}

fn event(project: &str, id: &str, cluster: (&str, &str), action: &str, at: i64) -> ProtectionEvent {
    ProtectionEvent {
        project_id: project.into(),
        event_id: id.into(),
        cluster_id: cluster.0.into(),
        cluster_name: cluster.1.into(),
        policy_id: "p-vuls".into(),
        policy_name: "block vulns".into(),
        event_name: "image with critical vulnerabilities".into(),
        event_class_id: "cluster-protect-image".into(),
        event_type: 1001,
        event_content: "CVE-2024-0001".into(),
        action: action.into(),
        handle_status: EVENT_UNHANDLED.into(),
        resource_info: json!({
            "enforcement_action": action, "group": "apps", "message": "blocked",
            "name": "web", "namespace": "prod", "version": "v1", "kind": "Deployment",
            "resource_name": "web"
        })
        .to_string(),
        created_at: at,
        updated_at: at,
    }
}

#[tokio::test]
async fn huaweicloudsdkhss_calls_every_cluster_protect_operation() {
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let key = access_key(data.path());
    let ro = admin(data.path(), &["access-key", "create", "--read-only"]);
    let ro = (
        ro["AccessKeyId"].as_str().unwrap().to_string(),
        ro["SecretAccessKey"].as_str().unwrap().to_string(),
    );
    let mut clusters = Vec::new();
    for name in ["prod", "stage"] {
        let c = admin(data.path(), &["cluster", "create", name]);
        clusters.push((
            c["ClusterId"].as_str().unwrap().to_string(),
            name.to_string(),
        ));
    }
    let described = last_json(&run_ok(
        Command::new(test_python())
            .arg(script("kcr_call.py"))
            .args([&b.url(""), &key.0, &key.1, "DescribeInstance"]),
    ));
    let project = described["InstanceSet"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();

    // What admission will write, through the store method it will call, on the database the
    // server is serving (SQLite in WAL mode: two processes may share it).
    let store = SqliteMetadataStore::open(&data.path().join("meta.db"))
        .await
        .unwrap();
    let now = berth_store::now_millis();
    let c1 = (clusters[0].0.as_str(), clusters[0].1.as_str());
    let c2 = (clusters[1].0.as_str(), clusters[1].1.as_str());
    assert!(
        store
            .record_protection_event(&event(&project, "ev-1", c1, "block", now - 2000))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_protection_event(&event(&project, "ev-2", c2, "alarm", now - 1000))
            .await
            .unwrap()
    );
    drop(store);

    let config = json!({
        "base": b.url(""),
        "key": [key.0, key.1],
        "read_only_key": [ro.0, ro.1],
        "project_id": project,
        "clusters": [[clusters[0].0, clusters[0].1], [clusters[1].0, clusters[1].1]],
        "events": ["ev-2", "ev-1"],
    });
    let config_path = data.path().join("hss.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = last_json(&run_ok(
        Command::new(test_python())
            .arg(script("hss_sdk.py"))
            .arg(&config_path),
    ));
    let called: Vec<&str> = out["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(called, OPERATIONS, "every operation of the family");
    let errors = out["errors"].as_array().unwrap();
    for code in [
        "APIGW.0301",
        "HSS.0403",
        "HSS.0404",
        "HSS.1002",
        "HSS.1004",
        "HSS.1006",
    ] {
        assert!(
            errors.iter().any(|e| e.as_str().unwrap().ends_with(code)),
            "{code} not seen: {out}"
        );
    }
}
