//! `storage.Deployment` from one top-level workload of a cluster snapshot. Fields follow the
//! proto's order and protojson's rules (camelCase, int64 as strings, enums by name, unset
//! messages `null`); what the inventory does not hold is written as its zero value.
use std::collections::BTreeMap;

use berth_inventory::{
    ClusterSnapshot, Container, ContainerKind, ImageName, Labels, MountPropagation, Pod, PodPhase,
    Protocol, SeccompProfile, SelectorOperator, TaintEffect, TolerationOperator, VolumeSource,
    WorkloadRef,
};
use serde::Serialize;

use super::time::normalize_date;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment<'a> {
    id: &'a str,
    name: &'a str,
    hash: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    namespace: &'a str,
    namespace_id: &'a str,
    orchestrator_component: bool,
    replicas: String,
    labels: &'a Labels,
    pod_labels: &'a Labels,
    label_selector: Option<LabelSelector<'a>>,
    created: Option<String>,
    cluster_id: &'a str,
    cluster_name: &'a str,
    containers: Vec<ContainerOut<'a>>,
    annotations: &'a Labels,
    priority: &'static str,
    inactive: bool,
    image_pull_secrets: &'a [String],
    service_account: &'a str,
    service_account_permission_level: &'static str,
    automount_service_account_token: bool,
    host_network: bool,
    host_pid: bool,
    host_ipc: bool,
    runtime_class: &'a str,
    tolerations: Vec<Toleration<'a>>,
    ports: Vec<Port<'a>>,
    state_timestamp: &'static str,
    risk_score: f32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelSelector<'a> {
    match_labels: &'a Labels,
    requirements: Vec<Requirement<'a>>,
}

#[derive(Serialize)]
struct Requirement<'a> {
    key: &'a str,
    op: &'static str,
    values: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Toleration<'a> {
    key: &'a str,
    operator: &'static str,
    value: &'a str,
    taint_effect: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Port<'a> {
    name: &'a str,
    container_port: i32,
    protocol: &'static str,
    exposure: &'static str,
    exposed_port: i32,
    exposure_infos: Vec<ExposureInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExposureInfo {
    level: &'static str,
    service_name: &'static str,
    service_id: &'static str,
    service_cluster_ip: &'static str,
    service_port: i32,
    node_port: i32,
    external_ips: [(); 0],
    external_hostnames: [(); 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerOut<'a> {
    id: String,
    config: Config<'a>,
    image: ContainerImage,
    security_context: SecurityContext<'a>,
    volumes: Vec<VolumeOut<'a>>,
    ports: Vec<Port<'a>>,
    secrets: Vec<Secret<'a>>,
    resources: Resources,
    name: &'a str,
    liveness_probe: Probe,
    readiness_probe: Probe,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Config<'a> {
    env: Vec<Env<'a>>,
    command: &'a [String],
    args: &'a [String],
    directory: &'a str,
    user: &'static str,
    uid: String,
    app_armor_profile: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Env<'a> {
    key: &'a str,
    /// berth does not keep raw values (they often hold credentials).
    value: &'static str,
    env_var_source: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    id: String,
    name: Option<NameOut>,
    not_pullable: bool,
    is_cluster_local: bool,
}

/// `storage.ImageName`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct NameOut {
    pub registry: String,
    pub remote: String,
    pub tag: String,
    pub full_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityContext<'a> {
    privileged: bool,
    selinux: Option<()>,
    drop_capabilities: &'a [String],
    add_capabilities: &'a [String],
    read_only_root_filesystem: bool,
    seccomp_profile: Option<Seccomp<'a>>,
    allow_privilege_escalation: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Seccomp<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    localhost_profile: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeOut<'a> {
    name: &'a str,
    source: &'a str,
    destination: &'a str,
    read_only: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    mount_propagation: &'static str,
}

#[derive(Serialize)]
struct Secret<'a> {
    name: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resources {
    cpu_cores_request: f32,
    cpu_cores_limit: f32,
    memory_mb_request: f32,
    memory_mb_limit: f32,
}

