//! The management API driven by the vendor's own Python SDKs (ksc-sdk-python and
//! kingsoftcloud-sdk-python, installed by scripts/install-deps.sh), and a skopeo login with a
//! token from CreateInstanceToken, against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use common::{ADMIN_PASSWORD, Berth, access_key, free_addr, run, run_ok, test_python};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

const ALL_ACTIONS: [&str; 33] = [
    "CreateInstance",
    "CreateInstanceToken",
    "CreateInternalEndpoint",
    "CreateInternalEndpointDns",
    "CreateNamespace",
    "CreateWebhookTrigger",
    "DeleteImages",
    "DeleteInstance",
    "DeleteInstanceToken",
    "DeleteInternalEndpoint",
    "DeleteInternalEndpointDns",
    "DeleteNamespace",
    "DeleteRepoTag",
    "DeleteRepository",
    "DeleteWebhookTrigger",
    "DescribeImageScan",
    "DescribeImages",
    "DescribeInstance",
    "DescribeInstanceToken",
    "DescribeInstanceUsage",
    "DescribeInternalEndpoint",
    "DescribeInternalEndpointDns",
    "DescribeNamespace",
    "DescribeNamespaceExist",
    "DescribeRepository",
    "DescribeWebhookTrigger",
    "DescribeWebhookTriggerLog",
    "ModifyInstanceTokenInformation",
    "ModifyInstanceTokenStatus",
    "ModifyNamespaceType",
    "ModifyRepoDesc",
    "ModifyWebhookTrigger",
    "StartImageScan",
];

#[test]
fn both_vendor_sdks_call_every_action() {
    let data = tempfile::tempdir().unwrap();
    let (ak, sk) = access_key(data.path());
    // Image scans match a database built from a real (small) Alpine secdb extract.
    let db = tempfile::tempdir().unwrap();
    let feed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vulndb/tests/fixtures/feeds/alpine/v3.10-main.json"
    );
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["db", "import", "--db"])
            .arg(db.path())
            .arg(feed),
    );
    let db_dir = db.path().display().to_string();
    // The script's webhook receiver listens on loopback.
    let b = Berth::start_with_env(
        data.path(),
        &free_addr(),
        &[
            ("BERTH_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("BERTH_SCAN_DB_DIR", &db_dir),
        ],
    );
    let out = run_ok(
        Command::new(test_python())
            .arg(script("kcr_sdks.py"))
            .args([&b.url(""), &ak, &sk, ADMIN_PASSWORD]),
    );
    let seen: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let called: Vec<&str> = seen["called"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(called, ALL_ACTIONS, "{seen}");
    assert_eq!(seen["repositories"], 1);
    assert_eq!(seen["webhook_attempts"], 3);
    assert_eq!(seen["scan"]["status"], "Success");
    let cves = seen["scan"]["cves"].as_array().unwrap();
    assert!(cves.iter().any(|c| c == "CVE-2019-10206"), "{seen}");
    assert!(
        seen["endpoint_ip"]
            .as_str()
            .unwrap()
            .starts_with("10.20.0.")
    );
}

fn kcr(b: &Berth, key: &(String, String), action: &str, params: &[(&str, &str)]) -> Value {
    let out = run_ok(
        Command::new(test_python())
            .arg(script("kcr_call.py"))
            .args([&b.url(""), &key.0, &key.1, action])
            .args(params.iter().map(|(k, v)| format!("{k}={v}"))),
    );
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

/// A one-layer OCI image layout at `dir` tagged `v1`.
fn layout(dir: &Path) {
    let put = |bytes: &[u8]| {
        let d = Digest::sha256_of(bytes);
        let path = dir.join("blobs/sha256").join(d.hex());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        json!({"digest": d.to_string(), "size": bytes.len()})
    };
    let layer = {
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(6);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "hello.txt", &b"hello\n"[..])
            .unwrap();
        tar.into_inner().unwrap()
    };
    let mut l = put(&layer);
    l["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar");
    let config = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(&layer).to_string()]}});
    let mut c = put(config.to_string().as_bytes());
    c["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": c, "layers": [l]});
    let mut m = put(manifest.to_string().as_bytes());
    m["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
    m["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [m]}).to_string(),
    )
    .unwrap();
}

#[test]
fn skopeo_logs_in_with_an_instance_token_until_it_is_disabled() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let key = access_key(data.path());
    let b = Berth::start_on(data.path(), &free_addr());
    let instances = kcr(&b, &key, "DescribeInstance", &[]);
    let default = instances["InstanceSet"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let token = kcr(
        &b,
        &key,
        "CreateInstanceToken",
        &[
            ("InstanceId", &default),
            ("TokenType", "Hour"),
            ("TokenTime", "1"),
        ],
    );
    let creds = format!(
        "{}:{}",
        token["Username"].as_str().unwrap(),
        token["Token"].as_str().unwrap()
    );
    layout(work.path());
    let src = format!("oci:{}:v1", work.path().display());
    let dest = format!("docker://{}/ci/app:v1", b.addr);
    run_ok(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src,
        &dest,
    ]));
    let pulled = work.path().join("pulled");
    let pull = |creds: &str| {
        run(Command::new("skopeo").args([
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds,
            &dest,
            &format!("oci:{}:v1", pulled.display()),
        ]))
    };
    assert!(pull(&creds).status.success());
    let images = kcr(
        &b,
        &key,
        "DescribeImages",
        &[
            ("InstanceId", &default),
            ("Namespace", "ci"),
            ("RepoName", "app"),
        ],
    );
    assert_eq!(images["ImageSet"][0]["TagNames"], json!(["v1"]), "{images}");

    kcr(
        &b,
        &key,
        "ModifyInstanceTokenStatus",
        &[
            ("InstanceId", &default),
            ("TokenId", token["TokenId"].as_str().unwrap()),
            ("Enable", "False"),
        ],
    );
    let refused = pull(&creds);
    assert!(!refused.status.success(), "a disabled token still pulls");
    let err = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        err.contains("unauthorized") || err.contains("401") || err.contains("authentication"),
        "{err}"
    );
}

#[test]
fn openapi_document_is_valid_and_complete() {
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let out = run_ok(
        Command::new(test_python())
            .arg(script("openapi_check.py"))
            .arg(b.url("")),
    );
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["openapi"], "3.1.0");
    // The seed's 33 and berth's extensions ModifyRepoTagImmutability, CreateApiToken,
    // DescribeApiTokens, DeleteApiToken.
    assert_eq!(v["actions"], 37);
    // A request and a response schema per action, and the error schema.
    assert_eq!(v["schemas"], 75);
}
