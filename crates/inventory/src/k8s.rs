//! Normalisation of Kubernetes objects (`k8s-openapi` types, Kubernetes 1.37 API) into the
//! inventory model, with every [`Limits`] bound checked.
//!
//! Enumerated fields the API server validates (protocol, pull policy, operators, seccomp type)
//! must hold a value Kubernetes defines, or the object is rejected: such a document did not come
//! from an API server. Fields with a natural fallback (pod phase `Unknown`, volume type `Other`)
//! take it, so a newer cluster's additions do not fail an upload.
use crate::error::InventoryError;
use crate::image::{parse_reference, resolve_digests};
use crate::limits::Limits;
use crate::model::{
    Container, ContainerKind, ContainerPort, ContainerState, ContainerStatus, EnvSource, EnvVar,
    LabelSelector, Labels, MountPropagation, Namespace, OwnerRef, Pod, PodPhase,
    PodSecurityContext, PodTemplate, Protocol, PullPolicy, ResourceAmounts, Resources,
    SeccompProfile, SecurityContext, SelectorOperator, SelectorRequirement, TaintEffect,
    Toleration, TolerationOperator, Volume, VolumeMount, VolumeSource, Workload, WorkloadKind,
};
use crate::quantity;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, InventoryError>;

/// An object berth inventories, normalised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "object")]
pub enum InventoryObject {
    Namespace(Namespace),
    Workload(Workload),
    Pod(Pod),
}

impl InventoryObject {
    /// `Kind namespace/name` for messages.
    pub fn describe(&self) -> String {
        match self {
            InventoryObject::Namespace(n) => format!("Namespace {}", n.name),
            InventoryObject::Workload(w) => w.key().to_string(),
            InventoryObject::Pod(p) => p.key().to_string(),
        }
    }
}

/// The checks of one object, naming it in every error.
struct Check<'a> {
    object: String,
    limits: &'a Limits,
}

impl Check<'_> {
    fn count(&self, what: &str, count: usize, limit: usize, field: &'static str) -> Result<()> {
        if count > limit {
            return Err(InventoryError::TooMany {
                object: self.object.clone(),
                what: what.to_string(),
                count,
                limit,
                field,
            });
        }
        Ok(())
    }

    fn len(&self, what: &str, s: &str, limit: usize, field: &'static str) -> Result<()> {
        if s.len() > limit {
            return Err(InventoryError::TooLong {
                object: self.object.clone(),
                what: what.to_string(),
                size: s.len(),
                limit,
                field,
            });
        }
        Ok(())
    }

    fn string(&self, what: &str, s: &str) -> Result<String> {
        self.len(what, s, self.limits.max_string_bytes, "max_string_bytes")?;
        Ok(s.to_string())
    }

    fn opt_string(&self, what: &str, s: Option<&String>) -> Result<Option<String>> {
        s.map(|s| self.string(what, s)).transpose()
    }

    fn name(&self, what: &str, s: &str) -> Result<String> {
        self.len(what, s, self.limits.max_name_bytes, "max_name_bytes")?;
        Ok(s.to_string())
    }

    fn strings(&self, what: &str, list: Option<&Vec<String>>) -> Result<Vec<String>> {
        let list = list.map(Vec::as_slice).unwrap_or_default();
        self.count(
            what,
            list.len(),
            self.limits.max_list_entries,
            "max_list_entries",
        )?;
        list.iter().map(|s| self.string(what, s)).collect()
    }

    fn list<'t, T>(&self, what: &str, list: Option<&'t Vec<T>>) -> Result<&'t [T]> {
        let list = list.map(Vec::as_slice).unwrap_or_default();
        self.count(
            what,
            list.len(),
            self.limits.max_list_entries,
            "max_list_entries",
        )?;
        Ok(list)
    }

    fn labels(&self, what: &str, labels: Option<&BTreeMap<String, String>>) -> Result<Labels> {
        let Some(labels) = labels else {
            return Ok(Labels::new());
        };
        let l = self.limits;
        self.count(what, labels.len(), l.max_labels, "max_labels")?;
        for (k, v) in labels {
            self.len(
                &format!("{what} key"),
                k,
                l.max_label_key_bytes,
                "max_label_key_bytes",
            )?;
            self.len(
                &format!("{what}[{:?}]", crate::error::quote(k)),
                v,
                l.max_label_value_bytes,
                "max_label_value_bytes",
            )?;
        }
        Ok(labels.clone())
    }

    fn annotations(&self, annotations: Option<&BTreeMap<String, String>>) -> Result<Labels> {
        let Some(annotations) = annotations else {
            return Ok(Labels::new());
        };
        let l = self.limits;
        self.count(
            "metadata.annotations",
            annotations.len(),
            l.max_annotations,
            "max_annotations",
        )?;
        let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > l.max_annotation_bytes {
            return Err(InventoryError::TooLong {
                object: self.object.clone(),
                what: "metadata.annotations".to_string(),
                size,
                limit: l.max_annotation_bytes,
                field: "max_annotation_bytes",
            });
        }
        Ok(annotations.clone())
    }

    fn enum_value<T>(&self, what: &str, value: &str, parsed: Option<T>) -> Result<T> {
        parsed.ok_or_else(|| {
            InventoryError::invalid(
                &self.object,
                format!(
                    "{what} {:?} is not a value Kubernetes defines",
                    crate::error::quote(value)
                ),
            )
        })
    }
}