#[derive(Serialize)]
struct Probe {
    defined: bool,
}

/// A running image of the deployment: its digest and the reference it runs under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunningImage {
    pub digest: String,
    pub name: Option<NameOut>,
}

/// `storage.ImageName` of a parsed reference; `None` when it did not parse.
pub fn image_name(name: Option<&ImageName>) -> Option<NameOut> {
    let n = name?;
    let tag = n.tag.clone().unwrap_or_default();
    let mut full = format!("{}/{}", n.registry, n.repository);
    if !tag.is_empty() {
        full.push(':');
        full.push_str(&tag);
    } else if let Some(d) = &n.digest {
        full.push('@');
        full.push_str(&d.to_string());
    }
    Some(NameOut {
        registry: n.registry.clone(),
        remote: n.repository.clone(),
        tag,
        full_name: full,
    })
}

/// The manifest digest a template container runs: pinned in the spec, else what the first of
/// the workload's pods that runs it reports.
fn running_digest(c: &Container, pods: &[&Pod]) -> Option<String> {
    if let Some(d) = &c.image_digest {
        return Some(d.to_string());
    }
    pods.iter().find_map(|p| {
        p.spec
            .containers
            .iter()
            .find(|pc| pc.kind == c.kind && pc.name == c.name)
            .and_then(|pc| pc.image_digest.as_ref())
            .map(|d| d.to_string())
    })
}

/// Pods that are alive: scheduled or running, not finished.
pub fn live_pods(pods: &[&Pod]) -> i32 {
    let n = pods
        .iter()
        .filter(|p| matches!(p.phase, PodPhase::Pending | PodPhase::Running))
        .count();
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn volume_source(s: &VolumeSource) -> (&str, &'static str) {
    match s {
        VolumeSource::HostPath { path } => (path, "HostPath"),
        VolumeSource::EmptyDir => ("", "EmptyDir"),
        VolumeSource::Secret { secret_name } => (secret_name.as_deref().unwrap_or(""), "Secret"),
        VolumeSource::ConfigMap { name } => (name, "ConfigMap"),
        VolumeSource::PersistentVolumeClaim { claim_name } => (claim_name, "PersistentVolumeClaim"),
        VolumeSource::Projected => ("", "Projected"),
        VolumeSource::DownwardApi => ("", "DownwardAPI"),
        VolumeSource::Csi { driver } => (driver, "CSI"),
        VolumeSource::Ephemeral => ("", "Ephemeral"),
        VolumeSource::Other => ("", ""),
    }
}

fn port<'a>(
    name: Option<&'a str>,
    container_port: i32,
    protocol: Protocol,
    host: Option<i32>,
) -> Port<'a> {
    let protocol = match protocol {
        Protocol::TCP => "TCP",
        Protocol::UDP => "UDP",
        Protocol::SCTP => "SCTP",
    };
    Port {
        name: name.unwrap_or(""),
        container_port,
        protocol,
        exposure: if host.is_some() { "HOST" } else { "UNSET" },
        exposed_port: host.unwrap_or(0),
        exposure_infos: host
            .map(|h| ExposureInfo {
                level: "HOST",
                service_name: "",
                service_id: "",
                service_cluster_ip: "",
                service_port: 0,
                node_port: h,
                external_ips: [],
                external_hostnames: [],
            })
            .into_iter()
            .collect(),
    }
}

/// The images `w`'s containers run, each digest once, in container order. Cheap next to
/// [`deployment`], so the query is checked before the message is built.
pub fn running_images(w: &WorkloadRef<'_>, pods: &[&Pod]) -> Vec<RunningImage> {
    let mut images: Vec<RunningImage> = Vec::new();
    // Ephemeral (debug) containers are not part of the workload's spec.
    for c in w
        .template()
        .containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        if let Some(d) = running_digest(c, pods)
            && !images.iter().any(|i| i.digest == d)
        {
            images.push(RunningImage {
                digest: d,
                name: image_name(c.image.name.as_ref()),
            });
        }
    }
    images
}

