//! The kinds the agent lists and watches: Pods and every workload kind berth inventories.

/// One resource type, as the API server serves it across all namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// The collection's path, all namespaces (`/api/v1/pods`).
    pub path: &'static str,
    /// What each object's `apiVersion` is. A typed list's items carry none: the agent sets it.
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The RBAC resource name, for error messages (`pods`).
    pub resource: &'static str,
}

const fn k(
    path: &'static str,
    api_version: &'static str,
    kind: &'static str,
    resource: &'static str,
) -> Kind {
    Kind {
        path,
        api_version,
        kind,
        resource,
    }
}

/// In the order a snapshot lists them: workloads before the pods they own.
pub const KINDS: [Kind; 8] = [
    k(
        "/apis/apps/v1/deployments",
        "apps/v1",
        "Deployment",
        "deployments",
    ),
    k(
        "/apis/apps/v1/daemonsets",
        "apps/v1",
        "DaemonSet",
        "daemonsets",
    ),
    k(
        "/apis/apps/v1/statefulsets",
        "apps/v1",
        "StatefulSet",
        "statefulsets",
    ),
    k(
        "/apis/apps/v1/replicasets",
        "apps/v1",
        "ReplicaSet",
        "replicasets",
    ),
    k(
        "/api/v1/replicationcontrollers",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
    ),
    k("/apis/batch/v1/cronjobs", "batch/v1", "CronJob", "cronjobs"),
    k("/apis/batch/v1/jobs", "batch/v1", "Job", "jobs"),
    k("/api/v1/pods", "v1", "Pod", "pods"),
];
