//! The `ValidatingWebhookConfiguration` (admissionregistration.k8s.io/v1) that registers
//! berth's webhook with a cluster, as `berth admission manifest` prints it.
use base64::Engine as _;
use serde_json::{Value, json};

use super::config::FailurePolicy;

/// What the manifest is made of.
pub struct ManifestInput<'a> {
    pub cluster_id: &'a str,
    pub cluster_name: &'a str,
    /// `https://host:port`, where kube-apiserver reaches the admission listener.
    pub base_url: &'a str,
    /// The cluster credential the URL carries.
    pub credential: &'a str,
    /// PEM: what kube-apiserver verifies the listener's certificate with.
    pub ca_pem: &'a str,
    pub failure_policy: FailurePolicy,
    pub timeout_secs: u64,
}

/// The webhook's path for a cluster and credential.
pub fn path(cluster_id: &str, credential: &str) -> String {
    format!("/api/admission/v1/clusters/{cluster_id}/{credential}/validate")
}

fn rule(group: &str, resources: &[&str]) -> Value {
    json!({
        "apiGroups": [group],
        "apiVersions": ["*"],
        "operations": ["CREATE", "UPDATE"],
        "resources": resources,
        "scope": "Namespaced",
    })
}

/// The manifest, as JSON (which `kubectl apply -f` reads as it reads YAML).
pub fn manifest(m: &ManifestInput<'_>) -> Value {
    let url = format!(
        "{}{}",
        m.base_url.trim_end_matches('/'),
        path(m.cluster_id, m.credential)
    );
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": format!("berth-image-policy-{}", m.cluster_id),
            "labels": {
                "app.kubernetes.io/managed-by": "berth",
                "berth.dev/cluster": m.cluster_name,
            },
        },
        "webhooks": [{
            "name": "images.admission.berth.dev",
            "clientConfig": {
                "url": url,
                "caBundle": base64::engine::general_purpose::STANDARD.encode(m.ca_pem),
            },
            "rules": [
                rule("", &["pods", "pods/ephemeralcontainers", "replicationcontrollers"]),
                rule("apps", &["deployments", "daemonsets", "statefulsets", "replicasets"]),
                rule("batch", &["jobs", "cronjobs"]),
            ],
            "matchPolicy": "Equivalent",
            // kube-system runs the control plane's own pods: a berth that cannot answer must
            // not be able to stop them (nor berth's own pods, when berth runs in the cluster:
            // label its namespace `berth.dev/admission: ignore`).
            "namespaceSelector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                 "values": ["kube-system"]},
                {"key": "berth.dev/admission", "operator": "NotIn", "values": ["ignore"]},
            ]},
            "failurePolicy": m.failure_policy.as_str(),
            "sideEffects": "NoneOnDryRun",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": m.timeout_secs,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_every_kind_and_the_ca() {
        let m = manifest(&ManifestInput {
            cluster_id: "c1",
            cluster_name: "prod",
            base_url: "https://berth.example:8443/",
            credential: "bcc_x",
            ca_pem: "PEM",
            failure_policy: FailurePolicy::Fail,
            timeout_secs: 10,
        });
        let w = &m["webhooks"][0];
        assert_eq!(
            w["clientConfig"]["url"],
            "https://berth.example:8443/api/admission/v1/clusters/c1/bcc_x/validate"
        );
        assert_eq!(w["clientConfig"]["caBundle"], "UEVN");
        let resources: Vec<&str> = w["rules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["resources"].as_array().unwrap())
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(resources.len(), 9);
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["sideEffects"], "NoneOnDryRun");
    }
}
