//! Exceptions: accepted risks that every surface honours. An exception has an id, a scope
//! (cluster, Kubernetes namespace, image or repository, package, vulnerability or check: every
//! field given must match, at least one given), a reason, an author and an expiry after which
//! it stops applying on its own. Created and revoked through `/api/v1/exceptions` ([`http`]),
//! or imported from OpenVEX documents; every creation and revocation is an audit line
//! (target `berth::audit`) and stays in the store with its author.
//!
//! Where they apply ([`Active`] is the set in force at one instant):
//! - admission, through `berth_hss::policy::evaluate`;
//! - DescribeImageScan: findings an exception covers in the registry's context (no cluster or
//!   namespace, the repository and digest asked about) are left out of the list and counts;
//! - the image-risk API: left out of the counts, in the context of the request (an exception
//!   scoped to a cluster or namespace applies when the request is narrowed to it);
//! - the workload export: listed with `suppressed` and `state: DEFERRED` (or `FALSE_POSITIVE`
//!   for an OpenVEX `not_affected`/`fixed`), per deployment.
pub mod http;

use std::time::SystemTime;

use berth_hss::policy::openvex::{self, VexError};
use berth_hss::policy::{Exception, ExceptionScope, Finding, ImageRef, Severity, Subject, Vuln};
use berth_store::{ExceptionRecord, MetadataStore, StoreError};
use rand::RngCore;

/// Exceptions in force at once, at most: each is checked against findings on hot paths.
pub const MAX_ACTIVE: u64 = 10_000;
/// Longest value of a scope field.
pub const MAX_FIELD_LEN: usize = 512;
/// Longest reason.
pub const MAX_REASON_LEN: usize = 4096;
/// Longest validity: three years. An exception is a decision to review, not to forget.
pub const MAX_TTL_SECS: i64 = 3 * 366 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum ExceptionError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no live exception {0:?}")]
    NotFound(String),
    #[error("more than {MAX_ACTIVE} exceptions would be in force")]
    TooMany,
    #[error("OpenVEX: {0}")]
    Vex(#[from] VexError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ExceptionError {
    ExceptionError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// An exception to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewException {
    pub scope: ExceptionScope,
    pub reason: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn check_field(field: &'static str, v: &Option<String>) -> Result<Option<String>, ExceptionError> {
    let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.len() > MAX_FIELD_LEN || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("at most {MAX_FIELD_LEN} bytes, no control characters"),
        ));
    }
    Ok(Some(v.to_string()))
}

/// Validates one exception at `now`: a non-empty scope, a reason, an expiry in the future
/// within [`MAX_TTL_SECS`].
pub fn validate(e: &NewException, now: i64) -> Result<NewException, ExceptionError> {
    let scope = ExceptionScope {
        cluster_id: check_field("clusterId", &e.scope.cluster_id)?,
        namespace: check_field("namespace", &e.scope.namespace)?,
        image_or_repository: check_field("image", &e.scope.image_or_repository)?,
        package: check_field("package", &e.scope.package)?,
        vulnerability_or_check: check_field("vulnerability", &e.scope.vulnerability_or_check)?,
    };
    if scope == ExceptionScope::default() {
        return Err(invalid(
            "scope",
            "give at least one of clusterId, namespace, image, package, vulnerability",
        ));
    }
    let reason = e.reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON_LEN {
        return Err(invalid(
            "reason",
            format!("required, at most {MAX_REASON_LEN} bytes"),
        ));
    }
    if e.expires_at <= now {
        return Err(invalid("expiresAt", "must be in the future"));
    }
    if e.expires_at - now > MAX_TTL_SECS {
        return Err(invalid("expiresAt", "at most three years from now"));
    }
    Ok(NewException {
        scope,
        reason: reason.to_string(),
        expires_at: e.expires_at,
    })
}

fn new_id() -> String {
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    format!("ex-{}", hex::encode(b))
}

/// Creates `items`, all or none, as `author` from `source` (`api`, `openvex:<doc id>`).
pub async fn create(
    meta: &dyn MetadataStore,
    author: &str,
    source: &str,
    items: &[NewException],
) -> Result<Vec<ExceptionRecord>, ExceptionError> {
    let now = unix_now();
    let valid = items
        .iter()
        .map(|e| validate(e, now))
        .collect::<Result<Vec<_>, _>>()?;
    let active = meta.count_active_exceptions(now).await?;
    if active.saturating_add(valid.len() as u64) > MAX_ACTIVE {
        return Err(ExceptionError::TooMany);
    }
    let created_at = now.saturating_mul(1000);
    let records: Vec<ExceptionRecord> = valid
        .into_iter()
        .map(|e| ExceptionRecord {
            id: new_id(),
            cluster_id: e.scope.cluster_id,
            namespace: e.scope.namespace,
            image: e.scope.image_or_repository,
            package: e.scope.package,
            vulnerability: e.scope.vulnerability_or_check,
            reason: e.reason,
            author: author.to_string(),
            source: source.to_string(),
            created_at,
            expires_at: e.expires_at,
            revoked_at: None,
            revoked_by: None,
        })
        .collect();
    if !meta.create_exceptions(&records).await? {
        // 64 random bits collided: astronomically unlikely, and nothing was written.
        return Err(invalid("id", "an id collided; retry"));
    }
    for r in &records {
        tracing::info!(target: "berth::audit", action = "exception.create", id = %r.id,
            author, source, cluster = ?r.cluster_id, namespace = ?r.namespace, image = ?r.image,
            package = ?r.package, vulnerability = ?r.vulnerability, expires_at = r.expires_at,
            reason = %r.reason, "exception created");
    }
    Ok(records)
}

