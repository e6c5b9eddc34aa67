//! The inventory model: what berth keeps about a cluster, stored as JSON documents.
//!
//! These types are normalised from Kubernetes objects (see [`crate::k8s`]) and hold only what
//! the runtime surfaces need: identity, ownership, the pod template's security-relevant settings
//! and the images. Values with a closed set of states are enums; a field Kubernetes leaves unset
//! stays `None` (an unset `allowPrivilegeEscalation` means *allowed*, which is not `false`).
//! Raw environment variable values are not kept: they often hold credentials, and nothing
//! downstream needs them (the source kind and the referenced secret or config map are kept).
use berth_oci::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub type Labels = BTreeMap<String, String>;

/// A Kubernetes cluster that reports to berth.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// berth's identifier of the cluster (the `ClusterId` of the image-risk API).
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub cluster_type: ClusterType,
    /// Region the cluster runs in, as its operator names it (`cn-hangzhou`, `eu-west-1`); empty
    /// when not known.
    #[serde(default)]
    pub region: String,
    /// `gitVersion` of the API server, e.g. `v1.31.2`.
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    #[serde(default)]
    pub protection: ProtectionStatus,
}

/// Who runs the control plane. Wire names follow the managed-Kubernetes products the image-risk
/// seeds come from (`clusterType` in `DescribeClusterImageSecuritySummary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ClusterType {
    /// Control plane run by the cluster's own operators (kubeadm, k3s, Rancher...).
    #[default]
    Kubernetes,
    /// Control plane run by a cloud provider (EKS, GKE, AKS, ACK managed).
    ManagedKubernetes,
    /// Serverless: no nodes of the user's own (EKS Fargate, GKE Autopilot, ACK Serverless).
    ServerlessKubernetes,
    /// A cluster elsewhere registered with berth through an agent only.
    ExternalKubernetes,
}

impl ClusterType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterType::Kubernetes => "Kubernetes",
            ClusterType::ManagedKubernetes => "ManagedKubernetes",
            ClusterType::ServerlessKubernetes => "ServerlessKubernetes",
            ClusterType::ExternalKubernetes => "ExternalKubernetes",
        }
    }
}

/// Whether berth's admission webhook protects the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionStatus {
    /// No agent or webhook installed: berth sees only what is uploaded.
    #[default]
    Unprotected,
    /// The agent reports and the admission webhook is registered and answering.
    Protected,
    /// Installed, but the agent has stopped reporting (its last snapshot may be stale).
    Offline,
    /// Installed, but the webhook or agent reports a failure.
    Failed,
}

/// A Kubernetes namespace. A snapshot holds one for each `Namespace` object it was given;
/// objects may live in namespaces the snapshot has no object for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub terminating: bool,
}

/// The kinds of workload berth inventories. `Pod` is a pod that is its own workload (no
/// controller, or a controller berth does not model, such as a node for a static pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WorkloadKind {
    Deployment,
    DaemonSet,
    StatefulSet,
    ReplicaSet,
    Job,
    CronJob,
    ReplicationController,
    Pod,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 8] = [
        WorkloadKind::Deployment,
        WorkloadKind::DaemonSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::ReplicaSet,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
        WorkloadKind::ReplicationController,
        WorkloadKind::Pod,
    ];

    /// The Kubernetes `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ReplicationController => "ReplicationController",
            WorkloadKind::Pod => "Pod",
        }
    }

    /// The `apiVersion` berth reads this kind in.
    pub fn api_version(self) -> &'static str {
        match self {
            WorkloadKind::Deployment
            | WorkloadKind::DaemonSet
            | WorkloadKind::StatefulSet
            | WorkloadKind::ReplicaSet => "apps/v1",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch/v1",
            WorkloadKind::ReplicationController | WorkloadKind::Pod => "v1",
        }
    }

    /// The kind for an owner reference or object header, when berth models it in that
    /// `apiVersion`.
    pub fn from_api(api_version: &str, kind: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind && k.api_version() == api_version)
    }

    /// The kinds whose controller reference berth follows from an object of this kind when it
    /// resolves the workload a pod belongs to. Nothing else is followed, so resolution is at
    /// most two steps and cannot loop.
    pub fn controller_kinds(self) -> &'static [WorkloadKind] {
        match self {
            WorkloadKind::Pod => &[
                WorkloadKind::ReplicaSet,
                WorkloadKind::ReplicationController,
                WorkloadKind::DaemonSet,
                WorkloadKind::StatefulSet,
                WorkloadKind::Job,
            ],
            WorkloadKind::ReplicaSet => &[WorkloadKind::Deployment],
            WorkloadKind::Job => &[WorkloadKind::CronJob],
            _ => &[],
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identity of a workload within a cluster. For [`WorkloadKind::Pod`] the name is the pod's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkloadKey {
    pub namespace: String,
    pub kind: WorkloadKind,
    pub name: String,
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Identity of a pod within a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pod {}/{}", self.namespace, self.name)
    }
}

