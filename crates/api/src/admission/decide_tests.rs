//! The decision procedure over fake sources: the decision → response mapping (one response as
//! an insta snapshot), the failure policy when the store fails or answers too late.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use berth_hss::policy::{Exception, ImageFindings, Malware, Policy, Severity, Vuln};
use berth_oci::reference::Reference;
use berth_store::{ClusterRecord, StoreError};
use serde_json::{Value, json};

use super::config::FailurePolicy;
use super::decide::{Class, decide, decide_by};
use super::source::{Access, ImageInfo, ProjectPolicy, Source};

const TOKEN: &str = "bcc_good";

struct Fake {
    protected: bool,
    policies: Vec<ProjectPolicy>,
    images: BTreeMap<String, ImageFindings>,
    /// Every call fails (the database is unreachable).
    down: bool,
    /// Every call takes this long first.
    delay: Duration,
}

fn io_down() -> StoreError {
    StoreError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "database unreachable",
    ))
}

impl Fake {
    async fn gate(&self) -> Result<(), StoreError> {
        tokio::time::sleep(self.delay).await;
        if self.down { Err(io_down()) } else { Ok(()) }
    }
}

#[async_trait]
impl Source for Fake {
    async fn access(&self, cluster_id: &str, token: Option<&str>) -> Result<Access, StoreError> {
        self.gate().await?;
        if cluster_id != "c1" {
            return Ok(Access::UnknownCluster);
        }
        if token != Some(TOKEN) {
            return Ok(Access::BadCredential);
        }
        Ok(Access::Granted(ClusterRecord {
            id: "c1".into(),
            name: "prod".into(),
            cluster_type: "Kubernetes".into(),
            region: String::new(),
            kubernetes_version: None,
            protection: if self.protected {
                "protected"
            } else {
                "unprotected"
            }
            .into(),
            created_at: 0,
        }))
    }
    async fn policies(&self) -> Result<Arc<Vec<ProjectPolicy>>, StoreError> {
        self.gate().await?;
        Ok(Arc::new(self.policies.clone()))
    }
    async fn exceptions(&self, _now: SystemTime) -> Result<Vec<Exception>, StoreError> {
        self.gate().await?;
        Ok(Vec::new())
    }
    async fn image(&self, reference: &Reference) -> Result<ImageInfo, StoreError> {
        self.gate().await?;
        Ok(ImageInfo {
            digest: None,
            home: None,
            findings: Arc::new(
                self.images
                    .get(&reference.to_string())
                    .cloned()
                    .unwrap_or_default(),
            ),
        })
    }
}

fn policy(id: &str, json: Value) -> ProjectPolicy {
    let mut doc = json!({"policy_id": id, "policy_name": format!("{id} name")});
    if let (Some(d), Some(extra)) = (doc.as_object_mut(), json.as_object()) {
        d.extend(extra.clone());
    }
    ProjectPolicy {
        project_id: "i-1".into(),
        policy: Policy::from_json(doc.to_string().as_bytes()).unwrap(),
    }
}

fn fake() -> Fake {
    let mut images = BTreeMap::new();
    images.insert(
        "r.example/team/app:1".to_string(),
        ImageFindings {
            scanned: true,
            vulns: vec![
                Vuln {
                    id: "CVE-2026-0001".into(),
                    severity: Severity::Critical,
                    package: "openssl".into(),
                    installed_version: "3.0.1".into(),
                    fixed_version: Some("3.0.9".into()),
                },
                Vuln {
                    id: "CVE-2026-0002".into(),
                    severity: Severity::Medium,
                    package: "zlib".into(),
                    installed_version: "1".into(),
                    fixed_version: None,
                },
            ],
            malware: vec![Malware {
                name: "yara:berth.eicar".into(),
                family: Some("eicar".into()),
                severity: Severity::High,
                path: None,
            }],
            baseline: Vec::new(),
        },
    );
    Fake {
        protected: true,
        policies: vec![
            policy(
                "block-critical",
                json!({"content": {"enable_image_startup": true, "policy_type": "vuls",
                    "severity": 4, "action": 1}}),
            ),
            policy(
                "alarm-medium",
                json!({"content": {"enable_image_startup": true, "policy_type": "vuls",
                    "severity": 2, "action": 0}}),
            ),
            policy(
                "block-malware",
                json!({"content": {"enable_image_startup": true, "policy_type": "malwares",
                    "severity": 0, "action": 1},
                    "resources": [{"namespaces": ["prod"]}]}),
            ),
        ],
        images,
        down: false,
        delay: Duration::ZERO,
    }
}

fn review(namespace: &str, image: &str) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "3f1a", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "name": "web", "namespace": namespace, "operation": "CREATE",
        "userInfo": {"username": "kubernetes-admin"},
        "object": {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "initContainers": [{"name": "init", "image": image}],
                "containers": [{"name": "app", "image": image}]}}}},
        "oldObject": null, "dryRun": false}})
    .to_string()
    .into_bytes()
}