/// Identity and metadata common to every object.
struct Meta {
    uid: Option<String>,
    namespace: String,
    name: String,
    labels: Labels,
    annotations: Labels,
    resource_version: Option<String>,
    created: Option<String>,
    owner: Option<OwnerRef>,
}

fn meta<'a>(kind: &str, m: &meta::ObjectMeta, limits: &'a Limits) -> Result<(Meta, Check<'a>)> {
    let name = m.name.as_deref().unwrap_or_default();
    let namespace = m.namespace.as_deref().unwrap_or_default();
    let check = Check {
        object: format!(
            "{kind} {}/{}",
            crate::error::quote(namespace),
            crate::error::quote(name)
        ),
        limits,
    };
    check.len(
        "metadata.name",
        name,
        limits.max_name_bytes,
        "max_name_bytes",
    )?;
    check.len(
        "metadata.namespace",
        namespace,
        limits.max_namespace_bytes,
        "max_namespace_bytes",
    )?;
    let refs = check.list("metadata.ownerReferences", m.owner_references.as_ref())?;
    let mut controllers = refs.iter().filter(|r| r.controller == Some(true));
    let owner = controllers.next();
    if controllers.next().is_some() {
        return Err(InventoryError::invalid(
            &check.object,
            "has more than one owner reference with controller: true",
        ));
    }
    let owner = match owner {
        Some(r) => Some(OwnerRef {
            api_version: check.string("ownerReferences[].apiVersion", &r.api_version)?,
            kind: check.string("ownerReferences[].kind", &r.kind)?,
            name: check.name("ownerReferences[].name", &r.name)?,
            uid: check.string("ownerReferences[].uid", &r.uid)?,
        }),
        None => None,
    };
    let meta = Meta {
        uid: check.opt_string("metadata.uid", m.uid.as_ref())?,
        namespace: namespace.to_string(),
        name: name.to_string(),
        labels: check.labels("metadata.labels", m.labels.as_ref())?,
        annotations: check.annotations(m.annotations.as_ref())?,
        resource_version: check
            .opt_string("metadata.resourceVersion", m.resource_version.as_ref())?,
        created: m.creation_timestamp.as_ref().map(|t| t.0.to_string()),
        owner,
    };
    Ok((meta, check))
}

/// A `Namespace`.
pub fn namespace(ns: &core::Namespace, limits: &Limits) -> Result<Namespace> {
    let (m, _) = meta("Namespace", &ns.metadata, limits)?;
    Ok(Namespace {
        name: m.name,
        uid: m.uid,
        labels: m.labels,
        annotations: m.annotations,
        created: m.created,
        terminating: ns
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Terminating"),
    })
}

/// A `Pod`: its spec, and each container's digests resolved from its status.
pub fn pod(p: &core::Pod, limits: &Limits) -> Result<Pod> {
    let (m, check) = meta("Pod", &p.metadata, limits)?;
    let mut spec = match &p.spec {
        Some(spec) => pod_template(&check, spec)?,
        None => PodTemplate::default(),
    };
    let status = p.status.as_ref();
    let mut statuses = Vec::new();
    if let Some(status) = status {
        let groups = [
            (ContainerKind::Init, status.init_container_statuses.as_ref()),
            (ContainerKind::Regular, status.container_statuses.as_ref()),
            (
                ContainerKind::Ephemeral,
                status.ephemeral_container_statuses.as_ref(),
            ),
        ];
        for (kind, list) in groups {
            for s in check.list("status.containerStatuses", list)? {
                statuses.push(container_status(&check, kind, s)?);
            }
        }
        check.count(
            "container statuses",
            statuses.len(),
            limits.max_containers_per_pod,
            "max_containers_per_pod",
        )?;
    }
    for c in &mut spec.containers {
        let image_id = statuses
            .iter()
            .find(|s| s.kind == c.kind && s.name == c.name)
            .map_or("", |s| s.image_id.as_str());
        (c.image_digest, c.image_id) = resolve_digests(&c.image, image_id);
    }
    let ip = status.and_then(|s| s.pod_ip.as_ref());
    let mut ips: Vec<String> = Vec::new();
    for i in check.list("status.podIPs", status.and_then(|s| s.pod_ips.as_ref()))? {
        ips.push(check.string("status.podIPs[].ip", &i.ip)?);
    }
    if let Some(ip) = ip
        && !ips.contains(ip)
    {
        ips.insert(0, check.string("status.podIP", ip)?);
    }
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        None | Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        Some(_) => PodPhase::Unknown,
    };
    Ok(Pod {
        uid: m.uid,
        namespace: m.namespace,
        name: m.name,
        labels: m.labels,
        annotations: m.annotations,
        resource_version: m.resource_version,
        created: m.created,
        owner: m.owner,
        node: check.opt_string(
            "spec.nodeName",
            p.spec.as_ref().and_then(|s| s.node_name.as_ref()),
        )?,
        ip: check.opt_string("status.podIP", ip)?,
        ips,
        host_ip: check.opt_string("status.hostIP", status.and_then(|s| s.host_ip.as_ref()))?,
        phase,
        spec,
        statuses,
    })
}

