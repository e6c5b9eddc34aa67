//! `[admission]`: the Kubernetes admission webhook's listener, certificate and failure policy.
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// What berth answers when it cannot decide (its database does not answer within the budget,
/// the request cannot be read, the cluster or its credential is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum FailurePolicy {
    /// Deny (fail closed): an image is never admitted unchecked. The default, and the
    /// `failurePolicy` the printed manifest carries.
    #[default]
    Fail,
    /// Allow, with a warning saying why nothing was checked (fail open).
    Ignore,
}

impl FailurePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
    }

    pub fn parse(s: &str) -> Option<FailurePolicy> {
        match s {
            "Fail" | "fail" => Some(FailurePolicy::Fail),
            "Ignore" | "ignore" => Some(FailurePolicy::Ignore),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// The HTTPS listener kube-apiserver calls (`None`: admission is not served).
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain and key; both or neither. Neither: a self-signed certificate is
    /// made once and kept under `<data_dir>/admission/`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Host names and addresses the generated certificate is valid for, besides `localhost`,
    /// `127.0.0.1` and the listener's own address.
    pub hosts: Vec<String>,
    /// `Fail` (deny) or `Ignore` (allow with a warning) when berth cannot decide.
    pub failure_policy: FailurePolicy,
    /// The manifest's `timeoutSeconds` (1 to 30), and the budget of a request that carries no
    /// `?timeout=`.
    pub timeout_secs: u64,
    /// More host names (with port when not 443) under which clusters pull berth's own images,
    /// besides `public_url`'s host, `<instance>.<management.base_domain>` and `listen`.
    pub registry_hosts: Vec<String>,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            listen: None,
            tls_cert: None,
            tls_key: None,
            hosts: Vec::new(),
            failure_policy: FailurePolicy::Fail,
            timeout_secs: 10,
            registry_hosts: Vec::new(),
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for {name}: {reason}")]
pub struct AdmissionConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl AdmissionConfig {
    /// `BERTH_ADMISSION_LISTEN`, `BERTH_ADMISSION_FAILURE_POLICY`,
    /// `BERTH_ADMISSION_REGISTRY_HOSTS` (comma-separated), `BERTH_ADMISSION_HOSTS`.
    pub fn apply_env(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), AdmissionConfigError> {
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        if let Some(v) = get("BERTH_ADMISSION_LISTEN") {
            self.listen = Some(v.parse().map_err(|_| AdmissionConfigError {
                name: "BERTH_ADMISSION_LISTEN",
                value: v.clone(),
                reason: "not an address:port",
            })?);
        }
        if let Some(v) = get("BERTH_ADMISSION_FAILURE_POLICY") {
            self.failure_policy = FailurePolicy::parse(&v).ok_or(AdmissionConfigError {
                name: "BERTH_ADMISSION_FAILURE_POLICY",
                value: v.clone(),
                reason: "Fail or Ignore",
            })?;
        }
        if let Some(v) = get("BERTH_ADMISSION_REGISTRY_HOSTS") {
            self.registry_hosts = list(v);
        }
        if let Some(v) = get("BERTH_ADMISSION_HOSTS") {
            self.hosts = list(v);
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), AdmissionConfigError> {
        if !(1..=30).contains(&self.timeout_secs) {
            return Err(AdmissionConfigError {
                name: "admission.timeout_secs",
                value: self.timeout_secs.to_string(),
                reason: "kube-apiserver takes 1 to 30 seconds",
            });
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(AdmissionConfigError {
                name: "admission.tls_cert",
                value: String::new(),
                reason: "admission.tls_cert and admission.tls_key go together",
            });
        }
        Ok(())
    }
}
