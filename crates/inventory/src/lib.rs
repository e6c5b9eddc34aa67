//! berth's runtime inventory: which workloads and pods run in which Kubernetes cluster, and the
//! images they run. The foundation of the image-risk, workload-export and admission surfaces.
//!
//! Pure: no HTTP, no database, no async, no global state. Input is JSON a cluster produced
//! (`kubectl ... -o json`, a watch stream, an admission request's object); output is the model
//! of [`model`], stored by the caller as JSON documents.
//!
//! # API boundary
//!
//! - Reading cluster documents: [`parse_list`], [`parse_object`], [`parse_watch_event`], and
//!   [`ClusterSnapshot::from_list_json`]; the normalisers of typed `k8s-openapi` objects are in
//!   [`k8s`] for callers that already hold one (the admission webhook). Every one of them takes
//!   [`Limits`] (with [`ParseOptions`], which also says what to do with kinds berth does not
//!   inventory: [`UnknownKinds`]); errors are [`InventoryError`], naming the item, object and
//!   limit at fault. Nothing here panics on input.
//! - The model: [`Cluster`], [`Namespace`], [`Workload`], [`Pod`], [`Container`] and their
//!   parts; serde on all of it.
//! - The snapshot: [`ClusterSnapshot`], updated by [`ClusterSnapshot::apply`] with one
//!   [`WatchEvent`] at a time; [`ClusterSnapshot::workload_of`] gives a pod's workload.
//! - Image risk: [`risk::summarize`] (`DescribeClusterImageSecuritySummary`),
//!   [`risk::running_images`] (`ListImageRisk`), [`risk::ContainerField`] and
//!   [`risk::ContainerMatch`] for the 19 container fields, over a caller-supplied map of
//!   digest → [`risk::ImageRisk`].
//!
//! Wire formats of the HTTP surfaces (paging, error codes) belong to the API crate, which maps
//! [`InventoryError`] once per surface.
//!
//! # Invariant
//!
//! A [`ClusterSnapshot`] is always internally consistent:
//! - every object in it is named (and namespaced where Kubernetes namespaces it), and no two
//!   share a key (namespace, kind, name);
//! - every pod belongs to exactly one workload: its topmost controller present in the snapshot
//!   (Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod → DaemonSet / StatefulSet /
//!   ReplicationController), or the pod itself (a bare pod, a static pod, a pod whose
//!   controller is absent or is a newer object of the same name). Ownership is resolved when
//!   read, never stored, so no event can leave a pod pointing at a missing owner;
//! - loading a list and applying an event are all or nothing: the input is checked whole
//!   first, and on any error the snapshot is unchanged (or not made).
//!
//! # Digests
//!
//! A pod container's [`Container::image_digest`] is the manifest digest from its status's
//! `imageID` (`docker-pullable://repo@sha256:…`, `repo@sha256:…`), else from a digest its
//! reference pins; a bare `sha256:…` `imageID` is the local image ID (the config digest) and is
//! kept apart in [`Container::image_id`] (see [`image`]). Risk is looked up by
//! [`Container::risk_digest`]: the manifest digest, else the image ID.
//!
//! # Counting rule
//!
//! One rule for all four finding kinds of the summary, severity → level: Critical and High →
//! `asap` / `high`; Medium → `nntf` / `medium`; Low, Negligible and Unknown → `later` / `low`
//! (the names and their meanings — asap: fix at the earliest opportunity, nntf: fix as the
//! business requires, later: may be ignored — are the `DescribeClusterImageSecuritySummary`
//! seed's). Every level is present in every array, at zero when nothing was found. Each
//! distinct image digest is counted once, however many containers (in however many of the
//! given clusters) run it: the counts are of findings in the images running, not of findings
//! times replicas. See [`risk::Level`].
pub mod error;
pub mod image;
pub mod k8s;
pub mod limits;
pub mod list;
pub mod model;
mod quantity;
pub mod risk;
pub mod snapshot;

pub use error::InventoryError;
pub use k8s::InventoryObject;
pub use limits::{Limits, ParseOptions, UnknownKinds};
pub use list::{
    EventType, ParsedList, SkippedItem, WatchEvent, parse_list, parse_object, parse_watch_event,
};
pub use model::*;
pub use snapshot::{Change, ClusterSnapshot, LoadedSnapshot, WorkloadRef};