/// The controller reference of an object (`metadata.ownerReferences[]` with `controller:
/// true`), as written: the owner may be of a kind berth does not model, or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

impl OwnerRef {
    /// The owner's kind when berth models it.
    pub fn workload_kind(&self) -> Option<WorkloadKind> {
        WorkloadKind::from_api(&self.api_version, &self.kind)
    }
}

/// A controller object: Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob or
/// ReplicationController; or, kind `Pod`, a pod that is its own workload (made by
/// [`Workload::from_pod`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub kind: WorkloadKind,
    #[serde(default)]
    pub uid: Option<String>,
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    #[serde(default)]
    pub resource_version: Option<String>,
    /// `metadata.creationTimestamp`, RFC 3339.
    #[serde(default)]
    pub created: Option<String>,
    /// Desired pods: `spec.replicas` (Kubernetes' default 1 when unset) for Deployments,
    /// ReplicaSets, StatefulSets and ReplicationControllers; `status.desiredNumberScheduled`
    /// for DaemonSets (unset until the controller has counted nodes); `spec.parallelism`
    /// (default 1) for Jobs; 1 for a pod; unset for CronJobs.
    #[serde(default)]
    pub replicas: Option<i64>,
    /// `spec.schedule` of a CronJob.
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    /// The controller reference (see [`OwnerRef`]).
    #[serde(default)]
    pub owner: Option<OwnerRef>,
    /// Labels of the pod template (of the pod itself for kind `Pod`).
    #[serde(default)]
    pub pod_labels: Labels,
    /// The pod template. Its containers carry a digest only when the reference pins one; the
    /// digests actually running are on the workload's pods.
    pub template: PodTemplate,
}

impl Workload {
    pub fn key(&self) -> WorkloadKey {
        WorkloadKey {
            namespace: self.namespace.clone(),
            kind: self.kind,
            name: self.name.clone(),
        }
    }

    /// The workload a pod is when nothing in the snapshot owns it.
    pub fn from_pod(pod: &Pod) -> Workload {
        Workload {
            kind: WorkloadKind::Pod,
            uid: pod.uid.clone(),
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            labels: pod.labels.clone(),
            annotations: pod.annotations.clone(),
            resource_version: pod.resource_version.clone(),
            created: pod.created.clone(),
            replicas: Some(1),
            schedule: None,
            selector: None,
            owner: pod.owner.clone(),
            pod_labels: pod.labels.clone(),
            template: pod.spec.clone(),
        }
    }
}

/// A label selector (`spec.selector` of a controller).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: Labels,
    #[serde(default)]
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// The pod-level settings shared by a pod and a controller's pod template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub automount_service_account_token: Option<bool>,
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub host_pid: bool,
    #[serde(default)]
    pub host_ipc: bool,
    #[serde(default)]
    pub runtime_class: Option<String>,
    #[serde(default)]
    pub priority_class: Option<String>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Pod-level security settings; a container's own settings override them (see
    /// [`PodTemplate::effective_security`]).
    #[serde(default)]
    pub security_context: PodSecurityContext,
    /// Init containers first, then regular, then ephemeral ones, each in spec order.
    #[serde(default)]
    pub containers: Vec<Container>,
}