fn container_status(
    check: &Check<'_>,
    kind: ContainerKind,
    s: &core::ContainerStatus,
) -> Result<ContainerStatus> {
    let l = check.limits;
    check.len(
        "status image",
        &s.image,
        l.max_image_bytes,
        "max_image_bytes",
    )?;
    check.len(
        "status imageID",
        &s.image_id,
        l.max_image_bytes,
        "max_image_bytes",
    )?;
    let state = s.state.as_ref();
    let state = if let Some(r) = state.and_then(|s| s.running.as_ref()) {
        ContainerState::Running {
            started_at: r.started_at.as_ref().map(|t| t.0.to_string()),
        }
    } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        ContainerState::Terminated {
            exit_code: t.exit_code,
            reason: check.opt_string("terminated.reason", t.reason.as_ref())?,
        }
    } else if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
        ContainerState::Waiting {
            reason: check.opt_string("waiting.reason", w.reason.as_ref())?,
        }
    } else {
        ContainerState::Unknown
    };
    Ok(ContainerStatus {
        name: check.name("containerStatuses[].name", &s.name)?,
        kind,
        container_id: check.opt_string("containerID", s.container_id.as_ref())?,
        image: s.image.clone(),
        image_id: s.image_id.clone(),
        ready: s.ready,
        restart_count: s.restart_count,
        state,
    })
}

/// The fields a regular and an ephemeral container share, borrowed.
struct ContainerSpec<'a> {
    name: &'a str,
    image: Option<&'a String>,
    image_pull_policy: Option<&'a String>,
    command: Option<&'a Vec<String>>,
    args: Option<&'a Vec<String>>,
    working_dir: Option<&'a String>,
    env: Option<&'a Vec<core::EnvVar>>,
    security_context: Option<&'a core::SecurityContext>,
    ports: Option<&'a Vec<core::ContainerPort>>,
    resources: Option<&'a core::ResourceRequirements>,
    volume_mounts: Option<&'a Vec<core::VolumeMount>>,
    liveness_probe: bool,
    readiness_probe: bool,
}

macro_rules! container_spec {
    ($c:expr) => {
        ContainerSpec {
            name: &$c.name,
            image: $c.image.as_ref(),
            image_pull_policy: $c.image_pull_policy.as_ref(),
            command: $c.command.as_ref(),
            args: $c.args.as_ref(),
            working_dir: $c.working_dir.as_ref(),
            env: $c.env.as_ref(),
            security_context: $c.security_context.as_ref(),
            ports: $c.ports.as_ref(),
            resources: $c.resources.as_ref(),
            volume_mounts: $c.volume_mounts.as_ref(),
            liveness_probe: $c.liveness_probe.is_some(),
            readiness_probe: $c.readiness_probe.is_some(),
        }
    };
}

