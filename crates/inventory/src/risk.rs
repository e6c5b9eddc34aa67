//! Image risk over the inventory: selecting containers, counting the risk of the images they
//! run, and listing the images running in a cluster, namespace or application.
//!
//! The input is a risk map, manifest digest (or image ID) → [`ImageRisk`], filled by the caller
//! from the latest scans. Everything here is one pass over the pods of the snapshots given.
use crate::error::InventoryError;
use crate::model::{Cluster, Container, ContainerKind, Pod, WorkloadKey};
use crate::snapshot::ClusterSnapshot;
use berth_oci::Digest;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

/// Scanner severities (Clair's vocabulary, with `Critical` from CVSS-based feeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Negligible,
    Unknown,
}

/// Findings of one kind in one image, by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub negligible: u64,
    pub unknown: u64,
}

impl SeverityCounts {
    pub fn get(&self, s: Severity) -> u64 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Negligible => self.negligible,
            Severity::Unknown => self.unknown,
        }
    }

    pub fn total(&self) -> u64 {
        [
            self.critical,
            self.high,
            self.medium,
            self.low,
            self.negligible,
            self.unknown,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    /// Counts by level under the crate's one rule (see [`Level::of`]): [high, medium, low].
    pub fn by_level(&self) -> [u64; 3] {
        let mut out = [0u64; 3];
        for s in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Negligible,
            Severity::Unknown,
        ] {
            let slot = &mut out[Level::of(s) as usize];
            *slot = slot.saturating_add(self.get(s));
        }
        out
    }
}

/// What the latest scan of one image found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageRisk {
    /// Vulnerabilities of OS packages (dpkg, apk, rpm): `ImageCveVul`.
    pub os_vulns: SeverityCounts,
    /// Vulnerabilities of language packages (npm, PyPI, Maven, Go...): `ImageScaVul`.
    pub lang_vulns: SeverityCounts,
    /// Malicious files: `ImageMaliciousFile`.
    pub malicious_files: SeverityCounts,
    /// Baseline findings (misconfiguration, secrets): `ImageBaseline`.
    pub baseline: SeverityCounts,
}

impl ImageRisk {
    pub fn has_vulns(&self) -> bool {
        self.os_vulns.total() > 0 || self.lang_vulns.total() > 0
    }

    pub fn has_alarms(&self) -> bool {
        self.malicious_files.total() > 0
    }

    pub fn has_risk(&self) -> bool {
        self.has_vulns() || self.has_alarms() || self.baseline.total() > 0
    }

    /// The highest level of any finding, `None` when there is none.
    pub fn level(&self) -> Option<Level> {
        let mut all = [0u64; 3];
        for c in [
            &self.os_vulns,
            &self.lang_vulns,
            &self.malicious_files,
            &self.baseline,
        ] {
            for (slot, n) in all.iter_mut().zip(c.by_level()) {
                *slot = slot.saturating_add(n);
            }
        }
        [Level::High, Level::Medium, Level::Low]
            .into_iter()
            .find(|l| all[*l as usize] > 0)
    }
}

/// The three levels every count is reported in. The one rule, for all four finding kinds:
///
/// | severity | level | vulnerability wire name | other wire name |
/// | --- | --- | --- | --- |
/// | Critical, High | High | `asap` (fix at the earliest opportunity) | `high` |
/// | Medium | Medium | `nntf` (fix as the business requires) | `medium` |
/// | Low, Negligible, Unknown | Low | `later` (may be ignored) | `low` |
///
/// The wire names and their meanings are the `DescribeClusterImageSecuritySummary` seed's. A
/// finding of unknown severity is counted, at the lowest level, so the three levels add up to
/// every finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    High = 0,
    Medium = 1,
    Low = 2,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn of(severity: Severity) -> Level {
        match severity {
            Severity::Critical | Severity::High => Level::High,
            Severity::Medium => Level::Medium,
            Severity::Low | Severity::Negligible | Severity::Unknown => Level::Low,
        }
    }

    /// `asap`, `nntf`, `later`: the `RiskLevel` of `ImageCveVul` and `ImageScaVul`.
    pub fn vul_name(self) -> &'static str {
        match self {
            Level::High => "asap",
            Level::Medium => "nntf",
            Level::Low => "later",
        }
    }

    /// `high`, `medium`, `low`: the `RiskLevel` of `ImageMaliciousFile` and `ImageBaseline`,
    /// and the `riskLevel` container field.
    pub fn name(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

/// One level's count, serialised as the summary seed's `{"RiskLevel": ..., "Count": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LevelCount {
    pub risk_level: String,
    pub count: u64,
}