impl PodTemplate {
    /// A container's security context with the pod-level defaults it inherits filled in
    /// (`runAsUser`, `runAsGroup`, `runAsNonRoot`, `seccompProfile`).
    pub fn effective_security(&self, container: &Container) -> SecurityContext {
        let pod = &self.security_context;
        let mut sc = container.security_context.clone();
        sc.run_as_user = sc.run_as_user.or(pod.run_as_user);
        sc.run_as_group = sc.run_as_group.or(pod.run_as_group);
        sc.run_as_non_root = sc.run_as_non_root.or(pod.run_as_non_root);
        if sc.seccomp_profile.is_none() {
            sc.seccomp_profile.clone_from(&pod.seccomp_profile);
        }
        sc
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_group: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default)]
    pub fs_group: Option<i64>,
    #[serde(default)]
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    #[serde(default)]
    pub key: Option<String>,
    pub operator: TolerationOperator,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub effect: Option<TaintEffect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A pod volume and where its data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub source: VolumeSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum VolumeSource {
    /// A directory of the node: the classic escape route.
    HostPath {
        path: String,
    },
    EmptyDir,
    Secret {
        secret_name: Option<String>,
    },
    ConfigMap {
        name: String,
    },
    PersistentVolumeClaim {
        claim_name: String,
    },
    Projected,
    DownwardApi,
    Csi {
        driver: String,
    },
    Ephemeral,
    /// Any other volume type (nfs, iscsi, cloud disks...).
    Other,
}

/// Init, regular or ephemeral (`kubectl debug`) container: the `containerScope` of the
/// image-risk API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerKind::Init => "init",
            ContainerKind::Regular => "regular",
            ContainerKind::Ephemeral => "ephemeral",
        }
    }
}

/// An image reference as written in a spec, and what berth could make of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// Exactly as written (`nginx:1.27`, `ghcr.io/org/app@sha256:...`).
    pub written: String,
    /// The parsed, Docker-normalised name; `None` when the reference does not parse (it is then
    /// kept as written and never matches a registry image).
    #[serde(default)]
    pub name: Option<ImageName>,
}

/// A parsed image reference (see `berth_oci::Reference`): `docker.io/library/nginx:1.27`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageName {
    pub registry: String,
    pub repository: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub digest: Option<Digest>,
}

impl ImageName {
    /// The registry namespace: the first path component of the repository (berth's and the
    /// registry API's convention), e.g. `library` for `library/nginx`.
    pub fn repo_namespace(&self) -> &str {
        self.repository
            .split_once('/')
            .map_or("", |(namespace, _)| namespace)
    }

    /// The repository within its namespace, e.g. `nginx` for `library/nginx`, `team/app` for
    /// `org/team/app`.
    pub fn repo_name(&self) -> &str {
        self.repository
            .split_once('/')
            .map_or(self.repository.as_str(), |(_, name)| name)
    }
}

/// One container of a pod or a pod template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub kind: ContainerKind,
    pub image: ImageRef,
    /// The manifest digest running: from the container status's `imageID` when it names a
    /// repository digest, else from the reference when it pins one.
    #[serde(default)]
    pub image_digest: Option<Digest>,
    /// The local image ID (the config digest) when the runtime reported only that
    /// (`imageID: sha256:...` or `docker://sha256:...`): a different digest from the manifest's.
    #[serde(default)]
    pub image_id: Option<Digest>,
    #[serde(default)]
    pub image_pull_policy: Option<PullPolicy>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub security_context: SecurityContext,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(default)]
    pub liveness_probe: bool,
    #[serde(default)]
    pub readiness_probe: bool,
}