/// Imports an OpenVEX document: every `not_affected`/`fixed` scope becomes an exception
/// expiring at `expires_at`. Returns the exceptions and how many statements were ignored.
pub async fn import_openvex(
    meta: &dyn MetadataStore,
    author: &str,
    document: &[u8],
    expires_at: i64,
) -> Result<(Vec<ExceptionRecord>, usize), ExceptionError> {
    let doc = openvex::parse(document)?;
    let items: Vec<NewException> = doc
        .scopes
        .into_iter()
        .map(|s| NewException {
            scope: s.scope,
            reason: s.reason,
            expires_at,
        })
        .collect();
    let source = match &doc.id {
        Some(id) => format!("openvex:{}", id.chars().take(200).collect::<String>()),
        None => "openvex".to_string(),
    };
    let created = create(meta, author, &source, &items).await?;
    Ok((created, doc.ignored_statements))
}

/// Revokes a live exception.
pub async fn revoke(meta: &dyn MetadataStore, id: &str, by: &str) -> Result<(), ExceptionError> {
    if !meta.revoke_exception(id, by).await? {
        return Err(ExceptionError::NotFound(id.to_string()));
    }
    tracing::info!(target: "berth::audit", action = "exception.revoke", id, by, "exception revoked");
    Ok(())
}

/// The policy crate's view of a stored exception.
/// The subjects of an image stored in berth, outside any cluster: its repository at its
/// digest, once per tag (so tag-scoped exceptions match) and once without.
pub fn registry_subjects(repository: &str, digest: &str, tags: &[String]) -> Vec<Subject> {
    let image = |tag: Option<&String>| ImageRef {
        registry: String::new(),
        repository: repository.to_string(),
        tag: tag.cloned(),
        digest: Some(digest.to_string()),
    };
    std::iter::once(None)
        .chain(tags.iter().map(Some))
        .map(|tag| Subject {
            image: image(tag),
            ..Subject::default()
        })
        .collect()
}

pub fn to_policy(r: &ExceptionRecord) -> Exception {
    Exception {
        id: r.id.clone(),
        scope: ExceptionScope {
            cluster_id: r.cluster_id.clone(),
            namespace: r.namespace.clone(),
            image_or_repository: r.image.clone(),
            package: r.package.clone(),
            vulnerability_or_check: r.vulnerability.clone(),
        },
        reason: r.reason.clone(),
        author: r.author.clone(),
        expires_at: r.expires_at,
    }
}

/// The exceptions in force at one instant, with what the surfaces need of each.
#[derive(Debug, Clone)]
pub struct Active {
    pub at: SystemTime,
    pub exceptions: Vec<Exception>,
    /// Parallel to `exceptions`: whether it came from an OpenVEX document.
    pub from_vex: Vec<bool>,
}

impl Active {
    /// No exceptions.
    pub fn none() -> Active {
        Active {
            at: SystemTime::now(),
            exceptions: Vec::new(),
            from_vex: Vec::new(),
        }
    }