fn pod_template(check: &Check<'_>, spec: &core::PodSpec) -> Result<PodTemplate> {
    let l = check.limits;
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let ephemeral = spec.ephemeral_containers.as_deref().unwrap_or_default();
    let total = init.len() + spec.containers.len() + ephemeral.len();
    check.count(
        "containers",
        total,
        l.max_containers_per_pod,
        "max_containers_per_pod",
    )?;
    let mut containers = Vec::with_capacity(total);
    for c in init {
        containers.push(container(check, ContainerKind::Init, container_spec!(c))?);
    }
    for c in &spec.containers {
        containers.push(container(
            check,
            ContainerKind::Regular,
            container_spec!(c),
        )?);
    }
    for c in ephemeral {
        containers.push(container(
            check,
            ContainerKind::Ephemeral,
            container_spec!(c),
        )?);
    }
    let mut image_pull_secrets = Vec::new();
    for s in check.list("spec.imagePullSecrets", spec.image_pull_secrets.as_ref())? {
        image_pull_secrets.push(check.name("imagePullSecrets[].name", &s.name)?);
    }
    let mut tolerations = Vec::new();
    for t in check.list("spec.tolerations", spec.tolerations.as_ref())? {
        tolerations.push(toleration(check, t)?);
    }
    let mut volumes = Vec::new();
    for v in check.list("spec.volumes", spec.volumes.as_ref())? {
        volumes.push(volume(check, v)?);
    }
    let psc = spec.security_context.as_ref();
    let security_context = PodSecurityContext {
        run_as_user: psc.and_then(|s| s.run_as_user),
        run_as_group: psc.and_then(|s| s.run_as_group),
        run_as_non_root: psc.and_then(|s| s.run_as_non_root),
        fs_group: psc.and_then(|s| s.fs_group),
        seccomp_profile: psc
            .and_then(|s| s.seccomp_profile.as_ref())
            .map(|p| seccomp(check, p))
            .transpose()?,
    };
    // `serviceAccount` is the deprecated spelling of `serviceAccountName`.
    let service_account = spec
        .service_account_name
        .as_ref()
        .or(spec.service_account.as_ref());
    Ok(PodTemplate {
        service_account: service_account
            .map(|s| check.name("spec.serviceAccountName", s))
            .transpose()?,
        automount_service_account_token: spec.automount_service_account_token,
        host_network: spec.host_network.unwrap_or(false),
        host_pid: spec.host_pid.unwrap_or(false),
        host_ipc: spec.host_ipc.unwrap_or(false),
        runtime_class: spec
            .runtime_class_name
            .as_ref()
            .map(|s| check.name("spec.runtimeClassName", s))
            .transpose()?,
        priority_class: spec
            .priority_class_name
            .as_ref()
            .map(|s| check.name("spec.priorityClassName", s))
            .transpose()?,
        priority: spec.priority,
        image_pull_secrets,
        tolerations,
        volumes,
        security_context,
        containers,
    })
}

fn container(check: &Check<'_>, kind: ContainerKind, c: ContainerSpec<'_>) -> Result<Container> {
    let l = check.limits;
    let name = check.name("container name", c.name)?;
    let written = c.image.map(String::as_str).unwrap_or_default();
    check.len("image", written, l.max_image_bytes, "max_image_bytes")?;
    let image = parse_reference(written);
    let image_digest = image.name.as_ref().and_then(|n| n.digest.clone());
    let image_pull_policy = match c.image_pull_policy.map(String::as_str) {
        None | Some("") => None,
        Some(p) => Some(check.enum_value(
            "imagePullPolicy",
            p,
            match p {
                "Always" => Some(PullPolicy::Always),
                "IfNotPresent" => Some(PullPolicy::IfNotPresent),
                "Never" => Some(PullPolicy::Never),
                _ => None,
            },
        )?),
    };
    let mut env = Vec::new();
    for e in check.list("env", c.env)? {
        env.push(env_var(check, e)?);
    }
    let mut ports = Vec::new();
    for p in check.list("ports", c.ports)? {
        ports.push(port(check, p)?);
    }
    let mut volume_mounts = Vec::new();
    for m in check.list("volumeMounts", c.volume_mounts)? {
        volume_mounts.push(volume_mount(check, m)?);
    }
    Ok(Container {
        name,
        kind,
        image,
        image_digest,
        image_id: None,
        image_pull_policy,
        command: check.strings("command", c.command)?,
        args: check.strings("args", c.args)?,
        working_dir: check.opt_string("workingDir", c.working_dir)?,
        env,
        security_context: security_context(check, c.security_context)?,
        ports,
        resources: resources(check, c.resources)?,
        volume_mounts,
        liveness_probe: c.liveness_probe,
        readiness_probe: c.readiness_probe,
    })
}

fn env_var(check: &Check<'_>, e: &core::EnvVar) -> Result<EnvVar> {
    let from = e.value_from.as_ref();
    let source = if let Some(s) = from.and_then(|f| f.secret_key_ref.as_ref()) {
        EnvSource::SecretKey {
            name: check.name("secretKeyRef.name", &s.name)?,
            key: check.string("secretKeyRef.key", &s.key)?,
        }
    } else if let Some(s) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
        EnvSource::ConfigMapKey {
            name: check.name("configMapKeyRef.name", &s.name)?,
            key: check.string("configMapKeyRef.key", &s.key)?,
        }
    } else if let Some(s) = from.and_then(|f| f.field_ref.as_ref()) {
        EnvSource::Field {
            path: check.string("fieldRef.fieldPath", &s.field_path)?,
        }
    } else if let Some(s) = from.and_then(|f| f.resource_field_ref.as_ref()) {
        EnvSource::ResourceField {
            resource: check.string("resourceFieldRef.resource", &s.resource)?,
        }
    } else if from.is_some() {
        EnvSource::Unknown
    } else {
        EnvSource::Raw
    };
    Ok(EnvVar {
        name: check.string("env[].name", &e.name)?,
        source,
    })
}

