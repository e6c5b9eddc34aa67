//! What stops the agent. Everything else (a watch that expired, berth or the API server
//! unreachable or answering 5xx) is retried and never surfaces here.

/// A fatal error: retrying cannot fix it, so the agent exits and says why.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// berth answered 401/403: the credential is unknown, revoked, or of another cluster.
    #[error(
        "berth refused the cluster credential ({status}): {message}; create a new one with `berth admin cluster credential create {cluster_id}`"
    )]
    CredentialRejected {
        status: u16,
        cluster_id: String,
        message: String,
    },
    /// berth answered 404 for the cluster.
    #[error("berth knows no cluster {cluster_id:?}: {message}")]
    NoSuchCluster { cluster_id: String, message: String },
    /// The API server refused the agent (401, 403) or does not serve a kind (404).
    #[error(
        "the Kubernetes API refused to {verb} {resource} ({status}): {message}; the agent needs get, list and watch on pods, replicationcontrollers, deployments, daemonsets, statefulsets, replicasets, jobs and cronjobs in all namespaces"
    )]
    KubeRefused {
        verb: &'static str,
        resource: &'static str,
        status: u16,
        message: String,
    },
    /// The cluster holds more than one snapshot can carry to berth.
    #[error(
        "the cluster's inventory is over berth's limit for one snapshot ({what}); berth cannot take it whole"
    )]
    TooLarge { what: String },
    /// The configuration is unusable (kubeconfig, server URL, token file).
    #[error("{0}")]
    Config(String),
}