/// The summary's four arrays, each with all three levels (highest first) even at zero, plus
/// what was counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSecuritySummary {
    pub image_cve_vul: Vec<LevelCount>,
    pub image_sca_vul: Vec<LevelCount>,
    pub image_malicious_file: Vec<LevelCount>,
    pub image_baseline: Vec<LevelCount>,
    /// Containers the query selected.
    #[serde(skip)]
    pub containers: usize,
    /// Distinct images (by digest) among them that had risk data.
    #[serde(skip)]
    pub images_counted: usize,
    /// Distinct digests among them with no risk data (not scanned yet).
    #[serde(skip)]
    pub images_unscanned: usize,
    /// Selected containers whose digest is not known (pending, or an unpinned reference the
    /// runtime has not reported).
    #[serde(skip)]
    pub containers_unresolved: usize,
}

/// The container fields of `DescribeClusterImageSecuritySummary`'s `ContainerFieldName`, and
/// what each means in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerField {
    /// `instanceId`: the host instance running the container: the pod's node name.
    InstanceId,
    /// `clusterId`: [`Cluster::id`].
    ClusterId,
    /// `regionId`: [`Cluster::region`].
    RegionId,
    /// `clusterName`: [`Cluster::name`].
    ClusterName,
    /// `image`: the reference as written in the spec, or its normalised form
    /// (`docker.io/library/nginx:1.27` for `nginx:1.27`).
    Image,
    /// `imageRepoName`: the repository within its registry namespace (`nginx` for
    /// `library/nginx`).
    ImageRepoName,
    /// `imageRepoNamespace`: the repository's first path component (`library`).
    ImageRepoNamespace,
    /// `imageRepoTag`: the reference's tag.
    ImageRepoTag,
    /// `imageDigest`: the digest running ([`Container::risk_digest`]), with or without its
    /// `sha256:` prefix.
    ImageDigest,
    /// `clusterType`: [`crate::ClusterType`]'s wire name.
    ClusterType,
    /// `hostIp`: the pod's `status.hostIP`.
    HostIp,
    /// `pod`: the pod's name.
    Pod,
    /// `podIp`: any of the pod's IPs.
    PodIp,
    /// `containerId`: the runtime's container ID, with or without its `containerd://` prefix.
    ContainerId,
    /// `vulStatus`: `true` when the image has vulnerabilities (OS or language), `false` when
    /// scanned without; an unscanned image matches neither.
    VulStatus,
    /// `alarmStatus`: `true` when the image has malicious files; as `vulStatus` otherwise.
    AlarmStatus,
    /// `riskStatus`: `true` when the image has any finding; as `vulStatus` otherwise.
    RiskStatus,
    /// `riskLevel`: the highest [`Level`] of the image's findings (`high`, `medium`, `low`),
    /// `none` when scanned without findings; an unscanned image matches nothing.
    RiskLevel,
    /// `containerScope`: [`ContainerKind`]'s wire name: `init`, `regular`, `ephemeral`.
    ContainerScope,
}

impl ContainerField {
    pub const ALL: [ContainerField; 19] = [
        ContainerField::InstanceId,
        ContainerField::ClusterId,
        ContainerField::RegionId,
        ContainerField::ClusterName,
        ContainerField::Image,
        ContainerField::ImageRepoName,
        ContainerField::ImageRepoNamespace,
        ContainerField::ImageRepoTag,
        ContainerField::ImageDigest,
        ContainerField::ClusterType,
        ContainerField::HostIp,
        ContainerField::Pod,
        ContainerField::PodIp,
        ContainerField::ContainerId,
        ContainerField::VulStatus,
        ContainerField::AlarmStatus,
        ContainerField::RiskStatus,
        ContainerField::RiskLevel,
        ContainerField::ContainerScope,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerField::InstanceId => "instanceId",
            ContainerField::ClusterId => "clusterId",
            ContainerField::RegionId => "regionId",
            ContainerField::ClusterName => "clusterName",
            ContainerField::Image => "image",
            ContainerField::ImageRepoName => "imageRepoName",
            ContainerField::ImageRepoNamespace => "imageRepoNamespace",
            ContainerField::ImageRepoTag => "imageRepoTag",
            ContainerField::ImageDigest => "imageDigest",
            ContainerField::ClusterType => "clusterType",
            ContainerField::HostIp => "hostIp",
            ContainerField::Pod => "pod",
            ContainerField::PodIp => "podIp",
            ContainerField::ContainerId => "containerId",
            ContainerField::VulStatus => "vulStatus",
            ContainerField::AlarmStatus => "alarmStatus",
            ContainerField::RiskStatus => "riskStatus",
            ContainerField::RiskLevel => "riskLevel",
            ContainerField::ContainerScope => "containerScope",
        }
    }
}

