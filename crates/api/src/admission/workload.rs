//! What runs: the containers of a Pod, or of the pod template of a workload, with the labels
//! its pods carry.
use std::collections::BTreeMap;

use serde_json::Value;

/// Containers one object may list (init, regular and ephemeral together). Kubernetes sets no
/// such limit, but no real pod comes near it, and each container's image is looked up.
pub const MAX_CONTAINERS: usize = 256;

/// The kinds admission checks, with where each keeps its pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Deployment,
    DaemonSet,
    StatefulSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
}

impl Kind {
    /// The kind of a request's `kind` (group and kind; any version).
    pub fn of(group: &str, kind: &str) -> Option<Kind> {
        Some(match (group, kind) {
            ("", "Pod") => Kind::Pod,
            ("", "ReplicationController") => Kind::ReplicationController,
            ("apps", "Deployment") => Kind::Deployment,
            ("apps", "DaemonSet") => Kind::DaemonSet,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps", "ReplicaSet") => Kind::ReplicaSet,
            ("batch", "Job") => Kind::Job,
            ("batch", "CronJob") => Kind::CronJob,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::DaemonSet => "DaemonSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }

    /// The path from the object to its pod template (`None`: the object is the pod).
    fn template_path(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => &[],
            Kind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Init,
    Regular,
    Ephemeral,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Init => "initContainer",
            Scope::Regular => "container",
            Scope::Ephemeral => "ephemeralContainer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub scope: Scope,
    /// As written in the spec.
    pub image: String,
}

/// What admission decides about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    /// The labels its pods carry: the template's over the object's own.
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<Container>,
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn labels(meta: Option<&Value>, into: &mut BTreeMap<String, String>) {
    if let Some(map) = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
    {
        for (k, v) in map {
            if let Some(v) = v.as_str() {
                into.insert(k.clone(), v.to_string());
            }
        }
    }
}

/// Reads the workload from a request's object. `name` and `namespace` are the request's
/// (an object created with `generateName` has no name yet: its `generateName` stands in).
pub fn read(kind: Kind, object: &Value, name: &str, namespace: &str) -> Result<Workload, String> {
    let meta = object.get("metadata");
    let name = if name.is_empty() {
        meta.and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        name.to_string()
    };
    let namespace = if namespace.is_empty() {
        meta.and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        namespace.to_string()
    };
    let mut all_labels = BTreeMap::new();
    labels(meta, &mut all_labels);
    let template = at(object, kind.template_path())
        .ok_or_else(|| format!("the {} has no pod template", kind.as_str()))?;
    if kind != Kind::Pod {
        labels(template.get("metadata"), &mut all_labels);
    }
    let spec = template
        .get("spec")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("the {} has no pod spec", kind.as_str()))?;
    let mut containers = Vec::new();
    for (field, scope) in [
        ("initContainers", Scope::Init),
        ("containers", Scope::Regular),
        ("ephemeralContainers", Scope::Ephemeral),
    ] {
        let Some(list) = spec.get(field) else {
            continue;
        };
        let list = list
            .as_array()
            .ok_or_else(|| format!("spec.{field} is not a list"))?;
        if containers.len() + list.len() > MAX_CONTAINERS {
            return Err(format!(
                "more than {MAX_CONTAINERS} containers in one pod spec"
            ));
        }
        for (i, c) in list.iter().enumerate() {
            let image = c
                .get("image")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("spec.{field}[{i}] has no image"))?;
            containers.push(Container {
                name: c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                scope,
                image: image.to_string(),
            });
        }
    }
    Ok(Workload {
        kind,
        name,
        namespace,
        labels: all_labels,
        containers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cron_jobs_keep_their_template_deeper() {
        let cj = json!({"metadata": {"name": "nightly", "labels": {"team": "a"}},
            "spec": {"jobTemplate": {"spec": {"template": {
                "metadata": {"labels": {"app": "n"}},
                "spec": {"initContainers": [{"name": "i", "image": "busybox"}],
                         "containers": [{"name": "c", "image": "nginx:1"}]}}}}}});
        let w = read(Kind::CronJob, &cj, "", "prod").unwrap();
        assert_eq!((w.name.as_str(), w.namespace.as_str()), ("nightly", "prod"));
        assert_eq!(w.labels.len(), 2);
        assert_eq!(w.containers.len(), 2);
        assert_eq!(w.containers[0].scope, Scope::Init);
        assert!(read(Kind::Deployment, &cj, "x", "y").is_err());
        let pod = json!({"spec": {"containers": [{"name": "c"}]}});
        assert!(read(Kind::Pod, &pod, "p", "n").is_err());
        assert_eq!(Kind::of("apps", "Deployment"), Some(Kind::Deployment));
        assert_eq!(Kind::of("", "ConfigMap"), None);
    }
}
