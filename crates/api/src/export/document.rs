//! One deployment as the query language sees it ([`berth_query::Fields`]): the workload, its
//! cluster and namespace, the images its containers run, their components and CVEs. A field
//! berth does not know (an image's labels, user or creation time; a CVE's publication date)
//! gives no value, so it is null to the query: only `-` matches it.
use std::sync::Arc;

use berth_inventory::{ClusterSnapshot, WorkloadRef};
use berth_query::{FieldId, Fields, Value, workload as f};

use super::deployment::NameOut;
use super::image::ImageEntry;

pub struct Document<'a> {
    pub snapshot: &'a ClusterSnapshot,
    pub workload: &'a WorkloadRef<'a>,
    /// The image references of the containers (each once).
    pub names: &'a [NameOut],
    /// The digests running and their images.
    pub images: &'a [(String, Arc<ImageEntry>)],
}

impl Fields for Document<'_> {
    fn values(&self, field: FieldId, out: &mut dyn FnMut(Value<'_>)) {
        let w = self.workload;
        let t = w.template();
        let facts = || self.images.iter().map(|(_, e)| &e.facts);
        match field {
            f::DEPLOYMENT => out(Value::Str(w.name())),
            f::NAMESPACE => out(Value::Str(w.namespace())),
            f::NAMESPACE_ID => {
                if let Some(uid) = self
                    .snapshot
                    .namespace(w.namespace())
                    .and_then(|n| n.uid.as_deref())
                {
                    out(Value::Str(uid));
                }
            }
            f::CLUSTER => out(Value::Str(&self.snapshot.cluster().name)),
            f::CLUSTER_ID => out(Value::Str(&self.snapshot.cluster().id)),
            f::DEPLOYMENT_LABEL => out(Value::Map(w.labels())),
            f::DEPLOYMENT_ANNOTATION => out(Value::Map(match w {
                WorkloadRef::Controller(c) => &c.annotations,
                WorkloadRef::Pod(p) => &p.annotations,
            })),
            f::POD_LABEL => out(Value::Map(w.pod_labels())),
            f::DEPLOYMENT_TYPE => out(Value::Str(w.kind().as_str())),
            f::SERVICE_ACCOUNT => {
                if let Some(sa) = t.service_account.as_deref() {
                    out(Value::Str(sa));
                }
            }
            f::IMAGE => self
                .names
                .iter()
                .for_each(|n| out(Value::Str(&n.full_name))),
            f::IMAGE_REGISTRY => self.names.iter().for_each(|n| out(Value::Str(&n.registry))),
            f::IMAGE_REMOTE => self.names.iter().for_each(|n| out(Value::Str(&n.remote))),
            f::IMAGE_TAG => self
                .names
                .iter()
                .filter(|n| !n.tag.is_empty())
                .for_each(|n| out(Value::Str(&n.tag))),
            f::IMAGE_SHA => self.images.iter().for_each(|(d, _)| out(Value::Str(d))),
            f::IMAGE_OS | f::OPERATING_SYSTEM => facts()
                .filter_map(|x| x.os.as_deref())
                .for_each(|os| out(Value::Str(os))),
            f::IMAGE_SCAN_TIME => facts()
                .filter_map(|x| x.scan_time)
                .for_each(|t| out(Value::Time(t))),
            f::IMAGE_TOP_CVSS => facts()
                .filter_map(|x| x.top_cvss)
                .for_each(|c| out(Value::Num(f64::from(c)))),
            f::COMPONENT => facts()
                .flat_map(|x| &x.components)
                .for_each(|c| out(Value::Str(&c.0))),
            f::COMPONENT_VERSION => facts()
                .flat_map(|x| &x.components)
                .for_each(|c| out(Value::Str(&c.1))),
            f::COMPONENT_SOURCE => facts()
                .flat_map(|x| &x.components)
                .for_each(|c| out(Value::Enum(c.2))),
            f::CVE => facts()
                .flat_map(|x| &x.vulns)
                .for_each(|v| out(Value::Str(&v.cve))),
            f::CVSS => facts()
                .flat_map(|x| &x.vulns)
                .for_each(|v| out(Value::Num(f64::from(v.cvss)))),
            f::SEVERITY => facts()
                .flat_map(|x| &x.vulns)
                .for_each(|v| out(Value::Enum(v.severity))),
            f::FIXABLE => facts()
                .flat_map(|x| &x.vulns)
                .for_each(|v| out(Value::Bool(v.fixable))),
            // Image Created Time, Image Label, Image User, CVE Published On: not known.
            _ => {}
        }
    }
}