impl FromStr for ContainerField {
    type Err = InventoryError;

    /// The wire name, exactly (the seed's names are case-sensitive camelCase).
    fn from_str(s: &str) -> Result<Self, InventoryError> {
        ContainerField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| InventoryError::UnknownContainerField(crate::error::quote(s)))
    }
}

/// One container as the matchers see it.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    pub cluster: &'a Cluster,
    pub pod: &'a Pod,
    pub container: &'a Container,
    /// The image's risk, `None` when its digest is unknown or unscanned.
    pub risk: Option<&'a ImageRisk>,
}

/// `value` is a digest, bare hex or `alg:hex`, equal to `d`.
fn digest_matches(d: &Digest, value: &str) -> bool {
    match value.split_once(':') {
        Some((alg, hex)) => alg == d.algorithm().as_str() && hex == d.hex(),
        None => value == d.hex(),
    }
}

/// `ContainerFieldName` = `ContainerFieldValue`, validated once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMatch {
    pub field: ContainerField,
    pub value: String,
}

impl ContainerMatch {
    /// Parses the pair; the status fields take `true`/`false`, `riskLevel` takes `high`,
    /// `medium`, `low` or `none`, `containerScope` takes `init`, `regular` or `ephemeral`
    /// (all case-insensitive); other values match exactly.
    pub fn new(field: &str, value: &str) -> Result<Self, InventoryError> {
        let field: ContainerField = field.parse()?;
        let invalid = |expected: &'static str| InventoryError::InvalidFieldValue {
            field: "ContainerFieldValue",
            value: crate::error::quote(value),
            expected,
        };
        let value = match field {
            ContainerField::VulStatus
            | ContainerField::AlarmStatus
            | ContainerField::RiskStatus => {
                let v = value.to_ascii_lowercase();
                if v != "true" && v != "false" {
                    return Err(invalid("true or false"));
                }
                v
            }
            ContainerField::RiskLevel => {
                let v = value.to_ascii_lowercase();
                if !["high", "medium", "low", "none"].contains(&v.as_str()) {
                    return Err(invalid("high, medium, low or none"));
                }
                v
            }
            ContainerField::ContainerScope => {
                let v = value.to_ascii_lowercase();
                if !["init", "regular", "ephemeral"].contains(&v.as_str()) {
                    return Err(invalid("init, regular or ephemeral"));
                }
                v
            }
            _ => value.to_string(),
        };
        Ok(ContainerMatch { field, value })
    }

    pub fn matches(&self, c: &ContainerView<'_>) -> bool {
        let v = self.value.as_str();
        let name = c.container.image.name.as_ref();
        let status = |f: fn(&ImageRisk) -> bool| c.risk.is_some_and(|r| f(r) == (v == "true"));
        match self.field {
            ContainerField::InstanceId => c.pod.node.as_deref() == Some(v),
            ContainerField::ClusterId => c.cluster.id == v,
            ContainerField::RegionId => c.cluster.region == v,
            ContainerField::ClusterName => c.cluster.name == v,
            ContainerField::Image => {
                c.container.image.written == v || name.is_some_and(|n| normalized(n) == v)
            }
            ContainerField::ImageRepoName => name.is_some_and(|n| n.repo_name() == v),
            ContainerField::ImageRepoNamespace => name.is_some_and(|n| n.repo_namespace() == v),
            ContainerField::ImageRepoTag => name.is_some_and(|n| n.tag.as_deref() == Some(v)),
            ContainerField::ImageDigest => c
                .container
                .risk_digest()
                .is_some_and(|d| digest_matches(d, v)),
            ContainerField::ClusterType => c.cluster.cluster_type.as_str() == v,
            ContainerField::HostIp => c.pod.host_ip.as_deref() == Some(v),
            ContainerField::Pod => c.pod.name == v,
            ContainerField::PodIp => c.pod.ips.iter().any(|ip| ip == v),
            ContainerField::ContainerId => c
                .pod
                .status_of(c.container)
                .and_then(|s| s.container_id.as_deref().zip(s.bare_container_id()))
                .is_some_and(|(full, bare)| full == v || bare == v),
            ContainerField::VulStatus => status(ImageRisk::has_vulns),
            ContainerField::AlarmStatus => status(ImageRisk::has_alarms),
            ContainerField::RiskStatus => status(ImageRisk::has_risk),
            ContainerField::RiskLevel => c
                .risk
                .is_some_and(|r| r.level().map_or("none", Level::name) == v),
            ContainerField::ContainerScope => c.container.kind.as_str() == v,
        }
    }
}