fn port(check: &Check<'_>, p: &core::ContainerPort) -> Result<ContainerPort> {
    let protocol = match p.protocol.as_deref() {
        None | Some("") => Protocol::TCP,
        Some(v) => check.enum_value(
            "ports[].protocol",
            v,
            match v {
                "TCP" => Some(Protocol::TCP),
                "UDP" => Some(Protocol::UDP),
                "SCTP" => Some(Protocol::SCTP),
                _ => None,
            },
        )?,
    };
    Ok(ContainerPort {
        name: check.opt_string("ports[].name", p.name.as_ref())?,
        container_port: p.container_port,
        host_port: p.host_port,
        host_ip: check.opt_string("ports[].hostIP", p.host_ip.as_ref())?,
        protocol,
    })
}

fn volume_mount(check: &Check<'_>, m: &core::VolumeMount) -> Result<VolumeMount> {
    let propagation = match m.mount_propagation.as_deref() {
        None | Some("") | Some("None") => MountPropagation::None,
        Some(v) => check.enum_value(
            "volumeMounts[].mountPropagation",
            v,
            match v {
                "HostToContainer" => Some(MountPropagation::HostToContainer),
                "Bidirectional" => Some(MountPropagation::Bidirectional),
                _ => None,
            },
        )?,
    };
    Ok(VolumeMount {
        name: check.name("volumeMounts[].name", &m.name)?,
        mount_path: check.string("volumeMounts[].mountPath", &m.mount_path)?,
        read_only: m.read_only.unwrap_or(false),
        sub_path: check.opt_string("volumeMounts[].subPath", m.sub_path.as_ref())?,
        propagation,
    })
}

fn volume(check: &Check<'_>, v: &core::Volume) -> Result<Volume> {
    let source = if let Some(h) = &v.host_path {
        VolumeSource::HostPath {
            path: check.string("hostPath.path", &h.path)?,
        }
    } else if v.empty_dir.is_some() {
        VolumeSource::EmptyDir
    } else if let Some(s) = &v.secret {
        VolumeSource::Secret {
            secret_name: s
                .secret_name
                .as_ref()
                .map(|n| check.name("secret.secretName", n))
                .transpose()?,
        }
    } else if let Some(c) = &v.config_map {
        VolumeSource::ConfigMap {
            name: check.name("configMap.name", &c.name)?,
        }
    } else if let Some(c) = &v.persistent_volume_claim {
        VolumeSource::PersistentVolumeClaim {
            claim_name: check.name("persistentVolumeClaim.claimName", &c.claim_name)?,
        }
    } else if v.projected.is_some() {
        VolumeSource::Projected
    } else if v.downward_api.is_some() {
        VolumeSource::DownwardApi
    } else if let Some(c) = &v.csi {
        VolumeSource::Csi {
            driver: check.string("csi.driver", &c.driver)?,
        }
    } else if v.ephemeral.is_some() {
        VolumeSource::Ephemeral
    } else {
        VolumeSource::Other
    };
    Ok(Volume {
        name: check.name("volumes[].name", &v.name)?,
        source,
    })
}

fn toleration(check: &Check<'_>, t: &core::Toleration) -> Result<Toleration> {
    let operator = match t.operator.as_deref() {
        None | Some("") | Some("Equal") => TolerationOperator::Equal,
        Some("Exists") => TolerationOperator::Exists,
        Some(v) => check.enum_value("tolerations[].operator", v, None)?,
    };
    let effect = match t.effect.as_deref() {
        None | Some("") => None,
        Some(v) => Some(check.enum_value(
            "tolerations[].effect",
            v,
            match v {
                "NoSchedule" => Some(TaintEffect::NoSchedule),
                "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
                "NoExecute" => Some(TaintEffect::NoExecute),
                _ => None,
            },
        )?),
    };
    Ok(Toleration {
        key: check.opt_string("tolerations[].key", t.key.as_ref())?,
        operator,
        value: check.opt_string("tolerations[].value", t.value.as_ref())?,
        effect,
    })
}

