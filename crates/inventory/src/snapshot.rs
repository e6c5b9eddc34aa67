//! A cluster's inventory at one moment, and its incremental updates.
use crate::error::InventoryError;
use crate::k8s::InventoryObject;
use crate::limits::{Limits, ParseOptions};
use crate::list::{EventType, SkippedItem, WatchEvent, parse_list};
use crate::model::{
    Cluster, Labels, Namespace, Pod, PodKey, PodTemplate, Workload, WorkloadKey, WorkloadKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, InventoryError>;

/// Everything berth knows about one cluster's namespaces, workloads and pods.
///
/// Invariants (kept by every constructor and by [`ClusterSnapshot::apply`]):
/// - every object is named, every workload and pod has a namespace, and no two objects share a
///   key (namespace, kind, name);
/// - no stored workload is of kind [`WorkloadKind::Pod`]: a pod's workload is derived;
/// - the snapshot holds at most [`Limits::max_items`] objects (when built or updated with
///   those limits);
/// - every pod belongs to exactly one workload ([`ClusterSnapshot::workload_of`]): its
///   topmost controller present in the snapshot, or itself. Ownership is resolved on reading,
///   not stored, so no insertion or deletion can leave a pod pointing at a missing owner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSnapshot {
    cluster: Cluster,
    namespaces: BTreeMap<String, Namespace>,
    workloads: BTreeMap<WorkloadKey, Workload>,
    pods: BTreeMap<PodKey, Pod>,
}

/// A snapshot built from a list, with the items skipped under
/// [`crate::UnknownKinds::Skip`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSnapshot {
    pub snapshot: ClusterSnapshot,
    pub skipped: Vec<SkippedItem>,
}

/// What [`ClusterSnapshot::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Inserted,
    Replaced,
    Removed,
    /// A delete of an object not held (already gone, or a newer object of the same name).
    Unchanged,
}

/// The workload a pod belongs to: a stored controller, or the pod itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkloadRef<'a> {
    Controller(&'a Workload),
    Pod(&'a Pod),
}

impl<'a> WorkloadRef<'a> {
    pub fn kind(&self) -> WorkloadKind {
        match self {
            WorkloadRef::Controller(w) => w.kind,
            WorkloadRef::Pod(_) => WorkloadKind::Pod,
        }
    }

    pub fn namespace(&self) -> &'a str {
        match self {
            WorkloadRef::Controller(w) => &w.namespace,
            WorkloadRef::Pod(p) => &p.namespace,
        }
    }

    pub fn name(&self) -> &'a str {
        match self {
            WorkloadRef::Controller(w) => &w.name,
            WorkloadRef::Pod(p) => &p.name,
        }
    }

    /// The object's own labels.
    pub fn labels(&self) -> &'a Labels {
        match self {
            WorkloadRef::Controller(w) => &w.labels,
            WorkloadRef::Pod(p) => &p.labels,
        }
    }

    /// Labels of the pods it makes.
    pub fn pod_labels(&self) -> &'a Labels {
        match self {
            WorkloadRef::Controller(w) => &w.pod_labels,
            WorkloadRef::Pod(p) => &p.labels,
        }
    }

    pub fn template(&self) -> &'a PodTemplate {
        match self {
            WorkloadRef::Controller(w) => &w.template,
            WorkloadRef::Pod(p) => &p.spec,
        }
    }

    pub fn key(&self) -> WorkloadKey {
        WorkloadKey {
            namespace: self.namespace().to_string(),
            kind: self.kind(),
            name: self.name().to_string(),
        }
    }

    /// The workload as a stored document (a pod made into a kind `Pod` workload).
    pub fn to_workload(&self) -> Workload {
        match self {
            WorkloadRef::Controller(w) => (*w).clone(),
            WorkloadRef::Pod(p) => Workload::from_pod(p),
        }
    }
}