impl Container {
    /// The digest image risk is looked up by: the manifest digest, else the image ID.
    pub fn risk_digest(&self) -> Option<&Digest> {
        self.image_digest.as_ref().or(self.image_id.as_ref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub source: EnvSource,
}

/// Where an environment variable's value comes from. A raw value is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EnvSource {
    Raw,
    SecretKey { name: String, key: String },
    ConfigMapKey { name: String, key: String },
    Field { path: String },
    ResourceField { resource: String },
    Unknown,
}

/// A container's security context as written (see [`PodTemplate::effective_security`] for the
/// values it inherits from the pod).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    #[serde(default)]
    pub privileged: Option<bool>,
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_group: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default)]
    pub read_only_root_filesystem: Option<bool>,
    /// Unset means allowed (Kubernetes' default), unless the container is privileged or has
    /// `CAP_SYS_ADMIN`, where it is always allowed.
    #[serde(default)]
    pub allow_privilege_escalation: Option<bool>,
    #[serde(default)]
    pub capabilities_add: Vec<String>,
    #[serde(default)]
    pub capabilities_drop: Vec<String>,
    #[serde(default)]
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SeccompProfile {
    RuntimeDefault,
    Unconfined,
    Localhost {
        #[serde(rename = "localhostProfile")]
        localhost_profile: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub name: Option<String>,
    pub container_port: i32,
    #[serde(default)]
    pub host_port: Option<i32>,
    #[serde(default)]
    pub host_ip: Option<String>,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    TCP,
    UDP,
    SCTP,
}

/// Requests and limits, in the units the export surfaces use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub requests: ResourceAmounts,
    #[serde(default)]
    pub limits: ResourceAmounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAmounts {
    /// CPU in thousandths of a core, rounded up (`500m`, `0.5` → 500).
    #[serde(default)]
    pub cpu_millis: Option<u64>,
    /// Memory in bytes, rounded up (`128Mi` → 134217728).
    #[serde(default)]
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub sub_path: Option<String>,
    #[serde(default)]
    pub propagation: MountPropagation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MountPropagation {
    #[default]
    None,
    HostToContainer,
    Bidirectional,
}

/// A pod as observed: its spec (normalised like a template) and its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub uid: Option<String>,
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    #[serde(default)]
    pub resource_version: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// The controller reference as written (see [`crate::ClusterSnapshot::workload_of`] for the
    /// workload the pod belongs to).
    #[serde(default)]
    pub owner: Option<OwnerRef>,
    /// `spec.nodeName`: the node (host instance) the pod is scheduled on.
    #[serde(default)]
    pub node: Option<String>,
    /// `status.podIP`.
    #[serde(default)]
    pub ip: Option<String>,
    /// `status.podIPs` (dual stack), including `ip`.
    #[serde(default)]
    pub ips: Vec<String>,
    /// `status.hostIP`.
    #[serde(default)]
    pub host_ip: Option<String>,
    pub phase: PodPhase,
    /// The pod's spec; each container's `image_digest`/`image_id` is resolved from its status.
    pub spec: PodTemplate,
    /// Container statuses (init, regular and ephemeral together).
    #[serde(default)]
    pub statuses: Vec<ContainerStatus>,
}

impl Pod {
    pub fn key(&self) -> PodKey {
        PodKey {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// The status of one of this pod's containers.
    pub fn status_of(&self, container: &Container) -> Option<&ContainerStatus> {
        self.statuses
            .iter()
            .find(|s| s.kind == container.kind && s.name == container.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    pub kind: ContainerKind,
    /// `<runtime>://<id>` as reported, e.g. `containerd://4f3c...`.
    #[serde(default)]
    pub container_id: Option<String>,
    /// The image as the runtime reports it (may differ from the spec's spelling).
    #[serde(default)]
    pub image: String,
    /// `imageID` as reported.
    #[serde(default)]
    pub image_id: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    pub state: ContainerState,
}

impl ContainerStatus {
    /// The container ID without its `<runtime>://` prefix.
    pub fn bare_container_id(&self) -> Option<&str> {
        self.container_id
            .as_deref()
            .map(|id| id.split_once("://").map_or(id, |(_, bare)| bare))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ContainerState {
    Waiting {
        #[serde(default)]
        reason: Option<String>,
    },
    Running {
        #[serde(default, rename = "startedAt")]
        started_at: Option<String>,
    },
    Terminated {
        #[serde(rename = "exitCode")]
        exit_code: i32,
        #[serde(default)]
        reason: Option<String>,
    },
    /// No state reported yet.
    Unknown,
}