fn seccomp(check: &Check<'_>, p: &core::SeccompProfile) -> Result<SeccompProfile> {
    let t = p.type_.as_str();
    check.enum_value(
        "seccompProfile.type",
        t,
        match t {
            "RuntimeDefault" => Some(SeccompProfile::RuntimeDefault),
            "Unconfined" => Some(SeccompProfile::Unconfined),
            "Localhost" => Some(SeccompProfile::Localhost {
                localhost_profile: check.opt_string(
                    "seccompProfile.localhostProfile",
                    p.localhost_profile.as_ref(),
                )?,
            }),
            _ => None,
        },
    )
}

fn security_context(
    check: &Check<'_>,
    sc: Option<&core::SecurityContext>,
) -> Result<SecurityContext> {
    let Some(sc) = sc else {
        return Ok(SecurityContext::default());
    };
    let caps = sc.capabilities.as_ref();
    Ok(SecurityContext {
        privileged: sc.privileged,
        run_as_user: sc.run_as_user,
        run_as_group: sc.run_as_group,
        run_as_non_root: sc.run_as_non_root,
        read_only_root_filesystem: sc.read_only_root_filesystem,
        allow_privilege_escalation: sc.allow_privilege_escalation,
        capabilities_add: check.strings("capabilities.add", caps.and_then(|c| c.add.as_ref()))?,
        capabilities_drop: check
            .strings("capabilities.drop", caps.and_then(|c| c.drop.as_ref()))?,
        seccomp_profile: sc
            .seccomp_profile
            .as_ref()
            .map(|p| seccomp(check, p))
            .transpose()?,
    })
}

fn resources(check: &Check<'_>, r: Option<&core::ResourceRequirements>) -> Result<Resources> {
    let amounts = |what: &str, list: Option<&BTreeMap<String, meta_quantity::Quantity>>| {
        let mut out = ResourceAmounts::default();
        let Some(list) = list else {
            return Ok(out);
        };
        check.count(
            what,
            list.len(),
            check.limits.max_list_entries,
            "max_list_entries",
        )?;
        for (resource, q) in list {
            let (scale, slot) = match resource.as_str() {
                "cpu" => (3, &mut out.cpu_millis),
                "memory" => (0, &mut out.memory_bytes),
                _ => continue,
            };
            let v = quantity::parse(&q.0).ok_or_else(|| {
                InventoryError::invalid(
                    &check.object,
                    format!(
                        "{what}.{resource} {:?} is not a Kubernetes quantity",
                        crate::error::quote(&q.0)
                    ),
                )
            })?;
            *slot = Some(v.to_units(scale));
        }
        Ok(out)
    };
    Ok(Resources {
        requests: amounts("resources.requests", r.and_then(|r| r.requests.as_ref()))?,
        limits: amounts("resources.limits", r.and_then(|r| r.limits.as_ref()))?,
    })
}

mod meta_quantity {
    pub use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
}

fn selector(check: &Check<'_>, s: Option<&meta::LabelSelector>) -> Result<Option<LabelSelector>> {
    let Some(s) = s else {
        return Ok(None);
    };
    let mut match_expressions = Vec::new();
    for r in check.list(
        "spec.selector.matchExpressions",
        s.match_expressions.as_ref(),
    )? {
        let operator = check.enum_value(
            "matchExpressions[].operator",
            &r.operator,
            match r.operator.as_str() {
                "In" => Some(SelectorOperator::In),
                "NotIn" => Some(SelectorOperator::NotIn),
                "Exists" => Some(SelectorOperator::Exists),
                "DoesNotExist" => Some(SelectorOperator::DoesNotExist),
                _ => None,
            },
        )?;
        match_expressions.push(SelectorRequirement {
            key: check.string("matchExpressions[].key", &r.key)?,
            operator,
            values: check.strings("matchExpressions[].values", r.values.as_ref())?,
        });
    }
    Ok(Some(LabelSelector {
        match_labels: check.labels("spec.selector.matchLabels", s.match_labels.as_ref())?,
        match_expressions,
    }))
}

/// What a controller contributes beyond its metadata.
struct ControllerParts<'s> {
    replicas: Option<i64>,
    schedule: Option<&'s String>,
    selector: Option<LabelSelector>,
    template: Option<&'s core::PodTemplateSpec>,
}