fn identity(object: &InventoryObject) -> Result<()> {
    let invalid = |problem: &str| Err(InventoryError::invalid(&object.describe(), problem));
    let (namespace, name) = match object {
        InventoryObject::Namespace(n) => {
            return if n.name.is_empty() {
                invalid("has no metadata.name; objects in an inventory must be named")
            } else {
                Ok(())
            };
        }
        InventoryObject::Workload(w) => {
            if w.kind == WorkloadKind::Pod {
                return invalid("a workload of kind Pod is derived from its pod; send the Pod");
            }
            (&w.namespace, &w.name)
        }
        InventoryObject::Pod(p) => (&p.namespace, &p.name),
    };
    if name.is_empty() {
        return invalid("has no metadata.name; objects in an inventory must be named");
    }
    if namespace.is_empty() {
        return invalid("has no metadata.namespace; namespaced objects must name theirs");
    }
    Ok(())
}

/// `a` and `b` are different incarnations of one name (both UIDs known and different).
fn different_uid(a: Option<&String>, b: Option<&String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

impl ClusterSnapshot {
    /// An empty inventory of `cluster`.
    pub fn new(cluster: Cluster) -> Self {
        ClusterSnapshot {
            cluster,
            ..Default::default()
        }
    }

    /// Parses a `List` document (see [`crate::parse_list`]) into a snapshot. All or nothing: any
    /// bad item, or the same object twice, fails the whole document.
    pub fn from_list_json(
        cluster: Cluster,
        bytes: &[u8],
        options: &ParseOptions,
    ) -> Result<LoadedSnapshot> {
        let list = parse_list(bytes, options)?;
        let mut snapshot = ClusterSnapshot::new(cluster);
        for (index, object) in list.objects {
            snapshot.insert_new(object, &options.limits, &format!("item {index}"))?;
        }
        Ok(LoadedSnapshot {
            snapshot,
            skipped: list.skipped,
        })
    }

    /// A snapshot of the given objects. Fails on an unnamed object or a duplicate.
    pub fn from_objects(
        cluster: Cluster,
        objects: impl IntoIterator<Item = InventoryObject>,
        limits: &Limits,
    ) -> Result<Self> {
        let mut snapshot = ClusterSnapshot::new(cluster);
        for (index, object) in objects.into_iter().enumerate() {
            snapshot.insert_new(object, limits, &format!("object {index}"))?;
        }
        Ok(snapshot)
    }

    fn insert_new(&mut self, object: InventoryObject, limits: &Limits, at: &str) -> Result<()> {
        identity(&object)?;
        if self.contains(&object) {
            return Err(InventoryError::Duplicate {
                at: at.to_string(),
                object: object.describe(),
            });
        }
        if self.len() >= limits.max_items {
            return Err(InventoryError::SnapshotFull {
                limit: limits.max_items,
            });
        }
        self.put(object);
        Ok(())
    }

    fn contains(&self, object: &InventoryObject) -> bool {
        match object {
            InventoryObject::Namespace(n) => self.namespaces.contains_key(&n.name),
            InventoryObject::Workload(w) => self.workloads.contains_key(&w.key()),
            InventoryObject::Pod(p) => self.pods.contains_key(&p.key()),
        }
    }

    /// Stores `object`, replacing one of the same key; whether it replaced one.
    fn put(&mut self, object: InventoryObject) -> bool {
        match object {
            InventoryObject::Namespace(n) => self.namespaces.insert(n.name.clone(), n).is_some(),
            InventoryObject::Workload(w) => self.workloads.insert(w.key(), w).is_some(),
            InventoryObject::Pod(p) => self.pods.insert(p.key(), p).is_some(),
        }
    }

    /// Applies one watch event. All or nothing: the event is checked whole before anything
    /// changes, and on an error the snapshot is as it was.
    ///
    /// `ADDED` and `MODIFIED` both store the object, replacing one of the same key (a watch
    /// restarted after a relist sends `ADDED` for objects already known, and a `MODIFIED` may
    /// arrive for an object whose `ADDED` was lost). `DELETED` removes the object unless the
    /// snapshot holds a newer incarnation (same name, different UID), and is a no-op for an
    /// object not held. Kubernetes' `resourceVersion` is opaque, so events are applied in the
    /// order given.
    pub fn apply(&mut self, event: WatchEvent, limits: &Limits) -> Result<Change> {
        identity(&event.object)?;
        match event.event_type {
            EventType::Added | EventType::Modified => {
                if !self.contains(&event.object) && self.len() >= limits.max_items {
                    return Err(InventoryError::SnapshotFull {
                        limit: limits.max_items,
                    });
                }
                Ok(if self.put(event.object) {
                    Change::Replaced
                } else {
                    Change::Inserted
                })
            }
            EventType::Deleted => {
                let removed = match &event.object {
                    InventoryObject::Namespace(n) => match self.namespaces.get(&n.name) {
                        Some(held) if !different_uid(held.uid.as_ref(), n.uid.as_ref()) => {
                            self.namespaces.remove(&n.name).is_some()
                        }
                        _ => false,
                    },
                    InventoryObject::Workload(w) => {
                        let key = w.key();
                        match self.workloads.get(&key) {
                            Some(held) if !different_uid(held.uid.as_ref(), w.uid.as_ref()) => {
                                self.workloads.remove(&key).is_some()
                            }
                            _ => false,
                        }
                    }
                    InventoryObject::Pod(p) => {
                        let key = p.key();
                        match self.pods.get(&key) {
                            Some(held) if !different_uid(held.uid.as_ref(), p.uid.as_ref()) => {
                                self.pods.remove(&key).is_some()
                            }
                            _ => false,
                        }
                    }
                };
                Ok(if removed {
                    Change::Removed
                } else {
                    Change::Unchanged
                })
            }
        }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Replaces the cluster's description (its identity and status do not affect the
    /// invariants).
    pub fn set_cluster(&mut self, cluster: Cluster) {
        self.cluster = cluster;
    }

    /// Objects held: namespaces, workloads and pods.
    pub fn len(&self) -> usize {
        self.namespaces.len() + self.workloads.len() + self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    /// Names of every namespace that has a `Namespace` object or holds a workload or pod,
    /// sorted.
    pub fn namespace_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .namespaces
            .keys()
            .map(String::as_str)
            .chain(self.workloads.keys().map(|k| k.namespace.as_str()))
            .chain(self.pods.keys().map(|k| k.namespace.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Stored controllers, ordered by (namespace, kind, name), intermediate ones (a
    /// Deployment's ReplicaSets, a CronJob's Jobs) included.
    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        self.workloads.values()
    }

    pub fn workload(&self, key: &WorkloadKey) -> Option<&Workload> {
        self.workloads.get(key)
    }

    /// Pods ordered by (namespace, name).
    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    pub fn pod(&self, key: &PodKey) -> Option<&Pod> {
        self.pods.get(key)
    }

    /// The stored controller `owner` refers to, if it is of one of `kinds`, in `namespace`, and
    /// of the same UID when both are known.
    fn controller(
        &self,
        namespace: &str,
        owner: Option<&crate::model::OwnerRef>,
        kinds: &[WorkloadKind],
    ) -> Option<&Workload> {
        let owner = owner?;
        let kind = owner.workload_kind().filter(|k| kinds.contains(k))?;
        let key = WorkloadKey {
            namespace: namespace.to_string(),
            kind,
            name: owner.name.clone(),
        };
        let w = self.workloads.get(&key)?;
        let uid_known = !owner.uid.is_empty();
        (!(uid_known && different_uid(w.uid.as_ref(), Some(&owner.uid)))).then_some(w)
    }

    /// The topmost controller of `w` present in the snapshot (`w` itself if none).
    fn top<'a>(&'a self, mut w: &'a Workload) -> &'a Workload {
        // Each step goes up WorkloadKind::controller_kinds, which has no cycle: at most two.
        for _ in 0..WorkloadKind::ALL.len() {
            match self.controller(&w.namespace, w.owner.as_ref(), w.kind.controller_kinds()) {
                Some(parent) => w = parent,
                None => break,
            }
        }
        w
    }

    /// The workload a pod belongs to: Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod →
    /// DaemonSet / StatefulSet / ReplicationController / ReplicaSet / Job, as far up as the
    /// snapshot holds the controllers; the pod itself when it has no controller, its controller
    /// is absent (or a newer object of the same name), or of a kind berth does not model (a
    /// node for a static pod, a custom resource).
    pub fn workload_of<'a>(&'a self, pod: &'a Pod) -> WorkloadRef<'a> {
        match self.controller(
            &pod.namespace,
            pod.owner.as_ref(),
            WorkloadKind::Pod.controller_kinds(),
        ) {
            Some(w) => WorkloadRef::Controller(self.top(w)),
            None => WorkloadRef::Pod(pod),
        }
    }

    /// Whether a stored controller is its own top: not owned by another stored controller.
    pub fn is_top_level(&self, w: &Workload) -> bool {
        self.controller(&w.namespace, w.owner.as_ref(), w.kind.controller_kinds())
            .is_none()
    }

    /// The workloads users think in: every stored controller that no other stored controller
    /// owns, then every pod that is its own workload. Controllers come ordered by key, pods by
    /// key.
    pub fn top_level_workloads(&self) -> impl Iterator<Item = WorkloadRef<'_>> {
        let controllers = self
            .workloads
            .values()
            .filter(|w| self.is_top_level(w))
            .map(WorkloadRef::Controller);
        let pods = self
            .pods
            .values()
            .map(|p| self.workload_of(p))
            .filter(|w| matches!(w, WorkloadRef::Pod(_)));
        controllers.chain(pods)
    }

    /// Each top-level workload's pods, in one pass.
    pub fn pods_by_workload(&self) -> BTreeMap<WorkloadKey, Vec<&Pod>> {
        let mut out: BTreeMap<WorkloadKey, Vec<&Pod>> = BTreeMap::new();
        for pod in self.pods.values() {
            out.entry(self.workload_of(pod).key())
                .or_default()
                .push(pod);
        }
        out
    }
}

/// The stored form: the cluster and three arrays (JSON object keys must be strings, and the
/// keys are derived from the objects anyway).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocRef<'a> {
    cluster: &'a Cluster,
    namespaces: Vec<&'a Namespace>,
    workloads: Vec<&'a Workload>,
    pods: Vec<&'a Pod>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    cluster: Cluster,
    #[serde(default)]
    namespaces: Vec<Namespace>,
    #[serde(default)]
    workloads: Vec<Workload>,
    #[serde(default)]
    pods: Vec<Pod>,
}

impl Serialize for ClusterSnapshot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        DocRef {
            cluster: &self.cluster,
            namespaces: self.namespaces.values().collect(),
            workloads: self.workloads.values().collect(),
            pods: self.pods.values().collect(),
        }
        .serialize(s)
    }
}

/// A stored snapshot is checked like a new one (names, duplicates); the object count is not
/// limited here, as the document was checked when it was first built.
impl<'de> Deserialize<'de> for ClusterSnapshot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let doc = Doc::deserialize(d)?;
        let objects = doc
            .namespaces
            .into_iter()
            .map(InventoryObject::Namespace)
            .chain(doc.workloads.into_iter().map(InventoryObject::Workload))
            .chain(doc.pods.into_iter().map(InventoryObject::Pod));
        let unlimited = Limits {
            max_items: usize::MAX,
            ..Limits::default()
        };
        ClusterSnapshot::from_objects(doc.cluster, objects, &unlimited)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Over the fixtures in tests/fixtures (written from the Kubernetes API reference's
    //! documented shapes; see the README there).
    use super::*;
    use crate::list::parse_watch_event;
    use crate::model::{ClusterType, ContainerKind, ProtectionStatus, VolumeSource};

    pub(crate) const CLUSTER: &[u8] = include_bytes!("../tests/fixtures/cluster.json");
    const WATCH: &str = include_str!("../tests/fixtures/watch.jsonl");
    const NAMESPACES: &[u8] = include_bytes!("../tests/fixtures/namespaces.json");

    pub(crate) fn cluster() -> Cluster {
        Cluster {
            id: "c-prod-1".into(),
            name: "prod".into(),
            cluster_type: ClusterType::ManagedKubernetes,
            region: "eu-west-1".into(),
            kubernetes_version: Some("v1.31.2".into()),
            protection: ProtectionStatus::Protected,
        }
    }

    pub(crate) fn fixture() -> ClusterSnapshot {
        ClusterSnapshot::from_list_json(cluster(), CLUSTER, &ParseOptions::default())
            .unwrap()
            .snapshot
    }

    fn wkey(ns: &str, kind: WorkloadKind, name: &str) -> WorkloadKey {
        WorkloadKey {
            namespace: ns.into(),
            kind,
            name: name.into(),
        }
    }

    fn pkey(ns: &str, name: &str) -> PodKey {
        PodKey {
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn kubectl_list_loads_whole() {
        let loaded =
            ClusterSnapshot::from_list_json(cluster(), CLUSTER, &ParseOptions::default()).unwrap();
        assert!(loaded.skipped.is_empty());
        let s = loaded.snapshot;
        assert_eq!((s.pods().count(), s.workloads().count()), (7, 6));
        assert_eq!(
            s.namespace_names(),
            [
                "data",
                "default",
                "kube-system",
                "monitoring",
                "ops",
                "shop"
            ]
        );
        let web = s.pod(&pkey("shop", "web-7c9f8d6b5d-x2k4p")).unwrap();
        assert_eq!(web.spec.containers.len(), 2);
        assert_eq!(web.spec.containers[0].kind, ContainerKind::Init);
        assert_eq!(web.node.as_deref(), Some("worker-1"));
        assert_eq!(
            web.uid.as_deref(),
            Some("0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e")
        );
        assert!(
            web.spec
                .containers
                .iter()
                .all(|c| c.image_digest.is_some() && c.image_id.is_none())
        );
        let dep = s
            .workload(&wkey("shop", WorkloadKind::Deployment, "web"))
            .unwrap();
        assert_eq!(dep.replicas, Some(2));
        assert_eq!(dep.template.service_account.as_deref(), Some("web"));
        let nginx = &dep.template.containers[1];
        assert_eq!(
            nginx.image_digest, None,
            "a template runs no digest by itself"
        );
        assert_eq!(
            nginx.security_context.allow_privilege_escalation,
            Some(false)
        );
        assert!(nginx.liveness_probe && nginx.readiness_probe);

        let ds = s
            .workload(&wkey(
                "monitoring",
                WorkloadKind::DaemonSet,
                "node-exporter",
            ))
            .unwrap();
        assert!(ds.template.host_network && ds.template.host_pid);
        assert_eq!(
            ds.template.containers[0].security_context.privileged,
            Some(true)
        );
        assert_eq!(
            ds.template.volumes[0].source,
            VolumeSource::HostPath { path: "/".into() }
        );
        let pg = s.pod(&pkey("data", "postgres-0")).unwrap();
        assert_eq!(
            pg.spec.containers[0].image_digest,
            pg.spec.containers[0].image.name.as_ref().unwrap().digest
        );
        let debug = s.pod(&pkey("default", "debug-shell")).unwrap();
        assert!(debug.spec.host_ipc);
        assert!(debug.spec.containers[0].image_digest.is_none());
        assert!(debug.spec.containers[0].image_id.is_some());
    }

    #[test]
    fn owners_resolve_to_the_top() {
        let s = fixture();
        let of = |ns: &str, pod: &str| {
            let p = s.pod(&pkey(ns, pod)).unwrap();
            let w = s.workload_of(p);
            (w.kind(), w.name().to_string())
        };
        assert_eq!(
            of("shop", "web-7c9f8d6b5d-q8mzt"),
            (WorkloadKind::Deployment, "web".into())
        );
        assert_eq!(
            of("ops", "nightly-backup-28946700-7xkqz"),
            (WorkloadKind::CronJob, "nightly-backup".into())
        );
        assert_eq!(
            of("monitoring", "node-exporter-8xq2n"),
            (WorkloadKind::DaemonSet, "node-exporter".into())
        );
        assert_eq!(
            of("data", "postgres-0"),
            (WorkloadKind::StatefulSet, "postgres".into())
        );
        assert_eq!(
            of("default", "debug-shell"),
            (WorkloadKind::Pod, "debug-shell".into())
        );
        // A static pod's controller is its Node, which berth does not model.
        assert_eq!(
            of("kube-system", "kube-apiserver-control-plane"),
            (WorkloadKind::Pod, "kube-apiserver-control-plane".into())
        );
        let top: Vec<String> = s
            .top_level_workloads()
            .map(|w| w.key().to_string())
            .collect();
        assert_eq!(
            top,
            [
                "StatefulSet data/postgres",
                "DaemonSet monitoring/node-exporter",
                "CronJob ops/nightly-backup",
                "Deployment shop/web",
                "Pod default/debug-shell",
                "Pod kube-system/kube-apiserver-control-plane",
            ]
        );
        let by = s.pods_by_workload();
        assert_eq!(by[&wkey("shop", WorkloadKind::Deployment, "web")].len(), 2);
        assert_eq!(by.len(), 6);
    }

    #[test]
    fn missing_or_replaced_owners_leave_the_pod_its_own_workload() {
        let mut s = fixture();
        let rs = s
            .workload(&wkey("shop", WorkloadKind::ReplicaSet, "web-7c9f8d6b5d"))
            .unwrap()
            .clone();
        // The ReplicaSet goes: its pods are their own workloads until they go too.
        let change = s
            .apply(
                WatchEvent {
                    event_type: EventType::Deleted,
                    object: InventoryObject::Workload(rs.clone()),
                },
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(change, Change::Removed);
        let p = s.pod(&pkey("shop", "web-7c9f8d6b5d-x2k4p")).unwrap();
        assert_eq!(s.workload_of(p).kind(), WorkloadKind::Pod);
        // A new ReplicaSet of the same name (another UID) does not adopt them.
        let mut other = rs;
        other.uid = Some("another".into());
        s.apply(
            WatchEvent {
                event_type: EventType::Added,
                object: InventoryObject::Workload(other),
            },
            &Limits::default(),
        )
        .unwrap();
        let p = s.pod(&pkey("shop", "web-7c9f8d6b5d-x2k4p")).unwrap();
        assert_eq!(s.workload_of(p).kind(), WorkloadKind::Pod);
    }

    #[test]
    fn watch_events_apply_in_order() {
        let mut s = fixture();
        let limits = Limits::default();
        let mut changes = Vec::new();
        for line in WATCH.lines() {
            if let Some(ev) = parse_watch_event(line.as_bytes(), &ParseOptions::default()).unwrap()
            {
                changes.push(s.apply(ev, &limits).unwrap());
            }
        }
        assert_eq!(
            changes,
            [
                Change::Inserted,
                Change::Inserted,
                Change::Replaced,
                Change::Removed,
                Change::Unchanged
            ]
        );
        let new = s.pod(&pkey("shop", "web-5f6d7c8b9a-zz9kd")).unwrap();
        assert_eq!(
            s.workload_of(new).key(),
            wkey("shop", WorkloadKind::Deployment, "web")
        );
        assert!(s.pod(&pkey("shop", "web-7c9f8d6b5d-x2k4p")).is_none());
        assert!(
            s.pod(&pkey("default", "debug-shell")).is_some(),
            "stale delete ignored"
        );
        let dep = s
            .workload(&wkey("shop", WorkloadKind::Deployment, "web"))
            .unwrap();
        assert_eq!(dep.resource_version.as_deref(), Some("70020"));
        assert_eq!(dep.template.containers[1].image.written, "nginx:1.27.4");
    }

    #[test]
    fn apply_is_all_or_nothing() {
        let mut s = fixture();
        let before = s.clone();
        let mut unnamed = s
            .pod(&pkey("shop", "web-7c9f8d6b5d-x2k4p"))
            .unwrap()
            .clone();
        unnamed.name.clear();
        let e = s
            .apply(
                WatchEvent {
                    event_type: EventType::Added,
                    object: InventoryObject::Pod(unnamed),
                },
                &Limits::default(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("metadata.name"), "{e}");
        let pod_workload = Workload::from_pod(s.pod(&pkey("default", "debug-shell")).unwrap());
        assert!(
            s.apply(
                WatchEvent {
                    event_type: EventType::Added,
                    object: InventoryObject::Workload(pod_workload),
                },
                &Limits::default(),
            )
            .is_err()
        );
        let full = Limits {
            max_items: s.len(),
            ..Limits::default()
        };
        let mut new = s.pod(&pkey("default", "debug-shell")).unwrap().clone();
        new.name = "another".into();
        assert_eq!(
            s.apply(
                WatchEvent {
                    event_type: EventType::Added,
                    object: InventoryObject::Pod(new),
                },
                &full,
            ),
            Err(InventoryError::SnapshotFull { limit: s.len() })
        );
        assert_eq!(s, before);
    }

    #[test]
    fn duplicates_and_limits_fail_the_list() {
        let mut doc: serde_json::Value = serde_json::from_slice(CLUSTER).unwrap();
        let items = doc["items"].as_array_mut().unwrap();
        let first = items[0].clone();
        items.push(first);
        let bytes = serde_json::to_vec(&doc).unwrap();
        let e = ClusterSnapshot::from_list_json(cluster(), &bytes, &ParseOptions::default())
            .unwrap_err();
        assert!(
            matches!(&e, InventoryError::Duplicate { at, .. } if at == "item 13"),
            "{e}"
        );
        let small = ParseOptions {
            limits: Limits {
                max_items: 12,
                ..Limits::default()
            },
            ..ParseOptions::default()
        };
        assert_eq!(
            ClusterSnapshot::from_list_json(cluster(), CLUSTER, &small),
            Err(InventoryError::TooManyItems { limit: 12 })
        );
    }

    #[test]
    fn typed_namespace_list() {
        let list = crate::parse_list(NAMESPACES, &ParseOptions::default()).unwrap();
        let mut s = fixture();
        for (_, o) in list.objects {
            s.apply(
                WatchEvent {
                    event_type: EventType::Added,
                    object: o,
                },
                &Limits::default(),
            )
            .unwrap();
        }
        let shop = s.namespace("shop").unwrap();
        assert_eq!(
            shop.labels["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(s.namespaces().count(), 3);
    }

    #[test]
    fn stored_document_round_trips() {
        let s = fixture();
        let json = serde_json::to_string(&s).unwrap();
        let back: ClusterSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // A stored document with a duplicate is refused, not half-loaded.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let pods = v["pods"].as_array_mut().unwrap();
        let first = pods[0].clone();
        pods.push(first);
        assert!(serde_json::from_value::<ClusterSnapshot>(v).is_err());
    }
}