    /// Loads the exceptions in force now.
    pub async fn load(meta: &dyn MetadataStore) -> Result<Active, StoreError> {
        let at = SystemTime::now();
        let records = meta.active_exceptions(unix_now()).await?;
        Ok(Active {
            at,
            from_vex: records
                .iter()
                .map(|r| r.source.starts_with("openvex"))
                .collect(),
            exceptions: records.iter().map(to_policy).collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.exceptions.is_empty()
    }

    /// The first exception covering `finding` of `subject`'s image, with whether it came from
    /// OpenVEX.
    pub fn covering(&self, subject: &Subject, finding: Finding<'_>) -> Option<(&Exception, bool)> {
        self.exceptions
            .iter()
            .zip(&self.from_vex)
            .find(|(e, _)| e.applies(subject, finding, self.at))
            .map(|(e, vex)| (e, *vex))
    }

    /// The first exception covering a vulnerability (reported as `id`, also known as
    /// `aliases`) in `package`, in any of `subjects` (an image under each of its names).
    pub fn covering_vuln<'a>(
        &'a self,
        subjects: &[Subject],
        id: &str,
        aliases: &[String],
        package: &str,
    ) -> Option<(&'a Exception, bool)> {
        if self.exceptions.is_empty() {
            return None;
        }
        std::iter::once(id)
            .chain(aliases.iter().map(String::as_str))
            .find_map(|name| {
                let v = Vuln {
                    id: name.to_string(),
                    severity: Severity::Unknown,
                    package: package.to_string(),
                    installed_version: String::new(),
                    fixed_version: None,
                };
                subjects
                    .iter()
                    .find_map(|s| self.covering(s, Finding::Vuln(&v)))
            })
    }

    /// The exceptions that can apply in a context of `cluster` and `namespace` (`None`: a
    /// context without one, such as the registry's), so hot loops test only those.
    pub fn in_context(&self, cluster: Option<&str>, namespace: Option<&str>) -> Active {
        let keep = |e: &Exception| {
            e.scope
                .cluster_id
                .as_deref()
                .is_none_or(|c| Some(c) == cluster)
                && e.scope
                    .namespace
                    .as_deref()
                    .is_none_or(|n| Some(n) == namespace)
        };
        let (exceptions, from_vex) = self
            .exceptions
            .iter()
            .zip(&self.from_vex)
            .filter(|(e, _)| keep(e))
            .map(|(e, v)| (e.clone(), *v))
            .unzip();
        Active {
            at: self.at,
            exceptions,
            from_vex,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(scope: ExceptionScope, expires_at: i64) -> NewException {
        NewException {
            scope,
            reason: "accepted".into(),
            expires_at,
        }
    }

    #[test]
    fn validation_needs_a_scope_a_reason_and_a_near_future_expiry() {
        let scope = ExceptionScope {
            vulnerability_or_check: Some(" CVE-1 ".into()),
            namespace: Some("".into()),
            ..Default::default()
        };
        let ok = validate(&new(scope.clone(), 2_000), 1_000).unwrap();
        assert_eq!(ok.scope.vulnerability_or_check.as_deref(), Some("CVE-1"));
        assert_eq!(ok.scope.namespace, None, "blank is unset");
        let empty = ExceptionScope {
            namespace: Some("  ".into()),
            ..Default::default()
        };
        assert!(matches!(
            validate(&new(empty, 2_000), 1_000),
            Err(ExceptionError::Invalid { field: "scope", .. })
        ));
        assert!(matches!(
            validate(&new(scope.clone(), 1_000), 1_000),
            Err(ExceptionError::Invalid {
                field: "expiresAt",
                ..
            })
        ));
        assert!(matches!(
            validate(&new(scope.clone(), 1_000 + MAX_TTL_SECS + 1), 1_000),
            Err(ExceptionError::Invalid {
                field: "expiresAt",
                ..
            })
        ));
        let mut blank_reason = new(scope.clone(), 2_000);
        blank_reason.reason = " ".into();
        assert!(matches!(
            validate(&blank_reason, 1_000),
            Err(ExceptionError::Invalid {
                field: "reason",
                ..
            })
        ));
        let long = ExceptionScope {
            package: Some("p".repeat(MAX_FIELD_LEN + 1)),
            ..Default::default()
        };
        assert!(validate(&new(long, 2_000), 1_000).is_err());
        let control = ExceptionScope {
            package: Some("a\nb".into()),
            ..Default::default()
        };
        assert!(validate(&new(control, 2_000), 1_000).is_err());
    }

    #[test]
    fn context_keeps_unscoped_and_matching_exceptions() {
        let e = |id: &str, cluster: Option<&str>, ns: Option<&str>| Exception {
            id: id.into(),
            scope: ExceptionScope {
                cluster_id: cluster.map(Into::into),
                namespace: ns.map(Into::into),
                vulnerability_or_check: Some("CVE-1".into()),
                ..Default::default()
            },
            reason: "r".into(),
            author: "a".into(),
            expires_at: i64::MAX,
        };
        let active = Active {
            at: SystemTime::now(),
            exceptions: vec![
                e("any", None, None),
                e("c1", Some("c1"), None),
                e("c1-prod", Some("c1"), Some("prod")),
            ],
            from_vex: vec![false, true, false],
        };
        let ids = |a: Active| a.exceptions.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(active.in_context(None, None)), ["any"]);
        assert_eq!(ids(active.in_context(Some("c1"), None)), ["any", "c1"]);
        assert_eq!(
            ids(active.in_context(Some("c1"), Some("prod"))),
            ["any", "c1", "c1-prod"]
        );
        assert_eq!(active.in_context(Some("c1"), None).from_vex, [false, true]);
    }
}