fn workload<'s>(
    kind: WorkloadKind,
    metadata: &meta::ObjectMeta,
    limits: &Limits,
    parts: impl FnOnce(&Check<'_>) -> Result<ControllerParts<'s>>,
) -> Result<Workload> {
    let (m, check) = meta(kind.as_str(), metadata, limits)?;
    let p = parts(&check)?;
    let template_meta = p.template.and_then(|t| t.metadata.as_ref());
    let pod_labels = check.labels(
        "spec.template.metadata.labels",
        template_meta.and_then(|m| m.labels.as_ref()),
    )?;
    let template = match p.template.and_then(|t| t.spec.as_ref()) {
        Some(spec) => pod_template(&check, spec)?,
        None => PodTemplate::default(),
    };
    Ok(Workload {
        kind,
        uid: m.uid,
        namespace: m.namespace,
        name: m.name,
        labels: m.labels,
        annotations: m.annotations,
        resource_version: m.resource_version,
        created: m.created,
        replicas: p.replicas,
        schedule: p
            .schedule
            .map(|s| check.string("spec.schedule", s))
            .transpose()?,
        selector: p.selector,
        owner: m.owner,
        pod_labels,
        template,
    })
}

pub fn deployment(d: &apps::Deployment, limits: &Limits) -> Result<Workload> {
    let spec = Some(&d.spec);
    workload(WorkloadKind::Deployment, &d.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: Some(i64::from(spec.and_then(|s| s.replicas).unwrap_or(1))),
            schedule: None,
            selector: selector(check, spec.map(|s| &s.selector))?,
            template: spec.map(|s| &s.template),
        })
    })
}

pub fn daemon_set(d: &apps::DaemonSet, limits: &Limits) -> Result<Workload> {
    let spec = Some(&d.spec);
    workload(WorkloadKind::DaemonSet, &d.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: d
                .status
                .as_ref()
                .map(|s| i64::from(s.desired_number_scheduled)),
            schedule: None,
            selector: selector(check, spec.map(|s| &s.selector))?,
            template: spec.map(|s| &s.template),
        })
    })
}

pub fn stateful_set(s: &apps::StatefulSet, limits: &Limits) -> Result<Workload> {
    let spec = Some(&s.spec);
    workload(WorkloadKind::StatefulSet, &s.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: Some(i64::from(spec.and_then(|s| s.replicas).unwrap_or(1))),
            schedule: None,
            selector: selector(check, spec.map(|s| &s.selector))?,
            template: spec.map(|s| &s.template),
        })
    })
}

pub fn replica_set(r: &apps::ReplicaSet, limits: &Limits) -> Result<Workload> {
    let spec = Some(&r.spec);
    workload(WorkloadKind::ReplicaSet, &r.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: Some(i64::from(spec.and_then(|s| s.replicas).unwrap_or(1))),
            schedule: None,
            selector: selector(check, spec.map(|s| &s.selector))?,
            template: spec.and_then(|s| s.template.as_ref()),
        })
    })
}

pub fn replication_controller(
    r: &core::ReplicationController,
    limits: &Limits,
) -> Result<Workload> {
    let spec = r.spec.as_ref();
    workload(
        WorkloadKind::ReplicationController,
        &r.metadata,
        limits,
        |check| {
            let match_labels = spec.and_then(|s| s.selector.as_ref());
            Ok(ControllerParts {
                replicas: Some(i64::from(spec.and_then(|s| s.replicas).unwrap_or(1))),
                schedule: None,
                selector: match match_labels {
                    Some(m) => Some(LabelSelector {
                        match_labels: check.labels("spec.selector", Some(m))?,
                        match_expressions: Vec::new(),
                    }),
                    None => None,
                },
                template: spec.and_then(|s| s.template.as_ref()),
            })
        },
    )
}

pub fn job(j: &batch::Job, limits: &Limits) -> Result<Workload> {
    let spec = j.spec.as_ref();
    workload(WorkloadKind::Job, &j.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: Some(i64::from(spec.and_then(|s| s.parallelism).unwrap_or(1))),
            schedule: None,
            selector: selector(check, spec.and_then(|s| s.selector.as_ref()))?,
            template: spec.map(|s| &s.template),
        })
    })
}