/// `registry/repository[:tag][@digest]`.
fn normalized(n: &crate::model::ImageName) -> String {
    let mut s = format!("{}/{}", n.registry, n.repository);
    if let Some(t) = &n.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &n.digest {
        s.push('@');
        s.push_str(&d.to_string());
    }
    s
}

/// The request parameters of `DescribeClusterImageSecuritySummary`, validated. Every given
/// condition must hold (AND); an empty query selects every container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryQuery {
    /// `ClusterId`: only the snapshot of this cluster.
    pub cluster_id: Option<String>,
    /// `ContainerFieldName` / `ContainerFieldValue`.
    pub field: Option<ContainerMatch>,
    /// `ImageRepoName`, `ImageRepoNamespace`, `ImageTag`: as the container fields of the same
    /// meaning.
    pub image_repo_name: Option<String>,
    pub image_repo_namespace: Option<String>,
    pub image_tag: Option<String>,
    /// `ImageDigest`: bare hex (as in the seed's example) or `sha256:hex`.
    pub image_digest: Option<String>,
}

impl SummaryQuery {
    fn selects(&self, c: &ContainerView<'_>) -> bool {
        let name = c.container.image.name.as_ref();
        self.field.as_ref().is_none_or(|m| m.matches(c))
            && self
                .image_repo_name
                .as_deref()
                .is_none_or(|v| name.is_some_and(|n| n.repo_name() == v))
            && self
                .image_repo_namespace
                .as_deref()
                .is_none_or(|v| name.is_some_and(|n| n.repo_namespace() == v))
            && self
                .image_tag
                .as_deref()
                .is_none_or(|v| name.is_some_and(|n| n.tag.as_deref() == Some(v)))
            && self.image_digest.as_deref().is_none_or(|v| {
                c.container
                    .risk_digest()
                    .is_some_and(|d| digest_matches(d, v))
            })
    }
}

/// Every container of every pod of `snapshots` (init and ephemeral ones included, whatever the
/// pod's phase: a pod counts while the API server holds it), with its image's risk.
pub fn containers<'a>(
    snapshots: impl IntoIterator<Item = &'a ClusterSnapshot>,
    risks: &'a HashMap<Digest, ImageRisk>,
) -> impl Iterator<Item = ContainerView<'a>> {
    snapshots.into_iter().flat_map(move |s| {
        let cluster = s.cluster();
        s.pods().flat_map(move |pod| {
            pod.spec
                .containers
                .iter()
                .map(move |container| ContainerView {
                    cluster,
                    pod,
                    container,
                    risk: container.risk_digest().and_then(|d| risks.get(d)),
                })
        })
    })
}

/// `DescribeClusterImageSecuritySummary`: the findings of the images the selected containers
/// run. Each distinct image (by [`Container::risk_digest`]) is counted once however many
/// containers run it, across all the snapshots given; its counts are taken by level with the
/// rule of [`Level`]. Containers whose digest is unknown cannot be counted and are reported in
/// `containers_unresolved`. Linear in the number of containers.
pub fn summarize<'a>(
    snapshots: impl IntoIterator<Item = &'a ClusterSnapshot>,
    query: &SummaryQuery,
    risks: &'a HashMap<Digest, ImageRisk>,
) -> ImageSecuritySummary {
    let snapshots = snapshots.into_iter().filter(|s| {
        query
            .cluster_id
            .as_deref()
            .is_none_or(|id| s.cluster().id == id)
    });
    let mut seen: HashSet<&Digest> = HashSet::new();
    let mut totals = [[0u64; 3]; 4];
    let mut summary = ImageSecuritySummary {
        image_cve_vul: Vec::new(),
        image_sca_vul: Vec::new(),
        image_malicious_file: Vec::new(),
        image_baseline: Vec::new(),
        containers: 0,
        images_counted: 0,
        images_unscanned: 0,
        containers_unresolved: 0,
    };
    for c in containers(snapshots, risks) {
        if !query.selects(&c) {
            continue;
        }
        summary.containers += 1;
        let Some(digest) = c.container.risk_digest() else {
            summary.containers_unresolved += 1;
            continue;
        };
        if !seen.insert(digest) {
            continue;
        }
        let Some(risk) = c.risk else {
            summary.images_unscanned += 1;
            continue;
        };
        summary.images_counted += 1;
        let kinds = [
            &risk.os_vulns,
            &risk.lang_vulns,
            &risk.malicious_files,
            &risk.baseline,
        ];
        for (total, counts) in totals.iter_mut().zip(kinds) {
            for (slot, n) in total.iter_mut().zip(counts.by_level()) {
                *slot = slot.saturating_add(n);
            }
        }
    }
    let levels = |t: [u64; 3], name: fn(Level) -> &'static str| {
        Level::ALL
            .into_iter()
            .map(|l| LevelCount {
                risk_level: name(l).to_string(),
                count: t[l as usize],
            })
            .collect()
    };
    summary.image_cve_vul = levels(totals[0], Level::vul_name);
    summary.image_sca_vul = levels(totals[1], Level::vul_name);
    summary.image_malicious_file = levels(totals[2], Level::name);
    summary.image_baseline = levels(totals[3], Level::name);
    summary
}

