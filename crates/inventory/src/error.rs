//! Errors of the inventory crate. Policy: every error names what it is about (the list item by
//! index, the object by kind and namespace/name, the limit by its field in [`crate::Limits`]) so
//! that the person who sent the document can find and fix it; messages never quote more than a
//! few hundred bytes of input back. The API layer maps these to its own error codes once.

/// At most this many bytes of input are quoted back in a message.
const MAX_QUOTED: usize = 200;

/// `s` cut to at most [`MAX_QUOTED`] bytes on a character boundary, marked when cut.
pub(crate) fn quote(s: &str) -> String {
    if s.len() <= MAX_QUOTED {
        return s.to_string();
    }
    let mut end = MAX_QUOTED;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error(
        "the document is {size} bytes, more than the limit of {limit} bytes \
         (Limits::max_document_bytes); send the cluster in several documents"
    )]
    DocumentTooLarge { size: usize, limit: usize },

    /// Not JSON, or JSON not shaped like the Kubernetes object it claims to be.
    #[error("{context}: {message}")]
    Json { context: String, message: String },

    #[error(
        "expected a Kubernetes List (apiVersion v1, kind List or <Kind>List as printed by \
         `kubectl get ... -o json`), found apiVersion {api_version:?} kind {kind:?}"
    )]
    NotAList { api_version: String, kind: String },

    #[error(
        "the list has more than {limit} items (Limits::max_items); send the cluster in several \
         documents"
    )]
    TooManyItems { limit: usize },

    #[error(
        "{at}: apiVersion {api_version:?} kind {kind:?} is not inventoried (supported: v1 Pod, \
         Namespace, ReplicationController; apps/v1 Deployment, DaemonSet, StatefulSet, \
         ReplicaSet; batch/v1 Job, CronJob); remove it, or parse with UnknownKinds::Skip"
    )]
    UnsupportedKind {
        at: String,
        api_version: String,
        kind: String,
    },

    /// A well-formed object that cannot be inventoried as it is.
    #[error("{object}: {problem}")]
    InvalidObject { object: String, problem: String },

    #[error(
        "{object}: {what} has {count} entries, more than the limit of {limit} (Limits::{field})"
    )]
    TooMany {
        object: String,
        what: String,
        count: usize,
        limit: usize,
        field: &'static str,
    },

    #[error("{object}: {what} is {size} bytes, more than the limit of {limit} (Limits::{field})")]
    TooLong {
        object: String,
        what: String,
        size: usize,
        limit: usize,
        field: &'static str,
    },

    /// The same object twice in one list.
    #[error("{at}: {object} appears twice in the list")]
    Duplicate { at: String, object: String },

    #[error(
        "the snapshot would hold more than {limit} objects (Limits::max_items); split the \
         cluster or raise the limit"
    )]
    SnapshotFull { limit: usize },

    #[error("watch event type {0:?} is not one of ADDED, MODIFIED, DELETED, BOOKMARK, ERROR")]
    UnknownEventType(String),

    /// The watch stream itself reported a failure (an `ERROR` event, usually `410 Gone`: the
    /// agent must list again and send a whole snapshot).
    #[error("the watch stream reported an error: {0}; list the cluster again")]
    WatchError(String),

    #[error(
        "unknown container field {0:?}; expected one of instanceId, clusterId, regionId, \
         clusterName, image, imageRepoName, imageRepoNamespace, imageRepoTag, imageDigest, \
         clusterType, hostIp, pod, podIp, containerId, vulStatus, alarmStatus, riskStatus, \
         riskLevel, containerScope"
    )]
    UnknownContainerField(String),

    #[error("{field}: {value:?} is not a valid value; expected {expected}")]
    InvalidFieldValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl InventoryError {
    pub(crate) fn json(context: impl Into<String>, e: &serde_json::Error) -> Self {
        InventoryError::Json {
            context: context.into(),
            message: quote(&e.to_string()),
        }
    }

    pub(crate) fn invalid(object: &str, problem: impl Into<String>) -> Self {
        InventoryError::InvalidObject {
            object: object.to_string(),
            problem: problem.into(),
        }
    }
}