pub fn cron_job(c: &batch::CronJob, limits: &Limits) -> Result<Workload> {
    let spec = Some(&c.spec);
    let job_spec = spec.and_then(|s| s.job_template.spec.as_ref());
    workload(WorkloadKind::CronJob, &c.metadata, limits, |check| {
        Ok(ControllerParts {
            replicas: None,
            schedule: spec.map(|s| &s.schedule),
            selector: selector(check, job_spec.and_then(|s| s.selector.as_ref()))?,
            template: job_spec.map(|s| &s.template),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn pod_with_everything() {
        let hex = "a".repeat(64);
        let p: core::Pod = parse(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                "labels": {"app": "web"},
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "c"},
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "r", "controller": true}
                ]},
            "spec": {
                "hostNetwork": true,
                "securityContext": {"runAsUser": 1000, "runAsNonRoot": true},
                "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                "containers": [{
                    "name": "app", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                    "env": [{"name": "A", "value": "secret-ish"},
                            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}},
                    "ports": [{"containerPort": 80, "protocol": "UDP"}],
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1"}}
                }]
            },
            "status": {
                "phase": "Running", "podIP": "10.0.0.5", "hostIP": "192.168.1.2",
                "initContainerStatuses": [{"name": "init", "image": "busybox:1.36",
                    "imageID": format!("docker.io/library/busybox@sha256:{hex}"),
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [{"name": "app", "image": "nginx:1.27",
                    "imageID": format!("sha256:{hex}"), "containerID": "containerd://abc",
                    "ready": true, "restartCount": 2, "state": {"running": {}}}]
            }
        }));
        let pod = pod(&p, &Limits::default()).unwrap();
        assert_eq!(pod.owner.as_ref().unwrap().kind, "ReplicaSet");
        assert_eq!(pod.phase, PodPhase::Running);
        assert_eq!(pod.ips, ["10.0.0.5"]);
        assert!(pod.spec.host_network);
        let [init, app] = &pod.spec.containers[..] else {
            panic!("two containers")
        };
        assert_eq!(init.kind, ContainerKind::Init);
        assert_eq!(init.image_digest.as_ref().unwrap().hex(), hex);
        assert_eq!(app.image_digest, None);
        assert_eq!(app.image_id.as_ref().unwrap().hex(), hex);
        assert_eq!(app.env[0].source, EnvSource::Raw);
        assert!(matches!(app.env[1].source, EnvSource::SecretKey { .. }));
        assert_eq!(app.ports[0].protocol, Protocol::UDP);
        assert_eq!(app.resources.requests.cpu_millis, Some(250));
        assert_eq!(app.resources.requests.memory_bytes, Some(64 << 20));
        assert_eq!(app.resources.limits.cpu_millis, Some(1000));
        let sc = pod.spec.effective_security(app);
        assert_eq!((sc.privileged, sc.run_as_user), (Some(true), Some(1000)));
        assert_eq!(sc.capabilities_add, ["NET_ADMIN"]);
        let status = pod.status_of(app).unwrap();
        assert_eq!(status.bare_container_id(), Some("abc"));
        assert_eq!(status.restart_count, 2);
    }

    #[test]
    fn limits_and_bad_values_are_named() {
        let limits = Limits {
            max_labels: 1,
            ..Limits::default()
        };
        let p: core::Pod = parse(serde_json::json!({
            "metadata": {"name": "p", "namespace": "n", "labels": {"a": "1", "b": "2"}}
        }));
        let e = pod(&p, &limits).unwrap_err().to_string();
        assert!(e.contains("Pod n/p") && e.contains("max_labels"), "{e}");

        let p: core::Pod = parse(serde_json::json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 1, "protocol": "QUIC"}]}]}
        }));
        let e = pod(&p, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("QUIC"), "{e}");

        let p: core::Pod = parse(serde_json::json!({
            "metadata": {"name": "p", "namespace": "n", "ownerReferences": [
                {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": true},
                {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": true}]}
        }));
        let e = pod(&p, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("more than one"), "{e}");

        let p: core::Pod = parse(serde_json::json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "lots"}}}]}
        }));
        let e = pod(&p, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("resources.limits.memory"), "{e}");
    }

    #[test]
    fn controllers() {
        let limits = Limits::default();
        let d: apps::Deployment = parse(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}]},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        }));
        let w = deployment(&d, &limits).unwrap();
        assert_eq!((w.kind, w.replicas), (WorkloadKind::Deployment, Some(1)));
        assert_eq!(w.pod_labels["app"], "web");
        let sel = w.selector.unwrap();
        assert_eq!(sel.match_expressions[0].operator, SelectorOperator::In);

        let c: batch::CronJob = parse(serde_json::json!({
            "metadata": {"name": "nightly", "namespace": "ops"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "alpine"}]}}}}}
        }));
        let w = cron_job(&c, &limits).unwrap();
        assert_eq!(w.schedule.as_deref(), Some("0 3 * * *"));
        assert_eq!(w.replicas, None);
        assert_eq!(w.template.containers.len(), 1);

        let rc: core::ReplicationController = parse(serde_json::json!({
            "apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "legacy", "namespace": "old", "uid": "rc-1"},
            "spec": {"replicas": 3, "selector": {"app": "legacy"},
                "template": {"metadata": {"labels": {"app": "legacy"}},
                    "spec": {"containers": [{"name": "c", "image": "legacy:1"}]}}}
        }));
        let w = replication_controller(&rc, &limits).unwrap();
        assert_eq!(
            (w.kind, w.replicas),
            (WorkloadKind::ReplicationController, Some(3))
        );
        assert_eq!(w.selector.unwrap().match_labels["app"], "legacy");
        assert_eq!(w.pod_labels["app"], "legacy");
    }
}