/// The request parameters of `ListImageRisk` that select running images. Every given condition
/// must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageQuery {
    /// `ClusterId`.
    pub cluster_id: Option<String>,
    /// `Namespace`: the Kubernetes namespace the containers run in.
    pub namespace: Option<String>,
    /// `AppName`: the name of the workload the container belongs to, or the value of its `app`
    /// or `app.kubernetes.io/name` label (on the workload or on its pods).
    pub app_name: Option<String>,
    /// `ImageName`: the reference as written, its normalised form with or without tag, or
    /// `repository[:tag]` with the repository whole or as its last path component
    /// (`nginx:1.27`, `library/nginx`, `docker.io/library/nginx:1.27` all select
    /// `nginx:1.27`).
    pub image_name: Option<String>,
}

/// How a running image is identified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum ImageKey {
    /// A manifest digest, or an image ID ([`Container::risk_digest`]).
    Digest(Digest),
    /// No digest known yet: the reference as written.
    Reference(String),
}

/// One container running an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerUse {
    pub cluster_id: String,
    pub workload: WorkloadKey,
    pub pod: String,
    pub container: String,
    pub kind: ContainerKind,
}

/// An image running in the selection, with who runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningImage {
    pub key: ImageKey,
    /// Every spelling of the reference the containers use, sorted.
    pub references: BTreeSet<String>,
    /// The parsed names among them, sorted.
    pub names: BTreeSet<crate::model::ImageName>,
    /// The top-level workloads running it (cluster ID, workload), sorted.
    pub workloads: BTreeSet<(String, WorkloadKey)>,
    /// Every container running it, sorted.
    pub containers: Vec<ContainerUse>,
    pub risk: Option<ImageRisk>,
}

fn image_name_matches(c: &Container, q: &str) -> bool {
    if c.image.written == q {
        return true;
    }
    let Some(n) = c.image.name.as_ref() else {
        return false;
    };
    let last = n.repository.rsplit('/').next().unwrap_or(&n.repository);
    let (repo, tag) = match q.rsplit_once(':') {
        // A ':' followed by a '/' is a registry port, not a tag.
        Some((r, t)) if !t.contains('/') => (r, Some(t)),
        _ => (q, None),
    };
    if tag.is_some_and(|t| n.tag.as_deref() != Some(t)) {
        return false;
    }
    repo == n.repository
        || repo == last
        || repo
            .strip_prefix(n.registry.as_str())
            .and_then(|r| r.strip_prefix('/'))
            == Some(n.repository.as_str())
}

fn app_matches(w: &crate::snapshot::WorkloadRef<'_>, app: &str) -> bool {
    const APP_LABELS: [&str; 2] = ["app", "app.kubernetes.io/name"];
    w.name() == app
        || APP_LABELS.iter().any(|l| {
            w.labels().get(*l).map(String::as_str) == Some(app)
                || w.pod_labels().get(*l).map(String::as_str) == Some(app)
        })
}

