//! berth's exceptions in the export ([`crate::exceptions`]): which of them can cover one
//! deployment's image (its cluster, namespace and image name; the package and vulnerability
//! are checked per finding), so a vulnerability they cover is listed with `suppressed` set.
//! Most images have none, and share one cached entry per digest; an image with some is cached
//! under its digest and the covering exceptions' ids.
use berth_hss::policy::matching::image_matches;
use berth_hss::policy::{Exception, Finding, ImageRef, Severity, Subject, Vuln};

use super::deployment::NameOut;
use super::image::Suppressed;
use super::report::Vulnerability;
use crate::exceptions::Active;

/// The exceptions that can apply to one image of one deployment.
pub struct Applicable<'a> {
    /// Their ids, comma-separated: empty when there are none.
    pub key: String,
    subject: Subject,
    list: Vec<(&'a Exception, bool)>,
    active: &'a Active,
}

impl<'a> Applicable<'a> {
    pub fn new(
        active: &'a Active,
        cluster: &str,
        namespace: &str,
        name: Option<&NameOut>,
        digest: &str,
    ) -> Self {
        if active.is_empty() {
            // The common case, on the export's hot path: nothing to build.
            return Applicable {
                key: String::new(),
                subject: Subject::default(),
                list: Vec::new(),
                active,
            };
        }
        let subject = Subject {
            cluster_id: cluster.to_string(),
            namespace: namespace.to_string(),
            image: ImageRef {
                registry: name.map(|n| n.registry.clone()).unwrap_or_default(),
                repository: name.map(|n| n.remote.clone()).unwrap_or_default(),
                tag: name.map(|n| n.tag.clone()).filter(|t| !t.is_empty()),
                digest: Some(digest.to_string()),
            },
            ..Subject::default()
        };
        let list: Vec<(&Exception, bool)> = active
            .exceptions
            .iter()
            .zip(&active.from_vex)
            .filter(|(e, _)| {
                let s = &e.scope;
                s.cluster_id.as_deref().is_none_or(|c| c == cluster)
                    && s.namespace.as_deref().is_none_or(|n| n == namespace)
                    && s.image_or_repository
                        .as_deref()
                        .is_none_or(|p| image_matches(p, &subject.image))
            })
            .map(|(e, v)| (e, *v))
            .collect();
        let key = list
            .iter()
            .map(|(e, _)| e.id.as_str())
            .collect::<Vec<_>>()
            .join(",");
        Applicable {
            key,
            subject,
            list,
            active,
        }
    }

    /// How `v` is suppressed, if an exception covers it.
    pub fn suppressed(&self, v: &Vulnerability) -> Option<Suppressed> {
        if self.list.is_empty() {
            return None;
        }
        let finding = Vuln {
            id: v.id.clone(),
            severity: Severity::Unknown,
            package: v.package_name.clone(),
            installed_version: v.installed_version.clone(),
            fixed_version: None,
        };
        self.list
            .iter()
            .find(|(e, _)| e.applies(&self.subject, Finding::Vuln(&finding), self.active.at))
            .map(|(e, vex)| Suppressed {
                expires_at: e.expires_at,
                false_positive: *vex,
            })
    }
}