async fn run(source: &Fake, body: &[u8], failure: FailurePolicy) -> super::decide::Outcome {
    decide(
        source,
        "c1",
        Some(TOKEN),
        body,
        failure,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    )
    .await
}

#[tokio::test]
async fn a_block_names_the_image_the_policies_and_the_reasons() {
    let f = fake();
    let o = run(
        &f,
        &review("prod", "r.example/team/app:1"),
        FailurePolicy::Fail,
    )
    .await;
    assert_eq!(o.class, Class::Block);
    insta::assert_json_snapshot!("block_response", o.response.clone().review());
    let d = o.decided.unwrap();
    assert_eq!(d.images.len(), 1, "one image, two containers");
    assert_eq!(d.images[0].containers, ["initContainer:init", "app"]);
}

#[tokio::test]
async fn alarms_are_warnings_and_scope_limits_policies() {
    let f = fake();
    // Outside `prod` the malware policy does not apply; drop the critical block too.
    let mut f2 = fake();
    f2.policies
        .retain(|p| p.policy.policy_id != "block-critical");
    let o = run(
        &f2,
        &review("dev", "r.example/team/app:1"),
        FailurePolicy::Fail,
    )
    .await;
    assert_eq!(o.class, Class::Alarm);
    assert!(o.response.allowed);
    assert_eq!(o.response.warnings.len(), 1);
    assert!(o.response.warnings[0].contains("CVE-2026-0001 (Critical) in openssl, fixed in 3.0.9"));
    // Protection off: everything is admitted, nothing decided.
    let off = Fake {
        protected: false,
        ..fake()
    };
    let o = run(
        &off,
        &review("prod", "r.example/team/app:1"),
        FailurePolicy::Fail,
    )
    .await;
    assert!(o.response.allowed && o.decided.is_none());
    // A clean, unscanned image under policies that let unscanned images start.
    let o = run(
        &f,
        &review("prod", "r.example/team/other:1"),
        FailurePolicy::Fail,
    )
    .await;
    assert_eq!(o.class, Class::Allow);
}

#[tokio::test]
async fn bad_references_are_denied_whatever_the_failure_policy() {
    let o = run(
        &fake(),
        &review("prod", "Bad//Ref::"),
        FailurePolicy::Ignore,
    )
    .await;
    assert_eq!(o.class, Class::Invalid);
    assert!(!o.response.allowed);
    let status = o.response.status.unwrap();
    assert_eq!(status.code, 400);
    assert!(status.message.contains("Bad//Ref::"), "{}", status.message);
}

#[tokio::test]
async fn the_database_down_is_the_failure_policy_with_a_message() {
    let down = Fake {
        down: true,
        ..fake()
    };
    let body = review("prod", "r.example/team/app:1");
    let o = run(&down, &body, FailurePolicy::Fail).await;
    assert_eq!(o.class, Class::Failure);
    assert_eq!(o.response.uid, "3f1a");
    assert!(!o.response.allowed);
    let status = o.response.status.unwrap();
    assert_eq!(status.code, 503);
    assert!(status.message.contains("database"), "{}", status.message);
    let o = run(&down, &body, FailurePolicy::Ignore).await;
    assert!(o.response.allowed);
    assert!(o.response.warnings[0].contains("failure policy Ignore"));
}

#[tokio::test]
async fn malformed_reviews_and_unknown_kinds_go_to_the_failure_policy() {
    let f = fake();
    let o = run(
        &f,
        b"{\"request\": {\"uid\": \"u-9\"}}",
        FailurePolicy::Fail,
    )
    .await;
    assert_eq!((o.class, o.response.uid.as_str()), (Class::Failure, "u-9"));
    assert_eq!(o.response.status.unwrap().code, 400);
    let mut v: Value = serde_json::from_slice(&review("prod", "nginx")).unwrap();
    v["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
    let o = run(&f, v.to_string().as_bytes(), FailurePolicy::Fail).await;
    assert!(!o.response.allowed);
    assert!(o.response.status.unwrap().message.contains("ConfigMap"));
    let o = decide(
        &f,
        "c2",
        Some(TOKEN),
        &review("prod", "nginx"),
        FailurePolicy::Ignore,
        SystemTime::now(),
    )
    .await;
    assert!(o.response.allowed && o.class == Class::Failure);
}

#[tokio::test]
async fn a_database_that_hangs_is_answered_within_the_budget() {
    let slow = Fake {
        delay: Duration::from_secs(30),
        ..fake()
    };
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    let o = decide_by(
        deadline,
        &slow,
        "c1",
        Some(TOKEN),
        &review("prod", "r.example/team/app:1"),
        FailurePolicy::Fail,
        SystemTime::now(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((o.class, o.response.uid.as_str()), (Class::Failure, "3f1a"));
    let status = o.response.status.unwrap();
    assert_eq!(status.code, 504);
    assert!(status.message.contains("timeout"), "{}", status.message);
}