/// The images running in a cluster, namespace or application (`ListImageRisk`), each with the
/// containers and top-level workloads running it and its risk. Sorted by key. Linear in the
/// number of containers (plus the sorting of the output).
pub fn running_images<'a>(
    snapshots: impl IntoIterator<Item = &'a ClusterSnapshot>,
    query: &ImageQuery,
    risks: &HashMap<Digest, ImageRisk>,
) -> Vec<RunningImage> {
    let mut images: BTreeMap<ImageKey, RunningImage> = BTreeMap::new();
    for snapshot in snapshots {
        let cluster_id = &snapshot.cluster().id;
        if query.cluster_id.as_ref().is_some_and(|id| id != cluster_id) {
            continue;
        }
        for pod in snapshot.pods() {
            if query
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != pod.namespace)
            {
                continue;
            }
            let workload = snapshot.workload_of(pod);
            if query
                .app_name
                .as_deref()
                .is_some_and(|app| !app_matches(&workload, app))
            {
                continue;
            }
            for c in &pod.spec.containers {
                if query
                    .image_name
                    .as_deref()
                    .is_some_and(|q| !image_name_matches(c, q))
                {
                    continue;
                }
                let key = match c.risk_digest() {
                    Some(d) => ImageKey::Digest(d.clone()),
                    None => ImageKey::Reference(c.image.written.clone()),
                };
                let risk = c.risk_digest().and_then(|d| risks.get(d)).copied();
                let entry = images.entry(key.clone()).or_insert_with(|| RunningImage {
                    key,
                    references: BTreeSet::new(),
                    names: BTreeSet::new(),
                    workloads: BTreeSet::new(),
                    containers: Vec::new(),
                    risk,
                });
                if !entry.references.contains(&c.image.written) {
                    entry.references.insert(c.image.written.clone());
                }
                if let Some(n) = &c.image.name
                    && !entry.names.contains(n)
                {
                    entry.names.insert(n.clone());
                }
                let wkey = workload.key();
                entry.containers.push(ContainerUse {
                    cluster_id: cluster_id.clone(),
                    workload: wkey.clone(),
                    pod: pod.name.clone(),
                    container: c.name.clone(),
                    kind: c.kind,
                });
                entry.workloads.insert((cluster_id.clone(), wkey));
            }
        }
    }
    images
        .into_values()
        .map(|mut i| {
            i.containers.sort_unstable();
            i
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::list::{EventType, WatchEvent};
    use crate::model::PodKey;
    use crate::snapshot::tests::fixture;
    use crate::{InventoryObject, WorkloadKind};

    const NGINX: &str = "c42ccfdc095b60d4a606489602e8d9618ee9baa3f45ac02aefadbe1e451c4e5b";
    const GITSYNC: &str = "ff971b93235e4498733a0b2dd78903c405147c658ededfbea4befb169328819d";
    const BUSYBOX_ID: &str = "75b28b301258c561f22899ba499b40ea5bf69a1afd583c77bb4315626a09dc9a";
    const NODEEXP: &str = "7babbdcf179f062f7c44661333a6a0e6aa8d7f3f605ecc457cc9d68fec1e212a";

    fn d(hex: &str) -> Digest {
        format!("sha256:{hex}").parse().unwrap()
    }

    fn risks() -> HashMap<Digest, ImageRisk> {
        let mut m = HashMap::new();
        m.insert(
            d(NGINX),
            ImageRisk {
                os_vulns: SeverityCounts {
                    critical: 1,
                    high: 2,
                    medium: 3,
                    low: 4,
                    negligible: 1,
                    unknown: 1,
                },
                lang_vulns: SeverityCounts {
                    high: 1,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        m.insert(
            d(GITSYNC),
            ImageRisk {
                baseline: SeverityCounts {
                    medium: 2,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        m.insert(
            d(BUSYBOX_ID),
            ImageRisk {
                malicious_files: SeverityCounts {
                    critical: 1,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        // Scanned, nothing found.
        m.insert(d(NODEEXP), ImageRisk::default());
        m
    }

    fn counts(levels: &[LevelCount]) -> Vec<(&str, u64)> {
        levels
            .iter()
            .map(|l| (l.risk_level.as_str(), l.count))
            .collect()
    }

    #[test]
    fn container_fields_parse_by_wire_name() {
        for f in ContainerField::ALL {
            assert_eq!(f.as_str().parse::<ContainerField>().unwrap(), f);
        }
        let e = "InstanceId".parse::<ContainerField>().unwrap_err();
        assert!(e.to_string().contains("instanceId"), "{e}");
        assert!(ContainerMatch::new("vulStatus", "maybe").is_err());
        assert!(ContainerMatch::new("riskLevel", "asap").is_err());
        assert_eq!(
            ContainerMatch::new("containerScope", "Init").unwrap().value,
            "init"
        );
    }

    #[test]
    fn summary_counts_each_image_once_at_every_level() {
        let s = fixture();
        let sum = summarize([&s], &SummaryQuery::default(), &risks());
        // nginx runs in two pods but counts once: critical+high → asap, medium → nntf, the rest
        // (low, negligible, unknown) → later.
        assert_eq!(
            counts(&sum.image_cve_vul),
            [("asap", 3), ("nntf", 3), ("later", 6)]
        );
        assert_eq!(
            counts(&sum.image_sca_vul),
            [("asap", 1), ("nntf", 0), ("later", 0)]
        );
        assert_eq!(
            counts(&sum.image_malicious_file),
            [("high", 1), ("medium", 0), ("low", 0)]
        );
        assert_eq!(
            counts(&sum.image_baseline),
            [("high", 0), ("medium", 2), ("low", 0)]
        );
        // 2×2 web + node-exporter + postgres + backup + debug + apiserver.
        assert_eq!(sum.containers, 9);
        assert_eq!((sum.images_counted, sum.images_unscanned), (4, 3));
        assert_eq!(sum.containers_unresolved, 0);
        let json = serde_json::to_value(&sum).unwrap();
        assert_eq!(
            json["ImageCveVul"][0],
            serde_json::json!({"RiskLevel": "asap", "Count": 3})
        );
        assert!(json.get("containers").is_none());
    }

    #[test]
    fn summary_filters() {
        let s = fixture();
        let r = risks();
        let total = |q: &SummaryQuery| {
            let sum = summarize([&s], q, &r);
            assert!(
                [
                    &sum.image_cve_vul,
                    &sum.image_sca_vul,
                    &sum.image_malicious_file,
                    &sum.image_baseline
                ]
                .iter()
                .all(|l| l.len() == 3),
                "every level present"
            );
            sum.containers
        };
        let field = |f: &str, v: &str| SummaryQuery {
            field: Some(ContainerMatch::new(f, v).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            total(&SummaryQuery {
                cluster_id: Some("other".into()),
                ..Default::default()
            }),
            0
        );
        assert_eq!(total(&field("clusterId", "c-prod-1")), 9);
        assert_eq!(total(&field("clusterType", "ManagedKubernetes")), 9);
        assert_eq!(total(&field("regionId", "eu-west-1")), 9);
        assert_eq!(total(&field("clusterName", "prod")), 9);
        assert_eq!(total(&field("instanceId", "worker-1")), 4);
        assert_eq!(total(&field("hostIp", "192.168.56.12")), 4);
        assert_eq!(total(&field("pod", "debug-shell")), 1);
        assert_eq!(total(&field("podIp", "10.244.2.61")), 1);
        assert_eq!(total(&field("containerScope", "init")), 2);
        assert_eq!(total(&field("image", "nginx:1.27.3")), 2);
        assert_eq!(total(&field("image", "docker.io/library/nginx:1.27.3")), 2);
        assert_eq!(total(&field("imageRepoName", "nginx")), 2);
        assert_eq!(total(&field("imageRepoNamespace", "ops")), 1);
        assert_eq!(total(&field("imageRepoTag", "v1.8.2")), 1);
        assert_eq!(total(&field("imageDigest", NGINX)), 2);
        assert_eq!(total(&field("imageDigest", &format!("sha256:{NGINX}"))), 2);
        assert_eq!(total(&field("vulStatus", "true")), 2);
        // Scanned without vulnerabilities: git-sync ×2, node-exporter, busybox.
        assert_eq!(total(&field("vulStatus", "false")), 4);
        assert_eq!(total(&field("alarmStatus", "true")), 1);
        assert_eq!(total(&field("riskStatus", "true")), 5);
        assert_eq!(total(&field("riskLevel", "high")), 3);
        assert_eq!(total(&field("riskLevel", "medium")), 2);
        assert_eq!(total(&field("riskLevel", "none")), 1);
        let pod = s
            .pod(&PodKey {
                namespace: "default".into(),
                name: "debug-shell".into(),
            })
            .unwrap();
        let id = pod.statuses[0].container_id.clone().unwrap();
        assert_eq!(total(&field("containerId", &id)), 1);
        assert_eq!(
            total(&field(
                "containerId",
                pod.statuses[0].bare_container_id().unwrap()
            )),
            1
        );
        assert_eq!(
            total(&SummaryQuery {
                image_repo_namespace: Some("library".into()),
                image_tag: Some("1.27.3".into()),
                ..Default::default()
            }),
            2
        );
    }

    #[test]
    fn unresolved_containers_are_reported_not_counted() {
        let mut s = fixture();
        let mut pending = s
            .pod(&PodKey {
                namespace: "default".into(),
                name: "debug-shell".into(),
            })
            .unwrap()
            .clone();
        pending.name = "pending".into();
        pending.statuses.clear();
        for c in &mut pending.spec.containers {
            c.image_digest = None;
            c.image_id = None;
        }
        s.apply(
            WatchEvent {
                event_type: EventType::Added,
                object: InventoryObject::Pod(pending),
            },
            &Limits::default(),
        )
        .unwrap();
        let sum = summarize([&s], &SummaryQuery::default(), &risks());
        assert_eq!((sum.containers, sum.containers_unresolved), (10, 1));
        let images = running_images([&s], &ImageQuery::default(), &risks());
        assert!(
            images
                .iter()
                .any(|i| i.key == ImageKey::Reference("busybox".into()))
        );
    }

    #[test]
    fn images_by_cluster_namespace_app_and_name() {
        let s = fixture();
        let r = risks();
        let list = |q: ImageQuery| running_images([&s], &q, &r);
        let all = list(ImageQuery::default());
        assert_eq!(all.len(), 7);
        let shop = list(ImageQuery {
            namespace: Some("shop".into()),
            ..Default::default()
        });
        assert_eq!(shop.len(), 2);
        let nginx = shop
            .iter()
            .find(|i| i.key == ImageKey::Digest(d(NGINX)))
            .unwrap();
        assert_eq!(nginx.containers.len(), 2);
        assert_eq!(nginx.workloads.len(), 1);
        let (cluster, w) = nginx.workloads.iter().next().unwrap();
        assert_eq!(
            (cluster.as_str(), w.kind),
            ("c-prod-1", WorkloadKind::Deployment)
        );
        assert_eq!(nginx.risk.unwrap().os_vulns.critical, 1);
        assert!(nginx.references.contains("nginx:1.27.3"));

        let app = |a: &str| {
            list(ImageQuery {
                app_name: Some(a.into()),
                ..Default::default()
            })
            .len()
        };
        assert_eq!(app("web"), 2);
        assert_eq!(app("node-exporter"), 1);
        assert_eq!(app("nightly-backup"), 1);
        assert_eq!(app("debug-shell"), 1);
        assert_eq!(app("nope"), 0);

        for name in [
            "nginx:1.27.3",
            "nginx",
            "library/nginx",
            "docker.io/library/nginx:1.27.3",
        ] {
            let found = list(ImageQuery {
                image_name: Some(name.into()),
                ..Default::default()
            });
            assert_eq!(found.len(), 1, "{name}");
        }
        let none = list(ImageQuery {
            image_name: Some("nginx:1.26".into()),
            ..Default::default()
        });
        assert!(none.is_empty());
        let port = list(ImageQuery {
            image_name: Some("registry.internal:5000/ops/backup".into()),
            ..Default::default()
        });
        assert_eq!(port.len(), 1);
        assert!(
            list(ImageQuery {
                cluster_id: Some("other".into()),
                ..Default::default()
            })
            .is_empty()
        );
    }

    /// 10,000 containers in 2,500 pods running 1,000 distinct images. The bound asserted is
    /// loose (debug builds on a busy CI machine); the figure printed is the one to watch.
    #[test]
    fn summary_of_ten_thousand_containers_is_linear_and_fast() {
        let base = fixture();
        let template = base
            .pod(&PodKey {
                namespace: "shop".into(),
                name: "web-7c9f8d6b5d-x2k4p".into(),
            })
            .unwrap()
            .clone();
        let mut objects = Vec::new();
        let mut risk_map = HashMap::new();
        for i in 0..2500u32 {
            let mut p = template.clone();
            p.name = format!("web-{i}");
            p.uid = Some(format!("uid-{i}"));
            let c = p.spec.containers[1].clone();
            p.spec.containers = (0..4)
                .map(|j| {
                    let mut c = c.clone();
                    c.name = format!("c{j}");
                    let digest = Digest::sha256_of(format!("{}", (i * 4 + j) % 1000).as_bytes());
                    c.image_digest = Some(digest.clone());
                    risk_map.entry(digest).or_insert(ImageRisk {
                        os_vulns: SeverityCounts {
                            high: 1,
                            ..Default::default()
                        },
                        ..Default::default()
                    });
                    c
                })
                .collect();
            objects.push(InventoryObject::Pod(p));
        }
        let s = ClusterSnapshot::from_objects(
            crate::snapshot::tests::cluster(),
            objects,
            &Limits::default(),
        )
        .unwrap();
        let query = SummaryQuery {
            field: Some(ContainerMatch::new("clusterId", "c-prod-1").unwrap()),
            ..Default::default()
        };
        let start = std::time::Instant::now();
        let sum = summarize([&s], &query, &risk_map);
        let took = start.elapsed();
        eprintln!("summary over {} containers: {took:?}", sum.containers);
        assert_eq!(sum.containers, 10_000);
        assert_eq!(sum.images_counted, 1000);
        assert_eq!(sum.image_cve_vul[0].count, 1000);
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }
}
