//! Bounds on what one document, object or list may hold. Everything that reads input from a
//! cluster (an agent's upload, a watch stream, an admission request) checks these before it
//! trusts the input; a value over a limit is an error naming the object and the limit, never a
//! silent truncation.

/// Numeric bounds. `Limits::default()` fits every real cluster we know of with a wide margin;
/// the figures in parentheses are what Kubernetes itself enforces or what real objects show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes of one JSON document (a `List`, a watch event, one object): 64 MiB. A
    /// `kubectl get ... -A -o json` of a 5,000-pod cluster is about 40 MiB.
    pub max_document_bytes: usize,
    /// Items in one `List`, and objects (namespaces + workloads + pods) in one snapshot: 100,000
    /// (Kubernetes' documented scale target is 150,000 pods per cluster, but a cluster of that
    /// size should be sent in several documents).
    pub max_items: usize,
    /// Containers of one pod or pod template, init and ephemeral ones included: 128 (a real pod
    /// has a handful; Kubernetes sets no limit).
    pub max_containers_per_pod: usize,
    /// Labels on one object (metadata or pod template): 256.
    pub max_labels: usize,
    /// Bytes of one label key (Kubernetes: 253 prefix + `/` + 63 name = 317): 317.
    pub max_label_key_bytes: usize,
    /// Bytes of one label value (Kubernetes: 63): 63.
    pub max_label_value_bytes: usize,
    /// Annotations on one object: 512.
    pub max_annotations: usize,
    /// Bytes of all annotation keys and values of one object together (Kubernetes: 256 KiB):
    /// 256 KiB.
    pub max_annotation_bytes: usize,
    /// Bytes of an object name and of a container name (Kubernetes: 253 for DNS subdomains): 253.
    pub max_name_bytes: usize,
    /// Bytes of a namespace name (Kubernetes: 63, a DNS label): 63.
    pub max_namespace_bytes: usize,
    /// Bytes of an image reference or image ID: 1,024 (a reference is at most 255 bytes of
    /// name, 128 of tag and a 135-byte sha512 digest plus a host).
    pub max_image_bytes: usize,
    /// Entries of any other list inside one object: owner references, ports, environment
    /// variables, volumes, volume mounts, capabilities, tolerations, command and arguments,
    /// image pull secrets, selector requirements: 1,024.
    pub max_list_entries: usize,
    /// Bytes of any other single string kept from an object (a command argument, a path, a
    /// host IP, a service account name): 4,096.
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 64 << 20,
            max_items: 100_000,
            max_containers_per_pod: 128,
            max_labels: 256,
            max_label_key_bytes: 317,
            max_label_value_bytes: 63,
            max_annotations: 512,
            max_annotation_bytes: 256 << 10,
            max_name_bytes: 253,
            max_namespace_bytes: 63,
            max_image_bytes: 1024,
            max_list_entries: 1024,
            max_string_bytes: 4096,
        }
    }
}

/// What to do with an item of a `List` (or a watch event's object) whose `apiVersion`/`kind`
/// berth does not inventory, e.g. a `Service` from `kubectl get all`.
///
/// The default is [`UnknownKinds::Reject`]: a `Deployment` of an unexpected `apiVersion`
/// (`extensions/v1beta1`) or a mistyped kind would otherwise vanish from the inventory without a
/// word. Agents that send whatever `kubectl get all` prints choose [`UnknownKinds::Skip`]; the
/// skipped items are reported back (index and kind), so nothing disappears unseen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownKinds {
    #[default]
    Reject,
    Skip,
}

/// Everything a parser of untrusted cluster documents needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ParseOptions {
    pub limits: Limits,
    pub unknown_kinds: UnknownKinds,
}