/// The deployment message of `w`.
pub fn deployment<'a>(
    snapshot: &'a ClusterSnapshot,
    w: &WorkloadRef<'a>,
    uid: &'a str,
    pods: &[&Pod],
) -> Deployment<'a> {
    let cluster = snapshot.cluster();
    let t = w.template();
    let volumes: BTreeMap<&str, &VolumeSource> = t
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), &v.source))
        .collect();
    let mut containers = Vec::new();
    let mut ports = Vec::new();
    // Ephemeral (debug) containers are not part of the workload's spec.
    for c in t
        .containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        let digest = running_digest(c, pods);
        let name = image_name(c.image.name.as_ref());
        let sc = t.effective_security(c);
        for p in &c.ports {
            ports.push(port(
                p.name.as_deref(),
                p.container_port,
                p.protocol,
                p.host_port,
            ));
        }
        let mut vols = Vec::new();
        let mut secrets = Vec::new();
        for m in &c.volume_mounts {
            let (source, kind) = volumes
                .get(m.name.as_str())
                .map_or(("", ""), |s| volume_source(s));
            if kind == "Secret" {
                secrets.push(Secret {
                    name: source,
                    path: &m.mount_path,
                });
            }
            vols.push(VolumeOut {
                name: &m.name,
                source,
                destination: &m.mount_path,
                read_only: m.read_only,
                kind,
                mount_propagation: match m.propagation {
                    MountPropagation::None => "NONE",
                    MountPropagation::HostToContainer => "HOST_TO_CONTAINER",
                    MountPropagation::Bidirectional => "BIDIRECTIONAL",
                },
            });
        }
        let privileged = sc.privileged.unwrap_or(false);
        let cpu = |m: Option<u64>| m.map_or(0.0, |m| m as f32 / 1000.0);
        let mem = |b: Option<u64>| b.map_or(0.0, |b| (b as f64 / (1024.0 * 1024.0)) as f32);
        containers.push(ContainerOut {
            id: format!("{uid}:{}", c.name),
            config: Config {
                env: c
                    .env
                    .iter()
                    .map(|e| Env {
                        key: &e.name,
                        value: "",
                        env_var_source: match e.source {
                            berth_inventory::EnvSource::Raw => "RAW",
                            berth_inventory::EnvSource::SecretKey { .. } => "SECRET_KEY",
                            berth_inventory::EnvSource::ConfigMapKey { .. } => "CONFIG_MAP_KEY",
                            berth_inventory::EnvSource::Field { .. } => "FIELD",
                            berth_inventory::EnvSource::ResourceField { .. } => "RESOURCE_FIELD",
                            berth_inventory::EnvSource::Unknown => "UNKNOWN",
                        },
                    })
                    .collect(),
                command: &c.command,
                args: &c.args,
                directory: c.working_dir.as_deref().unwrap_or(""),
                user: "",
                uid: sc.run_as_user.unwrap_or(0).to_string(),
                app_armor_profile: "",
            },
            image: ContainerImage {
                id: digest.unwrap_or_default(),
                name,
                not_pullable: false,
                is_cluster_local: false,
            },
            security_context: SecurityContext {
                privileged,
                selinux: None,
                drop_capabilities: &c.security_context.capabilities_drop,
                add_capabilities: &c.security_context.capabilities_add,
                read_only_root_filesystem: sc.read_only_root_filesystem.unwrap_or(false),
                // The container's profile, else the pod's (what `effective_security` merges,
                // borrowed here from the template rather than from its owned copy).
                seccomp_profile: seccomp(
                    c.security_context
                        .seccomp_profile
                        .as_ref()
                        .or(t.security_context.seccomp_profile.as_ref()),
                ),
                // Kubernetes allows escalation unless told otherwise.
                allow_privilege_escalation: sc.allow_privilege_escalation.unwrap_or(true)
                    || privileged,
            },
            volumes: vols,
            ports: c
                .ports
                .iter()
                .map(|p| port(p.name.as_deref(), p.container_port, p.protocol, p.host_port))
                .collect(),
            secrets,
            resources: Resources {
                cpu_cores_request: cpu(c.resources.requests.cpu_millis),
                cpu_cores_limit: cpu(c.resources.limits.cpu_millis),
                memory_mb_request: mem(c.resources.requests.memory_bytes),
                memory_mb_limit: mem(c.resources.limits.memory_bytes),
            },
            name: &c.name,
            liveness_probe: Probe {
                defined: c.liveness_probe,
            },
            readiness_probe: Probe {
                defined: c.readiness_probe,
            },
        });
    }
    let (selector, replicas, created) = match w {
        WorkloadRef::Controller(c) => (
            c.selector.as_ref(),
            c.replicas.unwrap_or(0),
            c.created.as_deref(),
        ),
        WorkloadRef::Pod(p) => (None, 1, p.created.as_deref()),
    };
    Deployment {
        id: uid,
        name: w.name(),
        hash: "0",
        kind: w.kind().as_str(),
        namespace: w.namespace(),
        namespace_id: snapshot
            .namespace(w.namespace())
            .and_then(|n| n.uid.as_deref())
            .unwrap_or(""),
        orchestrator_component: false,
        replicas: replicas.to_string(),
        labels: w.labels(),
        pod_labels: w.pod_labels(),
        label_selector: selector.map(|s| LabelSelector {
            match_labels: &s.match_labels,
            requirements: s
                .match_expressions
                .iter()
                .map(|r| Requirement {
                    key: &r.key,
                    op: match r.operator {
                        SelectorOperator::In => "IN",
                        SelectorOperator::NotIn => "NOT_IN",
                        SelectorOperator::Exists => "EXISTS",
                        SelectorOperator::DoesNotExist => "NOT_EXISTS",
                    },
                    values: &r.values,
                })
                .collect(),
        }),
        created: created.and_then(normalize_date),
        cluster_id: &cluster.id,
        cluster_name: &cluster.name,
        containers,
        annotations: match w {
            WorkloadRef::Controller(c) => &c.annotations,
            WorkloadRef::Pod(p) => &p.annotations,
        },
        priority: "0",
        inactive: false,
        image_pull_secrets: &t.image_pull_secrets,
        service_account: t.service_account.as_deref().unwrap_or(""),
        service_account_permission_level: "UNSET",
        // Kubernetes mounts the token unless told otherwise.
        automount_service_account_token: t.automount_service_account_token.unwrap_or(true),
        host_network: t.host_network,
        host_pid: t.host_pid,
        host_ipc: t.host_ipc,
        runtime_class: t.runtime_class.as_deref().unwrap_or(""),
        tolerations: t
            .tolerations
            .iter()
            .map(|x| Toleration {
                key: x.key.as_deref().unwrap_or(""),
                operator: match x.operator {
                    TolerationOperator::Exists => "TOLERATION_OPERATOR_EXISTS",
                    TolerationOperator::Equal => "TOLERATION_OPERATOR_EQUAL",
                },
                value: x.value.as_deref().unwrap_or(""),
                taint_effect: match x.effect {
                    None => "UNKNOWN_TAINT_EFFECT",
                    Some(TaintEffect::NoSchedule) => "NO_SCHEDULE_TAINT_EFFECT",
                    Some(TaintEffect::PreferNoSchedule) => "PREFER_NO_SCHEDULE_TAINT_EFFECT",
                    Some(TaintEffect::NoExecute) => "NO_EXECUTE_TAINT_EFFECT",
                },
            })
            .collect(),
        ports,
        state_timestamp: "0",
        risk_score: 0.0,
    }
}

fn seccomp(p: Option<&SeccompProfile>) -> Option<Seccomp<'_>> {
    p.map(|p| match p {
        SeccompProfile::Unconfined => Seccomp {
            kind: "UNCONFINED",
            localhost_profile: "",
        },
        SeccompProfile::RuntimeDefault => Seccomp {
            kind: "RUNTIME_DEFAULT",
            localhost_profile: "",
        },
        SeccompProfile::Localhost { localhost_profile } => Seccomp {
            kind: "LOCALHOST",
            localhost_profile: localhost_profile.as_deref().unwrap_or(""),
        },
    })
}
